"""Long history from the exchange's REST klines, page by page, resumable, within the rate limit.

Each page is committed together with the fetch's resume marker (`history_fetches.next_open_time`), so a
fetch stopped anywhere (Ctrl+C, a crash, a ban) resumes at the first candle it does not have. Requests are
paced (`pause_seconds` apart, on top of ccxt's own limiter); a 429/418 or a network error waits and retries
the same page with growing delays, and gives up with a message after the last one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ccxt.async_support as ccxt_async
import duckdb

from thebot.market.backfill import kline_row_to_candle
from thebot.market.models import StreamKey
from thebot.market.store import KlineStore, candles_to_columns
from thebot.market.timeframe import Timeframe

logger = logging.getLogger(__name__)

RETRY_DELAYS_SECONDS = (1.0, 2.0, 5.0, 10.0, 30.0)
_MARKERS = """
CREATE TABLE IF NOT EXISTS history_fetches (
    source VARCHAR, symbol VARCHAR, timeframe VARCHAR, start_time BIGINT, end_time BIGINT,
    next_open_time BIGINT, updated_at BIGINT
)
"""


class FetchError(RuntimeError):
    """The exchange kept refusing; what is stored so far stays, and the next run resumes there."""


@dataclass(frozen=True, slots=True)
class FetchProgress:
    done: int  # candles covered so far (stored or confirmed absent)
    total: int
    requests: int
    resumed_from: int | None


@dataclass(frozen=True, slots=True)
class FetchResult:
    written: int
    requests: int
    resumed_from: int | None
    complete: bool


class HistoryFetch:
    """Fetch [start, end] (open times, ms) of one stream from `client` (ccxt binance, `publicGetKlines`)."""

    def __init__(
        self,
        store: KlineStore,
        client: Any,
        key: StreamKey,
        start: int,
        end: int,
        *,
        source: str,
        page_size: int = 1000,
        pause_seconds: float = 0.25,
        retry_delays: tuple[float, ...] = RETRY_DELAYS_SECONDS,
        on_progress: Callable[[FetchProgress], None] | None = None,
    ) -> None:
        step = key.timeframe.milliseconds
        self.store, self.client, self.key, self.source = store, client, key, source
        self.start = -(-start // step) * step  # the first open time on the grid at or after `start`
        self.end = end // step * step
        if self.end < self.start:
            raise ValueError("the range is empty: --to must be at least one candle after --from")
        self.page_size = page_size
        self.pause_seconds = pause_seconds
        self.retry_delays = retry_delays
        self.on_progress = on_progress
        cursor = store.cursor()
        try:
            cursor.execute(_MARKERS)
        finally:
            cursor.close()

    @property
    def total(self) -> int:
        return (self.end - self.start) // self.key.timeframe.milliseconds + 1

    def _marker_key(self) -> list[Any]:
        return [self.source, self.key.symbol, self.key.timeframe.value, self.start, self.end]

    def resume_point(self) -> int | None:
        cursor = self.store.cursor()
        try:
            row = cursor.execute(
                "SELECT max(next_open_time) FROM history_fetches WHERE source = ? AND symbol = ? "
                "AND timeframe = ? AND start_time = ? AND end_time = ?",
                self._marker_key(),
            ).fetchone()
        finally:
            cursor.close()
        return None if row is None or row[0] is None else int(row[0])

    def _mark(self, next_open_time: int) -> Callable[[duckdb.DuckDBPyConnection], None]:
        def write(cursor: duckdb.DuckDBPyConnection) -> None:
            condition = "source = ? AND symbol = ? AND timeframe = ? AND start_time = ? AND end_time = ?"
            cursor.execute(f"DELETE FROM history_fetches WHERE {condition}", self._marker_key())
            cursor.execute(
                "INSERT INTO history_fetches VALUES (?, ?, ?, ?, ?, ?, ?)",
                [*self._marker_key(), next_open_time, int(time.time() * 1000)],
            )

        return write

    async def _page(self, since: int) -> list[list[Any]]:
        request = {
            "symbol": self.key.symbol,
            "interval": self.key.timeframe.value,
            "startTime": since,
            "endTime": self.end,
            "limit": self.page_size,
        }
        for attempt, delay in enumerate((*self.retry_delays, None)):
            try:
                rows: list[list[Any]] = await self.client.publicGetKlines(request)
                return rows
            except (
                ccxt_async.RateLimitExceeded,
                ccxt_async.DDoSProtection,
                ccxt_async.NetworkError,
            ) as error:
                if delay is None:
                    raise FetchError(
                        f"the exchange kept refusing after {attempt} retries ({error}); "
                        "run the same command later to resume"
                    ) from error
                logger.warning("klines request refused (%s); retrying in %.0f s", error, delay)
                await asyncio.sleep(delay)
            except ccxt_async.BadSymbol as error:
                raise ValueError(f"the exchange does not list {self.key.symbol}: {error}") from error
        raise AssertionError("unreachable")

    async def run(self, server_time: int | None = None) -> FetchResult:
        """`server_time`: the exchange's clock (ms); candles not closed by then are not stored."""
        step = self.key.timeframe.milliseconds
        resumed = self.resume_point()
        since = self.start if resumed is None else resumed
        written = requests = 0
        last_request = 0.0
        complete = True
        while since <= self.end:
            wait = self.pause_seconds - (time.monotonic() - last_request)
            if requests and wait > 0:
                await asyncio.sleep(wait)
            last_request = time.monotonic()
            rows = await self._page(since)
            requests += 1
            in_range = [row for row in rows if since <= int(row[0]) <= self.end]
            closed = [row for row in in_range if server_time is None or int(row[0]) + step <= server_time]
            candles = [kline_row_to_candle(row, closed=True) for row in closed]
            if len(closed) < len(in_range):
                next_since = int(in_range[len(closed)][0])  # the forming candle: later runs go on there
                complete = False
            elif candles:
                next_since = candles[-1].open_time + step
            else:
                next_since = self.end + step  # the exchange has nothing more in the range
            if candles:
                written += self.store.import_columns(
                    self.key, candles_to_columns(candles), source=self.source, also=self._mark(next_since)
                )
            else:
                cursor = self.store.cursor()
                try:
                    self._mark(next_since)(cursor)
                finally:
                    cursor.close()
            since = next_since
            if self.on_progress is not None:
                done = min(self.total, (since - self.start) // step)
                self.on_progress(FetchProgress(done, self.total, requests, resumed))
            if not complete:
                break
        return FetchResult(written=written, requests=requests, resumed_from=resumed, complete=complete)


def progress_bar(progress: FetchProgress, width: int = 30) -> str:
    """`[#########.....]  45.0 %  12,000 / 26,000 candles, 13 requests` for a `\\r`-updated stderr line."""
    share = progress.done / progress.total if progress.total else 1.0
    filled = round(share * width)
    return (
        f"[{'#' * filled}{'.' * (width - filled)}] {share * 100:5.1f} %  "
        f"{progress.done:,} / {progress.total:,} candles, {progress.requests} requests"
    )


def timeframe_of(value: str) -> Timeframe:
    try:
        return Timeframe(value)
    except ValueError:
        allowed = ", ".join(item.value for item in Timeframe)
        raise ValueError(f"unknown timeframe '{value}'; use one of {allowed}") from None
