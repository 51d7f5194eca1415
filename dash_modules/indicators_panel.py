"""Indicators and signals on the page: the picker, the chart decoration and the latest-signals table.

The chart module builds the candles; `ChartDecorator` adds what the analyst picked (overlays on the price
axis, oscillators in panels below the volume) and the signal markers, both on full figures and on the
tick's patches. Figure building is pure (`decorate_figure`, `marker_traces`, `signal_rows`): data in,
figure dicts out, tested without a browser.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import dash_bootstrap_components as dbc
import numpy as np
from dash import Dash, Input, Output, Patch, State, dcc, html, no_update

from dash_modules import ids
from dash_modules.figures import DOWN_COLOR, GRID, MUTED, UP_COLOR, Figure
from thebot.indicators import IndicatorError, Placement
from thebot.market.models import CandleSnapshot
from thebot.signals.models import Side, Signal

if TYPE_CHECKING:
    from thebot.services import Services

logger = logging.getLogger(__name__)

# Component ids (also used by the browser test).
INDICATOR_PICKER = "indicator-picker"
SIGNAL_TABLE = "signal-table"
SIGNAL_STATE = "signal-table-state"
CONFLUENCE_BADGE = "confluence-badge"

BUY_MARKERS = "BUY signals"
SELL_MARKERS = "SELL signals"
FIRST_DECORATION_TRACE = 2  # after the candles and the volume bars
PANEL_HEIGHT = 0.16
PANEL_GAP = 0.03
VOLUME_HEIGHT = 0.14
SIGNAL_ROWS = 25
MARKER_SIGNALS = 1000
LINE_COLORS = ("#f0b90b", "#2962ff", "#ab47bc", "#26c6da", "#ff7043", "#9ccc65", "#ec407a", "#8d6e63")


@dataclass(frozen=True, slots=True)
class IndicatorSeries:
    """One picked indicator's outputs aligned with the candles on the chart (None where undefined)."""

    name: str
    placement: Placement
    outputs: dict[str, list[float | None]]


# -- pure figure building -----------------------------------------------------------------------------


def _clean(values: np.ndarray[Any, Any]) -> list[float | None]:
    return [None if math.isnan(value) else float(f"{value:.10g}") for value in values.tolist()]


def align(
    candle_times: np.ndarray[Any, Any], series_times: np.ndarray[Any, Any], values: np.ndarray[Any, Any]
) -> list[float | None]:
    """Values at the chart's candle times (None where the series has no such candle)."""
    positions = np.searchsorted(series_times, candle_times)
    positions = np.minimum(positions, max(len(series_times) - 1, 0))
    result = np.full(len(candle_times), np.nan)
    if len(series_times):
        found = series_times[positions] == candle_times
        result[found] = np.asarray(values, dtype=np.float64)[positions[found]]
    return _clean(result)


def _trace_name(series: IndicatorSeries, output: str) -> str:
    return series.name if len(series.outputs) == 1 else f"{series.name} {output}"


def marker_offset(candles: CandleSnapshot) -> float:
    """How far below the low (above the high) a marker sits: a quarter of the typical candle range."""
    if len(candles) == 0:
        return 0.0
    spread = float(np.median(candles.high - candles.low))
    return max(spread * 0.25, float(np.median(candles.close)) * 1e-5)


def marker_traces(signals: Sequence[Signal], candles: CandleSnapshot) -> list[dict[str, Any]]:
    """Green triangles below the candle for BUY, red triangles above for SELL (provisional ones faded)."""
    index_of = {int(t): i for i, t in enumerate(candles.open_time.tolist())}
    offset = marker_offset(candles)
    traces = []
    for side, name, color, symbol in (
        (Side.BUY, BUY_MARKERS, UP_COLOR, "triangle-up"),
        (Side.SELL, SELL_MARKERS, DOWN_COLOR, "triangle-down"),
    ):
        x: list[int] = []
        y: list[float] = []
        text: list[str] = []
        opacity: list[float] = []
        stacked: dict[int, int] = {}
        for signal in sorted(signals, key=lambda s: (s.time, s.rule)):
            index = index_of.get(signal.time)
            if signal.side is not side or index is None:
                continue
            level = stacked.get(signal.time, 0)
            stacked[signal.time] = level + 1
            if side is Side.BUY:
                y.append(float(candles.low[index]) - offset * (1 + 1.5 * level))
            else:
                y.append(float(candles.high[index]) + offset * (1 + 1.5 * level))
            x.append(signal.time)
            flag = " (provisional)" if signal.provisional else ""
            text.append(
                f"{signal.side.value} {signal.rule}{flag}: {signal.reason} · strength {signal.strength:.2f}"
            )
            opacity.append(0.45 if signal.provisional else 1.0)
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": name,
                "x": x,
                "y": y,
                "text": text,
                "hovertemplate": "%{text}<extra></extra>",
                "xaxis": "x",
                "yaxis": "y",
                "marker": {
                    "symbol": symbol,
                    "color": color,
                    "size": 11,
                    "opacity": opacity,
                    "line": {"width": 0},
                },
            }
        )
    return traces


