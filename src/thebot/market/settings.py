"""Tuning of the market data layer: socket resilience, queueing, backfill and the candle store.

Kept apart from `thebot.config` so the market package does not depend on the composition root; the
config loader validates types from the annotations and calls `__post_init__` for the ranges.
"""

from __future__ import annotations

from dataclasses import dataclass

from thebot.config_errors import require
from thebot.market.timeframe import Timeframe

# Binance closes every connection after 24 h; rotating a little earlier avoids being cut mid-candle.
_BINANCE_CONNECTION_LIFETIME_HOURS = 24.0
# Binance: at most 1024 streams per connection and 5 incoming control messages per second.
_BINANCE_MAX_STREAMS = 1024
_BINANCE_CONTROL_MESSAGES_PER_SECOND = 5.0


def _check(condition: bool, key: str, reason: str) -> None:
    require(condition, f"market_data.{key}", reason)


@dataclass(frozen=True, slots=True)
class MarketDataSettings:
    watchdog_seconds: float = 30.0
    queue_size: int = 1000
    backoff_initial_seconds: float = 1.0
    backoff_max_seconds: float = 30.0
    backoff_reset_after_seconds: float = 60.0
    min_connect_interval_seconds: float = 1.0
    rotation_hours: float = 23.5
    max_streams_per_connection: int = 1024
    control_messages_per_second: float = 4.0
    ticker_streams: bool = True
    backfill_page_size: int = 1000
    backfill_rate_limit_ms: int = 100
    store_flush_seconds: float = 1.0
    store_batch_rows: int = 500
    # "<timeframe>=<days>" pairs; timeframes not listed are kept forever.
    retention_days: tuple[str, ...] = ("1s=2", "1m=90", "3m=180", "5m=365")

    def __post_init__(self) -> None:
        _check(
            0.1 <= self.watchdog_seconds <= 3600, "watchdog_seconds", "must be between 0.1 and 3600 seconds"
        )
        _check(10 <= self.queue_size <= 1_000_000, "queue_size", "must be between 10 and 1000000 messages")
        _check(self.backoff_initial_seconds > 0, "backoff_initial_seconds", "must be positive")
        _check(
            self.backoff_max_seconds >= self.backoff_initial_seconds,
            "backoff_max_seconds",
            "must be at least backoff_initial_seconds",
        )
        _check(self.backoff_reset_after_seconds > 0, "backoff_reset_after_seconds", "must be positive")
        _check(
            self.min_connect_interval_seconds >= 0,
            "min_connect_interval_seconds",
            "must be zero or positive (Binance allows about one attempt per second)",
        )
        _check(
            0 < self.rotation_hours < _BINANCE_CONNECTION_LIFETIME_HOURS,
            "rotation_hours",
            "must be above 0 and below Binance's 24 h connection lifetime",
        )
        _check(
            1 <= self.max_streams_per_connection <= _BINANCE_MAX_STREAMS,
            "max_streams_per_connection",
            f"must be between 1 and {_BINANCE_MAX_STREAMS} (Binance's limit)",
        )
        _check(
            0 < self.control_messages_per_second < _BINANCE_CONTROL_MESSAGES_PER_SECOND,
            "control_messages_per_second",
            "must be above 0 and below Binance's 5 per second",
        )
        _check(2 <= self.backfill_page_size <= 1000, "backfill_page_size", "must be between 2 and 1000")
        _check(self.backfill_rate_limit_ms >= 0, "backfill_rate_limit_ms", "must be zero or positive")
        _check(0.05 <= self.store_flush_seconds <= 60, "store_flush_seconds", "must be between 0.05 and 60")
        _check(1 <= self.store_batch_rows <= 1_000_000, "store_batch_rows", "must be between 1 and 1000000")
        self.retention()  # validates the pairs

    def retention(self) -> dict[Timeframe, float]:
        """Days to keep per timeframe, parsed from `retention_days`."""
        result: dict[Timeframe, float] = {}
        for pair in self.retention_days:
            name, separator, days = pair.partition("=")
            _check(separator == "=", "retention_days", f"'{pair}' is not '<timeframe>=<days>', e.g. '1m=90'")
            try:
                timeframe = Timeframe(name.strip())
            except ValueError:
                _check(False, "retention_days", f"'{name}' in '{pair}' is not a timeframe such as 1m or 1h")
                raise  # pragma: no cover - _check raised
            try:
                value = float(days)
            except ValueError:
                _check(False, "retention_days", f"'{days}' in '{pair}' is not a number of days")
                raise  # pragma: no cover
            _check(value > 0, "retention_days", f"'{pair}': days must be positive")
            result[timeframe] = value
        return result
