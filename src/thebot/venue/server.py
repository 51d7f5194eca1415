"""The simulated venue's HTTP and WebSocket server: Binance's spot REST API and market streams on one port.

aiohttp serves REST, `/ws`, `/ws/<stream>` and `/stream?streams=a/b` from the same listener, the way a
Binance client expects to reach one host. One pump task turns the simulated clock into stream events and
fans each serialised frame out to every subscribed connection; each connection has its own writer task so
a slow reader, or injected latency, never holds up the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import WSMsgType, web

from thebot.venue.errors import BinanceError, json_response, missing_parameter
from thebot.venue.exchange import Exchange
from thebot.venue.intervals import DAY_MS, INTERVAL_MS, open_time_of
from thebot.venue.market import (
    PricePath,
    SymbolRules,
    SyntheticPath,
    candle_at,
    format_units,
    klines_between,
    last_price,
    load_replay,
    rolling_ticker,
    symbol_rules,
)
from thebot.venue.settings import VenueConfig, source_identity
from thebot.venue.streams import (
    StreamKind,
    StreamName,
    kline_payload,
    kline_row,
    mini_ticker_payload,
    parse_stream,
    ticker_fields,
    ticker_payload,
)

logger = logging.getLogger(__name__)

MAX_STREAMS_PER_CONNECTION = 1024
MAX_INCOMING_PER_SECOND = 5
KLINE_PUSH_MS = 2_000
TICKER_PUSH_MS = 1_000
MAX_CATCH_UP_CLOSES = 1_000
MIN_PUMP_SLEEP_SECONDS = 0.02
MAX_PUMP_SLEEP_SECONDS = 0.25
MAX_QUEUED_FRAMES = 100_000
DEFAULT_PING_INTERVAL_SECONDS = 20.0
KLINES_DEFAULT_LIMIT = 500
KLINES_MAX_LIMIT = 1000

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class VenueClock:
    """Simulated time: starts at `start_ms` and runs `speed` times faster than the wall clock."""

    def __init__(self, start_ms: int, speed: float, end_ms: int | None = None) -> None:
        self.start_ms = start_ms
        self.speed = speed
        self.end_ms = end_ms
        self._started = time.monotonic()

    def now_ms(self) -> int:
        value = self.start_ms + int((time.monotonic() - self._started) * 1000.0 * self.speed)
        return value if self.end_ms is None else min(value, self.end_ms)


@dataclass(slots=True)
class _StreamState:
    stream: StreamName
    next_push_ms: int
    last_closed_open: int


@dataclass(eq=False)
class _Connection:
    """One client socket: its subscriptions, its outgoing queue and the writer draining it."""

    socket: web.WebSocketResponse
    combined: bool
    transport: asyncio.Transport | None
    streams: dict[str, StreamName | None] = field(default_factory=dict)
    queue: asyncio.Queue[tuple[float, str]] = field(default_factory=asyncio.Queue)
    incoming: deque[float] = field(default_factory=deque)
    writer: asyncio.Task[None] | None = None

    def send(self, due: float, text: str) -> None:
        if self.queue.qsize() >= MAX_QUEUED_FRAMES:
            logger.warning("venue: a client is not reading; dropping its connection")
            self.abort()
            return
        self.queue.put_nowait((due, text))

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()


@dataclass(slots=True)
class _Faults:
    stall_until: float = 0.0  # loop time
    latency_seconds: float = 0.0


class SimulatedVenue:
    """A Binance look-alike on loopback. `start()` binds; `port`, `http_url` and `ws_url` are then real."""

    def __init__(self, config: VenueConfig, *, ping_interval: float = DEFAULT_PING_INTERVAL_SECONDS) -> None:
        self.config = config
        self.port = config.port
        self._ping_interval = ping_interval
        self._rules: dict[str, SymbolRules] = {symbol: symbol_rules(symbol) for symbol in config.symbols}
        self._paths: dict[str, PricePath] = {}
        self._clock = VenueClock(int(time.time() * 1000), config.speed)
        self._connections: set[_Connection] = set()
        self._stream_states: dict[str, _StreamState] = {}
        self._faults = _Faults()
        self._source = source_identity(config)
        self._runner: web.AppRunner | None = None
        self._pump_task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._extra_routes: list[tuple[str, str, Handler]] = []
        self.exchange = Exchange(self)
        self._stopping = threading.Event()
        self._warmer: threading.Thread | None = None

    # -- life cycle ---------------------------------------------------------------------------------------

    @property
    def http_url(self) -> str:
        return f"http://{self.config.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.config.host}:{self.port}"

    @property
    def clock(self) -> VenueClock:
        return self._clock

    @property
    def symbols(self) -> tuple[str, ...]:
        return self.config.symbols

    def rules(self, symbol: str) -> SymbolRules:
        return self._rules[symbol]

    def path(self, symbol: str) -> PricePath:
        return self._paths[symbol]

    async def start(self) -> None:
        self._wake = asyncio.Event()
        await asyncio.to_thread(self._build_paths)
        app = web.Application(middlewares=[self._errors_middleware])
        self._add_routes(app)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.host, self.config.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        self._pump_task = asyncio.create_task(self._pump(), name="venue-pump")
        self._stopping.clear()
        self._warmer = threading.Thread(target=self._warm_history, name="venue-history", daemon=True)
        self._warmer.start()
        logger.info("simulated venue listening on %s (speed %g)", self.http_url, self.config.speed)

    async def stop(self) -> None:
        self._stopping.set()
        if self._pump_task is not None:
            self._pump_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump_task
            self._pump_task = None
        for connection in list(self._connections):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.socket.close(code=1001, message=b"venue stopping"), 1.0)
            connection.abort()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self.exchange.save()
        if self._warmer is not None:
            await asyncio.to_thread(self._warmer.join, 5.0)
            self._warmer = None

    def _build_paths(self) -> None:
        config = self.config
        history_ms = int(config.history_days * DAY_MS)
        replay_symbol = None
        if config.replay is not None:
            prefix = config.replay.name.split("-")[0].upper()
            replay_symbol = prefix if prefix in config.symbols else config.symbols[0]
            replay = load_replay(config.replay, self._rules[replay_symbol])
            start = min(replay.origin_ms + history_ms, replay.end_ms)
            self._clock = VenueClock(start, config.speed, end_ms=replay.end_ms)
            self._paths[replay_symbol] = replay
        else:
            self._clock = VenueClock(int(time.time() * 1000), config.speed)
        now = self._clock.now_ms()
        origin = open_time_of(DAY_MS, now - history_ms)
        today = (now - origin) // DAY_MS
        for symbol in config.symbols:
            if symbol == replay_symbol:
                continue
            path = SyntheticPath(self._rules[symbol], config.seed, origin)
            current_minute = (now - origin) // 60_000
            path.minute_rows(current_minute, current_minute + 1)  # today; history follows in the background
            path.prepare_anchors(today + 2)
            self._paths[symbol] = path

    def _warm_history(self) -> None:
        """Generate past days newest first on a worker thread, so the first backfill finds them ready."""
        synthetic = [path for path in self._paths.values() if isinstance(path, SyntheticPath)]
        if not synthetic:
            return
        today = (self._clock.now_ms() - synthetic[0].origin_ms) // DAY_MS
        for day in range(today + 1, -1, -1):
            for path in synthetic:
                if self._stopping.is_set():
                    return
                path.warm(day)

    # -- HTTP -----------------------------------------------------------------------------------------------

    def _add_routes(self, app: web.Application) -> None:
        router = app.router
        router.add_get("/api/v3/ping", self._ping)
        router.add_get("/api/v3/time", self._time)
        router.add_get("/api/v3/exchangeInfo", self._exchange_info)
        router.add_get("/api/v3/klines", self._klines)
        router.add_get("/api/v3/uiKlines", self._klines)
        router.add_get("/api/v3/ticker/24hr", self._ticker_24h)
        router.add_get("/api/v3/ticker/price", self._ticker_price)
        router.add_get("/api/v3/ticker/bookTicker", self._book_ticker)
        router.add_get("/api/v3/avgPrice", self._average_price)
        router.add_post("/admin/drop", self._admin_drop)
        router.add_post("/admin/stall", self._admin_stall)
        router.add_post("/admin/garbage", self._admin_garbage)
        router.add_post("/admin/shutdown-notice", self._admin_shutdown_notice)
        router.add_post("/admin/latency", self._admin_latency)
        router.add_get("/admin/status", self._admin_status)
        router.add_get("/ws", self._websocket)
        router.add_get("/ws/{streams:.*}", self._websocket)
        router.add_get("/stream", self._websocket)
        router.add_get("/stream/{streams:.*}", self._websocket)
        for method, route, handler in self._extra_routes:
            router.add_route(method, route, handler)

    def add_route(self, method: str, route: str, handler: Handler) -> None:
        """Lets the exchange (orders, accounts) register its endpoints before `start()`."""
        self._extra_routes.append((method, route, handler))

    @web.middleware
    async def _errors_middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except BinanceError as error:
            response = json_response({"code": error.code, "msg": error.message}, status=error.status)
        if self._faults.latency_seconds and request.path.startswith("/api/"):
            # The request has taken effect; only its answer is late, as when a client times out on a
            # slow exchange that did place the order.
            await asyncio.sleep(self._faults.latency_seconds)
        return response

    async def _ping(self, request: web.Request) -> web.Response:
        return json_response({})

    async def _time(self, request: web.Request) -> web.Response:
        return json_response({"serverTime": self._clock.now_ms()})

    def symbol_parameter(self, request: web.Request, required: bool = True) -> str | None:
        symbol = request.query.get("symbol")
        if not symbol:
            if required:
                raise missing_parameter("symbol")
            return None
        if symbol not in self._paths:
            raise BinanceError(-1121, "Invalid symbol.")
        return symbol

    def _symbols_parameter(self, request: web.Request) -> list[str]:
        """`symbol=X`, or `symbols=["X","Y"]`, or neither (every symbol)."""
        symbol = self.symbol_parameter(request, required=False)
        if symbol is not None:
            return [symbol]
        raw = request.query.get("symbols")
        if raw is None:
            return list(self.config.symbols)
        try:
            names = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise BinanceError(-1100, "Illegal characters found in parameter 'symbols'.") from None
        if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
            raise BinanceError(-1100, "Illegal characters found in parameter 'symbols'.")
        for name in names:
            if name not in self._paths:
                raise BinanceError(-1121, "Invalid symbol.")
        return names

    async def _exchange_info(self, request: web.Request) -> web.Response:
        symbols = self._symbols_parameter(request)
        return json_response(
            {
                "timezone": "UTC",
                "serverTime": self._clock.now_ms(),
                "rateLimits": [
                    {
                        "rateLimitType": "REQUEST_WEIGHT",
                        "interval": "MINUTE",
                        "intervalNum": 1,
                        "limit": 6000,
                    },
                    {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
                    {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200000},
                    {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000},
                ],
                "exchangeFilters": [],
                "symbols": [exchange_symbol(self._rules[symbol]) for symbol in symbols],
            }
        )

    async def _klines(self, request: web.Request) -> web.Response:
        symbol = self.symbol_parameter(request)
        assert symbol is not None
        interval = request.query.get("interval")
        if not interval:
            raise missing_parameter("interval")
        if interval not in INTERVAL_MS:
            raise BinanceError(-1120, "Invalid interval.")
        interval_ms = INTERVAL_MS[interval]
        limit = integer_parameter(request, "limit", KLINES_DEFAULT_LIMIT)
        if limit <= 0:
            raise BinanceError(
                -1100, "Illegal characters found in parameter 'limit'; legal range is '1-1000'."
            )
        limit = min(limit, KLINES_MAX_LIMIT)
        start_time = optional_integer_parameter(request, "startTime")
        end_time = optional_integer_parameter(request, "endTime")
        now = self._clock.now_ms()
        path = self._paths[symbol]
        if start_time is not None and end_time is not None and start_time > end_time:
            raise BinanceError(-1023, "Start time is greater than end time.")
        if start_time is not None:
            # Binance answers a start before its first candle with the first candles it has.
            first = max(
                open_time_of(interval_ms, start_time + interval_ms - 1),
                open_time_of(interval_ms, path.origin_ms),
            )
            last = first + (limit - 1) * interval_ms
            if end_time is not None:
                last = min(last, end_time)
            klines = klines_between(path, interval_ms, first, last, now)
        else:
            last = open_time_of(interval_ms, min(end_time if end_time is not None else now, now))
            klines = klines_between(path, interval_ms, last - (limit - 1) * interval_ms, last, now)
        return json_response([kline_row(kline) for kline in klines])

    async def _ticker_24h(self, request: web.Request) -> web.Response:
        single = "symbol" in request.query
        now = self._clock.now_ms()
        bodies = []
        for symbol in self._symbols_parameter(request):
            rules = self._rules[symbol]
            ticker = rolling_ticker(self._paths[symbol], now)
            bodies.append(ticker_fields(ticker, rules.tick_units, rules.lot_units))
        return json_response(bodies[0] if single else bodies)

    async def _ticker_price(self, request: web.Request) -> web.Response:
        single = "symbol" in request.query
        now = self._clock.now_ms()
        bodies = [
            {"symbol": symbol, "price": format_units(last_price(self._paths[symbol], now))}
            for symbol in self._symbols_parameter(request)
        ]
        return json_response(bodies[0] if single else bodies)

    async def _book_ticker(self, request: web.Request) -> web.Response:
        single = "symbol" in request.query
        now = self._clock.now_ms()
        bodies = []
        for symbol in self._symbols_parameter(request):
            rules = self._rules[symbol]
            price = last_price(self._paths[symbol], now)
            bodies.append(
                {
                    "symbol": symbol,
                    "bidPrice": format_units(price - rules.tick_units),
                    "bidQty": format_units(rules.lot_units * 1000),
                    "askPrice": format_units(price + rules.tick_units),
                    "askQty": format_units(rules.lot_units * 1000),
                }
            )
        return json_response(bodies[0] if single else bodies)

    async def _average_price(self, request: web.Request) -> web.Response:
        symbol = self.symbol_parameter(request)
        assert symbol is not None
        now = self._clock.now_ms()
        klines = klines_between(self._paths[symbol], 60_000, now - 5 * 60_000, now, now)
        volume = sum(kline.volume for kline in klines)
        quote = sum(kline.quote_volume for kline in klines)
        price = round(quote / volume * 100_000_000) if volume else last_price(self._paths[symbol], now)
        return json_response({"mins": 5, "price": format_units(price), "closeTime": now})

    def now_ms(self) -> int:
        return self._clock.now_ms()

    def last_price(self, symbol: str) -> int:
        return last_price(self._paths[symbol], self._clock.now_ms())

    # -- fault injection -----------------------------------------------------------------------------------

    async def _admin_status(self, request: web.Request) -> web.Response:
        """What a resilience test needs to know: the clock, who is connected, which faults are on."""
        loop_time = asyncio.get_running_loop().time()
        return json_response(
            {
                "server_time": self._clock.now_ms(),
                "speed": self.config.speed,
                "replay": self.config.replay is not None,
                "source": self._source,
                "connections": len(self._connections),
                "streams": sorted(self._stream_states),
                "stall_seconds_left": round(max(0.0, self._faults.stall_until - loop_time), 3),
                "latency_ms": round(self._faults.latency_seconds * 1000.0, 3),
            }
        )

    async def _admin_drop(self, request: web.Request) -> web.Response:
        count = len(self._connections)
        for connection in list(self._connections):
            connection.abort()
        logger.info("venue fault: dropped %d connection(s)", count)
        return json_response({"dropped": count})

    async def _admin_stall(self, request: web.Request) -> web.Response:
        seconds = float_parameter(request, "seconds", 10.0)
        if not 0 <= seconds <= 3600:
            raise BinanceError(-1100, "seconds must be between 0 and 3600")
        self._faults.stall_until = asyncio.get_running_loop().time() + seconds
        logger.info("venue fault: stalling every stream for %.1f s", seconds)
        return json_response({"stalled_seconds": seconds})

    async def _admin_latency(self, request: web.Request) -> web.Response:
        milliseconds = float_parameter(request, "ms", 0.0)
        if not 0 <= milliseconds <= 60_000:
            raise BinanceError(-1100, "ms must be between 0 and 60000")
        self._faults.latency_seconds = milliseconds / 1000.0
        logger.info("venue fault: every frame and REST answer now delayed by %.0f ms", milliseconds)
        return json_response({"latency_ms": milliseconds})

    async def _admin_garbage(self, request: web.Request) -> web.Response:
        count = integer_parameter(request, "count", 1)
        if not 1 <= count <= 10_000:
            raise BinanceError(-1100, "count must be between 1 and 10000")
        due = self._due()
        now = self._clock.now_ms()
        for connection in list(self._connections):
            stream = next(iter(connection.streams), f"{self.config.symbols[0].lower()}@kline_1m")
            for index in range(count):
                connection.send(due, garbage_frame(index, stream, now, connection.combined))
        logger.info("venue fault: %d malformed frame(s) to %d connection(s)", count, len(self._connections))
        return json_response({"sent": count, "connections": len(self._connections)})

    async def _admin_shutdown_notice(self, request: web.Request) -> web.Response:
        text = orjson.dumps({"e": "serverShutdown", "E": self._clock.now_ms()}).decode()
        due = self._due()
        for connection in list(self._connections):
            connection.send(due, text)
        return json_response({"notified": len(self._connections)})

    # -- WebSocket -----------------------------------------------------------------------------------------

    def _due(self) -> float:
        return asyncio.get_running_loop().time() + self._faults.latency_seconds

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        combined = request.path.startswith("/stream")
        if combined:
            names = [name for name in request.query.get("streams", "").split("/") if name]
        else:
            names = [name for name in request.match_info.get("streams", "").split("/") if name]
        # No permessage-deflate, as Binance: it would cost both ends CPU for small frames.
        socket = web.WebSocketResponse(
            heartbeat=self._ping_interval, autoping=True, max_msg_size=65_536, compress=False
        )
        transport = request.transport
        await socket.prepare(request)
        connection = _Connection(socket=socket, combined=combined, transport=transport)
        for name in names[:MAX_STREAMS_PER_CONNECTION]:
            stream = parse_stream(name, self.config.symbols)
            if stream is not None:  # Binance ignores unknown stream names in the URL.
                self._subscribe(connection, name, stream)
        connection.writer = asyncio.create_task(self._write(connection), name="venue-ws-writer")
        self._connections.add(connection)
        self._wake.set()
        try:
            async for message in socket:
                if message.type == WSMsgType.TEXT:
                    if self._over_rate_limit(connection):
                        logger.info("venue: closing a connection that sent over 5 messages per second")
                        with contextlib.suppress(TimeoutError):  # replies already owed go out first
                            await asyncio.wait_for(connection.queue.join(), 1.0)
                        await socket.close(code=1008, message=b"Too many messages")
                        break
                    reply = self._control(connection, message.data)
                    if reply is not None:
                        connection.send(self._due(), orjson.dumps(reply).decode())
                elif message.type == WSMsgType.ERROR:
                    break
        finally:
            self._connections.discard(connection)
            for name in list(connection.streams):
                self._unsubscribe(connection, name)
            connection.writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await connection.writer
        return socket

    async def _write(self, connection: _Connection) -> None:
        loop = asyncio.get_running_loop()
        socket = connection.socket
        try:
            while not socket.closed:
                due, text = await connection.queue.get()
                # A stall holds back everything, replies included, as a frozen network path would.
                delay = max(due, self._faults.stall_until) - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                try:
                    await socket.send_str(text)
                finally:
                    connection.queue.task_done()
        except (ConnectionError, RuntimeError) as error:
            logger.debug("venue: writer stopped: %s", error)

    def _over_rate_limit(self, connection: _Connection) -> bool:
        now = time.monotonic()
        incoming = connection.incoming
        incoming.append(now)
        while incoming and incoming[0] <= now - 1.0:
            incoming.popleft()
        return len(incoming) > MAX_INCOMING_PER_SECOND

    def _subscribe(self, connection: _Connection, name: str, stream: StreamName | None) -> None:
        connection.streams[name] = stream
        if stream is not None and name not in self._stream_states:
            now = self._clock.now_ms()
            last_closed = -1
            if stream.kind is StreamKind.KLINE:
                last_closed = open_time_of(stream.interval_ms, now) - stream.interval_ms
            self._stream_states[name] = _StreamState(stream, next_push_ms=now, last_closed_open=last_closed)
            self._wake.set()

    def _unsubscribe(self, connection: _Connection, name: str) -> None:
        connection.streams.pop(name, None)
        if not any(name in other.streams for other in self._connections):
            self._stream_states.pop(name, None)

    def _control(self, connection: _Connection, text: str) -> dict[str, Any] | None:
        """Answer a control request as Binance does; errors are replies, never a dropped connection.

        Sample request and reply::

            {"method": "SUBSCRIBE", "params": ["btcusdt@kline_1m"], "id": 1}
            {"result": null, "id": 1}
        """
        try:
            request = orjson.loads(text)
        except orjson.JSONDecodeError as error:
            return control_error(3, f"Invalid JSON: {error}", None)
        if not isinstance(request, dict):
            return control_error(2, "Invalid request: expected an object", None)
        request_id = request.get("id")
        if request_id is not None and (
            isinstance(request_id, bool)
            or not isinstance(request_id, int | str)
            or (isinstance(request_id, int) and request_id < 0)
        ):
            return control_error(2, "Invalid request: request ID must be an unsigned integer", None)
        method = request.get("method")
        if not isinstance(method, str):
            return control_error(2, "Invalid request: missing field `method`", request_id)
        unknown = set(request) - {"method", "params", "id"}
        if unknown:
            return control_error(0, f"Unknown property: {sorted(unknown)[0]}", request_id)
        parameters = request.get("params", [])
        if method in ("SUBSCRIBE", "UNSUBSCRIBE"):
            if not isinstance(parameters, list) or not all(isinstance(name, str) for name in parameters):
                return control_error(1, "Invalid value type: expected a list of stream names", request_id)
            if method == "SUBSCRIBE":
                new = [name for name in dict.fromkeys(parameters) if name not in connection.streams]
                if len(connection.streams) + len(new) > MAX_STREAMS_PER_CONNECTION:
                    return control_error(
                        2, f"Invalid request: too many streams (max {MAX_STREAMS_PER_CONNECTION})", request_id
                    )
                for name in new:
                    self._subscribe(connection, name, parse_stream(name, self.config.symbols))
            else:
                for name in parameters:
                    self._unsubscribe(connection, name)
            return {"result": None, "id": request_id}
        if method == "LIST_SUBSCRIPTIONS":
            return {"result": list(connection.streams), "id": request_id}
        if method == "SET_PROPERTY":
            if parameters not in (["combined", True], ["combined", False]):
                return control_error(2, "Invalid request: unknown property", request_id)
            connection.combined = bool(parameters[1])
            return {"result": None, "id": request_id}
        if method == "GET_PROPERTY":
            if parameters != ["combined"]:
                return control_error(2, "Invalid request: unknown property", request_id)
            return {"result": connection.combined, "id": request_id}
        return control_error(
            2,
            f"Invalid request: unknown variant `{method}`, expected one of `SUBSCRIBE`, `UNSUBSCRIBE`, "
            "`LIST_SUBSCRIPTIONS`, `SET_PROPERTY`, `GET_PROPERTY`",
            request_id,
        )

    # -- the pump -------------------------------------------------------------------------------------------

    async def _pump(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            now = self._clock.now_ms()
            next_due = now + int(MAX_PUMP_SLEEP_SECONDS * 1000 * self.config.speed)
            try:
                self.exchange.match_if_needed()
            except Exception:
                logger.exception("venue: matching resting orders failed")
            if loop.time() >= self._faults.stall_until:
                for name, state in list(self._stream_states.items()):
                    try:
                        frames = self._events(state, now)
                    except Exception:
                        logger.exception("venue: failed to build events for %s", name)
                        continue
                    if frames:
                        self._fan_out(name, frames)
                    next_due = min(next_due, self._next_due(state))
            delay = (next_due - now) / 1000.0 / self.config.speed
            delay = min(MAX_PUMP_SLEEP_SECONDS, max(MIN_PUMP_SLEEP_SECONDS, delay))
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)

    def _next_due(self, state: _StreamState) -> int:
        if state.stream.kind is StreamKind.KLINE:
            return min(state.next_push_ms, state.last_closed_open + 2 * state.stream.interval_ms)
        return state.next_push_ms

    def _events(self, state: _StreamState, now: int) -> list[bytes]:
        stream = state.stream
        path = self._paths[stream.symbol]
        frames: list[bytes] = []
        if stream.kind is StreamKind.KLINE:
            interval_ms = stream.interval_ms
            forming_open = open_time_of(interval_ms, now)
            first_close = max(
                state.last_closed_open + interval_ms, forming_open - MAX_CATCH_UP_CLOSES * interval_ms
            )
            for open_time in range(first_close, forming_open, interval_ms):
                kline = candle_at(path, interval_ms, open_time, now)
                frames.append(
                    orjson.dumps(
                        kline_payload(stream.symbol, stream.interval, kline, open_time + interval_ms)
                    )
                )
            state.last_closed_open = max(state.last_closed_open, forming_open - interval_ms)
            if interval_ms > 1_000 and now >= state.next_push_ms:
                kline = candle_at(path, interval_ms, forming_open, now)
                frames.append(orjson.dumps(kline_payload(stream.symbol, stream.interval, kline, now)))
                state.next_push_ms = _next_push(state.next_push_ms, now, KLINE_PUSH_MS)
            return frames
        if now >= state.next_push_ms:
            ticker = rolling_ticker(path, now)
            rules = self._rules[stream.symbol]
            if stream.kind is StreamKind.TICKER:
                payload = ticker_payload(ticker, now, rules.tick_units, rules.lot_units)
            else:
                payload = mini_ticker_payload(ticker, now)
            frames.append(orjson.dumps(payload))
            state.next_push_ms = _next_push(state.next_push_ms, now, TICKER_PUSH_MS)
        return frames

    def _fan_out(self, name: str, frames: list[bytes]) -> None:
        raw = [frame.decode() for frame in frames]
        wrapped: list[str] | None = None
        due = self._due()
        for connection in self._connections:
            if name not in connection.streams:
                continue
            if connection.combined:
                if wrapped is None:
                    prefix = '{"stream":' + orjson.dumps(name).decode() + ',"data":'
                    wrapped = [prefix + text + "}" for text in raw]
                texts = wrapped
            else:
                texts = raw
            for text in texts:
                connection.send(due, text)


def _next_push(previous: int, now: int, period: int) -> int:
    following = previous + period
    return following if following > now else now + period


def control_error(code: int, message: str, request_id: Any) -> dict[str, Any]:
    return {"error": {"code": code, "msg": message}, "id": request_id}


def integer_parameter(request: web.Request, name: str, default: int) -> int:
    value = optional_integer_parameter(request, name)
    return default if value is None else value


def optional_integer_parameter(request: web.Request, name: str) -> int | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise BinanceError(
            -1100, f"Illegal characters found in parameter '{name}'; legal range is '{raw}'."
        ) from None


def float_parameter(request: web.Request, name: str, default: float) -> float:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise BinanceError(-1100, f"Illegal characters found in parameter '{name}'.") from None
    if not math.isfinite(value):
        raise BinanceError(-1100, f"Illegal characters found in parameter '{name}'.")
    return value


def exchange_symbol(rules: SymbolRules) -> dict[str, Any]:
    """One entry of `exchangeInfo.symbols`, shaped like Binance's (ccxt reads most of these keys)."""
    return {
        "symbol": rules.symbol,
        "status": "TRADING",
        "baseAsset": rules.base_asset,
        "baseAssetPrecision": 8,
        "quoteAsset": rules.quote_asset,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET"],
        "icebergAllowed": False,
        "ocoAllowed": False,
        "otoAllowed": False,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": False,
        "cancelReplaceAllowed": False,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": format_units(rules.tick_units),
                "maxPrice": format_units(1_000_000 * 100_000_000),
                "tickSize": format_units(rules.tick_units),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": format_units(rules.lot_units),
                "maxQty": format_units(9_000_000 * 100_000_000),
                "stepSize": format_units(rules.lot_units),
            },
            {
                "filterType": "NOTIONAL",
                "minNotional": "5.00000000",
                "applyMinToMarket": True,
                "maxNotional": "9000000.00000000",
                "applyMaxToMarket": False,
                "avgPriceMins": 5,
            },
        ],
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    }


