"""The push hub: one computation per chart state, the same bytes to every page that shows it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import duckdb
import orjson
import pytest

from dash_modules.chart import full_chart
from dash_modules.figures import ChartState
from dash_modules.push import MAX_PANES, PushHub, chart_panes_param
from tests.unit.web.market_stub import MarketStub
from tests.unit.web.patching import drain
from thebot.config import Settings
from thebot.events import EventBus
from thebot.market.datastream import DataStream
from thebot.market.models import Candle
from thebot.market.timeframe import Timeframe
from thebot.signals.service import AnalyticsService

MINUTE = 60_000


def candle(index: int, close: float, closed: bool = True) -> Candle:
    return Candle(1_700_000_040_000 + index * MINUTE, 100.0, close + 1, close - 1, close, 5.0, closed)


@pytest.fixture
def services() -> Iterator[Any]:
    stream = DataStream(["BTCUSDT"], [Timeframe.M1], capacity=500)
    for index in range(200):
        stream.update("BTCUSDT", Timeframe.M1, candle(index, 100.0 + index % 7, closed=index < 199))
    settings = Settings()
    health = {"status": "ok", "source": "sim", "websocket": {"reconnects": 0}, "backfill": {}}
    yield SimpleNamespace(
        settings=settings,
        bus=EventBus(),
        market=MarketStub(stream),
        analytics=AnalyticsService(settings, stream, duckdb.connect(":memory:")),
        health=lambda: health,
    )


def test_pages_on_the_same_chart_share_one_update_and_stay_in_step(services: Any) -> None:
    async def scenario() -> None:
        hub = PushHub(services)
        _, state = full_chart(services, "BTCUSDT", "1m", [])
        # Two pages whose states are equal but separate objects (each came from its own request).
        first = hub.connect(ChartState.from_dict(state))
        second = hub.connect(ChartState.from_dict(dict(state)))
        drain(first), drain(second)
        for step in range(3):
            services.market.datastream.update("BTCUSDT", Timeframe.M1, candle(199, 110.0 + step, False))
            hub._flag(next(iter(hub._watched)))
            hub._round()
            one, two = drain(first), drain(second)
            assert len(one) == 1 and one == two, step
            chart = one[0]["chart"]
            base = ChartState.from_dict(state).base_dict()  # type: ignore[union-attr]
            assert chart["base"] == base, "a page was left behind and would have to reload its figure"
            assert chart["rows"][-1][4] == 110.0 + step
            state = chart["state"]
            assert first.state == second.state == ChartState.from_dict(state)
        assert hub.chart_messages == 6

    asyncio.run(scenario())


def test_a_page_that_cannot_keep_up_gets_a_resync_instead_of_a_backlog(services: Any) -> None:
    async def scenario() -> None:
        hub = PushHub(services)
        _, state = full_chart(services, "BTCUSDT", "1m", [])
        client = hub.connect(ChartState.from_dict(state))
        for step in range(client.queue.maxsize + 5):
            services.market.datastream.update("BTCUSDT", Timeframe.M1, candle(199, 120.0 + step, False))
            for key in hub._watched:
                hub._flag(key)
            hub._round()
        messages = drain(client)
        assert messages[0] == {"resync": True}
        assert client.overflows >= 1
        assert client.state is None  # it follows again once its new full figure arrives

    asyncio.run(scenario())


def test_the_chart_page_and_the_frame_have_no_refresh_timer(services: Any) -> None:
    """Updates reach the chart page by push only: neither it nor the frame around every page polls."""
    from dash_modules import chart_page, layout
    from dash_modules.pages import Page

    page = Page(path="/", label="Chart", layout=chart_page.layout, register=chart_page.register)
    services.simulated = True
    services.alerts = None
    rendered = orjson.dumps(
        [chart_page.layout(services), layout.page(services, [page])],
        default=lambda component: component.to_plotly_json(),
    ).decode()
    assert '"type":"Graph"' in rendered  # the serialisation reached the components
    assert '"type":"Interval"' not in rendered


def test_panes_of_one_page_follow_their_own_states_and_share_work_with_chart_pages(services: Any) -> None:
    async def scenario() -> None:
        hub = PushHub(services)
        _, state = full_chart(services, "BTCUSDT", "1m", [])
        chart_page = hub.connect(ChartState.from_dict(state))
        multi = hub.connect(None, panes=chart_panes_param(orjson.dumps({"g0": state, "g1": state}).decode()))
        drain(chart_page), drain(multi)
        services.market.datastream.update("BTCUSDT", Timeframe.M1, candle(199, 130.0, False))
        hub._flag(next(iter(hub._watched)))
        hub._round()
        single, panes = drain(chart_page), drain(multi)
        assert len(single) == 1 and "graph" not in single[0]
        assert sorted(message["graph"] for message in panes) == ["g0", "g1"]
        for message in panes:
            # The same update as the Chart page's, addressed to the pane, without the metrics strip's props.
            assert message["chart"] == {k: v for k, v in single[0]["chart"].items() if k != "props"}
        after = ChartState.from_dict(single[0]["chart"]["state"])
        assert multi.panes == {"g0": after, "g1": after} and chart_page.state == after

    asyncio.run(scenario())


def test_a_pane_whose_history_moved_under_it_resyncs_alone(services: Any) -> None:
    async def scenario() -> None:
        hub = PushHub(services)
        _, state = full_chart(services, "BTCUSDT", "1m", [])
        assert state is not None
        stale = dict(state, first_open_time=state["first_open_time"] - 7 * MINUTE, version=1)
        client = hub.connect(
            None, panes={"g0": ChartState.from_dict(state), "g1": ChartState.from_dict(stale)}
        )
        drain(client)
        services.market.datastream.update("BTCUSDT", Timeframe.M1, candle(199, 140.0, False))
        hub._flag(next(iter(hub._watched)))
        hub._round()
        messages = drain(client)
        assert {"graph": "g1", "resync": True} in messages
        assert [m["graph"] for m in messages if "chart" in m] == ["g0"]
        assert list(client.panes) == ["g0"]  # g1 follows again once its new full figure arrives

    asyncio.run(scenario())


def test_the_panes_parameter_keeps_well_formed_entries_only() -> None:
    good = {"symbol": "BTCUSDT", "timeframe": "1m", "version": 3, "first_open_time": 0, "last_open_time": 0}
    good["count"] = 10
    raw = orjson.dumps(
        {"g0": good, "bad id!": good, "g1": dict(good, timeframe="7m"), "g2": {"symbol": "X"}, "g3": 5}
    ).decode()
    assert list(chart_panes_param(raw)) == ["g0"]
    assert (
        chart_panes_param("not json") == {}
        and chart_panes_param("[1]") == {}
        and chart_panes_param(None) == {}
    )
    many = orjson.dumps({f"g{n}": good for n in range(20)}).decode()
    assert len(chart_panes_param(many)) == MAX_PANES
