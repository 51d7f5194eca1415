"""Value objects of the signal layer: signals, the events observers receive, assessments and grades."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from thebot.market.timeframe import Timeframe


class Side(StrEnum):
    BUY = "BUY"
    SELL = "SELL"

    @property
    def sign(self) -> int:
        return 1 if self is Side.BUY else -1


class Grade(StrEnum):
    STRONG_SELL = "STRONG_SELL"
    SELL = "SELL"
    NEUTRAL = "NEUTRAL"
    BUY = "BUY"
    STRONG_BUY = "STRONG_BUY"


STRONG_THRESHOLD = 0.7
GRADE_THRESHOLD = 0.3


def grade_of(score: float) -> Grade:
    """Grades at ±0.3 and ±0.7, boundaries included in the stronger grade."""
    if score >= STRONG_THRESHOLD:
        return Grade.STRONG_BUY
    if score >= GRADE_THRESHOLD:
        return Grade.BUY
    if score <= -STRONG_THRESHOLD:
        return Grade.STRONG_SELL
    if score <= -GRADE_THRESHOLD:
        return Grade.SELL
    return Grade.NEUTRAL


@dataclass(frozen=True, slots=True)
class RuleHit:
    """What a rule says about one bar, before it becomes a `Signal` of a stream."""

    rule: str
    side: Side
    strength: float
    reason: str


@dataclass(frozen=True, slots=True)
class Signal:
    """One rule firing on one candle. `time` is the candle's open time (ms); `price` its close."""

    time: int
    symbol: str
    timeframe: Timeframe
    side: Side
    rule: str
    strength: float
    price: float
    reason: str
    provisional: bool = False

    @property
    def rule_family(self) -> str:
        """`pattern:CDLHAMMER` belongs to the `pattern` family, which carries one weight."""
        return self.rule.split(":", 1)[0]

    def as_dict(self) -> dict[str, Any]:
        return {
            "time": self.time,
            "symbol": self.symbol,
            "timeframe": self.timeframe.value,
            "side": self.side.value,
            "rule": self.rule,
            "strength": self.strength,
            "price": self.price,
            "reason": self.reason,
            "provisional": self.provisional,
        }


class SignalEventKind(StrEnum):
    NEW = "new"  # a closed-candle signal, final
    PROVISIONAL = "provisional"  # fired on the forming candle; may still be withdrawn
    WITHDRAWN = "withdrawn"  # a provisional signal that did not survive


@dataclass(frozen=True, slots=True)
class SignalEvent:
    kind: SignalEventKind
    signal: Signal


@dataclass(frozen=True, slots=True)
class Assessment:
    """One symbol × timeframe: the direction (−1, 0, +1) and confidence 0..1 of its recent signals."""

    symbol: str
    timeframe: Timeframe
    direction: int
    confidence: float
    buy_score: float
    sell_score: float
    signals: tuple[Signal, ...] = field(default=())
    weight: float = 1.0  # the timeframe's weight in the confluence score

    @property
    def signed(self) -> float:
        return self.direction * self.confidence

    def as_dict(self) -> dict[str, Any]:
        return {
            "timeframe": self.timeframe.value,
            "direction": self.direction,
            "confidence": self.confidence,
            "buy_score": self.buy_score,
            "sell_score": self.sell_score,
            "signals": len(self.signals),
            "weight": self.weight,
        }


@dataclass(frozen=True, slots=True)
class Confluence:
    symbol: str
    score: float
    grade: Grade
    timeframes: tuple[Assessment, ...]
    # the rule weights in force, so a reader sees a settings change take effect
    rule_weights: tuple[tuple[str, float], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "score": self.score,
            "grade": self.grade.value,
            "timeframes": [assessment.as_dict() for assessment in self.timeframes],
            "rule_weights": dict(self.rule_weights),
        }
