"""The project's own market-data client consumes every stream kind the venue serves."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterator

import orjson
import pytest
from websockets.sync.client import connect

from thebot.config import settings_from_dict
from thebot.market.models import KlineEvent
from thebot.market.protocol import ControlReply, ServerShutdown, TickerEvent, parse_message
from thebot.market.service import MarketData
from thebot.market.timeframe import Timeframe
from thebot.runtime import EventLoopThread
from thebot.venue import RunningVenue, VenueConfig, run_venue_in_thread
from thebot.venue.intervals import INTERVALS


@pytest.fixture(scope="module")
def venue() -> Iterator[RunningVenue]:
    running = run_venue_in_thread(VenueConfig(symbols=("BTCUSDT", "ETHUSDT"), speed=120.0, history_days=1.0))
    try:
        yield running
    finally:
        running.stop()


def test_every_frame_kind_parses_with_the_project_parser(venue: RunningVenue) -> None:
    streams = [f"btcusdt@kline_{interval}" for interval in INTERVALS] + [
        "ethusdt@ticker",
        "ethusdt@miniTicker",
    ]
    seen: set[str] = set()
    kinds: set[type] = set()
    with connect(f"{venue.ws_url}/stream?streams={'/'.join(streams)}", proxy=None) as socket:
        socket.send(orjson.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 7}).decode())
        deadline = time.monotonic() + 10
        shutdown_sent = False
        while time.monotonic() < deadline and (len(seen) < len(streams) or ServerShutdown not in kinds):
            raw = socket.recv(timeout=5)
            message = parse_message(raw)  # raises on anything malformed
            kinds.add(type(message))
            if isinstance(message, KlineEvent):
                seen.add(f"btcusdt@kline_{message.timeframe.value}")
            elif isinstance(message, TickerEvent):
                seen.add(orjson.loads(raw)["stream"])
            if len(seen) == len(streams) and not shutdown_sent:
                opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
                opener.open(
                    urllib.request.Request(
                        f"{venue.http_url}/admin/shutdown-notice", method="POST", data=b""
                    ),
                    timeout=5,
                ).close()
                shutdown_sent = True
    assert seen == set(streams)
    assert {KlineEvent, TickerEvent, ControlReply, ServerShutdown} <= kinds


def test_market_data_streams_every_interval_and_the_ticker(venue: RunningVenue) -> None:
    settings = settings_from_dict(
        {
            "market": {
                "symbols": ["BTCUSDT"],
                "timeframes": [timeframe.value for timeframe in Timeframe],
                "buffer_size": 100,
            },
            "market_data": {"min_connect_interval_seconds": 0.2, "backfill_rate_limit_ms": 0},
            "ui": {"default_timeframe": "1m"},
        }
    )
    loop = EventLoopThread("venue-client-test").start()
    market = MarketData(
        settings,
        ws_url=venue.ws_url,
        rest_url=venue.http_url,
        exchange="sim",
        store_path=":memory:",
        loop=loop,
    )
    try:
        market.start()
        versions = {timeframe: market.datastream.version("BTCUSDT", timeframe) for timeframe in Timeframe}
        deadline = time.monotonic() + 20
        moving: set[Timeframe] = set()
        while time.monotonic() < deadline and (
            len(moving) < len(Timeframe) or market.ticker("BTCUSDT") is None
        ):
            time.sleep(0.1)
            moving = {
                timeframe
                for timeframe in Timeframe
                if market.datastream.version("BTCUSDT", timeframe) > versions[timeframe]
            }
        assert moving == set(Timeframe)
        assert market.ticker("BTCUSDT") is not None
        assert market.health()["websocket"]["invalid_messages"] == 0
    finally:
        market.stop()
        loop.stop()
