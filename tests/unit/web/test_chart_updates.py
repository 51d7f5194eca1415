"""The chart tick: no update when nothing changed, small patches while streaming, full figures on switch."""

from __future__ import annotations

import json

import plotly.graph_objects as go
import pytest
from dash import Patch, no_update

from dash_modules.chart import chart_update
from dash_modules.figures import CANDLE_TRACE, DOWN_COLOR, UP_COLOR, VOLUME_TRACE, candlestick_figure
from tests.unit.web.patching import apply_patch
from thebot.market.datastream import DataStream
from thebot.market.models import Candle
from thebot.market.timeframe import Timeframe

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
def stream() -> DataStream:
    datastream = DataStream(["BTCUSDT"], [Timeframe.M1, Timeframe.M5], capacity=1000)
    for index in range(400):
        datastream.update("BTCUSDT", Timeframe.M1, candle(index, 30_000.0 + index + 3, closed=index < 399))
    return datastream


def tick(stream: DataStream, timeframe: str, state: dict | None, force_full: bool = False) -> tuple:
    return chart_update(
        stream, WINDOW, symbol="BTCUSDT", timeframe_value=timeframe, state_data=state, force_full=force_full
    )


def test_first_tick_builds_a_full_valid_figure(stream: DataStream) -> None:
    figure, state = tick(stream, "1m", None)
    assert isinstance(figure, dict)
    go.Figure(figure)  # plotly validates every property
    assert len(figure["data"][CANDLE_TRACE]["x"]) == WINDOW
    assert state["count"] == WINDOW
    assert state["last_open_time"] == candle(399, 0).open_time


def test_unchanged_version_answers_no_update(stream: DataStream) -> None:
    _, state = tick(stream, "1m", None)
    figure, new_state = tick(stream, "1m", state)
    assert figure is no_update and new_state is no_update


def test_forming_candle_update_is_a_patch_of_a_few_hundred_bytes(stream: DataStream) -> None:
    full, state = tick(stream, "1m", None)
    stream.update("BTCUSDT", Timeframe.M1, candle(399, 30_500.5, closed=False))
    patch, new_state = tick(stream, "1m", state)
    assert isinstance(patch, Patch)
    patch_bytes = len(json.dumps(patch.to_plotly_json()))
    full_bytes = len(json.dumps(full))
    assert patch_bytes < 1_000, patch_bytes
    assert full_bytes > 30 * patch_bytes
    patched = apply_patch(full, patch)
    assert patched["data"][CANDLE_TRACE]["close"][-1] == 30_500.5
    assert patched["data"][VOLUME_TRACE]["marker"]["color"][-1] == UP_COLOR
    assert new_state["count"] == WINDOW


def test_new_candle_is_appended_and_window_trimmed(stream: DataStream) -> None:
    full, state = tick(stream, "1m", None)
    stream.update("BTCUSDT", Timeframe.M1, candle(399, 29_000.0, closed=True))
    stream.update("BTCUSDT", Timeframe.M1, candle(400, 30_390.0, closed=False))
    patch, new_state = tick(stream, "1m", state)
    assert isinstance(patch, Patch)
    # One candle in, one out of eight arrays, and the axis bounds: still a tenth of the full figure.
    assert len(json.dumps(patch.to_plotly_json())) < 2_500 < len(json.dumps(full)) // 10
    patched = apply_patch(full, patch)
    rebuilt, _ = tick(stream, "1m", None, force_full=True)
    for trace in (CANDLE_TRACE, VOLUME_TRACE):
        for key in ("x", "open", "high", "low", "close", "y"):
            if key in rebuilt["data"][trace]:
                assert patched["data"][trace][key] == rebuilt["data"][trace][key], key
    assert patched["data"][VOLUME_TRACE]["marker"]["color"][-2] == DOWN_COLOR
    assert new_state["count"] == WINDOW
    assert new_state["last_open_time"] == candle(400, 0).open_time
    # The time axis follows the window, half a candle either side, so markers cannot pad it.
    clip = patched["layout"]["xaxis"]["autorangeoptions"]
    assert clip == rebuilt["layout"]["xaxis"]["autorangeoptions"]
    assert clip == {
        "clipmin": candle(101, 0).open_time - 30_000,
        "clipmax": candle(400, 0).open_time + 30_000,
    }


def test_history_changed_under_the_chart_gives_a_full_figure(stream: DataStream) -> None:
    _, state = tick(stream, "1m", None)
    state = {**state, "first_open_time": state["first_open_time"] - MINUTE}
    stream.update("BTCUSDT", Timeframe.M1, candle(399, 30_200.0, closed=False))
    figure, _ = tick(stream, "1m", state)
    assert isinstance(figure, dict) and len(figure["data"][CANDLE_TRACE]["x"]) == WINDOW


def test_switching_timeframe_builds_the_other_stream(stream: DataStream) -> None:
    _, state = tick(stream, "1m", None)
    figure, new_state = tick(stream, "5m", state, force_full=True)
    assert isinstance(figure, dict)
    assert figure["data"] == []  # nothing streamed on 5m yet: a clear waiting message instead
    assert "Waiting" in figure["layout"]["annotations"][0]["text"]
    assert new_state is None


def test_uirevision_is_per_stream(stream: DataStream) -> None:
    snapshot = stream.snapshot("BTCUSDT", Timeframe.M1)
    assert candlestick_figure(snapshot)["layout"]["uirevision"] == "BTCUSDT:1m"