def decoration_traces(
    candles: CandleSnapshot, indicators: Sequence[IndicatorSeries], signals: Sequence[Signal]
) -> list[dict[str, Any]]:
    """Every trace after the candles and volume, in a fixed order: indicators as picked, then markers."""
    x = candles.open_time.tolist()
    traces: list[dict[str, Any]] = []
    panel = 0
    color = 0
    offset = marker_offset(candles)
    for series in indicators:
        if series.placement is Placement.PANEL:
            axis = f"y{3 + panel}"
            panel += 1
        else:
            axis = "y"
        for output, values in series.outputs.items():
            trace: dict[str, Any] = {
                "type": "scatter",
                "name": _trace_name(series, output),
                "x": x,
                "y": values,
                "xaxis": "x",
                "yaxis": axis,
                "hovertemplate": f"%{{y:,.4f}}<extra>{_trace_name(series, output)}</extra>",
            }
            if series.placement is Placement.MARKERS:
                bullish = [v is not None and v > 0 for v in values]
                trace.update(
                    mode="markers",
                    y=[
                        (
                            float(candles.low[i]) - 2.5 * offset
                            if up
                            else float(candles.high[i]) + 2.5 * offset
                        )
                        if v not in (None, 0)
                        else None
                        for i, (v, up) in enumerate(zip(values, bullish, strict=True))
                    ],
                    marker={"symbol": "diamond", "size": 7, "color": LINE_COLORS[color % len(LINE_COLORS)]},
                    hovertemplate=f"{series.name}<extra></extra>",
                )
            else:
                trace.update(
                    mode="lines",
                    line={"width": 1.3, "color": LINE_COLORS[color % len(LINE_COLORS)]},
                    connectgaps=False,
                )
            color += 1
            traces.append(trace)
    traces.extend(marker_traces(signals, candles))
    return traces


def decorate_figure(
    figure: Figure, candles: CandleSnapshot, indicators: Sequence[IndicatorSeries], signals: Sequence[Signal]
) -> Figure:
    """The candlestick figure with the picked indicators and the signal markers; oscillators get panels
    stacked under the volume, all on the shared date axis."""
    panels = [series for series in indicators if series.placement is Placement.PANEL]
    data = [*figure["data"][:FIRST_DECORATION_TRACE], *decoration_traces(candles, indicators, signals)]
    layout = dict(figure.get("layout", {}))
    if panels:
        count = len(panels)
        bottom = count * PANEL_HEIGHT
        layout["yaxis"] = {**layout.get("yaxis", {}), "domain": [bottom + VOLUME_HEIGHT + PANEL_GAP, 1.0]}
        layout["yaxis2"] = {**layout.get("yaxis2", {}), "domain": [bottom, bottom + VOLUME_HEIGHT]}
        for number, series in enumerate(panels):
            top = bottom - number * PANEL_HEIGHT
            layout[f"yaxis{3 + number}"] = {
                "domain": [top - PANEL_HEIGHT + PANEL_GAP, top - 0.005],
                "side": "right",
                "gridcolor": GRID,
                "zerolinecolor": GRID,
                "linecolor": GRID,
                "tickfont": {"color": MUTED, "size": 10},
                "title": {"text": series.name, "font": {"color": MUTED, "size": 10}},
                "fixedrange": False,
            }
        layout["xaxis"] = {**layout.get("xaxis", {}), "anchor": f"y{2 + count}"}
    return {**figure, "data": data, "layout": layout}


def patch_decorations(
    patch: Patch, candles: CandleSnapshot, indicators: Sequence[IndicatorSeries], signals: Sequence[Signal]
) -> None:
    """Rewrite the decoration traces of a figure built by `decorate_figure` with the same picks."""
    for offset, trace in enumerate(decoration_traces(candles, indicators, signals)):
        patch["data"][FIRST_DECORATION_TRACE + offset] = trace


