"""WebSocketManager against a controllable fake stream server: data flows, faults heal, counts are honest."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from market_fakes import FakeStreamServer, fast_settings, kline_payload, wait_until

from thebot.market.datastream import DataStream
from thebot.market.timeframe import Timeframe
from thebot.market.websocket import WebSocketManager
from thebot.runtime import EventLoopThread

TIMEFRAMES = (Timeframe.M1, Timeframe.M5)


class Harness:
    def __init__(self, server_url: str, loop: EventLoopThread, symbols: list[str], **overrides: Any) -> None:
        self.datastream = DataStream(symbols, TIMEFRAMES, capacity=100)
        self.connected: list[tuple[int, bool]] = []
        self.manager = WebSocketManager(
            fast_settings(**overrides),
            self.datastream,
            server_url,
            loop,
            symbols=symbols,
            timeframes=TIMEFRAMES,
            on_connected=lambda keys, reconnect: self.connected.append((len(keys), reconnect)),
        )

    def candles(self, symbol: str, timeframe: Timeframe = Timeframe.M1) -> int:
        return len(self.datastream.snapshot(symbol, timeframe))

    def version(self, symbol: str, timeframe: Timeframe = Timeframe.M1) -> int:
        return self.datastream.version(symbol, timeframe)


@pytest.fixture
def harness(fake_server: FakeStreamServer, loop_thread: EventLoopThread) -> Iterator[Harness]:
    harness = Harness(fake_server.url, loop_thread, ["BTCUSDT", "ETHUSDT"])
    harness.manager.start()
    try:
        yield harness
    finally:
        harness.manager.stop()


def test_klines_and_tickers_flow_into_the_datastream(harness: Harness, fake_server: FakeStreamServer) -> None:
    assert wait_until(
        lambda: harness.candles("BTCUSDT") >= 3 and harness.candles("ETHUSDT", Timeframe.M5) >= 3
    )
    snapshot = harness.datastream.snapshot("BTCUSDT", Timeframe.M1)
    # Every buffered candle but the newest is closed, and open times are strictly one interval apart.
    assert all(snapshot.closed[:-1])
    assert set((snapshot.open_time[1:] - snapshot.open_time[:-1]).tolist()) == {60_000}
    assert wait_until(lambda: harness.manager.ticker("ETHUSDT") is not None)
    ticker = harness.manager.ticker("ETHUSDT")
    assert ticker is not None and ticker.last_price == 101.0
    status = harness.manager.status()
    assert status.connected
    assert status.invalid_messages == 0
    assert status.connections[0].streams == 6
    assert "btcusdt@kline_1m" in fake_server.paths[0]


def test_reconnects_after_the_connection_drops(harness: Harness, fake_server: FakeStreamServer) -> None:
    assert wait_until(lambda: harness.manager.status().connected and harness.candles("BTCUSDT") >= 1)
    for drop in range(3):
        fake_server.drop_all()
        assert wait_until(lambda drop=drop: harness.manager.status().reconnects >= drop + 1), f"drop {drop}"
        assert wait_until(lambda: harness.manager.status().connected)
    version = harness.version("BTCUSDT")
    assert wait_until(lambda: harness.version("BTCUSDT") > version), "data stopped after reconnecting"
    assert fake_server.connections == 4
    # The reconnect was announced so that the backfiller can fill what was missed.
    assert [reconnect for _, reconnect in harness.connected] == [False, True, True, True]
    assert harness.manager.status().last_error is not None


def test_watchdog_reconnects_a_silent_but_open_socket(
    fake_server: FakeStreamServer, loop_thread: EventLoopThread
) -> None:
    harness = Harness(fake_server.url, loop_thread, ["BTCUSDT"], watchdog_seconds=0.4)
    harness.manager.start()
    try:
        assert wait_until(lambda: harness.candles("BTCUSDT") >= 1)
        fake_server.stall(1.5)
        assert wait_until(lambda: harness.manager.status().watchdog_fires >= 1, timeout=3)
        assert wait_until(lambda: fake_server.connections >= 2, timeout=3)
        version = harness.version("BTCUSDT")
        assert wait_until(lambda: harness.version("BTCUSDT") > version, timeout=5)
    finally:
        harness.manager.stop()


def test_garbage_is_counted_by_reason_and_data_keeps_flowing(
    harness: Harness, fake_server: FakeStreamServer
) -> None:
    assert wait_until(lambda: harness.manager.status().connected)
    bad_prices = kline_payload("BTCUSDT", "1m", 10_000, 0, closed=False)
    bad_prices["k"]["h"] = "50.0"  # high below low
    negative = kline_payload("BTCUSDT", "1m", 10_000, 0, closed=False)
    negative["k"]["c"] = "-1"
    missing = kline_payload("BTCUSDT", "1m", 10_000, 0, closed=False)
    del missing["k"]["o"]
    frames = [
        "{not json",
        orjson.dumps({"stream": "btcusdt@kline_1m", "data": bad_prices}).decode(),
        orjson.dumps({"stream": "btcusdt@kline_1m", "data": negative}).decode(),
        orjson.dumps({"stream": "btcusdt@kline_1m", "data": missing}).decode(),
        orjson.dumps({"stream": "dogeusdt@kline_1m", "data": {"e": "kline"}}).decode(),
        orjson.dumps(
            {"stream": "btcusdt@kline_1m", "data": {**missing, "k": {**missing["k"], "o": "NaN"}}}
        ).decode(),
    ]
    fake_server.send_raw(frames)
    assert wait_until(lambda: harness.manager.status().invalid_messages == len(frames))
    by_reason = harness.manager.status().invalid_by_reason
    assert by_reason == {
        "bad_json": 1,
        "high_below_low": 1,
        "negative_price": 1,
        "missing_field": 1,
        "unknown_stream": 1,
        "non_finite": 1,
    }
    version = harness.version("BTCUSDT")
    assert wait_until(lambda: harness.version("BTCUSDT") > version)
    assert harness.manager.status().connected
    # None of the bad candles reached the buffer.
    snapshot = harness.datastream.snapshot("BTCUSDT", Timeframe.M1)
    assert snapshot.open_time.max() < 1_677_628_800_000 + 10_000 * 60_000
    assert (snapshot.close > 0).all()


def test_adding_and_removing_a_symbol_does_not_interrupt_the_others(
    harness: Harness, fake_server: FakeStreamServer
) -> None:
    assert wait_until(lambda: harness.candles("BTCUSDT") >= 1)
    harness.datastream.add_symbol("SOLUSDT")
    harness.manager.add_symbol("SOLUSDT")
    assert wait_until(lambda: harness.candles("SOLUSDT") >= 2)
    harness.manager.remove_symbol("ETHUSDT")
    assert wait_until(
        lambda: all("ethusdt@kline_1m" not in streams for streams in fake_server.streams_of_clients())
    )
    version = harness.version("BTCUSDT")
    assert wait_until(lambda: harness.version("BTCUSDT") > version)
    assert fake_server.connections == 1, "adding or removing a symbol reconnected the socket"
    assert harness.manager.status().reconnects == 0
    methods = [message["method"] for _, message in fake_server.control_messages]
    assert methods == ["SUBSCRIBE", "UNSUBSCRIBE"]
    assert set(fake_server.control_messages[0][1]["params"]) == {
        "solusdt@kline_1m",
        "solusdt@kline_5m",
        "solusdt@ticker",
    }
    assert harness.manager.symbols == ["BTCUSDT", "SOLUSDT"]


def test_control_messages_stay_under_the_rate_limit(harness: Harness, fake_server: FakeStreamServer) -> None:
    assert wait_until(lambda: harness.manager.status().connected)
    for symbol in ("SOLUSDT", "XRPUSDT", "ADAUSDT", "BNBUSDT", "DOTUSDT", "TRXUSDT"):
        harness.datastream.add_symbol(symbol)
        harness.manager.add_symbol(symbol)
    assert wait_until(lambda: len(fake_server.control_messages) == 6)
    times = [at for at, _ in fake_server.control_messages]
    # 4 per second configured: any 5 consecutive messages span at least one second.
    assert all(times[index + 4] - times[index] >= 0.95 for index in range(len(times) - 4))


def test_streams_are_spread_over_connections_of_bounded_size(
    fake_server: FakeStreamServer, loop_thread: EventLoopThread
) -> None:
    harness = Harness(fake_server.url, loop_thread, ["BTCUSDT", "ETHUSDT"], max_streams_per_connection=4)
    harness.manager.start()
    try:
        assert wait_until(lambda: harness.manager.status().connected and fake_server.connections == 2)
        sizes = sorted(len(streams) for streams in fake_server.streams_of_clients())
        assert sizes == [2, 4]
        assert wait_until(
            lambda: harness.candles("BTCUSDT") >= 1 and harness.candles("ETHUSDT", Timeframe.M5) >= 1
        )
    finally:
        harness.manager.stop()


def test_server_shutdown_event_triggers_a_clean_reconnect(
    harness: Harness, fake_server: FakeStreamServer
) -> None:
    assert wait_until(lambda: harness.manager.status().connected)
    fake_server.send_raw([orjson.dumps({"e": "serverShutdown", "E": 1}).decode()])
    assert wait_until(lambda: fake_server.connections == 2)
    status = harness.manager.status()
    assert status.server_shutdowns == 1
    assert status.invalid_messages == 0


def test_connection_attempts_are_rate_limited_while_the_venue_is_down(loop_thread: EventLoopThread) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    datastream = DataStream(["BTCUSDT"], TIMEFRAMES, capacity=10)
    manager = WebSocketManager(
        fast_settings(
            min_connect_interval_seconds=0.5, backoff_initial_seconds=0.01, backoff_max_seconds=0.01
        ),
        datastream,
        f"ws://127.0.0.1:{port}",
        loop_thread,
        symbols=["BTCUSDT"],
        timeframes=TIMEFRAMES,
    )
    manager.start()
    try:
        time.sleep(1.6)
        status = manager.status()
        assert 2 <= status.connect_attempts <= 4
        assert not status.connected
        assert status.last_error is not None
    finally:
        manager.stop()


def test_backoff_doubles_from_one_to_thirty_seconds_with_full_jitter() -> None:
    from thebot.market.settings import MarketDataSettings
    from thebot.market.websocket import backoff_delay

    settings = MarketDataSettings()
    ceilings = [backoff_delay(failures, settings, uniform=lambda low, high: high) for failures in range(1, 9)]
    assert ceilings == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
    assert backoff_delay(5000, settings, uniform=lambda low, high: high) == 30.0
    assert all(backoff_delay(3, settings, uniform=lambda low, high: low) == 0.0 for _ in range(3))
    assert all(0.0 <= backoff_delay(4, settings) <= 8.0 for _ in range(200))


def test_connections_rotate_before_the_lifetime_limit_without_backoff(
    fake_server: FakeStreamServer, loop_thread: EventLoopThread
) -> None:
    # 0.0003 h is about one second; Binance's limit is 24 h and the default rotation 23.5 h.
    harness = Harness(
        fake_server.url,
        loop_thread,
        ["BTCUSDT"],
        rotation_hours=0.0003,
        backoff_initial_seconds=5.0,
        backoff_max_seconds=5.0,
    )
    harness.manager.start()
    try:
        assert wait_until(lambda: harness.manager.status().rotations >= 1, timeout=4)
        assert wait_until(lambda: fake_server.connections >= 2, timeout=2), "rotation waited for a backoff"
        version = harness.version("BTCUSDT")
        assert wait_until(lambda: harness.version("BTCUSDT") > version)
    finally:
        harness.manager.stop()


def test_backoff_grows_on_quick_failures_and_resets_after_a_healthy_connection(
    fake_server: FakeStreamServer, loop_thread: EventLoopThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    import thebot.market.websocket as websocket_module

    failures_seen: list[int] = []

    def recording_delay(failures: int, settings: Any) -> float:
        failures_seen.append(failures)
        return 0.0

    monkeypatch.setattr(websocket_module, "backoff_delay", recording_delay)
    harness = Harness(fake_server.url, loop_thread, ["BTCUSDT"], backoff_reset_after_seconds=1.5)
    harness.manager.start()
    try:
        for drop in range(3):  # dropped right after connecting: each failure counts
            assert wait_until(
                lambda drop=drop: fake_server.connections == drop + 1 and harness.manager.status().connected
            )
            fake_server.drop_all()
        assert wait_until(lambda: len(failures_seen) == 3)
        assert wait_until(lambda: harness.manager.status().connected)
        time.sleep(1.8)  # healthy for longer than backoff_reset_after_seconds
        fake_server.drop_all()
        assert wait_until(lambda: len(failures_seen) == 4)
    finally:
        harness.manager.stop()
    assert failures_seen == [1, 2, 3, 1]
