"""Indicators and signals on the page: the picker, the chart decoration and the latest-signals table.

The chart module builds the candles; the functions here add what the analyst picked (overlays on the
price axis, oscillators in panels below the volume) and the signal markers. Figure building is pure
(`decorate_figure`, `indicator_traces`, `marker_traces`, `signal_rows`): data in, figure dicts out,
tested without a browser.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import dash_bootstrap_components as dbc
import numpy as np
from dash import Dash, Input, Output, dcc, html

from dash_modules import ids
from dash_modules.figures import (
    DARK_THEME,
    DOWN_COLOR,
    UP_COLOR,
    ChartTheme,
    Figure,
    axis_style,
    significant_list,
)
from thebot.indicators import IndicatorError, Placement
from thebot.indicators.patterns import pattern_display_name, rule_pattern
from thebot.market.models import CandleSnapshot
from thebot.signals.models import Side, Signal

if TYPE_CHECKING:
    from thebot.services import Services

logger = logging.getLogger(__name__)

# Component ids (also used by the browser test).
INDICATOR_PICKER = "indicator-picker"
SIGNAL_TABLE = "signal-table"
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
    display_name: str = ""  # TA-Lib's words ("Hammer"): the hover of pattern markers


# -- pure figure building -----------------------------------------------------------------------------


def clean_values(values: np.ndarray[Any, Any]) -> list[float | None]:
    return significant_list(values)


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
    return clean_values(result)


def _trace_name(series: IndicatorSeries, output: str) -> str:
    return series.name if len(series.outputs) == 1 else f"{series.name} {output}"


def marker_offset(candles: CandleSnapshot, index: int) -> float:
    """How far below the low (above the high) a marker sits: a quarter of its own candle's range, at
    least 0.04 % of the price. Per candle, so a pushed update that rewrites one candle leaves every
    other marker exactly where a rebuilt figure would put it."""
    spread = float(candles.high[index] - candles.low[index])
    return max(spread * 0.25, float(candles.close[index]) * 4e-4)


def signal_hover(signal: Signal) -> str:
    """A marker's hover: side, the pattern's name for candlestick patterns, the rule's reason, strength."""
    pattern = rule_pattern(signal.rule)
    what = f"{pattern_display_name(pattern)} ({signal.rule})" if pattern else signal.rule
    flag = " (provisional)" if signal.provisional else ""
    return f"{signal.side.value} {what}{flag}: {signal.reason} · strength {signal.strength:.2f}"


def marker_traces(signals: Sequence[Signal], candles: CandleSnapshot) -> list[dict[str, Any]]:
    """Green triangles below the candle for BUY, red triangles above for SELL (provisional ones faded)."""
    index_of = {int(t): i for i, t in enumerate(candles.open_time.tolist())}
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
            offset = marker_offset(candles, index)
            if side is Side.BUY:
                y.append(float(candles.low[index]) - offset * (1 + 1.5 * level))
            else:
                y.append(float(candles.high[index]) + offset * (1 + 1.5 * level))
            x.append(signal.time)
            text.append(signal_hover(signal))
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


def indicator_traces(candles: CandleSnapshot, indicators: Sequence[IndicatorSeries]) -> list[dict[str, Any]]:
    """One trace per drawn output of the picked indicators, in pick order."""
    x = candles.open_time.tolist()
    traces: list[dict[str, Any]] = []
    panel = 0
    color = 0
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
                            float(candles.low[i]) - 2.5 * marker_offset(candles, i)
                            if up
                            else float(candles.high[i]) + 2.5 * marker_offset(candles, i)
                        )
                        if v not in (None, 0)
                        else None
                        for i, (v, up) in enumerate(zip(values, bullish, strict=True))
                    ],
                    marker={"symbol": "diamond", "size": 7, "color": LINE_COLORS[color % len(LINE_COLORS)]},
                    # The pattern's name, not only its code: "Hammer (CDLHAMMER)".
                    hovertemplate=f"{series.display_name or series.name} ({series.name})<extra></extra>",
                )
            else:
                trace.update(
                    mode="lines",
                    line={"width": 1.3, "color": LINE_COLORS[color % len(LINE_COLORS)]},
                    connectgaps=False,
                )
            color += 1
            traces.append(trace)
    return traces


