"""Multi-timeframe candle buffers: one columnar numpy buffer per (symbol, timeframe).

Writers are the WebSocketManager's loop and the backfiller; readers are Dash callbacks and the analytics
in other threads. One lock guards all buffers; a snapshot copies the live rows under the lock, so
readers never see a half-written candle. Observers are called after the lock is released so that a slow
or failing observer cannot stall ingestion.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
import time
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from thebot.market.models import KLINE_COLUMNS, Candle, CandleSnapshot, StreamKey
from thebot.market.timeframe import Timeframe

logger = logging.getLogger(__name__)

_FLOAT_FIELDS = ("open", "high", "low", "close", "volume", "quote_volume", "taker_buy_volume")
_INT_FIELDS = ("open_time", "trades")
_ROW_FIELDS = (*KLINE_COLUMNS, "closed")
_ROW_DTYPE = np.dtype(
    [
        (name, np.int64 if name in _INT_FIELDS else np.bool_ if name == "closed" else np.float64)
        for name in _ROW_FIELDS
    ]
)


class UpdateKind:
    """What an update did to a buffer; named constants rather than magic strings."""

    REPLACED = "replaced"
    APPENDED = "appended"
    IGNORED = "ignored"


@dataclass(frozen=True, slots=True)
class Gap:
    """Candles to fetch again: open times `first_open_time`..`last_open_time`, missing or unconfirmed."""

    key: StreamKey
    first_open_time: int
    last_open_time: int
    # True when the range starts with a candle that closed without its final (x=true) message.
    starts_unconfirmed: bool = False

    @property
    def candles(self) -> int:
        return (self.last_open_time - self.first_open_time) // self.key.timeframe.milliseconds + 1


@dataclass(frozen=True, slots=True)
class StreamStatus:
    key: StreamKey
    candles: int
    last_open_time: int
    last_update_age_ms: int
    stale: bool
    version: int
    ignored_older: int
    gaps: int


UpdateObserver = Callable[[StreamKey, Candle], Any]
CloseObserver = Callable[[StreamKey, Candle], Any]
GapObserver = Callable[[Gap], Any]
ChangeListener = Callable[[StreamKey], Any]


class _Buffer:
    """Columnar storage of `capacity` rows with room for as many again, so appends stay O(1) amortised
    and the live rows are always one contiguous slice [start, end).

    Rows live in one structured array; `columns` holds per-field views into it. Most messages replace
    the forming candle, so its newest values wait in `pending` (a plain tuple) and reach the array only
    when something reads the buffer or a newer candle arrives: one numpy write per candle, not per
    message. Every reader calls `flush` first, under the DataStream lock. The newest open time and
    closed flag are mirrored as Python values for the per-message checks.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        size = capacity * 2
        self.rows = np.zeros(size, dtype=_ROW_DTYPE)
        self.columns: dict[str, np.ndarray[Any, Any]] = {name: self.rows[name] for name in _ROW_FIELDS}
        self.start = 0
        self.end = 0
        self.pending: tuple[Any, ...] | None = None
        self.last_open: int | None = None
        self.last_closed = False
        self.removed = False
        self.version = 0
        self.last_update_monotonic: float | None = None
        self.ignored_older = 0
        self.gaps = 0

    def __len__(self) -> int:
        return self.end - self.start

    def last_open_time(self) -> int | None:
        return self.last_open

    def flush(self) -> None:
        if self.pending is not None:
            self.rows[self.end - 1] = self.pending
            self.pending = None

    def set_last(self, values: tuple[Any, ...]) -> None:
        """Replace the newest row; `values` in `_ROW_FIELDS` order."""
        self.pending = values
        self.last_open = values[0]
        self.last_closed = values[-1]

    def append_values(self, values: tuple[Any, ...]) -> None:
        self.flush()
        if self.end == self.capacity * 2:
            keep = self.capacity - 1
            self.rows[:keep] = self.rows[self.end - keep : self.end]
            self.start, self.end = 0, keep
        self.end += 1
        self.set_last(values)
        if self.end - self.start > self.capacity:
            self.start += 1

    def close_last(self) -> None:
        self.flush()
        self.rows["closed"][self.end - 1] = True
        self.last_closed = True

    def row(self, index: int) -> Candle:
        self.flush()
        columns = self.columns
        return Candle(
            open_time=int(columns["open_time"][index]),
            open=float(columns["open"][index]),
            high=float(columns["high"][index]),
            low=float(columns["low"][index]),
            close=float(columns["close"][index]),
            volume=float(columns["volume"][index]),
            closed=bool(columns["closed"][index]),
            quote_volume=float(columns["quote_volume"][index]),
            trades=int(columns["trades"][index]),
            taker_buy_volume=float(columns["taker_buy_volume"][index]),
        )

    def replace_all(self, rows: dict[str, np.ndarray[Any, Any]], count: int) -> None:
        """Load `count` sorted rows (newest `capacity` kept) as the whole buffer."""
        count = min(count, self.capacity)
        self.pending = None
        for name, column in self.columns.items():
            column[:count] = rows[name][-count:] if count else column[:0]
        self.start, self.end = 0, count
        self.last_open = int(self.rows["open_time"][count - 1]) if count else None
        self.last_closed = bool(self.rows["closed"][count - 1]) if count else False


