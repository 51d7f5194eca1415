"""The price chart panel: layout and the callbacks that keep it live.

A full figure is built only when the symbol or timeframe changes (or history moved under the chart);
every other tick answers `no_update` when the stream's version is unchanged, or a small `Patch` that
rewrites the forming candle and appends new ones.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, Patch, State, ctx, dcc, no_update

from dash_modules import ids
from dash_modules.figures import (
    CANDLE_TRACE,
    VOLUME_TRACE,
    ChartState,
    Figure,
    PatchPlan,
    candlestick_figure,
    empty_figure,
    plan_patch,
    state_after,
    time_axis_clip,
)
from dash_modules.indicators_panel import INDICATOR_PICKER, ChartDecorator
from thebot.market.datastream import DataStream
from thebot.market.timeframe import Timeframe

if TYPE_CHECKING:
    from thebot.services import Services

logger = logging.getLogger(__name__)

_PRICE_FIELDS = ("open", "high", "low", "close")


def layout(services: Services) -> Any:
    ui = services.settings.ui
    return dbc.Card(
        [
            dcc.Graph(
                id=ids.PRICE_CHART,
                figure=empty_figure("Waiting for market data…"),
                config={"displaylogo": False, "scrollZoom": True, "responsive": True},
                style={"height": "62vh", "minHeight": "420px"},
            ),
            dcc.Interval(id=ids.CHART_TICK, interval=ui.update_interval_ms, n_intervals=0),
            dcc.Store(id=ids.CHART_STATE, data=None),
        ],
        className="chart-card",
        body=True,
    )


def patch_from_plan(plan: PatchPlan) -> Patch:
    patch = Patch()
    candle = patch["data"][CANDLE_TRACE]
    volume = patch["data"][VOLUME_TRACE]
    index = plan.replace_from
    for name in _PRICE_FIELDS:
        candle[name][index] = plan.replace[name][0]
    volume["y"][index] = plan.replace["volume"][0]
    volume["marker"]["color"][index] = plan.replace["volume_color"][0]
    if plan.append["x"]:
        candle["x"].extend(plan.append["x"])
        for name in _PRICE_FIELDS:
            candle[name].extend(plan.append[name])
        volume["x"].extend(plan.append["x"])
        volume["y"].extend(plan.append["volume"])
        volume["marker"]["color"].extend(plan.append["volume_color"])
    for _ in range(plan.trim):
        for name in ("x", *_PRICE_FIELDS):
            del candle[name][0]
        del volume["x"][0]
        del volume["y"][0]
        del volume["marker"]["color"][0]
    return patch


def chart_update(
    datastream: DataStream,
    window: int,
    *,
    symbol: str,
    timeframe_value: str,
    state_data: dict[str, Any] | None,
    force_full: bool,
    decorator: ChartDecorator | None = None,
) -> tuple[Figure | Patch | Any, dict[str, Any] | Any]:
    """The tick: nothing, a patch, or a whole figure, together with the new chart state.

    `decorator` adds the picked indicators and the signal markers to whichever is sent."""
    try:
        timeframe = Timeframe(timeframe_value)
    except ValueError:
        return empty_figure(f"Unknown timeframe {timeframe_value!r}"), None
    state = ChartState.from_dict(state_data)
    if state is not None and (state.symbol, state.timeframe) != (symbol, timeframe.value):
        state = None
    if not force_full and state is not None and datastream.version(symbol, timeframe) == state.version:
        return no_update, no_update
    try:
        snapshot = datastream.snapshot(symbol, timeframe, limit=window + 60)
    except KeyError:
        return empty_figure(f"{symbol} {timeframe.value} is not streamed"), None
    if len(snapshot) == 0:
        return empty_figure(f"Waiting for {symbol} {timeframe.value} candles…"), None
    if not force_full and state is not None:
        plan = plan_patch(state, snapshot, window)
        if plan is not None:
            patch, after = patch_from_plan(plan), state_after(state, snapshot, plan)
            if plan.append["x"] or plan.trim:
                patch["layout"]["xaxis"]["autorangeoptions"] = time_axis_clip(
                    after.first_open_time, after.last_open_time, timeframe.milliseconds
                )
            if decorator is not None:
                decorator.patch(patch, snapshot.tail(after.count))
            return patch, after.to_dict()
    shown = snapshot.tail(window)
    figure = candlestick_figure(shown)
    if decorator is not None:
        figure = decorator.full(figure, shown)
    return figure, ChartState.of(shown).to_dict()


def register_callbacks(app: Dash, services: Services) -> None:
    @app.callback(
        Output(ids.PRICE_CHART, "figure"),
        Output(ids.CHART_STATE, "data"),
        Input(ids.CHART_TICK, "n_intervals"),
        Input(ids.SYMBOL_SELECT, "value"),
        Input(ids.TIMEFRAME_SELECT, "value"),
        Input(INDICATOR_PICKER, "value"),
        State(ids.CHART_STATE, "data"),
    )
    def _tick(
        _n: int, symbol: str, timeframe: str, picked: list[str] | None, state: dict[str, Any] | None
    ) -> tuple[Figure | Patch | Any, dict[str, Any] | Any]:
        force_full = ctx.triggered_id in (ids.SYMBOL_SELECT, ids.TIMEFRAME_SELECT, INDICATOR_PICKER)
        return chart_update(
            services.market.datastream,
            services.settings.ui.chart_candles,
            symbol=symbol,
            timeframe_value=timeframe,
            state_data=state,
            force_full=force_full,
            decorator=ChartDecorator(services, picked),
        )
