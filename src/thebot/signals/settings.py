"""The `[signals]` section: rule parameters, weights, the aggregation window, cooldown and provisional mode.

Range errors raise `ConfigError` (from the leaf module `thebot.config_errors`) with the dotted key.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from thebot.config_errors import ConfigError
from thebot.indicators.defaults import DEFAULT_PATTERNS
from thebot.market.timeframe import Timeframe

RULE_FAMILIES: tuple[str, ...] = (
    "rsi",
    "macd",
    "ema_cross",
    "bollinger",
    "stochastic",
    "pattern",
    "fair_value_gap",
    "zone",
)


def _fail(key: str, reason: str) -> None:
    raise ConfigError(key, reason)


@dataclass(frozen=True, slots=True)
class RuleWeights:
    """How much one rule's signal counts, 0..1 (0 silences the rule in the aggregate)."""

    rsi: float = 0.6
    macd: float = 0.6
    ema_cross: float = 0.5
    bollinger: float = 0.5
    stochastic: float = 0.5
    pattern: float = 0.4
    fair_value_gap: float = 0.4
    zone: float = 0.5

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if not 0 <= value <= 1:
                _fail(f"signals.rule_weights.{item.name}", "must be between 0 and 1")

    def weight(self, family: str) -> float:
        return float(getattr(self, family, 0.0))


@dataclass(frozen=True, slots=True)
class TimeframeWeights:
    """Weight of each timeframe in the confluence score; keys are Timeframe member names in lower case."""

    s1: float = 0.0
    m1: float = 1.0
    m3: float = 1.0
    m5: float = 1.5
    m15: float = 2.0
    m30: float = 2.0
    h1: float = 3.0
    h2: float = 3.0
    h4: float = 4.0
    h6: float = 4.0
    h8: float = 4.0
    h12: float = 4.0
    d1: float = 5.0

    def __post_init__(self) -> None:
        for item in fields(self):
            if getattr(self, item.name) < 0:
                _fail(f"signals.timeframe_weights.{item.name}", "must not be negative")

    def weight(self, timeframe: Timeframe) -> float:
        return float(getattr(self, timeframe.name.lower()))


@dataclass(frozen=True, slots=True)
class SignalSettings:
    rules: tuple[str, ...] = RULE_FAMILIES
    rsi_period: int = 14
    rsi_oversold: float = 30.0
    rsi_overbought: float = 70.0
    macd_fast: int = 12
    macd_slow: int = 26
    macd_signal: int = 9
    # smallest |histogram| at the cross, as a fraction of the close (0.0001 = 1 bp)
    macd_min_histogram: float = 0.0
    ema_fast: int = 12
    ema_slow: int = 26
    bollinger_period: int = 20
    bollinger_deviations: float = 2.0
    stochastic_fastk: int = 14
    stochastic_slowk: int = 3
    stochastic_slowd: int = 3
    stochastic_oversold: float = 20.0
    stochastic_overbought: float = 80.0
    patterns: tuple[str, ...] = DEFAULT_PATTERNS
    pattern_volume_factor: float = 1.5
    pattern_volume_period: int = 20
    zone_period: int = 20
    zone_factor: float = 2.0
    # the aggregate looks at signals of the last `lookback_bars` closed candles
    lookback_bars: int = 5
    # after a rule fires, the same rule is quiet on that stream for this many candles (0 = off)
    cooldown_bars: int = 3
    # also evaluate the forming candle: provisional signals, withdrawn if they do not survive the close
    provisional: bool = False
    # signal quality: forward return this many candles after each signal
    quality_horizon_bars: int = 10
    rule_weights: RuleWeights = field(default_factory=RuleWeights)
    timeframe_weights: TimeframeWeights = field(default_factory=TimeframeWeights)

    def __post_init__(self) -> None:
        for rule in self.rules:
            if rule not in RULE_FAMILIES:
                _fail("signals.rules", f"unknown rule '{rule}'; rules are: {', '.join(RULE_FAMILIES)}")
        periods = {
            "rsi_period": self.rsi_period,
            "macd_fast": self.macd_fast,
            "macd_slow": self.macd_slow,
            "macd_signal": self.macd_signal,
            "ema_fast": self.ema_fast,
            "ema_slow": self.ema_slow,
            "bollinger_period": self.bollinger_period,
            "stochastic_fastk": self.stochastic_fastk,
            "stochastic_slowk": self.stochastic_slowk,
            "stochastic_slowd": self.stochastic_slowd,
            "pattern_volume_period": self.pattern_volume_period,
            "zone_period": self.zone_period,
        }
        for key, value in periods.items():
            if not 1 <= value <= 1000:
                _fail(f"signals.{key}", "must be between 1 and 1000 candles")
        if not 0 < self.rsi_oversold < self.rsi_overbought < 100:
            _fail("signals.rsi_oversold", "needs 0 < rsi_oversold < rsi_overbought < 100")
        if not 0 < self.stochastic_oversold < self.stochastic_overbought < 100:
            _fail(
                "signals.stochastic_oversold", "needs 0 < stochastic_oversold < stochastic_overbought < 100"
            )
        if self.macd_fast >= self.macd_slow:
            _fail("signals.macd_fast", "must be below macd_slow")
        if self.ema_fast >= self.ema_slow:
            _fail("signals.ema_fast", "must be below ema_slow")
        if not 0 <= self.macd_min_histogram < 1:
            _fail("signals.macd_min_histogram", "must be a fraction of the price, at least 0 and below 1")
        if self.bollinger_deviations <= 0:
            _fail("signals.bollinger_deviations", "must be positive")
        if self.pattern_volume_factor < 0:
            _fail("signals.pattern_volume_factor", "must not be negative (0 turns the volume check off)")
        if self.zone_factor <= 0:
            _fail("signals.zone_factor", "must be positive")
        import talib

        known_patterns = {name for name in talib.get_functions() if name.startswith("CDL")}  # type: ignore[no-untyped-call]
        for name in self.patterns:
            if name not in known_patterns:
                _fail("signals.patterns", f"'{name}' is not a TA-Lib candlestick function such as CDLHAMMER")
        if not 1 <= self.lookback_bars <= 500:
            _fail("signals.lookback_bars", "must be between 1 and 500")
        if not 0 <= self.cooldown_bars <= 500:
            _fail("signals.cooldown_bars", "must be between 0 and 500")
        if not 1 <= self.quality_horizon_bars <= 1000:
            _fail("signals.quality_horizon_bars", "must be between 1 and 1000")
