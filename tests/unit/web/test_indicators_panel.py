"""Indicators and signal markers on the chart, and the signal table, built without a browser."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import plotly.graph_objects as go
import pytest

from dash_modules.chart import chart_push, full_chart
from dash_modules.figures import CANDLE_TRACE, DOWN_COLOR, UP_COLOR, ChartState, candlestick_figure
from dash_modules.indicators_panel import (
    BUY_MARKERS,
    SELL_MARKERS,
    IndicatorSeries,
    decorate_figure,
    marker_traces,
    signal_rows,
)
from dash_modules.push import encode
from tests.unit.indicators.candle_data import candles_from_rows, generated_candles
from tests.unit.web.market_stub import live_services
from tests.unit.web.patching import apply_chart_message
from thebot.indicators import Placement
from thebot.market.datastream import DataStream
from thebot.market.timeframe import Timeframe
from thebot.signals.models import Side, Signal
from thebot.signals.service import AnalyticsService

WINDOW = 200
START = 1_677_628_800_000


def signal(index: int, side: Side, provisional: bool = False, rule: str = "rsi") -> Signal:
    return Signal(
        START + index * 60_000, "BTCUSDT", Timeframe.M1, side, rule, 0.7, 100.0, "because", provisional
    )


def by_name(figure: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {trace["name"]: trace for trace in figure["data"]}


def test_buy_markers_are_green_triangles_below_and_sell_red_above() -> None:
    candles = candles_from_rows([(100, 104, 96, 101), (101, 106, 99, 105), (105, 107, 100, 102)])
    buy, sell = marker_traces([signal(0, Side.BUY), signal(2, Side.SELL), signal(1, Side.BUY, True)], candles)
    assert (buy["name"], sell["name"]) == (BUY_MARKERS, SELL_MARKERS)
    assert buy["marker"]["color"] == UP_COLOR and buy["marker"]["symbol"] == "triangle-up"
    assert sell["marker"]["color"] == DOWN_COLOR and sell["marker"]["symbol"] == "triangle-down"
    assert buy["x"] == [START, START + 60_000]
    assert all(y < low for y, low in zip(buy["y"], (96, 99), strict=True))
    assert sell["x"] == [START + 120_000] and sell["y"][0] > 107
    assert buy["marker"]["opacity"] == [1.0, 0.45]  # the provisional one is faded
    assert "provisional" in buy["text"][1]


def test_signals_outside_the_visible_candles_are_not_drawn() -> None:
    candles = candles_from_rows([(100, 104, 96, 101)])
    buy, _ = marker_traces([signal(-5, Side.BUY)], candles)
    assert buy["x"] == []


def test_overlays_share_the_price_axis_and_oscillators_get_panels_below() -> None:
    candles = generated_candles(50, seed=2)
    figure = candlestick_figure(candles)
    none = [None] * 50
    values = [1.0] * 50
    indicators = [
        IndicatorSeries(
            "BBANDS", Placement.OVERLAY, {"upperband": values, "middleband": values, "lowerband": none}
        ),
        IndicatorSeries("RSI", Placement.PANEL, {"real": values}),
        IndicatorSeries("MACD", Placement.PANEL, {"macd": values, "macdsignal": values, "macdhist": values}),
    ]
    decorated = decorate_figure(figure, candles, indicators, [signal(3, Side.BUY)])
    go.Figure(decorated)  # plotly validates every property
    traces = by_name(decorated)
    assert traces["BBANDS upperband"]["yaxis"] == "y"
    assert traces["RSI"]["yaxis"] == "y3"
    assert traces["MACD macdhist"]["yaxis"] == "y4"
    layout = decorated["layout"]
    price, volume, rsi, macd = (layout[name]["domain"] for name in ("yaxis", "yaxis2", "yaxis3", "yaxis4"))
    assert macd[1] <= rsi[0] and rsi[1] <= volume[0] and volume[1] <= price[0]
    assert layout["xaxis"]["anchor"] == "y4"  # date labels under the lowest panel
    assert decorated["data"][CANDLE_TRACE] is figure["data"][CANDLE_TRACE]
    assert [trace["name"] for trace in decorated["data"][-2:]] == [BUY_MARKERS, SELL_MARKERS]


def test_signal_rows_for_the_table() -> None:
    rows = signal_rows([signal(1, Side.SELL, rule="macd"), signal(0, Side.BUY, provisional=True)])
    assert rows[0] == {
        "time": "2023-03-01 00:01",
        "timeframe": "1m",
        "side": "SELL",
        "rule": "macd",
        "strength": "0.70",
        "price": "100.00",
        "reason": "because",
        "provisional": False,
    }
    assert rows[1]["reason"].endswith("(provisional)")


@pytest.fixture
def live() -> Iterator[tuple[DataStream, AnalyticsService, Any]]:
    with live_services(WINDOW, capacity=1000) as running:
        yield running


PICKS = ["RSI", "BBANDS", "CDLENGULFING", "EMA?timeperiod=50"]


def test_chart_with_picked_indicators_and_markers(live: tuple[DataStream, AnalyticsService, Any]) -> None:
    stream, analytics, services = live
    figure, state = full_chart(services, "BTCUSDT", "1m", PICKS)
    go.Figure(figure)
    traces = by_name(figure)
    snapshot = stream.snapshot("BTCUSDT", Timeframe.M1)
    rsi = analytics.factory.compute("RSI", snapshot)["real"][-WINDOW:]
    assert traces["RSI"]["y"] == pytest.approx(rsi.tolist())  # warm-up from the whole buffer: no gaps
    ema50 = analytics.factory.compute("EMA", snapshot, {"timeperiod": 50})["real"][-WINDOW:]
    assert traces["EMA(50)"]["y"] == pytest.approx(ema50.tolist())
    assert traces["BBANDS middleband"]["yaxis"] == "y"
    visible = [s for s in analytics.signals("BTCUSDT", "1m", 1000) if s.time >= traces["RSI"]["x"][0]]
    assert visible, "no signal in the visible window; the marker check proves nothing"
    drawn = len(traces[BUY_MARKERS]["x"]) + len(traces[SELL_MARKERS]["x"])
    assert drawn == len(visible)

    # A forming update: the pushed update keeps indicator traces equal to a rebuilt figure and carries
    # only the last point of each, with no marker trace (no signal changed).
    last = stream.last_candle("BTCUSDT", Timeframe.M1)
    assert last is not None
    stream.update(
        "BTCUSDT", Timeframe.M1, dataclasses.replace(last, close=last.close * 1.01, high=last.high * 1.01)
    )
    result = chart_push(services, ChartState.from_dict(state))
    assert result.message is not None and "markers" not in result.message
    assert all(len(values) == 1 for values in result.message["ind"])
    chart_only = {key: value for key, value in result.message.items() if key != "props"}
    assert len(encode(chart_only)) < 2_000
    patched = apply_chart_message(figure, result.message)
    rebuilt, _ = full_chart(services, "BTCUSDT", "1m", PICKS)
    assert json.loads(json.dumps(patched["data"])) == json.loads(json.dumps(rebuilt["data"]))


def test_a_new_signal_sends_the_marker_traces_once(live: tuple[DataStream, AnalyticsService, Any]) -> None:
    stream, analytics, services = live
    figure, state = full_chart(services, "BTCUSDT", "1m", ["RSI"])
    shown = stream.snapshot("BTCUSDT", Timeframe.M1).tail(WINDOW)
    extra = Signal(
        int(shown.open_time[-2]), "BTCUSDT", Timeframe.M1, Side.BUY, "test", 0.9, 1.0, "new", False
    )
    analytics.aggregator.load_history("BTCUSDT", Timeframe.M1, [extra], int(shown.open_time[-2]))
    result = chart_push(services, ChartState.from_dict(state))
    assert result.message is not None and "rows" not in result.message
    assert result.message["marker_index"] == 3  # candles, volume, RSI, then the markers
    patched = apply_chart_message(figure, result.message)
    rebuilt, _ = full_chart(services, "BTCUSDT", "1m", ["RSI"])
    assert json.loads(json.dumps(patched["data"])) == json.loads(json.dumps(rebuilt["data"]))
    again = chart_push(services, result.state)
    assert again.message is None  # sent once


def test_unknown_pick_is_skipped_not_fatal(live: tuple[DataStream, AnalyticsService, Any]) -> None:
    _, _, services = live
    figure, _ = full_chart(services, "BTCUSDT", "1m", ["NOT_AN_INDICATOR", "EMA"])
    assert "EMA" in by_name(figure)
