"""The single WebSocket client of the process: Binance combined market streams into the DataStream.

Made of small coroutines, as cryptofeed does it: one supervisor per connection (connect, back off,
reconnect), a reader that validates and queues every frame, a watchdog that closes a socket which looks
open but has gone quiet, and one processor that drains the queue into the DataStream.

Everything runs on the `EventLoopThread`; the public methods (`start`, `stop`, `add_symbol`,
`remove_symbol`, `status`, `ticker`) may be called from any thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from thebot.market.datastream import DataStream
from thebot.market.models import KlineEvent, StreamKey
from thebot.market.protocol import (
    ControlReply,
    InvalidMessage,
    InvalidReason,
    ServerShutdown,
    TickerEvent,
    kline_stream_name,
    kline_values,
    parse_payload,
    ticker_stream_name,
    values_of,
)
from thebot.market.queueing import EventQueue
from thebot.market.settings import MarketDataSettings
from thebot.market.timeframe import Timeframe
from thebot.runtime import EventLoopThread

logger = logging.getLogger(__name__)

# Streams named in the connect URL; the rest go out as SUBSCRIBE messages, keeping the URL short.
_URL_STREAMS = 100
_STREAMS_PER_CONTROL_MESSAGE = 200
_PROCESS_BATCH = 512
_LAG_SAMPLES = 2048
# One message in 8 contributes an event-time lag sample: enough for percentiles, cheap under load.
_LAG_SAMPLE_MASK = 7
_RATE_WINDOW_SECONDS = 10.0
_INVALID_LOG_INTERVAL_SECONDS = 10.0
_CALL_TIMEOUT_SECONDS = 10.0

ConnectedCallback = Callable[[list[StreamKey], bool], Any]


class CloseReason(StrEnum):
    """Why a session ended; decides whether the next attempt waits for the backoff."""

    LOST = "lost"
    WATCHDOG = "watchdog"
    ROTATION = "rotation"
    SERVER_SHUTDOWN = "server_shutdown"
    EMPTY = "empty"
    STOPPING = "stopping"


_CLEAN_REASONS = frozenset({CloseReason.ROTATION, CloseReason.SERVER_SHUTDOWN, CloseReason.EMPTY})


@dataclass(frozen=True, slots=True)
class ConnectionStatus:
    name: str
    connected: bool
    streams: int
    messages: int
    connects: int
    connected_for_seconds: float


@dataclass(frozen=True, slots=True)
class ManagerStatus:
    connected: bool
    connections: tuple[ConnectionStatus, ...]
    reconnects: int
    connect_attempts: int
    messages: int
    applied: int
    messages_per_second: float
    invalid_messages: int
    invalid_by_reason: dict[str, int]
    dropped_updates: int
    queue_depth: int
    queue_capacity: int
    watchdog_fires: int
    rotations: int
    server_shutdowns: int
    last_error: str | None
    lag_ms: dict[str, float | None]

    def as_dict(self) -> dict[str, Any]:
        return {
            "connected": self.connected,
            "reconnects": self.reconnects,
            "connect_attempts": self.connect_attempts,
            "messages": self.messages,
            "applied_updates": self.applied,
            "invalid_messages": self.invalid_messages,
            "invalid_by_reason": dict(self.invalid_by_reason),
            "messages_per_second": round(self.messages_per_second, 1),
            "dropped_updates": self.dropped_updates,
            "queue_depth": self.queue_depth,
            "queue_capacity": self.queue_capacity,
            "watchdog_fires": self.watchdog_fires,
            "rotations": self.rotations,
            "server_shutdowns": self.server_shutdowns,
            "last_error": self.last_error,
            "event_lag_ms": dict(self.lag_ms),
            "connections": [
                {
                    "name": connection.name,
                    "connected": connection.connected,
                    "streams": connection.streams,
                    "messages": connection.messages,
                    "connects": connection.connects,
                    "connected_for_seconds": round(connection.connected_for_seconds, 1),
                }
                for connection in self.connections
            ],
        }


@dataclass(slots=True)
class _Connection:
    """One socket's worth of streams (at most `max_streams_per_connection`)."""

    name: str
    streams: list[str] = field(default_factory=list)
    socket: ClientConnection | None = None
    task: asyncio.Task[None] | None = None
    close_reason: CloseReason | None = None
    connected_at: float | None = None
    last_message_at: float = 0.0
    messages: int = 0
    connects: int = 0


