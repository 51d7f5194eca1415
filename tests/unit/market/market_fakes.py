"""A tiny Binance-like stream server for unit tests of the WebSocketManager.

The real simulated venue lives in thebot.venue and is exercised by the integration tests; this one is
deliberately small and fully controllable (drop, stall, garbage, serverShutdown) so that unit tests are
fast and deterministic.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
from websockets.asyncio.server import Server, ServerConnection, serve

from thebot.market.settings import MarketDataSettings
from thebot.runtime import EventLoopThread

T0 = 1_677_628_800_000
_INTERVALS = {"1m": 60_000, "5m": 300_000, "1h": 3_600_000}


@dataclass
class _Client:
    connection: ServerConnection
    streams: list[str]
    sender: asyncio.Task[None] | None = None


@dataclass
class FakeStreamServer:
    """Pushes one frame per subscribed stream every `period` seconds; `ticks` frames per candle."""

    period: float = 0.01
    ticks: int = 3
    loop_thread: EventLoopThread = field(default_factory=lambda: EventLoopThread("fake-venue").start())
    clients: list[_Client] = field(default_factory=list)
    connections: int = 0
    control_messages: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    stalled_until: float = 0.0
    step: int = 0
    _server: Server | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> FakeStreamServer:
        self._server = self.loop_thread.run(self._serve())
        self.loop_thread.submit(self._ticker())
        return self

    async def _serve(self) -> Server:
        return await serve(self._handle, "127.0.0.1", 0, compression=None)

    @property
    def url(self) -> str:
        assert self._server is not None
        port = next(iter(self._server.sockets)).getsockname()[1]
        return f"ws://127.0.0.1:{port}"

    def stop(self) -> None:
        async def close() -> None:
            assert self._server is not None
            self._server.close()
            await self._server.wait_closed()

        self.loop_thread.run(close())
        self.loop_thread.stop()

    async def _handle(self, connection: ServerConnection) -> None:
        request = connection.request
        assert request is not None
        self.paths.append(request.path)
        query = parse_qs(urlsplit(request.path).query)
        streams = [name for value in query.get("streams", []) for name in value.split("/") if name]
        client = _Client(connection, streams)
        with self.lock:
            self.clients.append(client)
            self.connections += 1
        try:
            async for raw in connection:
                message = orjson.loads(raw)
                self.control_messages.append((time.monotonic(), message))
                params = message.get("params", [])
                if message["method"] == "SUBSCRIBE":
                    client.streams.extend(name for name in params if name not in client.streams)
                elif message["method"] == "UNSUBSCRIBE":
                    client.streams = [name for name in client.streams if name not in params]
                await connection.send(orjson.dumps({"result": None, "id": message["id"]}).decode())
        except Exception:
            pass
        finally:
            with self.lock:
                if client in self.clients:
                    self.clients.remove(client)

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(self.period)
            if time.monotonic() < self.stalled_until:
                continue
            step = self.step
            self.step += 1
            for client in list(self.clients):
                for stream in list(client.streams):
                    try:
                        await client.connection.send(self.frame(stream, step))
                    except Exception:
                        break

    def frame(self, stream: str, step: int) -> str:
        symbol, _, kind = stream.partition("@")
        if kind == "ticker":
            data: dict[str, Any] = {
                "e": "24hrTicker",
                "E": T0 + step,
                "s": symbol.upper(),
                "c": "101.0",
                "o": "100.0",
                "h": "102.0",
                "l": "99.0",
                "v": "10",
                "q": "1000",
                "P": "1.0",
            }
        else:
            interval = kind.removeprefix("kline_")
            index, tick = divmod(step, self.ticks)
            data = kline_payload(symbol.upper(), interval, index, tick, closed=tick == self.ticks - 1)
        return orjson.dumps({"stream": stream, "data": data}).decode()

    # -- faults --------------------------------------------------------------------------------------

    def drop_all(self) -> None:
        async def drop() -> None:
            for client in list(self.clients):
                client.connection.transport.abort()

        self.loop_thread.run(drop())

    def stall(self, seconds: float) -> None:
        self.stalled_until = time.monotonic() + seconds

    def send_raw(self, frames: list[str]) -> None:
        async def send() -> None:
            for client in list(self.clients):
                for frame in frames:
                    await client.connection.send(frame)

        self.loop_thread.run(send())

    def streams_of_clients(self) -> list[list[str]]:
        with self.lock:
            return [list(client.streams) for client in self.clients]


def kline_payload(symbol: str, interval: str, index: int, tick: int, closed: bool) -> dict[str, Any]:
    open_time = T0 + index * _INTERVALS.get(interval, 60_000)
    close = 100.0 + index + tick / 10
    return {
        "e": "kline",
        "E": open_time + tick,
        "s": symbol,
        "k": {
            "t": open_time,
            "T": open_time + _INTERVALS.get(interval, 60_000) - 1,
            "s": symbol,
            "i": interval,
            "f": 1,
            "L": 2,
            "o": "100.0",
            "c": f"{close}",
            "h": f"{max(close, 100.0) + 1}",
            "l": "99.0",
            "v": "5.0",
            "n": 3,
            "x": closed,
            "q": "500.0",
            "V": "2.0",
            "Q": "200.0",
            "B": "0",
        },
    }


def fast_settings(**overrides: Any) -> MarketDataSettings:
    values: dict[str, Any] = {
        "watchdog_seconds": 5.0,
        "backoff_initial_seconds": 0.05,
        "backoff_max_seconds": 0.2,
        "min_connect_interval_seconds": 0.05,
        "control_messages_per_second": 4.0,
    }
    values.update(overrides)
    return MarketDataSettings(**values)


def wait_until(condition: Any, timeout: float = 5.0, interval: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return bool(condition())
