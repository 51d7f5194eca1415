"""The default indicator set: what the benchmark measures and what a fresh chart offers first."""

from __future__ import annotations

from thebot.indicators.metadata import ParameterValue

IndicatorChoice = tuple[str, dict[str, ParameterValue]]

# The list, in TA-Lib's names. Engulfing and harami cover both directions; TA-Lib's CDLDOJI covers
# the plain doji, CDLLONGLEGGEDDOJI the long-legged one; CDLRISEFALL3METHODS covers rising and falling.
DEFAULT_PATTERNS: tuple[str, ...] = (
    "CDLHAMMER",
    "CDLINVERTEDHAMMER",
    "CDLSHOOTINGSTAR",
    "CDLHANGINGMAN",
    "CDLENGULFING",
    "CDLHARAMI",
    "CDLDOJI",
    "CDLDRAGONFLYDOJI",
    "CDLGRAVESTONEDOJI",
    "CDLLONGLEGGEDDOJI",
    "CDLMORNINGSTAR",
    "CDLEVENINGSTAR",
    "CDL3WHITESOLDIERS",
    "CDL3BLACKCROWS",
    "CDLPIERCING",
    "CDLDARKCLOUDCOVER",
    "CDLSPINNINGTOP",
    "CDLHIGHWAVE",
    "CDLRISEFALL3METHODS",
)

BENCHMARK_PATTERNS: tuple[str, ...] = (
    "CDLENGULFING",
    "CDLHAMMER",
    "CDLSHOOTINGSTAR",
    "CDLDOJI",
    "CDLMORNINGSTAR",
)

DEFAULT_INDICATORS: tuple[IndicatorChoice, ...] = (
    ("EMA", {"timeperiod": 12}),
    ("EMA", {"timeperiod": 26}),
    ("RSI", {"timeperiod": 14}),
    ("MACD", {"fastperiod": 12, "slowperiod": 26, "signalperiod": 9}),
    ("BBANDS", {"timeperiod": 20, "nbdevup": 2.0, "nbdevdn": 2.0}),
    ("ATR", {"timeperiod": 14}),
    ("STOCH", {}),
    ("SESSION_VWAP", {}),
    *((name, {}) for name in BENCHMARK_PATTERNS),
)
