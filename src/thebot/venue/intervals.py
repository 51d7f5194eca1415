"""Binance kline intervals, kept here so the venue depends on nothing else in thebot."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

SECOND_MS = 1_000
MINUTE_MS = 60_000
DAY_MS = 86_400_000

_UNIT_MS: Mapping[str, int] = MappingProxyType({"s": SECOND_MS, "m": MINUTE_MS, "h": 3_600_000, "d": DAY_MS})

INTERVALS: tuple[str, ...] = ("1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d")

INTERVAL_MS: Mapping[str, int] = MappingProxyType(
    {name: int(name[:-1]) * _UNIT_MS[name[-1]] for name in INTERVALS}
)


def open_time_of(interval_ms: int, timestamp_ms: int) -> int:
    """Binance aligns every interval up to 1d to the UTC epoch."""
    return timestamp_ms - timestamp_ms % interval_ms