class DataStream:
    """Per (symbol, timeframe) candle buffers with versions, observers and gap detection."""

    def __init__(
        self,
        symbols: Iterable[str],
        timeframes: Iterable[Timeframe],
        capacity: int = 1000,
        stale_after_ms: Callable[[Timeframe], int] | None = None,
    ) -> None:
        self._capacity = capacity
        self._lock = threading.Lock()
        self._buffers: dict[StreamKey, _Buffer] = {}
        # The hot path looks buffers up by a plain tuple: hashing a dataclass key costs more.
        self._entries: dict[tuple[str, Timeframe], tuple[StreamKey, _Buffer]] = {}
        self._timeframes = tuple(timeframes)
        for symbol in symbols:
            self._add_buffers(symbol)
        self._update_observers: list[UpdateObserver] = []
        self._close_observers: list[CloseObserver] = []
        self._gap_observers: list[GapObserver] = []
        self._change_listeners: list[ChangeListener] = []
        self._stale_after_ms = stale_after_ms or _default_stale_after_ms
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- configuration -------------------------------------------------------------------------------

    @property
    def capacity(self) -> int:
        return self._capacity

    @property
    def timeframes(self) -> tuple[Timeframe, ...]:
        return self._timeframes

    def keys(self) -> list[StreamKey]:
        with self._lock:
            return list(self._buffers)

    def symbols(self) -> list[str]:
        with self._lock:
            return sorted({key.symbol for key in self._buffers})

    def _add_buffers(self, symbol: str) -> None:
        for timeframe in self._timeframes:
            key = StreamKey(symbol, timeframe)
            if key not in self._buffers:
                buffer = _Buffer(self._capacity)
                self._buffers[key] = buffer
                self._entries[(symbol, timeframe)] = (key, buffer)

    def add_symbol(self, symbol: str) -> None:
        with self._lock:
            self._add_buffers(symbol)

    def remove_symbol(self, symbol: str) -> None:
        with self._lock:
            for key in [key for key in self._buffers if key.symbol == symbol]:
                self._buffers.pop(key).removed = True
                del self._entries[(key.symbol, key.timeframe)]

    def set_timeframes(self, timeframes: Iterable[Timeframe]) -> tuple[list[Timeframe], list[Timeframe]]:
        """Buffer every symbol on exactly `timeframes`; returns (added, removed). A removed timeframe's
        buffers go at once (updates still in flight for them are ignored); the others are untouched."""
        wanted = tuple(dict.fromkeys(timeframes))
        with self._lock:
            symbols = sorted({key.symbol for key in self._buffers})  # before a swap empties them
            added = [timeframe for timeframe in wanted if timeframe not in self._timeframes]
            removed = [timeframe for timeframe in self._timeframes if timeframe not in wanted]
            for key in [key for key in self._buffers if key.timeframe in removed]:
                self._buffers.pop(key).removed = True
                del self._entries[(key.symbol, key.timeframe)]
            self._timeframes = wanted
            for symbol in symbols:
                self._add_buffers(symbol)
        return added, removed

    def set_event_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Where async observers run when an update arrives from a thread without a running loop."""
        self._loop = loop

    def add_update_observer(self, observer: UpdateObserver) -> None:
        self._update_observers.append(observer)

    def add_close_observer(self, observer: CloseObserver) -> None:
        self._close_observers.append(observer)

    def add_gap_observer(self, observer: GapObserver) -> None:
        self._gap_observers.append(observer)

    def add_change_listener(self, listener: ChangeListener) -> None:
        """`listener(key)` after every applied update, on the writer's thread. Unlike an update observer
        it gets no Candle, so the socket's hot path builds none for it: it is for "something moved,
        look when you can" (the page's push), and must only flag and return."""
        self._change_listeners.append(listener)

    # -- writes --------------------------------------------------------------------------------------

    def update(self, symbol: str, timeframe: Timeframe, candle: Candle) -> str:
        """Apply one streamed candle; returns an `UpdateKind`.

        Same open time replaces the forming candle; a newer one appends and closes the previous one
        (even when its `x=true` message was lost); an older one is ignored and counted.
        """
        return self.update_values(symbol, timeframe, *candle.values(), candle)

    def update_values(  # noqa: PLR0917 - positional on purpose: the hot path of every message
        self,
        symbol: str,
        timeframe: Timeframe,
        open_time: int,
        open_price: float,
        high: float,
        low: float,
        close: float,
        volume: float,
        closed: bool,
        quote_volume: float = 0.0,
        trades: int = 0,
        taker_buy_volume: float = 0.0,
        candle: Candle | None = None,
    ) -> str:
        """`update` without a Candle object: the socket's hot path builds one only when someone needs it."""
        entry = self._entries.get((symbol, timeframe))
        if entry is None:
            return UpdateKind.IGNORED
        key, buffer = entry
        closed_now: list[Candle] = []
        gap: Gap | None = None
        values = (
            open_time,
            open_price,
            high,
            low,
            close,
            volume,
            quote_volume,
            trades,
            taker_buy_volume,
            closed,
        )
        with self._lock:
            if buffer.removed:
                return UpdateKind.IGNORED
            last_open_time = buffer.last_open
            was_closed = False
            if last_open_time is None or open_time > last_open_time:
                if last_open_time is not None:
                    unconfirmed = not buffer.last_closed
                    if unconfirmed:
                        buffer.close_last()
                        closed_now.append(buffer.row(buffer.end - 1))
                    expected = last_open_time + timeframe.milliseconds
                    if open_time > expected:
                        buffer.gaps += 1
                    if open_time > expected or unconfirmed:
                        # A candle closed without its x=true message holds its last streamed values,
                        # which may not be final: it is handed to the backfiller with the gap.
                        first = last_open_time if unconfirmed else expected
                        gap = Gap(key, first, open_time - timeframe.milliseconds, unconfirmed)
                buffer.append_values(values)
                appended = True
            elif open_time == last_open_time:
                was_closed = buffer.last_closed
                if was_closed and not closed:
                    # A late forming update for a candle already closed must not reopen it.
                    buffer.ignored_older += 1
                    return UpdateKind.IGNORED
                buffer.set_last(values)
                appended = False
            else:
                buffer.ignored_older += 1
                return UpdateKind.IGNORED
            buffer.version += 1
            buffer.last_update_monotonic = time.monotonic()
        needs_candle = self._update_observers or (closed and (appended or not was_closed))
        if candle is None and needs_candle:
            candle = Candle(
                open_time,
                open_price,
                high,
                low,
                close,
                volume,
                closed,
                quote_volume,
                trades,
                taker_buy_volume,
            )
        if candle is not None and closed and (appended or not was_closed):
            closed_now.append(candle)
        if gap is not None:
            self._notify(self._gap_observers, gap)
        for closed_candle in closed_now:
            self._notify(self._close_observers, key, closed_candle)
        if self._update_observers and candle is not None:
            self._notify(self._update_observers, key, candle)
        for listener in self._change_listeners:
            try:
                listener(key)
            except Exception:
                logger.exception("change listener %r failed", listener)
        return UpdateKind.APPENDED if appended else UpdateKind.REPLACED

    def merge(self, symbol: str, timeframe: Timeframe, candles: Iterable[Candle]) -> int:
        """Merge candles from backfill or the store; returns how many open times were new.

        Incoming closed candles are authoritative (REST knows the final values of a candle whose
        `x=true` message was lost); incoming forming candles only fill open times the buffer lacks.
        The newest `capacity` candles are kept. Does not call close observers: these are history.
        """
        incoming = list(candles)
        if not incoming:
            return 0
        return self.merge_columns(symbol, timeframe, _columns_of(incoming))

    def merge_columns(
        self, symbol: str, timeframe: Timeframe, columns: dict[str, np.ndarray[Any, Any]]
    ) -> int:
        """`merge` for column arrays (the store's restore path): `open_time`, `open`, ..., `closed`.

        Missing optional columns (quote_volume, trades, taker_buy_volume) are zero.
        """
        count = int(columns["open_time"].shape[0])
        if count == 0:
            return 0
        incoming = _complete_columns(columns, count)
        key = StreamKey(symbol, timeframe)
        with self._lock:
            buffer = self._buffers.get(key)
            if buffer is None:
                return 0
            buffer.flush()
            live = {name: column[buffer.start : buffer.end] for name, column in buffer.columns.items()}
            before = buffer.end - buffer.start
            # Priority at equal open times: incoming closed (2) > buffered (1) > incoming forming (0).
            priority = np.concatenate(
                [np.ones(before, dtype=np.int8), np.where(incoming["closed"], 2, 0).astype(np.int8)]
            )
            merged = {name: np.concatenate([live[name], incoming[name]]) for name in buffer.columns}
            order = np.lexsort((-priority, merged["open_time"]))
            open_times = merged["open_time"][order]
            _, first = np.unique(open_times, return_index=True)
            chosen = order[first]
            rows = {name: column[chosen] for name, column in merged.items()}
            total = int(chosen.shape[0])
            if total > 1:
                # Everything older than the newest candle has closed by definition.
                rows["closed"][:-1] = True
            buffer.replace_all(rows, total)
            buffer.version += 1
        for listener in self._change_listeners:
            try:
                listener(key)
            except Exception:
                logger.exception("change listener %r failed", listener)
        return total - before

    # -- reads ---------------------------------------------------------------------------------------

    def version(self, symbol: str, timeframe: Timeframe) -> int:
        with self._lock:
            buffer = self._buffers.get(StreamKey(symbol, timeframe))
            return -1 if buffer is None else buffer.version

    def snapshot(self, symbol: str, timeframe: Timeframe, limit: int | None = None) -> CandleSnapshot:
        key = StreamKey(symbol, timeframe)
        with self._lock:
            buffer = self._buffers.get(key)
            if buffer is None:
                raise KeyError(f"no stream {key}")
            end = buffer.end
            start = buffer.start if limit is None else max(buffer.start, end - limit)
            buffer.flush()
            copies = {name: column[start:end].copy() for name, column in buffer.columns.items()}
            version = buffer.version
        return CandleSnapshot(symbol=symbol, timeframe=timeframe, version=version, **copies)

    def last_candle(self, symbol: str, timeframe: Timeframe) -> Candle | None:
        with self._lock:
            buffer = self._buffers.get(StreamKey(symbol, timeframe))
            if buffer is None or len(buffer) == 0:
                return None
            return buffer.row(buffer.end - 1)

    def status(self) -> list[StreamStatus]:
        now = time.monotonic()
        with self._lock:
            return [self._status(key, buffer, now) for key, buffer in self._buffers.items()]

    def stream_status(self, symbol: str, timeframe: Timeframe) -> StreamStatus | None:
        """One stream's status (None when it is not streamed): what a chart update needs, without
        walking every buffer."""
        key = StreamKey(symbol, timeframe)
        with self._lock:
            buffer = self._buffers.get(key)
            return None if buffer is None else self._status(key, buffer, time.monotonic())

    def _status(self, key: StreamKey, buffer: _Buffer, now: float) -> StreamStatus:
        age_ms = (
            -1 if buffer.last_update_monotonic is None else int((now - buffer.last_update_monotonic) * 1000)
        )
        return StreamStatus(
            key=key,
            candles=len(buffer),
            last_open_time=buffer.last_open_time() or 0,
            last_update_age_ms=age_ms,
            stale=age_ms < 0 or age_ms > self._stale_after_ms(key.timeframe),
            version=buffer.version,
            ignored_older=buffer.ignored_older,
            gaps=buffer.gaps,
        )

    # -- observers -----------------------------------------------------------------------------------

    def _notify(self, observers: list[Callable[..., Any]], *args: Any) -> None:
        for observer in list(observers):
            try:
                if inspect.iscoroutinefunction(observer):
                    self._schedule(observer(*args))
                else:
                    observer(*args)
            except Exception:
                logger.exception("observer %r failed; the others still run", observer)

    def _schedule(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is not None:
            task = loop.create_task(coroutine)
            task.add_done_callback(_log_task_failure)
        elif self._loop is not None:
            future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
            future.add_done_callback(_log_task_failure)
        else:
            logger.warning("async observer skipped: no event loop; call set_event_loop() first")
            coroutine.close()


def _log_task_failure(task: Any) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("async observer failed: %r", task.exception())


def _default_stale_after_ms(timeframe: Timeframe) -> int:
    """Binance pushes klines every 2 s (1 s klines every second); three missed pushes mean stale."""
    cadence_ms = 1_000 if timeframe is Timeframe.S1 else 2_000
    return 3 * cadence_ms


def _columns_of(candles: list[Candle]) -> dict[str, np.ndarray[Any, Any]]:
    count = len(candles)
    rows: dict[str, np.ndarray[Any, Any]] = {
        "open_time": np.fromiter((c.open_time for c in candles), dtype=np.int64, count=count),
        "trades": np.fromiter((c.trades for c in candles), dtype=np.int64, count=count),
        "closed": np.fromiter((c.closed for c in candles), dtype=np.bool_, count=count),
    }
    for name in _FLOAT_FIELDS:
        rows[name] = np.fromiter((getattr(c, name) for c in candles), dtype=np.float64, count=count)
    return rows


def _complete_columns(
    columns: dict[str, np.ndarray[Any, Any]], count: int
) -> dict[str, np.ndarray[Any, Any]]:
    result: dict[str, np.ndarray[Any, Any]] = {}
    for name in _FLOAT_FIELDS:
        column = columns.get(name)
        result[name] = np.zeros(count, np.float64) if column is None else np.asarray(column, np.float64)
    for name in _INT_FIELDS:
        column = columns.get(name)
        result[name] = np.zeros(count, np.int64) if column is None else np.asarray(column, np.int64)
    closed = columns.get("closed")
    result["closed"] = np.ones(count, np.bool_) if closed is None else np.asarray(closed, np.bool_)
    return result
