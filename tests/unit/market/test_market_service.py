"""The MarketData facade as the web layer uses it: start, health, klines, runtime symbols, stop."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from market_fakes import FakeStreamServer, wait_until

from thebot.config import settings_from_dict
from thebot.market.service import MarketData
from thebot.market.timeframe import Timeframe
from thebot.runtime import EventLoopThread


@pytest.fixture
def market(fake_server: FakeStreamServer, loop_thread: EventLoopThread) -> Iterator[MarketData]:
    settings = settings_from_dict(
        {
            "market": {"symbols": ["BTCUSDT", "ETHUSDT"], "timeframes": ["1m", "5m"], "buffer_size": 50},
            "ui": {"default_timeframe": "1m"},
            "market_data": {"watchdog_seconds": 5.0, "min_connect_interval_seconds": 0.05},
        }
    )
    market = MarketData(
        settings,
        ws_url=fake_server.url,
        rest_url="http://127.0.0.1:9",
        exchange="sim",
        store_path=":memory:",
        loop=loop_thread,
    )
    market.start()
    try:
        yield market
    finally:
        market.stop()


def test_health_reports_the_connection_and_every_stream(market: MarketData) -> None:
    # Messages are counted on receipt and applied by the processing task: wait for both.
    assert wait_until(
        lambda: (
            market.health()["websocket"]["messages"] > 20
            and market.datastream.last_candle("BTCUSDT", Timeframe.M1) is not None
        )
    )
    health = market.health()
    websocket = health["websocket"]
    assert websocket["connected"] is True
    assert isinstance(websocket["reconnects"], int)
    assert websocket["invalid_messages"] == 0
    streams = {(stream["symbol"], stream["timeframe"]): stream for stream in health["streams"]}
    assert set(streams) == {(symbol, tf) for symbol in ("BTCUSDT", "ETHUSDT") for tf in ("1m", "5m")}
    btc = streams[("BTCUSDT", "1m")]
    assert btc["candles"] > 0
    assert btc["last_open_time"] > 0
    assert 0 <= btc["last_update_age_ms"] < 5_000
    assert btc["stale"] is False
    # This fake venue has no REST clock: the lag against the venue's clock is unknown, not a guess.
    assert btc["event_lag_ms"] is None
    assert health["venue_clock_rate"] == 1.0


def test_klines_are_oldest_first_and_honour_limit_start_and_end(market: MarketData) -> None:
    assert wait_until(lambda: len(market.klines("BTCUSDT", Timeframe.M1, limit=100)) >= 6)
    everything = market.klines("BTCUSDT", Timeframe.M1, limit=100)
    open_times = [candle.open_time for candle in everything]
    assert open_times == sorted(open_times)
    assert len(set(open_times)) == len(open_times)
    newest_three = [candle.open_time for candle in market.klines("BTCUSDT", Timeframe.M1, limit=3)]
    assert len(newest_three) == 3
    assert newest_three == sorted(newest_three)
    assert newest_three[-1] >= open_times[-1]  # the stream may have moved on between the two reads
    window = market.klines("BTCUSDT", Timeframe.M1, limit=2, start=open_times[1], end=open_times[4])
    assert [candle.open_time for candle in window] == open_times[1:3]
    assert market.klines("BTCUSDT", Timeframe.M1, limit=0) == []


def test_symbols_can_be_added_and_removed_at_runtime(market: MarketData) -> None:
    market.add_symbol("SOLUSDT")
    assert wait_until(lambda: len(market.klines("SOLUSDT", Timeframe.M5, limit=10)) >= 1)
    assert "SOLUSDT" in market.symbols()
    market.remove_symbol("SOLUSDT")
    assert "SOLUSDT" not in market.symbols()
    assert all(stream["symbol"] != "SOLUSDT" for stream in market.health()["streams"])
    with pytest.raises(ValueError, match="upper-case"):
        market.add_symbol("sol/usdt")