class _RateLimitedLog:
    """Logs the first invalid message of each reason, then at most one summary per interval."""

    def __init__(self, interval: float) -> None:
        self._interval = interval
        self._last: dict[InvalidReason, float] = {}
        self._suppressed: dict[InvalidReason, int] = {}

    def warn(self, error: InvalidMessage) -> None:
        now = time.monotonic()
        last = self._last.get(error.reason)
        if last is not None and now - last < self._interval:
            self._suppressed[error.reason] = self._suppressed.get(error.reason, 0) + 1
            return
        suppressed = self._suppressed.pop(error.reason, 0)
        self._last[error.reason] = now
        logger.warning(
            "dropped invalid market message (%s): %s%s",
            error.reason.value,
            error.detail[:200],
            f" (+{suppressed} more of this kind since the last report)" if suppressed else "",
        )


class WebSocketManager:
    """Kline and 24 h ticker subscriptions over as few connections as Binance allows."""

    def __init__(
        self,
        settings: MarketDataSettings,
        datastream: DataStream,
        ws_url: str,
        loop: EventLoopThread,
        *,
        symbols: Iterable[str],
        timeframes: Iterable[Timeframe],
        on_connected: ConnectedCallback | None = None,
    ) -> None:
        self._settings = settings
        self._datastream = datastream
        self._ws_url = ws_url.rstrip("/")
        self._loop_thread = loop
        self._timeframes = tuple(timeframes)
        self._symbols: list[str] = []
        for symbol in symbols:
            if symbol not in self._symbols:
                self._symbols.append(symbol)
        self._on_connected = on_connected
        self._connections: list[_Connection] = []
        self._stream_keys: dict[str, StreamKey | str] = {}
        self._kline_keys: set[tuple[str, Timeframe]] = set()
        self._queue: EventQueue | None = None
        self._processor: asyncio.Task[None] | None = None
        self._control_lock: asyncio.Lock | None = None
        self._last_control_at = 0.0
        self._connect_lock: asyncio.Lock | None = None
        self._last_connect_at = -1e9
        self._request_ids = itertools.count(1)
        self._names = itertools.count(1)
        self._stopping = False
        self._started = False
        # Counters; written on the loop, read from any thread (ints are read atomically).
        self._messages = 0
        self._reconnects = 0
        self._connect_attempts = 0
        self._applied = 0
        self._invalid: dict[str, int] = {}
        self._watchdog_fires = 0
        self._rotations = 0
        self._server_shutdowns = 0
        self._last_error: str | None = None
        self._lags: deque[int] = deque(maxlen=_LAG_SAMPLES)
        self._rate_samples: deque[tuple[float, int]] = deque()
        self._tickers: dict[str, TickerEvent] = {}
        # Per stream: the newest frame's event time `E` and this machine's monotonic time on arrival.
        self._arrivals: dict[tuple[str, Timeframe], tuple[int, float]] = {}
        self._status_lock = threading.Lock()
        self._invalid_log = _RateLimitedLog(_INVALID_LOG_INTERVAL_SECONDS)

    # -- public, thread-safe ---------------------------------------------------------------------------

    @property
    def symbols(self) -> list[str]:
        return list(self._symbols)

    @property
    def connected(self) -> bool:
        """Every socket open (cheap, unlike `status()`): the chart's health badge reads it per update."""
        connections = list(self._connections)
        return bool(connections) and all(connection.socket is not None for connection in connections)

    def start(self) -> None:
        """Connect in the background; returns at once."""
        self._loop_thread.run(self._start(), timeout=_CALL_TIMEOUT_SECONDS)

    def stop(self, timeout: float = _CALL_TIMEOUT_SECONDS) -> None:
        if not self._loop_thread.running:
            return
        try:
            self._loop_thread.run(self._stop(), timeout=timeout)
        except TimeoutError:
            logger.warning("websocket manager did not stop within %.1f s", timeout)

    def add_symbol(self, symbol: str) -> None:
        """Subscribe a symbol's klines (and ticker) on the live connections; others keep streaming."""
        self._loop_thread.run(self._add_symbol(symbol), timeout=_CALL_TIMEOUT_SECONDS)

    def remove_symbol(self, symbol: str) -> None:
        self._loop_thread.run(self._remove_symbol(symbol), timeout=_CALL_TIMEOUT_SECONDS)

    def set_timeframes(self, timeframes: Iterable[Timeframe]) -> None:
        """Stream every symbol's klines on exactly `timeframes`: new ones are subscribed on the live
        connections, dropped ones unsubscribed; the other streams are not interrupted."""
        self._loop_thread.run(self._set_timeframes(tuple(timeframes)), timeout=_CALL_TIMEOUT_SECONDS)

    @property
    def timeframes(self) -> tuple[Timeframe, ...]:
        return self._timeframes

    def handled(self) -> int:
        """Frames fully handled so far: applied to the DataStream, dropped by the queue or invalid.

        Cheap enough to poll (benchmarks), unlike `status()` which sorts the lag samples.
        """
        queue = self._queue
        dropped = 0 if queue is None else queue.dropped
        return self._applied + dropped + sum(self._invalid.values())

    def queue_high_water(self) -> int:
        """The most events ever waiting between socket and DataStream (sizing the queue)."""
        return 0 if self._queue is None else self._queue.high_water

    def ticker(self, symbol: str) -> TickerEvent | None:
        return self._tickers.get(symbol)

    def last_arrival(self, symbol: str, timeframe: Timeframe) -> tuple[int, float] | None:
        """The newest kline frame of a stream: (its event time `E`, monotonic seconds when it arrived)."""
        return self._arrivals.get((symbol, timeframe))

    def force_reconnect(self) -> None:
        """Drop every socket as if the network had failed (operators and tests)."""
        future: concurrent.futures.Future[None] = self._loop_thread.submit(self._close_all(CloseReason.LOST))
        future.result(_CALL_TIMEOUT_SECONDS)

    def subscribed_streams(self) -> list[str]:
        """Every stream name the connections carry (or will carry once connected)."""
        return [name for connection in list(self._connections) for name in list(connection.streams)]

    def status(self) -> ManagerStatus:
        now = time.monotonic()
        connections = tuple(
            ConnectionStatus(
                name=connection.name,
                connected=connection.socket is not None,
                streams=len(connection.streams),
                messages=connection.messages,
                connects=connection.connects,
                connected_for_seconds=0.0
                if connection.connected_at is None
                else now - connection.connected_at,
            )
            for connection in list(self._connections)
        )
        with self._status_lock:
            lags = sorted(self._lags)
            rate = self._messages_per_second(now)
        queue = self._queue
        return ManagerStatus(
            connected=bool(connections) and all(connection.connected for connection in connections),
            connections=connections,
            reconnects=self._reconnects,
            connect_attempts=self._connect_attempts,
            messages=self._messages,
            applied=self._applied,
            messages_per_second=rate,
            invalid_messages=sum(self._invalid.values()),
            invalid_by_reason=dict(self._invalid),
            dropped_updates=0 if queue is None else queue.dropped,
            queue_depth=0 if queue is None else len(queue),
            queue_capacity=self._settings.queue_size,
            watchdog_fires=self._watchdog_fires,
            rotations=self._rotations,
            server_shutdowns=self._server_shutdowns,
            last_error=self._last_error,
            lag_ms={
                "p50": _percentile(lags, 0.50),
                "p95": _percentile(lags, 0.95),
                "p99": _percentile(lags, 0.99),
            },
        )

    # -- lifecycle (on the loop) -----------------------------------------------------------------------

    async def _start(self) -> None:
        if self._started:
            return
        self._started = True
        self._stopping = False
        self._queue = EventQueue(self._settings.queue_size)
        self._control_lock = asyncio.Lock()
        self._connect_lock = asyncio.Lock()
        self._processor = asyncio.create_task(self._process(), name="market-processor")
        streams = [name for symbol in self._symbols for name in self._streams_of(symbol)]
        self._assign(streams)
        for connection in self._connections:
            self._launch(connection)

    async def _stop(self) -> None:
        self._stopping = True
        tasks = [connection.task for connection in self._connections if connection.task is not None]
        await self._close_all(CloseReason.STOPPING)
        for task in tasks:
            task.cancel()
        if self._processor is not None:
            self._processor.cancel()
            tasks.append(self._processor)
        await asyncio.gather(*tasks, return_exceptions=True)
        self._connections.clear()
        self._started = False

    async def _close_all(self, reason: CloseReason) -> None:
        await asyncio.gather(
            *(self._close(connection, reason) for connection in self._connections), return_exceptions=True
        )

    @staticmethod
    async def _close(connection: _Connection, reason: CloseReason) -> None:
        socket = connection.socket
        if socket is None:
            return
        connection.close_reason = reason
        try:
            await asyncio.wait_for(socket.close(), timeout=2.0)
        except (TimeoutError, OSError):
            socket.transport.abort()

    # -- subscriptions ---------------------------------------------------------------------------------

    def _kline_streams(self, symbol: str, timeframes: Iterable[Timeframe]) -> list[str]:
        names = []
        for timeframe in timeframes:
            name = kline_stream_name(symbol, timeframe)
            self._stream_keys[name] = StreamKey(symbol, timeframe)
            self._kline_keys.add((symbol, timeframe))
            names.append(name)
        return names

    def _streams_of(self, symbol: str) -> list[str]:
        names = self._kline_streams(symbol, self._timeframes)
        if self._settings.ticker_streams:
            name = ticker_stream_name(symbol)
            self._stream_keys[name] = symbol
            names.append(name)
        return names

    def _assign(self, streams: list[str]) -> list[tuple[_Connection, list[str]]]:
        """Place streams on connections with room, opening new ones as needed."""
        placed: list[tuple[_Connection, list[str]]] = []
        limit = self._settings.max_streams_per_connection
        pending = list(streams)
        for connection in self._connections:
            room = limit - len(connection.streams)
            if room > 0 and pending:
                chunk, pending = pending[:room], pending[room:]
                connection.streams.extend(chunk)
                placed.append((connection, chunk))
        while pending:
            chunk, pending = pending[:limit], pending[limit:]
            connection = _Connection(name=f"ws-{next(self._names)}", streams=list(chunk))
            self._connections.append(connection)
            placed.append((connection, []))  # new: subscribed through its connect URL
        return placed

    async def _add_symbol(self, symbol: str) -> None:
        if symbol in self._symbols:
            return
        self._symbols.append(symbol)
        if not self._started:
            return
        await self._subscribe(self._streams_of(symbol))
        logger.info("subscribed %s", symbol)

    async def _subscribe(self, streams: list[str]) -> None:
        for connection, chunk in self._assign(streams):
            if connection.task is None:
                self._launch(connection)
            elif chunk and connection.socket is not None:
                await self._send_control(connection, "SUBSCRIBE", chunk)

    async def _unsubscribe(self, names: set[str]) -> None:
        """Take `names` off their connections; a connection left with nothing closes."""
        for connection in list(self._connections):
            removed = [name for name in connection.streams if name in names]
            if not removed:
                continue
            connection.streams = [name for name in connection.streams if name not in names]
            if not connection.streams:
                await self._close(connection, CloseReason.EMPTY)
                if connection.task is not None:
                    connection.task.cancel()
                self._connections.remove(connection)
            elif connection.socket is not None:
                await self._send_control(connection, "UNSUBSCRIBE", removed)
        for name in names:
            self._stream_keys.pop(name, None)

    async def _remove_symbol(self, symbol: str) -> None:
        if symbol not in self._symbols:
            return
        self._symbols.remove(symbol)
        await self._unsubscribe(set(self._streams_of(symbol)))
        self._kline_keys.difference_update((symbol, timeframe) for timeframe in self._timeframes)
        self._tickers.pop(symbol, None)
        for key in [key for key in self._arrivals if key[0] == symbol]:
            del self._arrivals[key]
        logger.info("unsubscribed %s", symbol)

    async def _set_timeframes(self, timeframes: tuple[Timeframe, ...]) -> None:
        wanted = tuple(dict.fromkeys(timeframes))
        added = [timeframe for timeframe in wanted if timeframe not in self._timeframes]
        removed = [timeframe for timeframe in self._timeframes if timeframe not in wanted]
        self._timeframes = wanted
        if not self._started:
            return
        if removed:
            gone = [(symbol, timeframe) for symbol in self._symbols for timeframe in removed]
            await self._unsubscribe({kline_stream_name(symbol, timeframe) for symbol, timeframe in gone})
            self._kline_keys.difference_update(gone)
        if added:
            await self._subscribe(
                [name for symbol in self._symbols for name in self._kline_streams(symbol, added)]
            )
        logger.info(
            "timeframes now %s (added %s, removed %s)",
            ", ".join(timeframe.value for timeframe in wanted),
            ", ".join(timeframe.value for timeframe in added) or "none",
            ", ".join(timeframe.value for timeframe in removed) or "none",
        )

    async def _send_control(self, connection: _Connection, method: str, streams: list[str]) -> None:
        """Send SUBSCRIBE/UNSUBSCRIBE, spaced to stay under Binance's 5 control messages per second."""
        assert self._control_lock is not None
        spacing = 1.0 / self._settings.control_messages_per_second
        for start in range(0, len(streams), _STREAMS_PER_CONTROL_MESSAGE):
            params = streams[start : start + _STREAMS_PER_CONTROL_MESSAGE]
            async with self._control_lock:
                wait = self._last_control_at + spacing - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                socket = connection.socket
                if socket is None:
                    return  # the reconnect subscribes everything in its URL and messages
                message = {"method": method, "params": params, "id": next(self._request_ids)}
                try:
                    await socket.send(orjson.dumps(message).decode())
                except ConnectionClosed:
                    return
                finally:
                    self._last_control_at = time.monotonic()

    # -- connections -----------------------------------------------------------------------------------

    def _launch(self, connection: _Connection) -> None:
        connection.task = asyncio.create_task(self._supervise(connection), name=f"market-{connection.name}")

    def _url(self, streams: list[str]) -> str:
        return f"{self._ws_url}/stream?streams={'/'.join(streams)}"

    async def _wait_connect_slot(self) -> None:
        """At most one connection attempt per `min_connect_interval_seconds` across all connections."""
        assert self._connect_lock is not None
        async with self._connect_lock:
            wait = self._last_connect_at + self._settings.min_connect_interval_seconds - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self._last_connect_at = time.monotonic()
            self._connect_attempts += 1

    async def _supervise(self, connection: _Connection) -> None:
        settings = self._settings
        failures = 0
        ever_connected = False
        while not self._stopping and connection.streams:
            await self._wait_connect_slot()
            connection.close_reason = None
            healthy_for = 0.0
            reason = CloseReason.LOST
            try:
                streams = list(connection.streams)
                async with connect(
                    self._url(streams[:_URL_STREAMS]),
                    compression=None,
                    proxy=None,
                    open_timeout=10,
                    max_size=2**22,
                    max_queue=256,
                ) as socket:
                    connection.socket = socket
                    connection.connected_at = time.monotonic()
                    connection.last_message_at = connection.connected_at
                    connection.connects += 1
                    if ever_connected:
                        self._reconnects += 1
                    logger.info(
                        "%s connected to %s (%d streams%s)",
                        connection.name,
                        self._ws_url,
                        len(streams),
                        ", reconnect" if ever_connected else "",
                    )
                    # Symbols added or removed while connecting are reconciled here; later changes
                    # see the live socket and send their own control messages.
                    wanted = set(connection.streams)
                    rest = streams[_URL_STREAMS:] + [
                        name for name in connection.streams if name not in streams
                    ]
                    unwanted = [name for name in streams[:_URL_STREAMS] if name not in wanted]
                    if rest:
                        await self._send_control(connection, "SUBSCRIBE", rest)
                    if unwanted:
                        await self._send_control(connection, "UNSUBSCRIBE", unwanted)
                    streams = list(connection.streams)
                    self._notify_connected(streams, reconnect=ever_connected)
                    ever_connected = True
                    reason = await self._session(connection, socket)
            except asyncio.CancelledError:
                raise
            except (OSError, TimeoutError, InvalidHandshake, InvalidURI, ConnectionClosed) as error:
                self._last_error = f"{type(error).__name__}: {error}"
                logger.warning("%s: connection failed: %s", connection.name, self._last_error)
            except Exception as error:
                # Whatever else goes wrong, this supervisor must keep reconnecting.
                self._last_error = f"{type(error).__name__}: {error}"
                logger.exception("%s: unexpected error; reconnecting", connection.name)
            finally:
                if connection.connected_at is not None:
                    healthy_for = time.monotonic() - connection.connected_at
                connection.socket = None
                connection.connected_at = None
            if self._stopping or reason is CloseReason.STOPPING:
                return
            if healthy_for >= settings.backoff_reset_after_seconds:
                failures = 0
            if reason in _CLEAN_REASONS:
                delay = 0.0
            else:
                failures += 1
                delay = backoff_delay(failures, settings)
                logger.info("%s: %s; reconnecting in %.2f s", connection.name, reason.value, delay)
            await asyncio.sleep(delay)

    async def _session(self, connection: _Connection, socket: ClientConnection) -> CloseReason:
        watchdog = asyncio.create_task(self._watchdog(connection, socket), name=f"watchdog-{connection.name}")
        try:
            queue = self._queue
            assert queue is not None
            queued, capacity = queue.items, queue.capacity
            async for raw in socket:
                connection.last_message_at = time.monotonic()
                connection.messages += 1
                if len(queued) >= capacity:
                    # Let the processor drain before anything has to be dropped.
                    await asyncio.sleep(0)
                self._on_frame(connection, raw)
        except ConnectionClosed as error:
            self._last_error = f"connection closed: {error}"
        finally:
            watchdog.cancel()
        reason = connection.close_reason or CloseReason.LOST
        if reason is CloseReason.LOST and self._last_error is None:
            self._last_error = "connection closed by the server"
        return reason

    async def _watchdog(self, connection: _Connection, socket: ClientConnection) -> None:
        settings = self._settings
        period = min(1.0, settings.watchdog_seconds / 4)
        rotate_at = time.monotonic() + settings.rotation_hours * 3600
        while True:
            await asyncio.sleep(period)
            now = time.monotonic()
            with self._status_lock:
                self._sample_rate(now)
            if now - connection.last_message_at > settings.watchdog_seconds:
                self._watchdog_fires += 1
                self._last_error = f"no message for {settings.watchdog_seconds:g} s (watchdog)"
                logger.warning(
                    "%s: nothing received for %.1f s; reconnecting",
                    connection.name,
                    now - connection.last_message_at,
                )
                await self._close(connection, CloseReason.WATCHDOG)
                return
            if now >= rotate_at:
                self._rotations += 1
                logger.info("%s: rotating before the 24 h connection limit", connection.name)
                await self._close(connection, CloseReason.ROTATION)
                return

    def _notify_connected(self, streams: list[str], *, reconnect: bool) -> None:
        if self._on_connected is None:
            return
        keys = [key for name in streams if isinstance(key := self._stream_keys.get(name), StreamKey)]
        try:
            self._on_connected(keys, reconnect)
        except Exception:
            logger.exception("on_connected callback failed")

    # -- inbound frames --------------------------------------------------------------------------------

    def _on_frame(self, connection: _Connection, raw: str | bytes) -> None:
        """Validate one frame and queue it; nothing raised here may stop the reader.

        Sample frame (combined stream)::

            {"stream": "btcusdt@kline_1m", "data": {"e": "kline", "E": 1672515782136, "s": "BTCUSDT",
             "k": {"t": 1672515780000, "i": "1m", "o": "16500.1", "c": "16510.0", "x": false, ...}}}
        """
        self._messages += 1
        queue = self._queue
        assert queue is not None
        try:
            try:
                frame = orjson.loads(raw)
            except orjson.JSONDecodeError as error:
                raise InvalidMessage(InvalidReason.BAD_JSON, str(error)) from None
            data = frame
            if type(frame) is dict and "stream" in frame:
                if frame["stream"] not in self._stream_keys:
                    stream = frame["stream"]
                    raise InvalidMessage(InvalidReason.UNKNOWN_STREAM, f"stream {stream!r} not subscribed")
                data = frame.get("data")
            if type(data) is dict and data.get("e") == "kline":
                parsed = kline_values(data)
                if parsed is not None:
                    event_time, values = parsed
                    if (values[0], values[1]) not in self._kline_keys:
                        raise InvalidMessage(
                            InvalidReason.UNKNOWN_STREAM, f"{values[0]} {values[1]} not subscribed"
                        )
                    self._arrivals[(values[0], values[1])] = (event_time, time.monotonic())
                    if not self._messages & _LAG_SAMPLE_MASK:
                        self._lags.append(int(time.time() * 1000) - event_time)
                    queue.put(values)
                    return
            message = parse_payload(frame)
            if isinstance(message, KlineEvent):
                if (message.symbol, message.timeframe) not in self._kline_keys:
                    raise InvalidMessage(
                        InvalidReason.UNKNOWN_STREAM, f"{message.symbol} {message.timeframe} not subscribed"
                    )
                self._arrivals[(message.symbol, message.timeframe)] = (message.event_time, time.monotonic())
                self._lags.append(int(time.time() * 1000) - message.event_time)
                queue.put(values_of(message))
            elif isinstance(message, TickerEvent):
                queue.put(message)
            elif isinstance(message, ServerShutdown):
                self._server_shutdowns += 1
                logger.info("%s: server announced shutdown; reconnecting cleanly", connection.name)
                asyncio.get_running_loop().create_task(self._close(connection, CloseReason.SERVER_SHUTDOWN))
            elif isinstance(message, ControlReply) and message.error is not None:
                logger.warning(
                    "%s: control request %s failed: %s", connection.name, message.request_id, message.error
                )
        except InvalidMessage as error:
            reason = error.reason.value
            self._invalid[reason] = self._invalid.get(reason, 0) + 1
            self._invalid_log.warn(error)

    async def _process(self) -> None:
        """Drain the queue into the DataStream; yields between batches so readers keep up."""
        queue = self._queue
        assert queue is not None
        update = self._datastream.update_values
        tickers = self._tickers
        while True:
            await queue.wait()
            batch = queue.pop_batch(_PROCESS_BATCH)
            for event in batch:
                try:
                    if type(event) is tuple:
                        update(*event)
                    elif isinstance(event, TickerEvent) and event.symbol in self._symbols:
                        tickers[event.symbol] = event
                except Exception:
                    logger.exception("could not apply %r; continuing", event)
            self._applied += len(batch)
            await asyncio.sleep(0)

    # -- rates -----------------------------------------------------------------------------------------

    def _sample_rate(self, now: float) -> None:
        samples = self._rate_samples
        if samples and now - samples[-1][0] < 0.5:
            return
        samples.append((now, self._messages))
        while samples and now - samples[0][0] > _RATE_WINDOW_SECONDS:
            samples.popleft()

    def _messages_per_second(self, now: float) -> float:
        samples = self._rate_samples
        if not samples:
            return 0.0
        first_time, first_count = samples[0]
        elapsed = now - first_time
        if elapsed <= 0:
            return 0.0
        return (self._messages - first_count) / elapsed


def backoff_delay(
    failures: int, settings: MarketDataSettings, uniform: Callable[[float, float], float] = random.uniform
) -> float:
    """Full jitter, uniform in [0, min(max, initial * 2^(failures-1))]: clients spread out after an outage."""
    exponent = min(max(failures - 1, 0), 30)
    ceiling = min(settings.backoff_max_seconds, settings.backoff_initial_seconds * 2**exponent)
    return uniform(0.0, ceiling)


def _percentile(sorted_values: list[int], fraction: float) -> float | None:
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, round(fraction * (len(sorted_values) - 1)))
    return float(sorted_values[index])
