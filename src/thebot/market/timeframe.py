"""Kline intervals, named as Binance names them."""

from __future__ import annotations

from enum import StrEnum

_UNIT_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


class Timeframe(StrEnum):
    S1 = "1s"
    M1 = "1m"
    M3 = "3m"
    M5 = "5m"
    M15 = "15m"
    M30 = "30m"
    H1 = "1h"
    H2 = "2h"
    H4 = "4h"
    H6 = "6h"
    H8 = "8h"
    H12 = "12h"
    D1 = "1d"

    # Enum hashes members in Python code (by name); hashing the value string in C is several times
    # faster and agrees with StrEnum's string equality. Every streamed message hashes a timeframe.
    __hash__ = str.__hash__

    @property
    def milliseconds(self) -> int:
        return _MILLISECONDS[self]

    def open_time_of(self, timestamp_ms: int) -> int:
        """Open time of the candle that contains `timestamp_ms` (UTC-aligned, as Binance aligns)."""
        return timestamp_ms - timestamp_ms % self.milliseconds


# Parsed once: the aggregator asks for a timeframe's length for every signal it accepts.
_MILLISECONDS = {
    timeframe: int(timeframe.value[:-1]) * _UNIT_MS[timeframe.value[-1]] for timeframe in Timeframe
}
