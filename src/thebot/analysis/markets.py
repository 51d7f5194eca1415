"""The watchlist: one row per streamed symbol, cheap enough to rebuild for 100 symbols every few seconds.

Price, 24 h change and volume come from the venue's 24 h ticker stream (the same numbers the venue shows);
the sparkline from the newest closes of one buffered timeframe; the grade and the signal count from the
analytics; freshness from the newest update of any of the symbol's streams (wall clock: staleness is the
one thing measured on it). "Today" is the venue's day (UTC), so a simulated venue running ahead of the
wall clock counts the signals of its own day.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from thebot.market.datastream import DataStream
from thebot.market.protocol import TickerEvent
from thebot.market.timeframe import Timeframe

DAY_MS = 86_400_000
SPARKLINE_POINTS = 48
_SPARKLINE_PREFERENCE = (Timeframe.H1, Timeframe.M30, Timeframe.M15, Timeframe.H4, Timeframe.M5)


class MarketSource(Protocol):
    @property
    def datastream(self) -> DataStream: ...

    def symbols(self) -> list[str]: ...

    def ticker(self, symbol: str) -> TickerEvent | None: ...


class SignalSource(Protocol):
    def confluence(self, symbol: str) -> dict[str, Any]: ...

    def signal_count(self, symbol: str, since: int) -> int: ...


@dataclass(frozen=True, slots=True)
class MarketRow:
    symbol: str
    last_price: float | None
    change_percent: float | None
    volume: float | None  # quote volume over 24 h (USDT for USDT pairs)
    sparkline: tuple[float, ...]
    grade: str
    score: float
    signals_today: int
    age_ms: int  # since the newest update of any of the symbol's streams; -1 before the first one
    stale: bool
    timeframes: tuple[dict[str, Any], ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "last_price": self.last_price,
            "change_percent": self.change_percent,
            "volume": self.volume,
            "sparkline": list(self.sparkline),
            "grade": self.grade,
            "score": self.score,
            "signals_today": self.signals_today,
            "age_ms": self.age_ms,
            "stale": self.stale,
        }


def sparkline_timeframe(timeframes: Sequence[Timeframe]) -> Timeframe:
    """About a day in `SPARKLINE_POINTS` points when 30m or 1h is streamed; otherwise the nearest."""
    for preferred in _SPARKLINE_PREFERENCE:
        if preferred in timeframes:
            return preferred
    return max(timeframes, key=lambda timeframe: timeframe.milliseconds)


def day_start(now_ms: int) -> int:
    """Midnight UTC of the day of `now_ms`."""
    return now_ms - now_ms % DAY_MS


def market_rows(market: MarketSource, analytics: SignalSource) -> list[MarketRow]:
    """Every streamed symbol, in the order they are streamed (the page sorts)."""
    datastream = market.datastream
    spark_frame = sparkline_timeframe(datastream.timeframes)
    ages: dict[str, tuple[int, bool]] = {}
    newest_open: dict[str, int] = {}
    for status in datastream.status():
        symbol = status.key.symbol
        age, stale = ages.get(symbol, (-1, True))
        if status.last_update_age_ms >= 0 and (age < 0 or status.last_update_age_ms < age):
            age = status.last_update_age_ms
        ages[symbol] = (age, stale and status.stale)
        newest_open[symbol] = max(newest_open.get(symbol, 0), status.last_open_time)
    rows = []
    for symbol in market.symbols():
        ticker = market.ticker(symbol)
        try:
            closes = datastream.snapshot(symbol, spark_frame, limit=SPARKLINE_POINTS).close
            sparkline = tuple(float(value) for value in closes.tolist() if math.isfinite(value))
        except KeyError:
            sparkline = ()
        confluence = analytics.confluence(symbol)
        venue_now = ticker.event_time if ticker is not None else newest_open.get(symbol, 0)
        age, stale = ages.get(symbol, (-1, True))
        rows.append(
            MarketRow(
                symbol=symbol,
                last_price=ticker.last_price if ticker else (sparkline[-1] if sparkline else None),
                change_percent=ticker.price_change_percent if ticker else None,
                volume=ticker.quote_volume if ticker else None,
                sparkline=sparkline,
                grade=str(confluence.get("grade", "NEUTRAL")),
                score=float(confluence.get("score", 0.0)),
                signals_today=analytics.signal_count(symbol, day_start(venue_now)),
                age_ms=age,
                stale=stale,
                timeframes=tuple(confluence.get("timeframes", ())),
            )
        )
    return rows
