"""The market data layer against the simulated venue and its fault injection (issue 4, "Done when")."""

from __future__ import annotations

import itertools
import json
import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from thebot.config import Settings, settings_from_dict
from thebot.market.models import Candle
from thebot.market.service import MarketData
from thebot.market.timeframe import Timeframe
from thebot.runtime import EventLoopThread
from thebot.venue import RunningVenue, VenueConfig, run_venue_in_thread

SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def admin(venue: RunningVenue, path: str) -> dict[str, Any]:
    request = urllib.request.Request(f"{venue.http_url}{path}", method="POST", data=b"")
    with urllib.request.urlopen(request, timeout=5) as response:
        result: dict[str, Any] = json.loads(response.read())
    return result


def rest_klines(venue: RunningVenue, symbol: str, start: int, end: int) -> list[list[Any]]:
    query = f"symbol={symbol}&interval=1m&startTime={start}&endTime={end}&limit=1000"
    url = f"{venue.http_url}/api/v3/klines?{query}"
    with urllib.request.urlopen(url, timeout=5) as response:
        rows: list[list[Any]] = json.loads(response.read())
    return rows


def build_settings(**market_data: Any) -> Settings:
    return settings_from_dict(
        {
            "market": {"symbols": ["BTCUSDT", "ETHUSDT"], "timeframes": ["1m", "5m"], "buffer_size": 300},
            "market_data": {"min_connect_interval_seconds": 0.2, "backfill_rate_limit_ms": 0, **market_data},
        }
    )


class Running:
    def __init__(self, venue: RunningVenue, settings: Settings, store_path: str = ":memory:") -> None:
        self.venue = venue
        self.loop = EventLoopThread("market-test").start()
        self.market = MarketData(
            settings,
            ws_url=venue.ws_url,
            rest_url=venue.http_url,
            exchange="sim",
            store_path=store_path,
            loop=self.loop,
        )

    def stop(self) -> None:
        self.market.stop()
        self.loop.stop()

    def websocket(self) -> dict[str, Any]:
        health: dict[str, Any] = self.market.health()["websocket"]
        return health

    def version(self, symbol: str = "BTCUSDT") -> int:
        return self.market.datastream.version(symbol, Timeframe.M1)


@pytest.fixture
def venue() -> Iterator[RunningVenue]:
    running = run_venue_in_thread(VenueConfig(symbols=SYMBOLS, speed=60.0, history_days=1.0, seed=11))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def start_market(venue: RunningVenue) -> Iterator[Callable[..., Running]]:
    started: list[Running] = []

    def start(**market_data: Any) -> Running:
        running = Running(venue, build_settings(**market_data))
        running.market.start()
        started.append(running)
        return running

    try:
        yield start
    finally:
        for running in started:
            running.stop()


def test_start_backfills_the_buffer_and_streams_live(start_market: Callable[..., Running]) -> None:
    running = start_market()
    market = running.market
    assert wait_until(lambda: market.health()["websocket"]["connected"], 10)
    assert market.wait_backfilled(20)
    candles = market.klines("BTCUSDT", Timeframe.M1, limit=300)
    assert len(candles) == 300, "start backfill did not fill the buffer"
    open_times = [candle.open_time for candle in candles]
    assert all(later - earlier == 60_000 for earlier, later in itertools.pairwise(open_times))
    assert all(candle.closed for candle in candles[:-1])
    version = running.version()
    assert wait_until(lambda: running.version() > version, 5)
    health = market.health()
    assert health["backfill"]["jobs_done"] >= 4
    assert health["backfill"]["jobs_failed"] == 0
    assert all(not stream["stale"] for stream in health["streams"])
    assert market.ticker("ETHUSDT") is not None or wait_until(lambda: market.ticker("ETHUSDT") is not None, 5)


def test_garbage_frames_are_counted_and_dropped_while_data_flows(
    start_market: Callable[..., Running], venue: RunningVenue
) -> None:
    running = start_market()
    assert wait_until(lambda: running.websocket()["connected"], 10)
    admin(venue, "/admin/garbage?count=40")
    assert wait_until(lambda: running.websocket()["invalid_messages"] >= 40, 5)
    version = running.version()
    assert wait_until(lambda: running.version() > version, 5)
    websocket = running.websocket()
    assert websocket["connected"]
    assert websocket["reconnects"] == 0
    assert sum(websocket["invalid_by_reason"].values()) == websocket["invalid_messages"]


