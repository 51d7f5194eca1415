"""What the signal grid's details show: why a rule fired, the numbers it saw, and how the rule has done.

The indicator values are computed on the candles up to and including the signal's candle (the buffer cut
at that candle), so they are the values the rule saw, not values repainted by later candles.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import numpy as np

from thebot.indicators import IndicatorFactory, IndicatorSpec
from thebot.market.models import Candle, CandleSnapshot
from thebot.signals.models import Signal
from thebot.signals.quality import RuleQuality
from thebot.signals.rules import PatternRule, build_rules
from thebot.signals.settings import SignalSettings

ID_SEPARATOR = "|"


def signal_id(signal: Signal) -> str:
    """Stable across refreshes and across provisional → final: the grid's row id."""
    return ID_SEPARATOR.join((signal.symbol, signal.timeframe.value, str(signal.time), signal.rule))


def chart_link(symbol: str, timeframe: str, time_ms: int | None = None) -> str:
    """The chart page centred on a candle: `/?symbol=BTCUSDT&timeframe=1m&t=1700000000000`."""
    query: dict[str, str | int] = {"symbol": symbol, "timeframe": timeframe}
    if time_ms is not None:
        query["t"] = time_ms
    return f"/?{urlencode(query)}"


@dataclass(frozen=True, slots=True)
class IndicatorValue:
    name: str  # the spec's key, e.g. RSI(timeperiod=14)
    values: dict[str, float | None]


@dataclass(frozen=True, slots=True)
class SignalDetails:
    signal: Signal
    candle: Candle | None
    indicators: tuple[IndicatorValue, ...]
    quality: RuleQuality | None
    link: str

    def as_dict(self) -> dict[str, Any]:
        candle = self.candle
        return {
            "signal": self.signal.as_dict(),
            "id": signal_id(self.signal),
            "candle": None if candle is None else candle.as_dict(),
            "indicators": {item.name: item.values for item in self.indicators},
            "quality": None if self.quality is None else self.quality.as_dict(),
            "link": self.link,
        }


def rule_indicators(
    factory: IndicatorFactory, settings: SignalSettings, rule: str
) -> tuple[IndicatorSpec, ...]:
    """The indicators the rule `rule` reads (`pattern:CDLHAMMER` reads its pattern, not every pattern)."""
    family, _, detail = rule.partition(":")
    for candidate in build_rules(factory, settings):
        if getattr(candidate, "family", None) != family:
            continue
        specs = candidate.requirements()
        if isinstance(candidate, PatternRule) and detail:
            specs = tuple(spec for spec in specs if spec.name == detail or spec not in candidate.patterns)
        return specs
    return ()


def values_at(
    factory: IndicatorFactory, specs: Sequence[IndicatorSpec], candles: CandleSnapshot, open_time: int
) -> tuple[Candle | None, tuple[IndicatorValue, ...]]:
    """The candle at `open_time` and each indicator's outputs on it, from the candles up to it."""
    index = int(np.searchsorted(candles.open_time, open_time))
    if index >= len(candles) or int(candles.open_time[index]) != open_time:
        return None, ()
    history = candles.head(index + 1)
    values = []
    for spec in specs:
        outputs = factory.compute(spec, history)
        values.append(
            IndicatorValue(
                spec.key,
                {
                    name: (None if not math.isfinite(float(series[-1])) else float(series[-1]))
                    for name, series in outputs.items()
                },
            )
        )
    return history.candle(index), tuple(values)


def signal_details(
    factory: IndicatorFactory,
    settings: SignalSettings,
    candles: CandleSnapshot,
    signal: Signal,
    qualities: Sequence[RuleQuality],
) -> SignalDetails:
    candle, values = values_at(factory, rule_indicators(factory, settings, signal.rule), candles, signal.time)
    quality = next((item for item in qualities if item.rule == signal.rule), None)
    return SignalDetails(
        signal=signal,
        candle=candle,
        indicators=values,
        quality=quality,
        link=chart_link(signal.symbol, signal.timeframe.value, signal.time),
    )
