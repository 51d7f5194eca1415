"""The Compare page: several symbols rebased to 100 at a chosen start, the correlation of their returns
on one timeframe, and several indicators of one stream side by side with their statistics.

Computed on the user's actions (a control changes, or Refresh), from closed candles only, so the numbers
on the page are reproducible from `/api/klines` over the window it names.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import dash_bootstrap_components as dbc
import numpy as np
from dash import Dash, Input, Output, dcc, html

from dash_modules.figures import BACKGROUND, GRID, MUTED, TEXT, Figure
from dash_modules.indicators_panel import LINE_COLORS
from dash_modules.pages import Page
from thebot.analysis.compare import align, closed_closes, correlation, rebase, simple_returns, statistics
from thebot.indicators import IndicatorError
from thebot.indicators.picks import parse_pick, pick_label, validate_pick
from thebot.market.timeframe import Timeframe

if TYPE_CHECKING:
    from thebot.services import Services

COMPARE_SYMBOLS = "compare-symbols"
COMPARE_TIMEFRAME = "compare-timeframe"
COMPARE_WINDOW = "compare-window"
COMPARE_INDICATORS = "compare-indicators"
COMPARE_REFRESH = "compare-refresh"
COMPARE_PERFORMANCE = "compare-performance"
COMPARE_CORRELATION = "compare-correlation"
COMPARE_INFO = "compare-info"
COMPARE_INDICATOR_GRAPH = "compare-indicator-graph"
COMPARE_STATS = "compare-stats"

WINDOWS = (50, 100, 200, 500, 1000)
DEFAULT_WINDOW = 200
DEFAULT_INDICATORS = ("RSI", "MFI", "CCI")
MAX_SYMBOLS = 8


def _base_layout(height: int) -> dict[str, Any]:
    return {
        "paper_bgcolor": BACKGROUND,
        "plot_bgcolor": BACKGROUND,
        "font": {"color": TEXT, "size": 12},
        "margin": {"l": 50, "r": 20, "t": 20, "b": 40},
        "height": height,
        "legend": {"orientation": "h", "y": 1.08, "x": 0},
        "xaxis": {"type": "date", "gridcolor": GRID, "linecolor": GRID},
        "yaxis": {"gridcolor": GRID, "zerolinecolor": GRID, "side": "right"},
    }


def _clean(values: Sequence[float]) -> list[float | None]:
    return [None if not math.isfinite(value) else value for value in values]


def compare_payload(
    services: Services, symbols: Sequence[str], timeframe: str, window: int
) -> dict[str, Any]:
    """Rebased lines, the correlation matrix and the window they cover (first and last open time)."""
    frame = Timeframe(timeframe)
    datastream = services.market.datastream
    series = {}
    for symbol in symbols:
        try:
            series[symbol] = closed_closes(datastream.snapshot(symbol, frame))
        except KeyError:
            continue
    aligned = align(series)
    tail = max(0, len(aligned) - (window + 1))
    times = aligned.times[tail:]
    closes = aligned.closes[tail:]
    lines = rebase(closes)
    matrix = correlation(simple_returns(closes))
    names = list(aligned.symbols)
    x = times.tolist()
    performance: Figure = {
        "data": [
            {
                "type": "scatter",
                "mode": "lines",
                "name": name,
                "x": x,
                "y": _clean(lines[:, index].tolist()),
                "line": {"width": 1.6, "color": LINE_COLORS[index % len(LINE_COLORS)]},
                "hovertemplate": f"{name} %{{y:.2f}}<extra></extra>",
            }
            for index, name in enumerate(names)
        ],
        "layout": {
            **_base_layout(360),
            "shapes": [
                {
                    "type": "line",
                    "xref": "paper",
                    "x0": 0,
                    "x1": 1,
                    "y0": 100,
                    "y1": 100,
                    "line": {"color": MUTED, "width": 1, "dash": "dot"},
                }
            ],
        },
    }
    z = [[None if math.isnan(value) else value for value in row] for row in matrix.tolist()]
    heatmap: Figure = {
        "data": [
            {
                "type": "heatmap",
                "z": z,
                "x": names,
                "y": names,
                "zmin": -1,
                "zmax": 1,
                "colorscale": [[0.0, "#ef5350"], [0.5, "#2a3142"], [1.0, "#26a69a"]],
                "texttemplate": "%{z:.2f}",
                "hovertemplate": "%{y} / %{x}: %{z:.4f}<extra></extra>",
                "xgap": 2,
                "ygap": 2,
            }
        ],
        "layout": {
            **_base_layout(max(240, 90 + 50 * len(names))),
            "xaxis": {"type": "category", "gridcolor": GRID},
            "yaxis": {"type": "category", "autorange": "reversed", "gridcolor": GRID},
            "margin": {"l": 90, "r": 20, "t": 10, "b": 40},
        },
    }
    return {
        "performance": performance,
        "correlation": heatmap,
        "symbols": names,
        "start": int(times[0]) if len(times) else None,
        "end": int(times[-1]) if len(times) else None,
        "returns": max(0, len(times) - 1),
    }


def indicators_payload(
    services: Services, symbol: str, timeframe: str, picks: Sequence[str], window: int
) -> tuple[Figure, list[dict[str, Any]], list[str]]:
    """One panel per picked indicator over the window, a statistics row per output, and the messages of
    picks that could not be computed."""
    analytics = services.analytics
    snapshot = services.market.datastream.snapshot(symbol, Timeframe(timeframe))
    start = max(0, len(snapshot) - window)
    x = snapshot.open_time[start:].tolist()
    traces: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    errors: list[str] = []
    panels: list[str] = []
    for pick in picks:
        try:
            name, params = parse_pick(validate_pick(analytics.factory, pick))
            outputs = analytics.factory.compute(analytics.factory.spec(name, params), snapshot)
        except (IndicatorError, ValueError) as error:
            errors.append(str(error))
            continue
        axis = f"y{len(panels) + 1}" if panels else "y"
        panels.append(pick_label(pick))
        for output, values in outputs.items():
            window_values = np.asarray(values[start:], dtype=np.float64)
            label = pick_label(pick) if len(outputs) == 1 else f"{pick_label(pick)} {output}"
            traces.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "name": label,
                    "x": x,
                    "y": _clean(window_values.tolist()),
                    "xaxis": "x",
                    "yaxis": axis,
                    "line": {"width": 1.3, "color": LINE_COLORS[len(traces) % len(LINE_COLORS)]},
                }
            )
            stats = statistics(window_values)
            rows.append({"indicator": label, **(stats.as_dict() if stats else {"count": 0})})
    count = max(1, len(panels))
    gap = 0.04
    height = (1.0 - gap * (count - 1)) / count
    layout = _base_layout(160 + 150 * count)
    for index, title in enumerate(panels):
        top = 1.0 - index * (height + gap)
        key = "yaxis" if index == 0 else f"yaxis{index + 1}"
        layout[key] = {
            "domain": [max(0.0, top - height), top],
            "gridcolor": GRID,
            "zerolinecolor": GRID,
            "side": "right",
            "title": {"text": title, "font": {"color": MUTED, "size": 10}},
        }
    layout["xaxis"] = {**layout["xaxis"], "anchor": f"y{count}" if count > 1 else "y"}
    return {"data": traces, "layout": layout}, rows, errors


def stats_table(rows: Sequence[dict[str, Any]]) -> Any:
    if not rows:
        return html.Div("Pick indicators to compare.", className="text-muted small")
    columns = (
        ("last", "Last"),
        ("mean", "Mean"),
        ("std", "Std"),
        ("min", "Min"),
        ("max", "Max"),
        ("last_percentile", "Last pct."),
    )

    def cell(row: dict[str, Any], key: str) -> str:
        value = row.get(key)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "—"
        return f"{value:.0f} %" if key == "last_percentile" else f"{value:,.4f}"

    return dbc.Table(
        [
            html.Thead(
                html.Tr([html.Th("Indicator"), *[html.Th(label) for _, label in columns], html.Th("N")])
            ),
            html.Tbody(
                [
                    html.Tr(
                        [
                            html.Td(row["indicator"]),
                            *[html.Td(cell(row, key)) for key, _ in columns],
                            html.Td(str(row.get("count", 0))),
                        ]
                    )
                    for row in rows
                ]
            ),
        ],
        size="sm",
        color="dark",
        hover=True,
        responsive=True,
        className="compare-stats-table mb-0",
    )


def layout(services: Services) -> Any:
    symbols = services.market.symbols()
    timeframes = [timeframe.value for timeframe in services.market.datastream.timeframes]
    default_frame = "1h" if "1h" in timeframes else timeframes[0]
    catalog = [item["name"] for item in services.analytics.indicator_catalog()]
    controls = html.Div(
        [
            dcc.Dropdown(
                id=COMPARE_SYMBOLS,
                options=symbols,
                value=symbols[:4],
                multi=True,
                clearable=False,
                className="compare-symbols",
            ),
            dbc.RadioItems(
                id=COMPARE_TIMEFRAME,
                options=[{"label": value, "value": value} for value in timeframes],
                value=default_frame,
                inline=True,
                className="btn-group timeframe-select",
                inputClassName="btn-check",
                labelClassName="btn btn-outline-secondary btn-sm",
                labelCheckedClassName="active",
            ),
            dcc.Dropdown(
                id=COMPARE_WINDOW,
                options=[{"label": f"from {count} candles ago", "value": count} for count in WINDOWS],
                value=DEFAULT_WINDOW,
                clearable=False,
                className="compare-window",
            ),
            dbc.Button("Refresh", id=COMPARE_REFRESH, size="sm", color="secondary", outline=True),
        ],
        className="compare-controls",
    )
    return html.Div(
        [
            html.H5("Compare", className="page-title"),
            controls,
            dbc.Row(
                [
                    dbc.Col(
                        dbc.Card(
                            [
                                dbc.CardHeader(
                                    "Performance, rebased to 100 at the start", className="card-title-small"
                                ),
                                dbc.CardBody(
                                    dcc.Graph(id=COMPARE_PERFORMANCE, config={"displayModeBar": False})
                                ),
                            ],
                            className="tb-card",
                        ),
                        lg=8,
                    ),
                    dbc.Col(
                        dbc.Card(
                            [
                                dbc.CardHeader("Correlation of returns", className="card-title-small"),
                                dbc.CardBody(
                                    [
                                        dcc.Graph(id=COMPARE_CORRELATION, config={"displayModeBar": False}),
                                        html.Div(id=COMPARE_INFO, className="small text-muted"),
                                    ]
                                ),
                            ],
                            className="tb-card",
                        ),
                        lg=4,
                    ),
                ],
                className="g-2 mt-1",
            ),
            dbc.Card(
                [
                    dbc.CardHeader(
                        html.Div(
                            [
                                html.Span("Indicators side by side (first symbol)", className="me-3"),
                                dcc.Dropdown(
                                    id=COMPARE_INDICATORS,
                                    options=catalog,
                                    value=list(DEFAULT_INDICATORS),
                                    multi=True,
                                    className="compare-indicators",
                                ),
                            ],
                            className="d-flex align-items-center flex-wrap gap-2",
                        ),
                        className="card-title-small",
                    ),
                    dbc.CardBody(
                        [
                            dcc.Graph(id=COMPARE_INDICATOR_GRAPH, config={"displayModeBar": False}),
                            html.Div(id=COMPARE_STATS),
                        ]
                    ),
                ],
                className="tb-card mt-2",
            ),
        ],
        className="compare-page",
    )


def register(app: Dash, services: Services) -> None:
    @app.callback(
        Output(COMPARE_PERFORMANCE, "figure"),
        Output(COMPARE_CORRELATION, "figure"),
        Output(COMPARE_INFO, "children"),
        Output(COMPARE_INDICATOR_GRAPH, "figure"),
        Output(COMPARE_STATS, "children"),
        Input(COMPARE_SYMBOLS, "value"),
        Input(COMPARE_TIMEFRAME, "value"),
        Input(COMPARE_WINDOW, "value"),
        Input(COMPARE_INDICATORS, "value"),
        Input(COMPARE_REFRESH, "n_clicks"),
    )
    def _compare(
        symbols: list[str] | None, timeframe: str, window: int, picks: list[str] | None, _clicks: int | None
    ) -> Any:
        chosen = [symbol for symbol in (symbols or []) if symbol in services.market.symbols()][:MAX_SYMBOLS]
        payload = compare_payload(services, chosen, timeframe, int(window or DEFAULT_WINDOW))
        info: Any = "No closed candles in common yet."
        if payload["start"] is not None:
            info = html.Span(
                f"{payload['returns']} returns of closed {timeframe} candles",
                id="compare-window-span",
                **{
                    "data-start": str(payload["start"]),
                    "data-end": str(payload["end"]),
                    "data-symbols": ",".join(payload["symbols"]),
                    "data-timeframe": timeframe,
                },
            )
        if chosen:
            figure, rows, errors = indicators_payload(
                services, chosen[0], timeframe, picks or [], int(window or DEFAULT_WINDOW)
            )
        else:
            figure, rows, errors = {"data": [], "layout": _base_layout(200)}, [], []
        stats = [stats_table(rows), *[html.Div(error, className="text-warning small") for error in errors]]
        return payload["performance"], payload["correlation"], info, figure, stats


PAGE = Page(path="/compare", label="Compare", layout=layout, register=register)
