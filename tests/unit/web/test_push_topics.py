"""Push topics: built only while a page shows them, spaced by `min_seconds`, following market data; and
the builders of the pages that used to poll (Markets, Matrix, the Signals feed, nudges)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import orjson
import pytest

from dash_modules.application import nudge
from dash_modules.markets_page import MARKETS_GRID, markets_props
from dash_modules.matrix_page import MATRIX_GRAPH, matrix_props
from dash_modules.push import PushHub, shows_param
from dash_modules.signals_page import SIGNALS_FEED, SignalsFeed
from tests.unit.web.patching import drain
from thebot.config import Settings
from thebot.events import EventBus, SignalRaised
from thebot.market.datastream import DataStream
from thebot.market.models import Candle, StreamKey
from thebot.market.timeframe import Timeframe
from thebot.signals.models import Side, Signal

START = 1_700_000_040_000
MINUTE = 60_000


def candle(index: int, close: float, closed: bool = True) -> Candle:
    return Candle(START + index * MINUTE, close, close + 1, close - 1, close, 5.0, closed)


class FakeAnalytics:
    """The analytics reads the pages make, over a list of signals and a version that moves with it."""

    def __init__(self) -> None:
        self.held: list[Signal] = []
        self.version = 0

    def add(self, signal: Signal) -> None:
        self.held.append(signal)
        self.version += 1

    def signals_version(self) -> int:
        return self.version

    def signals(self, symbol: str, timeframe: Timeframe | None, limit: int) -> list[Signal]:
        mine = [signal for signal in self.held if signal.symbol == symbol]
        return sorted(mine, key=lambda signal: signal.time, reverse=True)[:limit]

    def confluence(self, symbol: str) -> dict[str, Any]:
        mine = [signal for signal in self.held if signal.symbol == symbol]
        score = 0.5 if mine else 0.0
        return {
            "symbol": symbol,
            "score": score,
            "grade": "BUY" if mine else "NEUTRAL",
            "timeframes": [{"timeframe": "1m", "direction": 1 if mine else 0, "confidence": score}],
        }

    def signal_count(self, symbol: str, since: int) -> int:
        return sum(1 for signal in self.held if signal.symbol == symbol and signal.time >= since)


@pytest.fixture
def services() -> Iterator[Any]:
    symbols = ["BTCUSDT", "ETHUSDT"]
    stream = DataStream(symbols, [Timeframe.M1], capacity=100)
    for symbol in symbols:
        for index in range(30):
            stream.update(symbol, Timeframe.M1, candle(index, 100.0 + index, closed=index < 29))
    health = {"status": "ok", "source": "sim", "websocket": {"reconnects": 0}, "backfill": {}}
    yield SimpleNamespace(
        settings=Settings(),
        bus=EventBus(),
        market=SimpleNamespace(datastream=stream, symbols=lambda: symbols, ticker=lambda symbol: None),
        analytics=FakeAnalytics(),
        health=lambda: health,
    )


def signal(minute: int, symbol: str = "BTCUSDT") -> Signal:
    return Signal(START + minute * MINUTE, symbol, Timeframe.M1, Side.BUY, "rsi", 0.7, 101.0, "why")


def test_a_shown_by_topic_is_built_only_while_a_page_shows_it_and_sent_only_there(services: Any) -> None:
    built: list[int] = []

    def build() -> dict[str, dict[str, Any]]:
        built.append(1)
        return {"part": {"children": str(len(built))}}

    async def scenario() -> None:
        hub = PushHub(services)
        hub.add_topic((SignalRaised,), build, shown_by=("part",), name="part")
        elsewhere = hub.connect(None, frozenset())
        assert drain(elsewhere)[0]["watch"] == ["part"], "the hello names the components to report"
        await hub._on_event(SignalRaised("BTCUSDT", "1m", 1, "BUY", "rsi", 0.5, 1.0, "", False))
        hub._round()
        assert built == [] and drain(elsewhere) == [], "nobody shows it: no build, nothing sent"
        showing = hub.connect(None, frozenset({"part"}))
        drain(showing)
        hub._round()  # a page that starts showing it gets a fresh build
        assert built == [1]
        assert [message["props"] for message in drain(showing)] == [{"part": {"children": "1"}}]
        assert drain(elsewhere) == []
        untold = hub.connect(None, None)  # a page that did not say what it shows gets everything
        drain(untold)
        hub._round()
        assert [message["props"]["part"] for message in drain(untold)] == [{"children": "2"}]
        assert hub.stats()["topic_builds"] == {"part": 2}

    asyncio.run(scenario())


def test_a_market_topic_follows_data_changes_at_most_once_per_min_seconds(services: Any) -> None:
    built: list[float] = []

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        hub = PushHub(services)

        def build() -> dict[str, dict[str, Any]]:
            built.append(loop.time())
            return {"part": {"title": "x"}}

        hub.add_topic((), build, shown_by=("part",), market=True, min_seconds=0.3)
        hub._loop = loop
        hub._wake = asyncio.Event()
        page = hub.connect(None, frozenset({"part"}))
        hub._round()  # the build a new page gets
        drain(page)
        assert len(built) == 1
        key = StreamKey("BTCUSDT", Timeframe.M1)
        for step in range(5):  # a burst of ticks inside min_seconds
            services.market.datastream.update("BTCUSDT", Timeframe.M1, candle(29, 130.0 + step, False))
            hub._on_change(key)
            hub._round()
        assert len(built) == 1, "changes within min_seconds wait for one later build"
        await asyncio.sleep(0)  # the wake-ups the ticks asked for
        hub._wake.clear()
        hub._woken = False
        await asyncio.wait_for(hub._wake.wait(), 1.0)  # the hub's timer wakes it when the time is up
        hub._round()
        assert len(built) == 2 and built[1] - built[0] >= 0.29
        assert len(drain(page)) == 1
        hub._round()
        assert len(built) == 2, "no change since: no build"
        hub.disconnect(page)
        hub._on_change(key)
        hub._round()
        assert len(built) == 2, "no page shows it: ticks do not even wake it"

    asyncio.run(scenario())


def test_shows_param() -> None:
    assert shows_param(None) is None
    assert shows_param("") == frozenset()
    assert shows_param("markets-grid,matrix-graph") == {"markets-grid", "matrix-graph"}


def test_signals_feed_sends_the_transaction_between_two_versions(services: Any) -> None:
    services.analytics.add(signal(1))
    feed = SignalsFeed(services)
    assert feed.props() == {}, "nothing moved since the feed started"
    services.analytics.add(signal(2))
    services.analytics.add(signal(2, "ETHUSDT"))
    message = orjson.loads(feed.props()[SIGNALS_FEED]["title"])
    assert (message["from"], message["to"]) == (1, 3)
    assert sorted(row["symbol"] for row in message["transaction"]["add"]) == ["BTCUSDT", "ETHUSDT"]
    assert all(row["time"] == START + 2 * MINUTE for row in message["transaction"]["add"])
    assert message["oldest"] == START + MINUTE
    services.analytics.add(signal(3))
    message = orjson.loads(feed.props()[SIGNALS_FEED]["title"])
    assert message["from"] == 3 and [row["time"] for row in message["transaction"]["add"]] == [
        START + 3 * MINUTE
    ]


def test_markets_and_matrix_props_follow_the_data(services: Any) -> None:
    rows = markets_props(services)[MARKETS_GRID]["rowData"]
    assert [row["symbol"] for row in rows] == ["BTCUSDT", "ETHUSDT"]
    assert rows[0]["last_price"] == 129.0 and rows[0]["signals_today"] == 0
    services.market.datastream.update("BTCUSDT", Timeframe.M1, candle(29, 140.0, False))
    services.analytics.add(signal(29))
    rows = markets_props(services)[MARKETS_GRID]["rowData"]
    assert rows[0]["last_price"] == 140.0 and rows[0]["signals_today"] == 1 and rows[0]["grade"] == "BUY"
    heatmap = matrix_props(services)[MATRIX_GRAPH]["figure"]["data"][0]
    assert heatmap["z"] == [[0.5], [0.0]]
    assert heatmap["y"][0].startswith("BTCUSDT  BUY")


def test_a_nudge_says_changed_with_a_new_title_each_time() -> None:
    build = nudge("news-feed")
    assert build() != build()
    assert set(build()) == {"news-feed"}


def test_a_failing_topic_does_not_hold_up_the_others(services: Any) -> None:
    def broken() -> dict[str, dict[str, Any]]:
        raise RuntimeError("boom")

    async def scenario() -> None:
        hub = PushHub(services)
        hub.add_topic((SignalRaised,), broken, name="broken")
        hub.add_topic((SignalRaised,), lambda: {"part": {"title": "ok"}}, name="fine")
        page = hub.connect(None, frozenset())
        drain(page)
        await hub._on_event(SignalRaised("BTCUSDT", "1m", 1, "BUY", "rsi", 0.5, 1.0, "", False))
        hub._round()
        assert [message["props"] for message in drain(page)] == [{"part": {"title": "ok"}}]
        assert hub.stats()["topic_builds"] == {"broken": 1, "fine": 1}

    asyncio.run(scenario())