def signal_rows(signals: Sequence[Signal]) -> list[dict[str, Any]]:
    return [
        {
            "time": datetime.fromtimestamp(signal.time / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M"),
            "timeframe": signal.timeframe.value,
            "side": signal.side.value,
            "rule": signal.rule,
            "strength": f"{signal.strength:.2f}",
            "price": f"{signal.price:,.2f}",
            "reason": signal.reason + (" (provisional)" if signal.provisional else ""),
            "provisional": signal.provisional,
        }
        for signal in signals
    ]


def signal_table(rows: Sequence[dict[str, Any]]) -> Any:
    if not rows:
        return html.Div("No signals yet on this stream.", className="text-muted small signal-empty")
    columns = ("time", "timeframe", "side", "rule", "strength", "price", "reason")
    header = html.Thead(html.Tr([html.Th(column.capitalize()) for column in columns]))
    body = html.Tbody(
        [
            html.Tr(
                [html.Td(row[column], className=f"signal-{column}") for column in columns],
                className=f"signal-row signal-{row['side'].lower()}"
                + (" signal-provisional" if row["provisional"] else ""),
            )
            for row in rows
        ]
    )
    return dbc.Table([header, body], size="sm", hover=True, className="signal-table mb-0", color="dark")


# -- wiring to the services ---------------------------------------------------------------------------


class ChartDecorator:
    """What the chart tick calls to add the picked indicators and the markers to its figure or patch."""

    def __init__(self, services: Services, picked: Sequence[str] | None) -> None:
        self._analytics = services.analytics
        self._datastream = services.market.datastream
        self._picked = list(picked or [])

    def _inputs(self, candles: CandleSnapshot) -> tuple[list[IndicatorSeries], list[Signal]]:
        analytics = self._analytics
        series: list[IndicatorSeries] = []
        buffer = self._datastream.snapshot(candles.symbol, candles.timeframe) if self._picked else None
        for name in self._picked:
            try:
                info = analytics.factory.info(name)
                assert buffer is not None
                outputs = analytics.factory.compute(name, buffer)
            except IndicatorError:
                logger.warning("picker asked for unknown indicator %r", name)
                continue
            series.append(
                IndicatorSeries(
                    name=name,
                    placement=info.placement,
                    outputs={
                        output: align(candles.open_time, buffer.open_time, values)
                        for output, values in outputs.items()
                        if not info.chart_outputs or output in info.chart_outputs
                    },
                )
            )
        signals = analytics.signals(candles.symbol, candles.timeframe, limit=MARKER_SIGNALS)
        return series, signals

    def full(self, figure: Figure, candles: CandleSnapshot) -> Figure:
        indicators, signals = self._inputs(candles)
        return decorate_figure(figure, candles, indicators, signals)

    def patch(self, patch: Patch, candles: CandleSnapshot) -> None:
        indicators, signals = self._inputs(candles)
        patch_decorations(patch, candles, indicators, signals)


def picker_options(services: Services) -> list[dict[str, str]]:
    return [
        {"label": f"{item['name']} · {item['display_name']}", "value": item["name"]}
        for item in services.analytics.indicator_catalog()
    ]


def picker(services: Services) -> Any:
    return dbc.Row(
        [
            dbc.Col(
                dcc.Dropdown(
                    id=INDICATOR_PICKER,
                    options=picker_options(services),
                    value=[],
                    multi=True,
                    searchable=True,
                    placeholder="Add indicators: RSI, BBANDS, MACD, SESSION_VWAP…",
                    className="indicator-picker",
                ),
                md=9,
            ),
            dbc.Col(
                html.Div(id=CONFLUENCE_BADGE, className="confluence-badge text-md-end"),
                md=3,
                className="d-flex align-items-center justify-content-md-end",
            ),
        ],
        className="g-2 mb-2 indicator-row",
    )


def signals_card(services: Services) -> Any:
    return dbc.Card(
        [
            dbc.CardHeader("Latest signals", className="small text-uppercase"),
            dbc.CardBody(html.Div(id=SIGNAL_TABLE, className="signal-table-wrap"), className="p-0"),
            dcc.Store(id=SIGNAL_STATE, data=None),
        ],
        className="signals-card mt-2",
    )


def confluence_badge(confluence: dict[str, Any]) -> Any:
    grade = str(confluence.get("grade", "NEUTRAL"))
    color = {"STRONG_BUY": "success", "BUY": "success", "SELL": "danger", "STRONG_SELL": "danger"}.get(
        grade, "secondary"
    )
    return dbc.Badge(
        f"{grade.replace('_', ' ')} {float(confluence.get('score', 0.0)):+.2f}",
        color=color,
        className="confluence-grade",
        title="Confluence across timeframes: Σ(weight · direction · confidence) / Σ weight",
    )


def register_callbacks(app: Dash, services: Services) -> None:
    analytics = services.analytics

    @app.callback(
        Output(SIGNAL_TABLE, "children"),
        Output(CONFLUENCE_BADGE, "children"),
        Output(SIGNAL_STATE, "data"),
        Input(ids.CHART_TICK, "n_intervals"),
        Input(ids.SYMBOL_SELECT, "value"),
        Input(ids.TIMEFRAME_SELECT, "value"),
        State(SIGNAL_STATE, "data"),
    )
    def _signals(_n: int, symbol: str, timeframe: str, state: Any) -> tuple[Any, Any, Any]:
        key = [symbol, timeframe, analytics.signals_version()]
        if state == key:
            return no_update, no_update, no_update
        try:
            signals = analytics.signals(symbol, timeframe, limit=SIGNAL_ROWS)
            confluence = analytics.confluence(symbol)
        except IndicatorError as error:
            return html.Div(str(error), className="text-warning small"), None, None
        return signal_table(signal_rows(signals)), confluence_badge(confluence), key
