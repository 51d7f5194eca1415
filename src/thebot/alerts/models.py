"""Value objects of the alerts part: rules, the alerts they fire, and the enums both use.

A rule is what the user asked for; an alert is one firing of it. Both are plain frozen data so the
store, the API and the page share one shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class AlertType(StrEnum):
    BUY = "BUY"
    SELL = "SELL"
    WARNING = "WARNING"
    INFO = "INFO"


class AlertStatus(StrEnum):
    ACTIVE = "ACTIVE"
    DISMISSED = "DISMISSED"
    EXPIRED = "EXPIRED"


class RuleKind(StrEnum):
    PRICE = "price"
    INDICATOR = "indicator"
    SIGNAL = "signal"


class Condition(StrEnum):
    CROSSING = "crossing"
    CROSSING_UP = "crossing_up"
    CROSSING_DOWN = "crossing_down"
    ABOVE = "above"
    BELOW = "below"
    ENTERING_CHANNEL = "entering_channel"
    EXITING_CHANNEL = "exiting_channel"
    MOVING_UP_PERCENT = "moving_up_percent"
    MOVING_DOWN_PERCENT = "moving_down_percent"


class SignalCondition(StrEnum):
    """What a signal rule listens for: a graded signal of a side, or the confluence grade becoming one."""

    BUY = "buy"
    SELL = "sell"
    ANY = "any"
    GRADE = "grade"


class Trigger(StrEnum):
    ONCE = "once"
    ONCE_PER_BAR = "once_per_bar"
    ONCE_PER_BAR_CLOSE = "once_per_bar_close"
    ONCE_PER_MINUTE = "once_per_minute"


CHANNELS: tuple[str, ...] = ("toast", "sound", "webhook", "telegram", "email")
CHANNEL_CONDITIONS = (Condition.ENTERING_CHANNEL, Condition.EXITING_CHANNEL)
MOVING_CONDITIONS = (Condition.MOVING_UP_PERCENT, Condition.MOVING_DOWN_PERCENT)


@dataclass(frozen=True, slots=True)
class Rule:
    """One alert rule. `value2` is the channel's other edge; `output2` names a second indicator output
    to compare against instead of `value` (MACD crossing its signal)."""

    id: str
    kind: RuleKind
    symbol: str
    timeframe: str
    condition: str
    value: float
    trigger: Trigger
    created_at: int
    value2: float | None = None
    indicator: str | None = None
    params: tuple[tuple[str, Any], ...] = ()
    output: str | None = None
    output2: str | None = None
    bars: int = 1
    expires_at: int | None = None
    message: str = ""
    notify: tuple[str, ...] = ("toast", "sound")
    cooldown_seconds: float = 0.0
    hysteresis: float = 0.0
    alert_type: AlertType = AlertType.INFO
    paused: bool = False
    title: str = ""
    # when its condition last changed: a `once` rule may fire once per version of itself
    updated_at: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind.value,
            "symbol": self.symbol,
            "timeframe": self.timeframe,
            "condition": self.condition,
            "value": self.value,
            "value2": self.value2,
            "indicator": self.indicator,
            "params": dict(self.params),
            "output": self.output,
            "output2": self.output2,
            "bars": self.bars,
            "trigger": self.trigger.value,
            "expires_at": self.expires_at,
            "message": self.message,
            "notify": list(self.notify),
            "cooldown_seconds": self.cooldown_seconds,
            "hysteresis": self.hysteresis,
            "type": self.alert_type.value,
            "paused": self.paused,
            "created_at": self.created_at,
            "updated_at": self.updated_at or self.created_at,
            "title": self.title,
        }


@dataclass(frozen=True, slots=True)
class Alert:
    """One firing. `observed_at` is the wall-clock time the triggering data reached the manager (toast
    latency is measured from it); `bar_open_time` the candle it fired on."""

    id: int
    time: int
    alert_type: AlertType
    status: AlertStatus
    symbol: str
    timeframe: str
    title: str
    message: str
    rule_id: str
    bar_open_time: int = 0
    value: float = 0.0
    observed_at: int = 0
    expires_at: int | None = None
    channels: tuple[str, ...] = ()
    delivery: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "time": self.time,
            "type": self.alert_type.value,
            "status": self.status.value,
            "symbol": self.symbol,
            "timeframe": self.timeframe,
            "title": self.title,
            "message": self.message,
            "rule_id": self.rule_id,
            "bar_open_time": self.bar_open_time,
            "value": self.value,
            "observed_at": self.observed_at,
            "expires_at": self.expires_at,
            "channels": list(self.channels),
            "delivery": dict(self.delivery),
        }
