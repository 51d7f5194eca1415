"""`MarketData`: the one object the composition root builds for the market data layer.

It owns the DataStream, the WebSocketManager, the REST backfiller and the candle store, and wires them:
closed candles flow to the store, gaps and reconnects to the backfiller, and reads that reach beyond the
in-memory buffer go to the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np

from thebot.events import CandleClosed, Event
from thebot.market.backfill import Backfiller
from thebot.market.ccxt_client import make_binance_client
from thebot.market.clock import VenueClock, sample_forever
from thebot.market.datastream import DataStream, Gap
from thebot.market.models import Candle, StreamKey
from thebot.market.monitor import MarketMonitor
from thebot.market.protocol import TickerEvent
from thebot.market.store import KlineStore, columns_to_candles
from thebot.market.timeframe import Timeframe
from thebot.market.websocket import WebSocketManager
from thebot.runtime import EventLoopThread

if TYPE_CHECKING:
    from thebot.config import Settings

logger = logging.getLogger(__name__)

_RETENTION_PERIOD_SECONDS = 3600.0


class MarketData:
    """Built once by the composition root; every public method may be called from any thread.

    `start` returns within a second or two (the store restore is synchronous, sockets and backfill run
    on the event loop); `stop` closes the sockets and commits the closed candles still pending.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        ws_url: str,
        rest_url: str,
        exchange: str,
        store_path: str,
        loop: EventLoopThread,
        publish: Callable[[Event], None] | None = None,
        source: str | None = None,
    ) -> None:
        """`source` names where the candles come from (`binance`, `sim:seed=7`, ...): the store keeps and
        restores only that source's rows. Without it the exchange name is used."""
        self._settings = settings
        self._publish = publish
        self._exchange = exchange
        self._loop = loop
        symbols = settings.market.symbols
        timeframes = settings.market.timeframes
        self.datastream = DataStream(symbols, timeframes, capacity=settings.market.buffer_size)
        self.datastream.set_event_loop(loop.loop)
        self.websocket = WebSocketManager(
            settings.market_data,
            self.datastream,
            ws_url,
            loop,
            symbols=symbols,
            timeframes=timeframes,
            on_connected=self._on_connected,
        )
        market_settings = settings.market_data
        self.store = KlineStore(
            store_path,
            source or exchange,
            flush_seconds=market_settings.store_flush_seconds,
            batch_rows=market_settings.store_batch_rows,
            retention_days=market_settings.retention(),
        )
        self.backfiller = Backfiller(
            self.datastream,
            lambda: make_binance_client(rest_url),
            page_size=market_settings.backfill_page_size,
            pause_seconds=market_settings.backfill_rate_limit_ms / 1000,
            on_closed=self.store.write,
        )
        self.datastream.add_close_observer(self._on_close)
        self.datastream.add_gap_observer(self._on_gap)
        self.clock = VenueClock()
        self._rest_url = rest_url
        self._retention_task: asyncio.Task[None] | None = None
        self._monitor_task: asyncio.Task[None] | None = None
        self._clock_task: asyncio.Task[None] | None = None
        self._started = False

    @property
    def exchange(self) -> str:
        return self._exchange

    # -- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> None:
        """Returns quickly: buffers load from the store, then sockets and backfill run in the background."""
        if self._started:
            return
        self._started = True
        if not self._loop.running:
            self._loop.start()
        self.store.start()
        try:
            self.store.apply_retention()
        except duckdb.Error:
            logger.exception("retention failed; continuing with the stored candles as they are")
        restored = self._restore()
        logger.info("restored %d candles from %s", restored, self.store.path)
        self._loop.run(self.backfiller.start())
        self._retention_task = self._loop.run(self._start_retention())
        self._clock_task = self._loop.run(self._start_clock())
        if self._publish is not None:
            self._monitor_task = self._loop.run(self._start_monitor(MarketMonitor(self, self._publish)))
        # Queue the start backfill from the restored buffers before the socket starts: a streamed candle
        # arriving first would otherwise make it a catch-up from now, and the history would never come.
        # The timeframe the chart opens with first, for every symbol: a chart is on screen sooner than if
        # one symbol's six timeframes all came before the next symbol's first.
        opening = self._settings.ui.default_timeframe
        keys = sorted(self.datastream.keys(), key=lambda key: key.timeframe is not opening)
        self._loop.run(self._request_catch_up(keys, "start"))
        self.websocket.start()

    def stop(self) -> None:
        """Close the sockets and write every pending closed candle to the store."""
        if not self._started:
            return
        self._started = False
        self.websocket.stop()
        if self._loop.running:
            with contextlib.suppress(TimeoutError):
                self._loop.run(self._stop_background(), timeout=5.0)
        self.store.close()

    async def _start_monitor(self, monitor: MarketMonitor) -> asyncio.Task[None]:
        return asyncio.create_task(monitor.run(), name="market-monitor")

    async def _start_clock(self) -> asyncio.Task[None]:
        return asyncio.create_task(sample_forever(self.clock, self._rest_url), name="venue-clock")

    async def _start_retention(self) -> asyncio.Task[None]:
        return asyncio.create_task(self._retention_loop(), name="market-retention")

    async def _retention_loop(self) -> None:
        while True:
            await asyncio.sleep(_RETENTION_PERIOD_SECONDS)
            try:
                await asyncio.to_thread(self.store.apply_retention)
            except duckdb.Error:
                logger.exception("retention failed; will retry")

    async def _stop_background(self) -> None:
        tasks = [
            task for task in (self._retention_task, self._monitor_task, self._clock_task) if task is not None
        ]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.backfiller.stop()

    def _restore(self, symbol: str | None = None, timeframes: Iterable[Timeframe] | None = None) -> int:
        restored = 0
        capacity = self.datastream.capacity
        if symbol is None:
            streams = self.store.read_recent_all(capacity)
        else:
            streams = {
                StreamKey(symbol, timeframe): self.store.read(symbol, timeframe, limit=capacity)
                for timeframe in (self.datastream.timeframes if timeframes is None else timeframes)
            }
        wanted = set(self.datastream.keys())
        for key, columns in streams.items():
            if key in wanted:
                self.datastream.merge_columns(key.symbol, key.timeframe, columns)
                restored += int(columns["open_time"].shape[0])
        return restored

    async def _request_catch_up(self, keys: list[StreamKey], reason: str, *, urgent: bool = False) -> None:
        """Queued on the loop before returning, so `wait_backfilled` right after sees the jobs."""
        for key in keys:
            self.backfiller.request_catch_up(key, reason, urgent=urgent)

    def wait_backfilled(self, timeout: float = 30.0) -> bool:
        """Block until no backfill is queued or running (scripts and tests)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.backfiller.idle():
                return True
            time.sleep(0.05)
        return self.backfiller.idle()

    def flush(self, timeout: float = 10.0) -> bool:
        """Commit every closed candle received so far to the store."""
        return self.store.flush(timeout)

    # -- symbols ---------------------------------------------------------------------------------------

    def symbols(self) -> list[str]:
        return self.websocket.symbols

    def add_symbol(self, symbol: str) -> None:
        """Start streaming `symbol` on every timeframe; the other streams are not interrupted."""
        if not (symbol.isalnum() and symbol.isupper()):
            raise ValueError(f"'{symbol}' is not an upper-case Binance symbol such as BTCUSDT")
        self.datastream.add_symbol(symbol)
        self._restore(symbol)
        # Queue the backfill before subscribing, as at start: a streamed candle arriving first would make
        # it a catch-up from now, and the new symbol's history would never come.
        keys = [StreamKey(symbol, timeframe) for timeframe in self.datastream.timeframes]
        # Urgent: someone is waiting for this chart, so it goes ahead of the other streams' start backfill.
        self._loop.run(self._request_catch_up(keys, "added", urgent=True))
        self.websocket.add_symbol(symbol)

    def remove_symbol(self, symbol: str) -> None:
        self.websocket.remove_symbol(symbol)
        self.datastream.remove_symbol(symbol)

    def apply_symbols(self, symbols: tuple[str, ...]) -> tuple[list[str], list[str]]:
        """Stream exactly `symbols` (the settings store's `market.symbols`): removals first, so a swap
        never holds more streams than either list; returns (added, removed)."""
        current = self.datastream.symbols()
        removed = [symbol for symbol in current if symbol not in symbols]
        added = [symbol for symbol in symbols if symbol not in current]
        for symbol in removed:
            self.remove_symbol(symbol)
            logger.info("stopped streaming %s", symbol)
        for symbol in added:
            self.add_symbol(symbol)
            logger.info("streaming %s (backfill queued)", symbol)
        return added, removed

    def apply_timeframes(self, timeframes: tuple[Timeframe, ...]) -> tuple[list[Timeframe], list[Timeframe]]:
        """Stream every symbol on exactly `timeframes` (the settings store's `market.timeframes`); returns
        (added, removed). A new timeframe is restored from the store and backfilled like an added symbol;
        a dropped one stops at once; the other streams are not interrupted."""
        added, removed = self.datastream.set_timeframes(timeframes)
        if added:
            symbols = self.datastream.symbols()
            for symbol in symbols:
                self._restore(symbol, added)
            keys = [StreamKey(symbol, timeframe) for symbol in symbols for timeframe in added]
            # Backfill queued before subscribing, as for an added symbol.
            self._loop.run(self._request_catch_up(keys, "added", urgent=True))
        if added or removed:
            self.websocket.set_timeframes(self.datastream.timeframes)  # logs what it added and removed
        return added, removed

    def ticker(self, symbol: str) -> TickerEvent | None:
        return self.websocket.ticker(symbol)

    def event_lag_ms(self, symbol: str, timeframe: Timeframe) -> int | None:
        """How far behind the venue's clock the stream's newest frame arrived, in venue ms (None until
        both a frame and a clock sample are in); see `thebot.market.clock`."""
        arrival = self.websocket.last_arrival(symbol, timeframe)
        return None if arrival is None else self.clock.lag_ms(*arrival)

    # -- reads -----------------------------------------------------------------------------------------

    def klines(
        self,
        symbol: str,
        timeframe: Timeframe,
        *,
        limit: int,
        start: int | None = None,
        end: int | None = None,
    ) -> list[Candle]:
        """Up to `limit` candles, oldest first, with open times in [start, end] when given.

        Without `start` the newest `limit` candles are returned.
        """
        if limit <= 0:
            return []
        snapshot = self.datastream.snapshot(symbol, timeframe)
        open_times = snapshot.open_time
        oldest_buffered = int(open_times[0]) if len(snapshot) else None
        # Only the selected rows become Candle objects: buffers may hold up to 100,000 candles.
        first = 0 if start is None else int(np.searchsorted(open_times, start, side="left"))
        last = len(snapshot) if end is None else int(np.searchsorted(open_times, end, side="right"))
        if start is None:
            first = max(first, last - limit)
        else:
            last = min(last, first + limit)
        buffered = [snapshot.candle(index) for index in range(first, last)]
        store_end = end if oldest_buffered is None else oldest_buffered - 1
        if end is not None and store_end is not None:
            store_end = min(store_end, end)
        if start is not None:
            # Oldest first from `start`: the store covers what lies before the buffer.
            older: list[Candle] = []
            if store_end is None or start <= store_end:
                older = columns_to_candles(
                    self.store.read(symbol, timeframe, start=start, end=store_end, limit=limit, newest=False)
                )
            return (older + buffered)[:limit]
        if len(buffered) >= limit:
            return buffered[-limit:]
        older = columns_to_candles(
            self.store.read(symbol, timeframe, end=store_end, limit=limit - len(buffered), newest=True)
        )
        return older + buffered

    def store_connection(self) -> duckdb.DuckDBPyConnection:
        """A cursor on the market database for other services' tables (e.g. signal history)."""
        return self.store.cursor()

    def health(self) -> dict[str, Any]:
        status = self.websocket.status()
        streams = [
            {
                "symbol": stream.key.symbol,
                "timeframe": stream.key.timeframe.value,
                "candles": stream.candles,
                "last_open_time": stream.last_open_time,
                "last_update_age_ms": stream.last_update_age_ms,
                "stale": stream.stale,
                "gaps": stream.gaps,
                "ignored_older": stream.ignored_older,
                # Against the venue's clock (`thebot.market.clock`), in venue ms: meaningful at any
                # simulated speed, unlike the websocket section's wall-clock `event_lag_ms`.
                "event_lag_ms": self.event_lag_ms(stream.key.symbol, stream.key.timeframe),
            }
            for stream in self.datastream.status()
        ]
        return {
            "websocket": status.as_dict(),
            "venue_clock_rate": round(self.clock.rate(), 4),
            "streams": streams,
            "tickers": {
                symbol: {"last_price": ticker.last_price, "change_percent": ticker.price_change_percent}
                for symbol in self.symbols()
                if (ticker := self.ticker(symbol)) is not None
            },
            "backfill": self.backfiller.progress().as_dict(),
            "store": self.store.status().as_dict(),
            "checked_at_ms": int(time.time() * 1000),
        }

    # -- wiring ----------------------------------------------------------------------------------------

    def _on_connected(self, keys: list[StreamKey], reconnect: bool) -> None:
        """After a reconnect, fetch what the socket missed (called on the loop)."""
        if not reconnect:
            return
        for key in keys:
            self.backfiller.request_catch_up(key, "reconnect")

    def _on_close(self, key: StreamKey, candle: Candle) -> None:
        self.store.write(key, (candle,))
        if self._publish is not None:
            self._publish(
                CandleClosed(
                    symbol=key.symbol,
                    timeframe=key.timeframe.value,
                    open_time=candle.open_time,
                    open=candle.open,
                    high=candle.high,
                    low=candle.low,
                    close=candle.close,
                    volume=candle.volume,
                )
            )

    def _on_gap(self, gap: Gap) -> None:
        self.backfiller.request_threadsafe(gap.key, gap.first_open_time, gap.last_open_time, "gap")