def test_watchdog_fires_on_a_stall_and_data_resumes(
    start_market: Callable[..., Running], venue: RunningVenue
) -> None:
    running = start_market(watchdog_seconds=1.0)
    assert wait_until(lambda: running.websocket()["connected"], 10)
    admin(venue, "/admin/stall?seconds=3")
    assert wait_until(lambda: running.websocket()["watchdog_fires"] >= 1, 5)
    version = running.version()
    assert wait_until(lambda: running.version() > version, 8)
    assert running.websocket()["reconnects"] >= 1


def test_adding_and_removing_a_symbol_does_not_interrupt_the_others(
    start_market: Callable[..., Running],
) -> None:
    running = start_market()
    market = running.market
    assert wait_until(lambda: running.websocket()["connected"], 10)
    versions: list[int] = []
    sampler_stop = time.monotonic() + 2.5
    market.add_symbol("SOLUSDT")
    while time.monotonic() < sampler_stop:
        versions.append(running.version("BTCUSDT"))
        time.sleep(0.1)
    assert wait_until(lambda: len(market.klines("SOLUSDT", Timeframe.M1, limit=10)) == 10, 10)
    market.remove_symbol("ETHUSDT")
    for _ in range(15):
        versions.append(running.version("BTCUSDT"))
        time.sleep(0.1)
    # BTCUSDT kept moving throughout: no pause of a second or more (speed 60 pushes ~30 times a second).
    stalls = sum(1 for earlier, later in zip(versions, versions[10:], strict=False) if later == earlier)
    assert stalls == 0
    websocket = running.websocket()
    assert websocket["reconnects"] == 0
    assert len(websocket["connections"]) == 1
    assert "ETHUSDT" not in market.symbols()


def test_adding_and_removing_a_timeframe_live_does_not_interrupt_the_others(
    start_market: Callable[..., Running], venue: RunningVenue
) -> None:
    running = start_market()
    market = running.market
    assert wait_until(lambda: running.websocket()["connected"], 10)
    assert market.wait_backfilled(20)
    versions: list[int] = []
    added, removed = market.apply_timeframes((Timeframe.M1, Timeframe.M5, Timeframe.M15))
    assert (added, removed) == ([Timeframe.M15], [])
    sampler_stop = time.monotonic() + 2.5
    while time.monotonic() < sampler_stop:
        versions.append(running.version("BTCUSDT"))
        time.sleep(0.1)
    # The new timeframe is backfilled for every symbol and then streams: its forming candle moves.
    for symbol in ("BTCUSDT", "ETHUSDT"):
        assert wait_until(lambda symbol=symbol: len(market.klines(symbol, Timeframe.M15, limit=50)) == 50, 15)
    fifteen = market.datastream.version("ETHUSDT", Timeframe.M15)
    assert wait_until(lambda: market.datastream.version("ETHUSDT", Timeframe.M15) > fifteen, 5)
    # ... and equals the venue's own 15m candles.
    newest = [candle for candle in market.klines("BTCUSDT", Timeframe.M15, limit=5) if candle.closed][-1]
    query = f"symbol=BTCUSDT&interval=15m&startTime={newest.open_time}&limit=1"
    with urllib.request.urlopen(f"{venue.http_url}/api/v3/klines?{query}", timeout=5) as response:
        [row] = json.loads(response.read())
    assert (newest.open, newest.close, newest.volume) == (float(row[1]), float(row[4]), float(row[5]))

    market.apply_timeframes((Timeframe.M1, Timeframe.M15))  # 5m goes
    for _ in range(15):
        versions.append(running.version("BTCUSDT"))
        time.sleep(0.1)
    assert market.datastream.timeframes == (Timeframe.M1, Timeframe.M15)
    assert all(key.timeframe is not Timeframe.M5 for key in market.datastream.keys())
    streams = market.websocket.subscribed_streams()
    assert not any(name.endswith("@kline_5m") for name in streams)
    assert "btcusdt@kline_15m" in streams
    # BTCUSDT 1m kept moving throughout, on the same socket.
    stalls = sum(1 for earlier, later in zip(versions, versions[10:], strict=False) if later == earlier)
    assert stalls == 0
    assert running.websocket()["reconnects"] == 0
    assert len(running.websocket()["connections"]) == 1


