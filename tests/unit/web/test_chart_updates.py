"""The chart: a full figure on navigation, then compact pushed updates that rebuild it exactly."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import duckdb
import plotly.graph_objects as go
import pytest

from dash_modules.chart import chart_push, full_chart
from dash_modules.figures import (
    CANDLE_TRACE,
    DOWN_COLOR,
    UP_COLOR,
    VOLUME_TRACE,
    ChartState,
    candlestick_figure,
)
from dash_modules.push import encode
from tests.unit.web.market_stub import MarketStub
from tests.unit.web.patching import apply_chart_message
from thebot.config import Settings
from thebot.market.datastream import DataStream
from thebot.market.models import Candle
from thebot.market.timeframe import Timeframe
from thebot.signals.service import AnalyticsService

MINUTE = 60_000
WINDOW = 300


def candle(index: int, close: float, closed: bool = True) -> Candle:
    open_price = 30_000.0 + index
    return Candle(
        open_time=1_700_000_000_000 - 1_700_000_000_000 % MINUTE + index * MINUTE,
        open=open_price,
        high=max(open_price, close) + 5.5,
        low=min(open_price, close) - 5.25,
        close=close,
        volume=12.5 + index,
        closed=closed,
    )


@pytest.fixture
def services() -> Iterator[Any]:
    stream = DataStream(["BTCUSDT"], [Timeframe.M1, Timeframe.M5], capacity=1000)
    for index in range(400):
        stream.update("BTCUSDT", Timeframe.M1, candle(index, 30_000.0 + index + 3, closed=index < 399))
    settings = dataclasses.replace(Settings(), ui=dataclasses.replace(Settings().ui, chart_candles=WINDOW))
    analytics = AnalyticsService(settings, stream, duckdb.connect(":memory:"))  # not started: no signals
    yield SimpleNamespace(settings=settings, market=MarketStub(stream), analytics=analytics)


def full(services: Any, timeframe: str = "1m") -> tuple[Any, Any]:
    return full_chart(services, "BTCUSDT", timeframe, [])


def test_full_figure_is_valid_and_names_its_state(services: Any) -> None:
    figure, state = full(services)
    go.Figure(figure)  # plotly validates every property
    assert len(figure["data"][CANDLE_TRACE]["x"]) == WINDOW
    assert state["count"] == WINDOW
    assert state["last_open_time"] == candle(399, 0).open_time


def test_nothing_new_sends_nothing(services: Any) -> None:
    _, state = full(services)
    result = chart_push(services, ChartState.from_dict(state))
    assert result.message is None


def test_forming_candle_update_is_a_few_hundred_bytes(services: Any) -> None:
    figure, state = full(services)
    services.market.datastream.update("BTCUSDT", Timeframe.M1, candle(399, 30_500.5, closed=False))
    result = chart_push(services, ChartState.from_dict(state))
    assert result.message is not None
    chart_only = {key: value for key, value in result.message.items() if key != "props"}
    update_bytes = len(encode(chart_only))
    assert update_bytes < 1_000, update_bytes
    assert len(json.dumps(figure)) > 30 * update_bytes
    patched = apply_chart_message(figure, result.message)
    assert patched["data"][CANDLE_TRACE]["close"][-1] == 30_500.5
    assert patched["data"][VOLUME_TRACE]["marker"]["color"][-1] == UP_COLOR
    assert result.state.count == WINDOW
    assert result.message["state"] == result.state.to_dict()
    assert result.message["base"] == ChartState.from_dict(state).base_dict()  # type: ignore[union-attr]


def test_new_candle_is_appended_and_window_trimmed(services: Any) -> None:
    figure, state = full(services)
    stream = services.market.datastream
    stream.update("BTCUSDT", Timeframe.M1, candle(399, 29_000.0, closed=True))
    stream.update("BTCUSDT", Timeframe.M1, candle(400, 30_390.0, closed=False))
    result = chart_push(services, ChartState.from_dict(state))
    assert result.message is not None and result.message["trim"] == 1
    patched = apply_chart_message(figure, result.message)
    rebuilt, rebuilt_state = full(services)
    for trace in (CANDLE_TRACE, VOLUME_TRACE):
        assert patched["data"][trace] == rebuilt["data"][trace]
    assert patched["data"][VOLUME_TRACE]["marker"]["color"][-2] == DOWN_COLOR
    assert result.state.to_dict() == rebuilt_state
    # The time axis follows the window, half a candle either side, so markers cannot pad it.
    clip = patched["layout"]["xaxis"]["autorangeoptions"]
    assert clip == rebuilt["layout"]["xaxis"]["autorangeoptions"]
    assert clip == {
        "clipmin": candle(101, 0).open_time - 30_000,
        "clipmax": candle(400, 0).open_time + 30_000,
    }


def test_history_changed_under_the_chart_asks_for_a_full_figure(services: Any) -> None:
    _, state = full(services)
    moved = ChartState.from_dict({**state, "first_open_time": state["first_open_time"] - MINUTE})
    assert moved is not None
    services.market.datastream.update("BTCUSDT", Timeframe.M1, candle(399, 30_200.0, closed=False))
    assert chart_push(services, moved).message == {"resync": True}


def test_a_stream_without_candles_waits_then_asks_for_its_figure(services: Any) -> None:
    figure, state = full(services, "5m")
    assert figure["data"] == []  # nothing streamed on 5m yet: a clear waiting message instead
    assert "Waiting" in figure["layout"]["annotations"][0]["text"]
    waiting = ChartState.from_dict(state)
    assert waiting is not None and waiting.count == 0
    assert chart_push(services, waiting).message is None
    services.market.datastream.update("BTCUSDT", Timeframe.M5, candle(0, 30_001.0, closed=False))
    assert chart_push(services, waiting).message == {"resync": True}


def test_uirevision_is_per_stream(services: Any) -> None:
    snapshot = services.market.datastream.snapshot("BTCUSDT", Timeframe.M1)
    assert candlestick_figure(snapshot)["layout"]["uirevision"] == "BTCUSDT:1m"
