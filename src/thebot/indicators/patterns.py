"""Candlestick patterns: every TA-Lib CDL function is available; this is the set used by default."""

from __future__ import annotations

import functools
from typing import Any

import talib as _talib_module
from talib import abstract as _talib_abstract

talib: Any = _talib_module
talib_abstract: Any = _talib_abstract

ALL_PATTERNS: tuple[str, ...] = tuple(name for name in talib.get_functions() if name.startswith("CDL"))


@functools.cache
def pattern_display_name(name: str) -> str:
    """TA-Lib's own name of a pattern (`CDLHAMMER` → `Hammer`); the code itself when TA-Lib has none."""
    try:
        return str(talib_abstract.Function(name).info["display_name"])
    except Exception:  # an unknown name is shown as it is
        return name


def rule_pattern(rule: str) -> str | None:
    """The TA-Lib pattern of a signal rule id (`pattern:CDLHAMMER` → `CDLHAMMER`), else None."""
    family, _, name = rule.partition(":")
    return name if family == "pattern" and name else None