def garbage_frame(index: int, stream: str, now: int, combined: bool) -> str:
    """Malformed frames in turn: bad JSON, missing fields, wrong types, NaN, negative price, high < low."""
    symbol = stream.split("@", maxsplit=1)[0].upper()
    interval = stream.rsplit("_", maxsplit=1)[-1] if "@kline_" in stream else "1m"
    good_kline = {
        "t": now - now % 60_000,
        "T": now - now % 60_000 + 59_999,
        "s": symbol,
        "i": interval,
        "f": 1,
        "L": 2,
        "o": "100.0",
        "c": "101.0",
        "h": "102.0",
        "l": "99.0",
        "v": "1.0",
        "n": 2,
        "x": False,
        "q": "100.0",
        "V": "0.5",
        "Q": "50.0",
        "B": "0",
    }
    kind = index % 7
    if kind == 0:
        return '{"e": "kline", "E": ' + str(now) + ', "k": {"t": '  # truncated: invalid JSON
    payload: Any
    if kind == 1:
        payload = {"e": "kline", "E": now, "s": symbol}  # no "k"
    elif kind == 2:
        payload = {"e": "kline", "E": now, "s": symbol, "k": {**good_kline, "o": [1, 2], "x": "yes"}}
    elif kind == 3:
        payload = {"e": "kline", "E": now, "s": symbol, "k": {**good_kline, "c": "NaN"}}
    elif kind == 4:
        payload = {"e": "kline", "E": now, "s": symbol, "k": {**good_kline, "o": "-5.0", "l": "-6.0"}}
    elif kind == 5:
        payload = {"e": "kline", "E": now, "s": symbol, "k": {**good_kline, "h": "90.0", "l": "110.0"}}
    else:
        payload = [1, 2, 3]
    text = orjson.dumps(payload).decode()
    if combined and kind != 6:
        return '{"stream":' + orjson.dumps(stream).decode() + ',"data":' + text + "}"
    return text