def decoration_traces(
    candles: CandleSnapshot, indicators: Sequence[IndicatorSeries], signals: Sequence[Signal]
) -> list[dict[str, Any]]:
    """Every trace after the candles and volume, in a fixed order: indicators as picked, then markers."""
    return [*indicator_traces(candles, indicators), *marker_traces(signals, candles)]


def decorate_figure(
    figure: Figure,
    candles: CandleSnapshot,
    indicators: Sequence[IndicatorSeries],
    signals: Sequence[Signal],
    theme: ChartTheme = DARK_THEME,
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
                **axis_style(theme),
                "tickfont": {"color": theme.muted, "size": 10},
                "title": {"text": series.name, "font": {"color": theme.muted, "size": 10}},
                "fixedrange": False,
            }
        layout["xaxis"] = {**layout.get("xaxis", {}), "anchor": f"y{2 + count}"}
    return {**figure, "data": data, "layout": layout}


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


def picker_options(services: Services) -> list[dict[str, str]]:
    return [
        {"label": f"{item['name']} · {item['display_name']}", "value": item["name"]}
        for item in services.analytics.indicator_catalog()
    ]


def picker(services: Services) -> Any:
    return html.Div(
        dcc.Dropdown(
            id=INDICATOR_PICKER,
            options=picker_options(services),
            value=list(services.settings.ui.default_indicators),
            multi=True,
            searchable=True,
            placeholder="Add indicators: RSI, BBANDS, MACD, SESSION_VWAP…",
            className="indicator-picker",
        ),
        className="mb-2 indicator-row",
    )


def signals_card(services: Services) -> Any:
    return dbc.Card(
        [
            dbc.CardHeader("Latest signals", className="small text-uppercase"),
            dbc.CardBody(html.Div(id=SIGNAL_TABLE, className="signal-table-wrap"), className="p-0"),
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


DAY_MS = 86_400_000


def signals_in_day(signals: Sequence[Signal], now_ms: int) -> int:
    """Final signals on candles opened in the 24 h before `now_ms` (the venue's time)."""
    return sum(1 for signal in signals if not signal.provisional and signal.time > now_ms - DAY_MS)


def signal_count_text(signals: Sequence[Signal], now_ms: int, limit: int) -> str:
    """The count, with a "+" when the newest `limit` signals all fall in the day (there may be more)."""
    count = signals_in_day(signals, now_ms)
    full = len(signals) >= limit and signals[-1].time > now_ms - DAY_MS  # newest first
    return f"{count}+" if full else str(count)


def signal_props(services: Services, symbol: str, timeframe: str) -> dict[str, dict[str, Any]]:
    """The latest-signals table, the confluence badge and the stream's 24 h signal count, as component
    props (the callback renders them on navigation; the push channel sends them when a signal is raised)."""
    analytics = services.analytics
    try:
        recent = analytics.signals(symbol, timeframe, limit=MARKER_SIGNALS)
        confluence = analytics.confluence(symbol)
    except IndicatorError as error:
        return {
            SIGNAL_TABLE: {"children": html.Div(str(error), className="text-warning small")},
            CONFLUENCE_BADGE: {"children": None},
            ids.METRIC_SIGNALS: {"children": "—"},
        }
    # "Now" is the venue's: its ticker's event time, else the newest signal (a fast simulated venue
    # runs ahead of the wall clock).
    ticker = services.market.ticker(symbol)
    now = ticker.event_time if ticker is not None else max((signal.time for signal in recent), default=0)
    return {
        SIGNAL_TABLE: {"children": signal_table(signal_rows(recent[:SIGNAL_ROWS]))},
        CONFLUENCE_BADGE: {"children": confluence_badge(confluence)},
        ids.METRIC_SIGNALS: {"children": signal_count_text(recent, now, MARKER_SIGNALS)},
    }


def register_callbacks(app: Dash, services: Services) -> None:
    @app.callback(
        Output(SIGNAL_TABLE, "children"),
        Output(CONFLUENCE_BADGE, "children"),
        Output(ids.METRIC_SIGNALS, "children"),
        Input(ids.SYMBOL_SELECT, "value"),
        Input(ids.TIMEFRAME_SELECT, "value"),
    )
    def _signals(symbol: str, timeframe: str) -> tuple[Any, Any, Any]:
        props = signal_props(services, symbol, timeframe)
        return (
            props[SIGNAL_TABLE]["children"],
            props[CONFLUENCE_BADGE]["children"],
            props[ids.METRIC_SIGNALS]["children"],
        )