@pytest.mark.slow
def test_after_five_drops_and_a_40_second_stall_closed_candles_equal_the_venue(
    start_market: Callable[..., Running], venue: RunningVenue
) -> None:
    # Backoff capped at 2 s keeps the test short; the watchdog keeps its default 30 s for the 40 s stall.
    running = start_market(backoff_max_seconds=2.0)
    market = running.market
    assert wait_until(lambda: running.websocket()["connected"], 10)
    assert market.wait_backfilled(20)
    window_start = market.klines("BTCUSDT", Timeframe.M1, limit=1)[0].open_time
    for drop in range(5):
        admin(venue, "/admin/drop")
        assert wait_until(lambda drop=drop: running.websocket()["reconnects"] >= drop + 1, 40)
        time.sleep(0.5)
    admin(venue, "/admin/stall?seconds=40")
    time.sleep(40)
    assert wait_until(lambda: running.websocket()["connected"], 35)
    version = running.version()
    assert wait_until(lambda: running.version() > version, 10)
    time.sleep(1.0)
    assert market.wait_backfilled(30)
    assert running.websocket()["watchdog_fires"] >= 1

    candles = [candle for candle in market.klines("BTCUSDT", Timeframe.M1, limit=300) if candle.closed]
    window = [candle for candle in candles if candle.open_time >= window_start]
    assert len(window) >= 40, "expected about 50 simulated minutes in the window"
    expected = rest_klines(venue, "BTCUSDT", window_start, window[-1].open_time)
    assert [candle.open_time for candle in window] == [int(row[0]) for row in expected]
    # Every field, not only OHLCV: streamed and backfilled candles alike carry the taker-buy volume.
    assert [_fields(candle) for candle in window] == [
        (
            float(row[1]),
            float(row[2]),
            float(row[3]),
            float(row[4]),
            float(row[5]),
            float(row[7]),
            int(row[8]),
            float(row[9]),
        )
        for row in expected
    ]


def _fields(candle: Candle) -> tuple[float, float, float, float, float, float, int, float]:
    return (
        candle.open,
        candle.high,
        candle.low,
        candle.close,
        candle.volume,
        candle.quote_volume,
        candle.trades,
        candle.taker_buy_volume,
    )


def test_klines_beyond_the_buffer_come_from_the_store(tmp_path: Any) -> None:
    venue = run_venue_in_thread(VenueConfig(symbols=("BTCUSDT",), speed=600.0, history_days=0.5, seed=3))
    settings = settings_from_dict(
        {
            "market": {"symbols": ["BTCUSDT"], "timeframes": ["1m"], "buffer_size": 30},
            "market_data": {"backfill_rate_limit_ms": 0, "store_flush_seconds": 0.2},
        }
    )
    running = Running(venue, settings, store_path=str(tmp_path / "klines.duckdb"))
    market = running.market
    try:
        market.start()
        assert market.wait_backfilled(20)
        # 600x: ten 1m candles a second; after 4 s the oldest have left the 30-candle buffer.
        time.sleep(4)
        assert market.wait_backfilled(20)
        assert market.flush()
        buffered = market.datastream.snapshot("BTCUSDT", Timeframe.M1)
        assert len(buffered) == 30
        candles = market.klines("BTCUSDT", Timeframe.M1, limit=60)
        open_times = [candle.open_time for candle in candles]
        assert len(candles) == 60
        assert all(later - earlier == 60_000 for earlier, later in itertools.pairwise(open_times))
        assert open_times[-1] == int(buffered.open_time[-1])
        window = market.klines("BTCUSDT", Timeframe.M1, limit=10, start=open_times[0], end=open_times[15])
        assert [candle.open_time for candle in window] == open_times[:10]
        expected = rest_klines(venue, "BTCUSDT", open_times[0], open_times[9])
        assert [candle.close for candle in window] == [float(row[4]) for row in expected]
    finally:
        running.stop()
        venue.stop()
