"""REST backfill: fetches the closed candles the socket did not deliver and merges them in.

Jobs come from three places: the start (fill each buffer up to now), every reconnect (what was missed
while disconnected) and every gap or unconfirmed close the DataStream reports. One worker coroutine
runs the jobs in order, paginating 1000 candles per request with a pause between requests, because
Binance bans clients that burst. REST is authoritative for closed candles: a candle whose `x=true`
message was lost is overwritten with the venue's final values.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from thebot.market.datastream import DataStream, Gap
from thebot.market.models import Candle, StreamKey

logger = logging.getLogger(__name__)

ClosedCandlesSink = Callable[[StreamKey, list[Candle]], None]
ClientFactory = Callable[[], Any]

_PROGRESS_LOG_SECONDS = 5.0
_RETRY_DELAYS_SECONDS = (1.0, 2.0, 5.0)


@dataclass(frozen=True, slots=True)
class BackfillJob:
    """Fetch `key` from `since` (None: the newest page) up to `until` (None: now), both open times."""

    key: StreamKey
    since: int | None
    until: int | None
    reason: str


@dataclass(frozen=True, slots=True)
class BackfillProgress:
    running: bool
    queued: int
    jobs_done: int
    jobs_failed: int
    requests: int
    candles: int
    current: str | None
    last_error: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "running": self.running,
            "queued": self.queued,
            "jobs_done": self.jobs_done,
            "jobs_failed": self.jobs_failed,
            "requests": self.requests,
            "candles": self.candles,
            "current": self.current,
            "last_error": self.last_error,
        }


def kline_row_to_candle(row: list[Any], closed: bool) -> Candle:
    """One row of Binance's REST klines, fetched through ccxt's `publicGetKlines`.

    ccxt's `fetch_ohlcv` keeps only the first six fields; the quote volume, trade count and taker-buy
    volume matter too (volume delta is 2·taker-buy − volume), so backfill reads the whole row::

        [1677628800000, "23141.57", "23180.00", "23120.10", "23161.80", "812.4", 1677628859999,
         "18801234.5", 9876, "401.2", "9290000.1", "0"]
    """
    return Candle(
        open_time=int(row[0]),
        open=float(row[1]),
        high=float(row[2]),
        low=float(row[3]),
        close=float(row[4]),
        volume=float(row[5]),
        closed=closed,
        quote_volume=float(row[7]),
        trades=int(row[8]),
        taker_buy_volume=float(row[9]),
    )


class Backfiller:
    """Runs on the market event loop; `request` must be called on that loop (use `request_threadsafe`)."""

    def __init__(
        self,
        datastream: DataStream,
        client_factory: ClientFactory,
        *,
        page_size: int = 1000,
        pause_seconds: float = 0.1,
        on_closed: ClosedCandlesSink | None = None,
        workers: int = 2,
    ) -> None:
        self._datastream = datastream
        self._client_factory = client_factory
        self._page_size = page_size
        self._pause = pause_seconds
        self._on_closed = on_closed
        self._client: Any = None
        self._symbols: dict[str, str] = {}
        self._pending: dict[StreamKey, BackfillJob] = {}
        # (priority, sequence, key): a symbol the user just added (urgent) goes ahead of the start backfill
        # of the others; FIFO within a priority.
        self._order: asyncio.PriorityQueue[tuple[int, int, StreamKey]] | None = None
        self._sequence = itertools.count()
        self._workers: list[asyncio.Task[None]] = []
        self._worker_count = max(1, workers)
        self._request_lock: asyncio.Lock | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._idle: asyncio.Event | None = None
        self._running: dict[int, str] = {}
        self._job_candles: dict[int, int] = {}
        self._jobs_done = 0
        self._jobs_failed = 0
        self._requests = 0
        self._candles = 0
        self._last_error: str | None = None
        self._last_request_at = 0.0

    # -- lifecycle (on the loop) -----------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._order = asyncio.PriorityQueue()
        self._idle = asyncio.Event()
        self._idle.set()
        self._request_lock = asyncio.Lock()
        self._workers = [
            asyncio.create_task(self._work(number), name=f"market-backfill-{number}")
            for number in range(self._worker_count)
        ]

    async def stop(self) -> None:
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []
        if self._client is not None:
            try:
                await self._client.close()
            except Exception:
                logger.exception("closing the ccxt client failed")
            self._client = None

    def idle(self) -> bool:
        """True when no job is queued or running (tests and the kill -9 check poll it)."""
        return not self._pending and not self._running

    # -- requests ------------------------------------------------------------------------------------

    def request(
        self, key: StreamKey, since: int | None, until: int | None, reason: str, *, urgent: bool = False
    ) -> None:
        """Queue a job, coalescing with a pending one for the same stream (widest range wins); `urgent`
        jobs run before the others (a second, urgent entry for a pending job moves it up)."""
        if self._order is None:
            return
        pending = self._pending.get(key)
        if pending is not None:
            since = None if pending.since is None or since is None else min(pending.since, since)
            until = None if pending.until is None or until is None else max(pending.until, until)
            self._pending[key] = BackfillJob(key, since, until, f"{pending.reason}+{reason}")
            if urgent:
                self._order.put_nowait((0, next(self._sequence), key))  # the later entry finds no job
            return
        self._pending[key] = BackfillJob(key, since, until, reason)
        assert self._idle is not None
        self._idle.clear()
        self._order.put_nowait((0 if urgent else 1, next(self._sequence), key))

    def request_threadsafe(self, key: StreamKey, since: int | None, until: int | None, reason: str) -> None:
        if self._loop is None:
            return
        self._loop.call_soon_threadsafe(self.request, key, since, until, reason)

    def request_catch_up(self, key: StreamKey, reason: str, *, urgent: bool = False) -> None:
        """From the newest buffered candle (refetched: it may have closed since) up to now."""
        last = self._datastream.last_candle(key.symbol, key.timeframe)
        self.request(key, None if last is None else last.open_time, None, reason, urgent=urgent)

    def on_gap(self, gap: Gap) -> None:
        """DataStream gap observer; called on the loop, from the processor."""
        self.request(gap.key, gap.first_open_time, gap.last_open_time, "gap")

    def progress(self) -> BackfillProgress:
        return BackfillProgress(
            running=bool(self._running),
            queued=len(self._pending),
            jobs_done=self._jobs_done,
            jobs_failed=self._jobs_failed,
            requests=self._requests,
            candles=self._candles,
            current=", ".join(
                f"{job} {self._job_candles.get(number, 0)} candles"
                for number, job in sorted(self._running.items())
            )
            or None,
            last_error=self._last_error,
        )

    # -- the worker ----------------------------------------------------------------------------------

    async def _work(self, number: int) -> None:
        """One of `workers` job runners; they share the request spacing, so together they stay under it."""
        assert self._order is not None and self._idle is not None
        while True:
            _priority, _sequence, key = await self._order.get()
            job = self._pending.pop(key, None)
            if job is None:
                continue
            self._running[number] = f"{key} ({job.reason})"
            self._job_candles[number] = 0
            try:
                await self._run_with_retries(job, number)
                self._jobs_done += 1
            except asyncio.CancelledError:
                raise
            except Exception as error:
                self._jobs_failed += 1
                self._last_error = f"{key}: {type(error).__name__}: {error}"
                logger.warning("backfill of %s failed after retries: %s", key, self._last_error)
            finally:
                self._running.pop(number, None)
                self._job_candles.pop(number, None)
                if not self._pending and not self._running:
                    self._idle.set()

    async def _run_with_retries(self, job: BackfillJob, number: int) -> None:
        for attempt, delay in enumerate((*_RETRY_DELAYS_SECONDS, None)):
            try:
                await self._run(job, number)
                return
            except asyncio.CancelledError:
                raise
            except Exception as error:
                if delay is None:
                    raise
                self._last_error = f"{job.key}: {type(error).__name__}: {error}"
                logger.info("backfill of %s: attempt %d failed (%s); retrying", job.key, attempt + 1, error)
                await asyncio.sleep(delay)

    async def _client_and_symbol(self, symbol: str) -> tuple[Any, str]:
        if self._client is None:
            self._client = self._client_factory()
        if symbol not in self._symbols:
            await self._client.load_markets()
            markets = self._client.markets_by_id.get(symbol)
            if not markets:
                raise ValueError(f"the venue does not list {symbol}")
            self._symbols[symbol] = str(markets[0]["id"])
        return self._client, self._symbols[symbol]

    async def _fetch(self, key: StreamKey, since: int | None, params: dict[str, Any]) -> list[list[Any]]:
        client, market_symbol = await self._client_and_symbol(key.symbol)
        assert self._request_lock is not None
        async with self._request_lock:
            wait = self._last_request_at + self._pause - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self._last_request_at = time.monotonic()
        self._requests += 1
        request: dict[str, Any] = {
            "symbol": market_symbol,
            "interval": key.timeframe.value,
            "limit": self._page_size,
            **params,
        }
        if since is not None:
            request["startTime"] = since
        rows: list[list[Any]] = await client.publicGetKlines(request)
        return rows

    async def _run(self, job: BackfillJob, number: int) -> None:
        key = job.key
        interval = key.timeframe.milliseconds
        started = time.monotonic()
        last_log = started
        total = 0
        if job.since is None:
            # No history at all: the newest page (its last candle is forming), then older pages until
            # the buffer is full.
            rows = await self._fetch(key, None, {})
            total += self._apply(key, rows, forming_last=True)
            while rows and total < self._datastream.capacity and len(rows) == self._page_size:
                rows = await self._fetch(key, None, {"endTime": int(rows[0][0]) - 1})
                total += self._apply(key, rows, forming_last=False)
                self._job_candles[number] = total
        else:
            since = job.since
            while True:
                rows = await self._fetch(key, since, {})
                full = len(rows) >= self._page_size
                if job.until is not None:
                    rows = [row for row in rows if int(row[0]) <= job.until]
                    total += self._apply(key, rows, forming_last=False)
                    if not full or not rows or int(rows[-1][0]) >= job.until:
                        break
                    since = int(rows[-1][0]) + interval
                elif not full:
                    total += self._apply(key, rows, forming_last=True)
                    break
                else:
                    # The page's last candle may be the forming one: fetch it again with the next page.
                    total += self._apply(key, rows[:-1], forming_last=False)
                    since = int(rows[-1][0])
                self._job_candles[number] = total
                now = time.monotonic()
                if now - last_log >= _PROGRESS_LOG_SECONDS:
                    last_log = now
                    logger.info("backfill %s (%s): %d candles so far", key, job.reason, total)
        self._candles += total
        elapsed = time.monotonic() - started
        logger.log(
            logging.INFO if total > 1000 or elapsed > 2 else logging.DEBUG,
            "backfill %s (%s): %d candles in %.1f s",
            key,
            job.reason,
            total,
            elapsed,
        )

    def _apply(self, key: StreamKey, rows: list[list[Any]], *, forming_last: bool) -> int:
        """Merge one page; returns how many closed candles it held."""
        if not rows:
            return 0
        rows = sorted(rows, key=lambda row: int(row[0]))
        closed_rows = rows[:-1] if forming_last else rows
        closed = [kline_row_to_candle(row, closed=True) for row in closed_rows]
        candles = list(closed)
        if forming_last:
            candles.append(kline_row_to_candle(rows[-1], closed=False))
        self._datastream.merge(key.symbol, key.timeframe, candles)
        if closed and self._on_closed is not None:
            try:
                self._on_closed(key, closed)
            except Exception:
                logger.exception("storing backfilled candles of %s failed", key)
        return len(closed)
