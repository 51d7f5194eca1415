"""The price chart panel: the full figure on navigation, and the small pushed updates after it.

A full figure is built when the symbol, timeframe or picks change, or when the page asks for one (a
pushed update's base was not what it shows). Everything else reaches the page through the push channel
(`dash_modules/push.py`) as a compact update computed here by `chart_push`: the rewritten last candle,
appended ones, the last point of each picked indicator, and the marker traces only when a signal was
added or withdrawn. The page's script turns it into a Dash Patch of the figure.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, State, dcc, html

from dash_modules import ids
from dash_modules.alerts_page import alert_link
from dash_modules.chart_data import (
    DEFAULT_MIN_STRENGTH,
    STRENGTH_STEPS,
    MarkerFilter,
    chart_inputs,
    markers_fingerprint,
    picked_series,
    read_buffer,
    window_signals,
)
from dash_modules.figures import (
    ChartState,
    Figure,
    candlestick_figure,
    chart_theme,
    empty_figure,
    plan_patch,
    state_after,
    time_axis_clip,
)
from dash_modules.indicators_panel import (
    FIRST_DECORATION_TRACE,
    INDICATOR_PICKER,
    decorate_figure,
    indicator_traces,
    marker_traces,
)
from dash_modules.news_page import news_marker_trace
from dash_modules.status import metrics_props
from thebot.market.timeframe import Timeframe

if TYPE_CHECKING:
    from thebot.services import Services

logger = logging.getLogger(__name__)

RESYNC: dict[str, Any] = {"resync": True}


def marker_filter_controls(services: Services) -> Any:
    """Minimum strength and rule families of the chart's signal markers; kept in the browser's local
    storage (Dash persistence), applied on the server (`MarkerFilter`)."""
    families = list(services.settings.signals.rules)
    return html.Div(
        [
            html.Span("Markers", className="marker-filter-label"),
            dcc.Dropdown(
                id=ids.MARKER_STRENGTH,
                options=[
                    {"label": "all strengths" if step == 0 else f"strength ≥ {step:.2f}", "value": step}
                    for step in STRENGTH_STEPS
                ],
                value=DEFAULT_MIN_STRENGTH,
                clearable=False,
                searchable=False,
                persistence=True,
                persistence_type="local",
                className="marker-strength",
            ),
            html.Details(
                [
                    html.Summary("rules", className="marker-rules-summary"),
                    dcc.Checklist(
                        id=ids.MARKER_RULES,
                        options=[{"label": family.replace("_", " "), "value": family} for family in families],
                        value=families,
                        inline=True,
                        persistence=True,
                        persistence_type="local",
                        className="marker-rules",
                        inputClassName="form-check-input",
                        labelClassName="marker-rule",
                    ),
                ],
                className="marker-rules-details",
            ),
        ],
        className="marker-filter",
    )


def layout(services: Services) -> Any:
    return dbc.Card(
        [
            marker_filter_controls(services),
            dcc.Graph(
                id=ids.PRICE_CHART,
                figure=empty_figure("Waiting for market data…"),
                config={"displaylogo": False, "scrollZoom": True, "responsive": True},
                style={"height": "62vh", "minHeight": "420px"},
            ),
            html.Div(id=ids.CHART_ALERT_LINK, className="chart-alert-link small"),
            dcc.Store(id=ids.CHART_FULL, data=None),
            dcc.Store(id=ids.CHART_STATE, data=None),
            dcc.Store(id=ids.CHART_RESYNC, data=0),
            dcc.Store(id=ids.URL_SYNC, data=None),
        ],
        className="chart-card",
        body=True,
    )


def waiting_state(
    symbol: str, timeframe: Timeframe, picks: tuple[str, ...], markers: MarkerFilter | None = None
) -> dict[str, Any]:
    """A chart with no candles yet still follows its stream: the first candle asks for a full figure."""
    kept = markers or MarkerFilter(0.0)
    return ChartState(
        symbol, timeframe.value, -1, 0, 0, 0, picks, min_strength=kept.min_strength, hidden_rules=kept.hidden
    ).to_dict()


def full_chart(
    services: Services,
    symbol: str,
    timeframe_value: str,
    picks: list[str] | None,
    *,
    markers: MarkerFilter | None = None,
    theme: str | None = None,
) -> tuple[Figure, dict[str, Any] | None]:
    """The whole figure of a stream with its picks and the markers that pass `markers` (None: every
    signal), in the colours of `theme` (None: `ui.theme`), and the state the page then follows."""
    colours = chart_theme(theme or services.settings.ui.theme)
    kept = markers or MarkerFilter(0.0)
    try:
        timeframe = Timeframe(timeframe_value)
    except ValueError:
        return empty_figure(f"Unknown timeframe {timeframe_value!r}", colours), None
    chosen = tuple(picks or ())
    signals_version = services.analytics.signals_version()  # before reading: a later change shows
    buffer = read_buffer(services, symbol, timeframe)
    if buffer is None:
        return empty_figure(f"{symbol} {timeframe.value} is not streamed", colours), None
    if len(buffer) == 0:
        return empty_figure(f"Waiting for {symbol} {timeframe.value} candles…", colours), waiting_state(
            symbol, timeframe, chosen, kept
        )
    inputs = chart_inputs(services, buffer, chosen, services.settings.ui.chart_candles, kept)
    figure = decorate_figure(
        candlestick_figure(inputs.shown, theme=colours),
        inputs.shown,
        inputs.indicators,
        inputs.signals,
        colours,
    )
    news = getattr(services, "news", None)
    if news is not None:
        # Headlines that mention the symbol, as diamonds under the lowest low; last, so pushed updates
        # (which address traces by position from the front) never touch them.
        shown = inputs.shown
        trace = news_marker_trace(
            news.items(symbol=symbol, limit=500),
            int(shown.open_time[0]),
            int(shown.open_time[-1]) + timeframe.milliseconds,
            float(shown.low.min()),
        )
        if trace["x"]:
            figure["data"].append(trace)
    state = ChartState.of(
        inputs.shown,
        chosen,
        signals_version,
        markers_fingerprint(inputs.signals),
        min_strength=kept.min_strength,
        hidden_rules=kept.hidden,
    )
    return figure, state.to_dict()


@dataclass(frozen=True, slots=True)
class ChartPush:
    """What one chart state needs next: a message for the page (None: nothing to send) and the state
    the page will be in once it applied it."""

    message: dict[str, Any] | None
    state: ChartState


def _rows(plan_columns: dict[str, list[Any]], take: slice) -> list[list[Any]]:
    names = ("x", "open", "high", "low", "close", "volume")
    return [list(row) for row in zip(*(plan_columns[name][take] for name in names), strict=True)]


def chart_push(services: Services, state: ChartState) -> ChartPush:
    """The compact update from `state` to the stream's current version (pure but for the reads).

    Message: `{"base": state's candles (`ChartState.base_dict`), "state": new state, "at": index,
    "rows": [[t, o, h, l, c, v], ...], "trim": n, "ind": [[y, ...] per indicator trace], "clip": {...}?,
    "markers": [buy, sell]?, "marker_index": i?, "props": {component id: {prop: value}}}`; the first row
    rewrites the candle at `at`, the rest are appended, then `trim` candles leave the front.
    `{"resync": true}` asks the page for a full figure (history changed under the chart, or too much
    arrived at once)."""
    timeframe = Timeframe(state.timeframe)
    signals_version = services.analytics.signals_version()
    buffer = read_buffer(services, state.symbol, timeframe)
    if buffer is None or len(buffer) == 0:
        return ChartPush(None, state)
    if buffer.version == state.version and signals_version == state.signals_version:
        return ChartPush(None, state)
    window = services.settings.ui.chart_candles
    message: dict[str, Any] = {"base": state.base_dict()}
    after = state
    shown = buffer.tail(state.count)
    if buffer.version != state.version:
        plan = plan_patch(state, buffer, window)
        if plan is None:
            return ChartPush(RESYNC, state)
        after = state_after(state, buffer, plan)
        shown = buffer.tail(after.count)
        # Only the rewritten and appended rows: every point (pattern markers included) depends on its
        # own candle alone, so the tail computed by itself equals the tail of the whole window.
        changed = len(plan.append["x"]) + 1
        series = picked_series(services, buffer, state.picks, changed)
        message["at"] = plan.replace_from
        message["rows"] = _rows(plan.replace, slice(0, 1)) + _rows(plan.append, slice(None))
        message["trim"] = plan.trim
        message["ind"] = [trace["y"] for trace in indicator_traces(buffer.tail(changed), series)]
        if changed > 1 or plan.trim:
            message["clip"] = time_axis_clip(
                after.first_open_time, after.last_open_time, timeframe.milliseconds
            )
        message["props"] = metrics_props(services, state.symbol, timeframe, shown)
    if signals_version != state.signals_version:
        signals = window_signals(services, shown, MarkerFilter(state.min_strength, state.hidden_rules))
        fingerprint = markers_fingerprint(signals)
        if fingerprint != state.markers:
            outputs = picked_series(services, buffer, state.picks, 0)  # the trace count is all it needs
            message["marker_index"] = FIRST_DECORATION_TRACE + sum(len(item.outputs) for item in outputs)
            message["markers"] = marker_traces(signals, shown)
        after = replace(after, signals_version=signals_version, markers=fingerprint)
    if "rows" not in message and "markers" not in message:
        return ChartPush(None, after)  # only the bookkeeping moved; the page shows the same
    message["state"] = after.to_dict()
    return ChartPush(message, after)


def register_callbacks(app: Dash, services: Services) -> None:
    @app.callback(
        Output(ids.CHART_FULL, "data"),
        Input(ids.SYMBOL_SELECT, "value"),
        Input(ids.TIMEFRAME_SELECT, "value"),
        Input(INDICATOR_PICKER, "value"),
        Input(ids.CHART_RESYNC, "data"),
        Input(ids.MARKER_STRENGTH, "value"),
        Input(ids.MARKER_RULES, "value"),
        # The live `ui.theme` (pushed on SettingsChanged): a theme change redraws the figure in its colours.
        Input(ids.THEME, "title"),
    )
    def _full(  # noqa: PLR0917 - one argument per input
        symbol: str,
        timeframe: str,
        picked: list[str] | None,
        _resync: Any,
        strength: Any,
        shown_rules: list[str] | None,
        theme: str | None,
    ) -> dict[str, Any]:
        markers = MarkerFilter.of(strength, shown_rules, services.settings.signals.rules)
        figure, state = full_chart(services, symbol, timeframe, picked, markers=markers, theme=theme)
        return {"figure": figure, "state": state}

    @app.callback(
        Output(ids.CHART_ALERT_LINK, "children"),
        Input(ids.PRICE_CHART, "clickData"),
        State(ids.SYMBOL_SELECT, "value"),
        State(ids.TIMEFRAME_SELECT, "value"),
        prevent_initial_call=True,
    )
    def _alert_here(click: dict[str, Any] | None, symbol: str, timeframe: str) -> Any:
        """A click on the chart offers an alert at that price (a link, so a stray click costs nothing)."""
        href = alert_link(click, symbol, timeframe)
        if href is None:
            return None
        price = href.rsplit("price=", 1)[1]
        return dcc.Link(f"🔔 Alert when {symbol} crosses {price}", href=href, className="chart-alert-link")

    # The full figure reaches the graph through the page's push script, which switches its stream to
    # the new state in the same step: no pushed update of the previous stream can land on the new figure.
    # A full figure of the stream already on screen (a theme, marker filter or pick change, a resync)
    # keeps the user's zoom and pan: Plotly's uirevision alone lets a new figure's autorange win.
    app.clientside_callback(
        """function (full) {
            const dc = window.dash_clientside;
            if (!full) { return [dc.no_update, dc.no_update]; }
            const figure = full.figure;
            const gd = document.querySelector('#price-chart .js-plotly-plot');
            const shown = gd && gd.layout;
            if (shown && figure.layout && shown.uirevision === figure.layout.uirevision) {
                for (const axis of ['xaxis', 'yaxis']) {
                    const user = shown[axis];
                    if (user && user.autorange === false && user.range && figure.layout[axis]) {
                        figure.layout[axis] = Object.assign(
                            {}, figure.layout[axis], {range: user.range.slice(), autorange: false});
                    }
                }
            }
            if (window.thebotPush) { window.thebotPush.follow(full.state); }
            return [figure, full.state];
        }""",
        Output(ids.PRICE_CHART, "figure"),
        Output(ids.CHART_STATE, "data"),
        Input(ids.CHART_FULL, "data"),
    )
