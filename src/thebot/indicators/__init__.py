"""Indicators: TA-Lib by name plus custom ones, batch and streaming, behind one factory."""

from __future__ import annotations

from thebot.indicators.defaults import DEFAULT_PATTERNS
from thebot.indicators.errors import IndicatorError
from thebot.indicators.factory import IndicatorFactory
from thebot.indicators.metadata import IndicatorInfo, IndicatorSpec, ParameterInfo, Placement
from thebot.indicators.patterns import ALL_PATTERNS
from thebot.indicators.streaming import IndicatorStream

__all__ = [
    "ALL_PATTERNS",
    "DEFAULT_PATTERNS",
    "IndicatorError",
    "IndicatorFactory",
    "IndicatorInfo",
    "IndicatorSpec",
    "IndicatorStream",
    "ParameterInfo",
    "Placement",
]
