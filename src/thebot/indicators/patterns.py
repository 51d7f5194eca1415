"""Candlestick patterns: every TA-Lib CDL function is available; this is the set used by default."""

from __future__ import annotations

from typing import Any

import talib as _talib_module

talib: Any = _talib_module

ALL_PATTERNS: tuple[str, ...] = tuple(name for name in talib.get_functions() if name.startswith("CDL"))
