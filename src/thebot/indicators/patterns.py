"""Candlestick patterns: every TA-Lib CDL function is available; this is the set used by default."""

from __future__ import annotations

from typing import Any

import talib as _talib_module

talib: Any = _talib_module

ALL_PATTERNS: tuple[str, ...] = tuple(name for name in talib.get_functions() if name.startswith("CDL"))

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
