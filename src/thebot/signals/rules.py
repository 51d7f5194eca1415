"""Signal rules: each looks at one closed (or forming) bar and the bar before it, and may fire.

A rule sees only indicator values at the bar and the previous bar, so the same code serves the live
stream (values from stream handles) and history (values from batch series), and no rule can look ahead.
Strengths are 0..1; how each is derived is stated per rule.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import NamedTuple

from thebot.indicators import IndicatorFactory, IndicatorSpec
from thebot.market.models import Candle
from thebot.signals.models import RuleHit, Side
from thebot.signals.settings import SignalSettings

Values = tuple[float, ...]

# TA-Lib reports these indecision patterns as +100 whatever the context, so their side comes from the
# trend they appear in (below a falling 10-bar mean: a possible bottom, BUY; above: SELL) at half strength.
CONTEXT_PATTERNS = frozenset(
    {"CDLDOJI", "CDLLONGLEGGEDDOJI", "CDLSPINNINGTOP", "CDLHIGHWAVE", "CDLDRAGONFLYDOJI", "CDLGRAVESTONEDOJI"}
)
CONTEXT_PERIOD = 10


class Bar(NamedTuple):
    """The inputs of one evaluation: the candle, indicator values at it and at the candle before.

    A named tuple rather than a frozen dataclass: one is built per bar of every replay (525,600 for a
    year of minutes), and a tuple is built in C."""

    candle: Candle
    previous_candle: Candle | None
    current: Mapping[IndicatorSpec, Values]
    previous: Mapping[IndicatorSpec, Values]


def _clamp(value: float) -> float:
    return 0.0 if math.isnan(value) else max(0.0, min(1.0, value))


class Rule(ABC):
    family: str

    @abstractmethod
    def requirements(self) -> tuple[IndicatorSpec, ...]:
        """The indicators this rule reads."""

    @abstractmethod
    def evaluate(self, bar: Bar) -> list[RuleHit]:
        """Hits on this bar (usually none or one)."""


class RsiRule(Rule):
    """BUY when RSI rises out of oversold (previous ≤ 30 < current), SELL when it falls out of overbought.
    Strength 0.5 plus the size of the move relative to 20 RSI points, capped at 1."""

    family = "rsi"

    def __init__(self, factory: IndicatorFactory, settings: SignalSettings) -> None:
        self.spec = factory.spec("RSI", {"timeperiod": settings.rsi_period})
        self.oversold = settings.rsi_oversold
        self.overbought = settings.rsi_overbought

    def requirements(self) -> tuple[IndicatorSpec, ...]:
        return (self.spec,)

    def evaluate(self, bar: Bar) -> list[RuleHit]:
        (previous,) = bar.previous[self.spec]
        (current,) = bar.current[self.spec]
        if previous <= self.oversold < current:
            reason = f"RSI rose out of oversold {self.oversold:g}: {previous:.1f} → {current:.1f}"
            return [RuleHit(self.family, Side.BUY, _clamp(0.5 + abs(current - previous) / 20), reason)]
        if previous >= self.overbought > current:
            reason = f"RSI fell out of overbought {self.overbought:g}: {previous:.1f} → {current:.1f}"
            return [RuleHit(self.family, Side.SELL, _clamp(0.5 + abs(current - previous) / 20), reason)]
        return []


class MacdRule(Rule):
    """BUY when the MACD line crosses above its signal line (histogram turns positive) with
    |histogram| ≥ min_histogram × close; SELL mirrored.
    Strength 0.5 + 0.5 × min(1, |histogram| / 0.05% of close)."""

    family = "macd"

    def __init__(self, factory: IndicatorFactory, settings: SignalSettings) -> None:
        self.spec = factory.spec(
            "MACD",
            {
                "fastperiod": settings.macd_fast,
                "slowperiod": settings.macd_slow,
                "signalperiod": settings.macd_signal,
            },
        )
        self.minimum = settings.macd_min_histogram

    def requirements(self) -> tuple[IndicatorSpec, ...]:
        return (self.spec,)

    def evaluate(self, bar: Bar) -> list[RuleHit]:
        previous = bar.previous[self.spec][2]
        current = bar.current[self.spec][2]
        close = bar.candle.close
        if (
            abs(current) < self.minimum * close
            or current == 0
            or not (previous <= 0 < current or previous >= 0 > current)
        ):
            return []
        strength = _clamp(0.5 + 0.5 * min(1.0, abs(current) / (0.0005 * close)))
        if previous <= 0 < current:
            return [
                RuleHit(
                    self.family, Side.BUY, strength, f"MACD crossed above its signal line ({current:+.4g})"
                )
            ]
        if previous >= 0 > current:
            return [
                RuleHit(
                    self.family, Side.SELL, strength, f"MACD crossed below its signal line ({current:+.4g})"
                )
            ]
        return []


class EmaCrossRule(Rule):
    """BUY when the fast EMA crosses above the slow one, SELL below.
    Strength 0.5 + 0.5 × min(1, |fast − slow| / 0.1% of close)."""

    family = "ema_cross"

    def __init__(self, factory: IndicatorFactory, settings: SignalSettings) -> None:
        self.fast = factory.spec("EMA", {"timeperiod": settings.ema_fast})
        self.slow = factory.spec("EMA", {"timeperiod": settings.ema_slow})
        self.label = f"EMA {settings.ema_fast}/{settings.ema_slow}"

    def requirements(self) -> tuple[IndicatorSpec, ...]:
        return (self.fast, self.slow)

    def evaluate(self, bar: Bar) -> list[RuleHit]:
        before = bar.previous[self.fast][0] - bar.previous[self.slow][0]
        now = bar.current[self.fast][0] - bar.current[self.slow][0]
        if before <= 0 < now:
            return [RuleHit(self.family, Side.BUY, self._strength(now, bar), f"{self.label} crossed up")]
        if before >= 0 > now:
            return [RuleHit(self.family, Side.SELL, self._strength(now, bar), f"{self.label} crossed down")]
        return []

    @staticmethod
    def _strength(now: float, bar: Bar) -> float:
        return _clamp(0.5 + 0.5 * min(1.0, abs(now) / (0.001 * bar.candle.close)))


class BollingerRule(Rule):
    """BUY when the previous close was below the lower band and this close is back inside; SELL for the
    upper band. Strength 0.6: a re-entry says the excursion failed, not how far price will go."""

    family = "bollinger"

    def __init__(self, factory: IndicatorFactory, settings: SignalSettings) -> None:
        deviations = settings.bollinger_deviations
        self.bands = factory.spec(
            "BBANDS", {"timeperiod": settings.bollinger_period, "nbdevup": deviations, "nbdevdn": deviations}
        )

    def requirements(self) -> tuple[IndicatorSpec, ...]:
        return (self.bands,)

    def evaluate(self, bar: Bar) -> list[RuleHit]:
        upper_before, _, lower_before = bar.previous[self.bands]
        upper, _, lower = bar.current[self.bands]
        if bar.previous_candle is None:
            return []
        close_before = bar.previous_candle.close
        close = bar.candle.close
        if close_before < lower_before and close >= lower:
            return [RuleHit(self.family, Side.BUY, 0.6, "close came back inside the lower Bollinger Band")]
        if close_before > upper_before and close <= upper:
            return [RuleHit(self.family, Side.SELL, 0.6, "close came back inside the upper Bollinger Band")]
        return []


class StochasticRule(Rule):
    """BUY when %K crosses above %D while %D is below the oversold line, SELL when it crosses below while
    %D is above overbought. Strength 0.5 + 0.5 × how deep %D is into the zone."""

    family = "stochastic"

    def __init__(self, factory: IndicatorFactory, settings: SignalSettings) -> None:
        self.spec = factory.spec(
            "STOCH",
            {
                "fastk_period": settings.stochastic_fastk,
                "slowk_period": settings.stochastic_slowk,
                "slowd_period": settings.stochastic_slowd,
            },
        )
        self.oversold = settings.stochastic_oversold
        self.overbought = settings.stochastic_overbought

    def requirements(self) -> tuple[IndicatorSpec, ...]:
        return (self.spec,)

    def evaluate(self, bar: Bar) -> list[RuleHit]:
        k_before, d_before = bar.previous[self.spec]
        k_now, d_now = bar.current[self.spec]
        if k_before <= d_before and k_now > d_now and d_now < self.oversold:
            strength = _clamp(0.5 + 0.5 * (self.oversold - d_now) / self.oversold)
            return [
                RuleHit(self.family, Side.BUY, strength, f"%K crossed above %D at {d_now:.1f} (oversold)")
            ]
        if k_before >= d_before and k_now < d_now and d_now > self.overbought:
            strength = _clamp(0.5 + 0.5 * (d_now - self.overbought) / (100 - self.overbought))
            return [
                RuleHit(self.family, Side.SELL, strength, f"%K crossed below %D at {d_now:.1f} (overbought)")
            ]
        return []


class PatternRule(Rule):
    """Candlestick patterns confirmed by volume: fires when TA-Lib reports the pattern and the candle's
    volume is at least `factor` × the mean volume of the `period` candles before it.
    Strength |value| / 200 (TA-Lib's ±100 plain, ±200 confirmed), halved for indecision patterns whose side
    comes from the trend (see CONTEXT_PATTERNS). Rule ids are `pattern:<TA-Lib name>`."""

    family = "pattern"

    def __init__(self, factory: IndicatorFactory, settings: SignalSettings) -> None:
        self.patterns = tuple(factory.spec(name) for name in settings.patterns)
        self.factor = settings.pattern_volume_factor
        # Read one bar late: the mean of the `period` candles before this one, so a spike does not
        # raise its own bar.
        self.mean = factory.spec("VOLUME_MEAN", {"timeperiod": settings.pattern_volume_period})
        self.trend = factory.spec("SMA", {"timeperiod": CONTEXT_PERIOD})

    def requirements(self) -> tuple[IndicatorSpec, ...]:
        return (*self.patterns, self.mean, self.trend)

    def evaluate(self, bar: Bar) -> list[RuleHit]:
        hits: list[RuleHit] = []
        candle = bar.candle
        (mean_volume,) = bar.previous[self.mean]
        if self.factor > 0 and not candle.volume >= self.factor * mean_volume:
            return hits
        for spec in self.patterns:
            (value,) = bar.current[spec]
            if value == 0 or math.isnan(value):
                continue
            name = spec.name
            if name in CONTEXT_PATTERNS:
                (trend,) = bar.current[self.trend]
                if math.isnan(trend) or candle.close == trend:
                    continue
                side = Side.BUY if candle.close < trend else Side.SELL
                strength = _clamp(abs(value) / 400)
            else:
                side = Side.BUY if value > 0 else Side.SELL
                strength = _clamp(abs(value) / 200)
            ratio = candle.volume / mean_volume if mean_volume > 0 else math.inf
            reason = f"{name[3:].lower()} pattern ({value:+.0f}) on {ratio:.1f}× mean volume"
            hits.append(RuleHit(f"{self.family}:{name}", side, strength, reason))
        return hits


class FairValueGapRule(Rule):
    """BUY when price first comes back into an open bullish fair value gap and the close holds above its
    bottom; SELL for the mirror case (see the indicator's rule). Strength 0.6."""

    family = "fair_value_gap"

    def __init__(self, factory: IndicatorFactory, settings: SignalSettings) -> None:
        self.spec = factory.spec("FAIR_VALUE_GAPS")

    def requirements(self) -> tuple[IndicatorSpec, ...]:
        return (self.spec,)

    def evaluate(self, bar: Bar) -> list[RuleHit]:
        fill = bar.current[self.spec][6]
        if fill > 0:
            return [
                RuleHit(self.family, Side.BUY, 0.6, "price filled into a bullish fair value gap and held")
            ]
        if fill < 0:
            return [
                RuleHit(self.family, Side.SELL, 0.6, "price filled into a bearish fair value gap and held")
            ]
        return []


class ZoneRule(Rule):
    """BUY on the first touch of a demand zone that holds, SELL on a supply zone (see the indicator's rule).
    Strength 0.6."""

    family = "zone"

    def __init__(self, factory: IndicatorFactory, settings: SignalSettings) -> None:
        self.spec = factory.spec(
            "SUPPLY_DEMAND_ZONES", {"period": settings.zone_period, "factor": settings.zone_factor}
        )

    def requirements(self) -> tuple[IndicatorSpec, ...]:
        return (self.spec,)

    def evaluate(self, bar: Bar) -> list[RuleHit]:
        touch = bar.current[self.spec][4]
        if touch > 0:
            return [RuleHit(self.family, Side.BUY, 0.6, "price touched a demand zone and held")]
        if touch < 0:
            return [RuleHit(self.family, Side.SELL, 0.6, "price touched a supply zone and held")]
        return []


RULE_CLASSES: dict[str, type[Rule]] = {
    "rsi": RsiRule,
    "macd": MacdRule,
    "ema_cross": EmaCrossRule,
    "bollinger": BollingerRule,
    "stochastic": StochasticRule,
    "pattern": PatternRule,
    "fair_value_gap": FairValueGapRule,
    "zone": ZoneRule,
}


def build_rules(factory: IndicatorFactory, settings: SignalSettings) -> list[Rule]:
    """The enabled rules; raises `IndicatorError` when a configured pattern name is not in TA-Lib."""
    return [RULE_CLASSES[family](factory, settings) for family in settings.rules]  # type: ignore[call-arg]
