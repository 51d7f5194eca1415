"""The multi-timeframe matrix: symbols × timeframes, each cell the direction × confidence of that stream's
recent signals (−1 strong sell … +1 strong buy), with each symbol's confluence grade (±0.3 / ±0.7).
A click on a cell opens that symbol's chart on that timeframe. The figure arrives by push (`matrix_props`,
rebuilt at most once per `PUSH_SECONDS` while a page shows it); the interval is the fallback where push is
unavailable.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from dash import Dash, Input, Output, dcc, html, no_update

from dash_modules import ids
from dash_modules.figures import BACKGROUND, DOWN_COLOR, GRID, MUTED, TEXT, UP_COLOR, Figure
from dash_modules.live import fallback_interval
from dash_modules.markets_page import open_chart
from dash_modules.pages import Page
from thebot.market.timeframe import Timeframe

if TYPE_CHECKING:
    from thebot.services import Services

MATRIX_GRAPH = "matrix-graph"
MATRIX_TICK = "matrix-tick"
MATRIX_INTERVAL_MS = 5_000  # only while push is down
PUSH_SECONDS = 1.0
CELL_HEIGHT = 44


def matrix_figure(confluences: Sequence[dict[str, Any]], timeframes: Sequence[str]) -> Figure:
    """A heatmap dict: rows are symbols (labelled with their grade), columns timeframes."""
    z: list[list[float | None]] = []
    text: list[list[str]] = []
    custom: list[list[list[str]]] = []
    labels: list[str] = []
    for confluence in confluences:
        symbol = str(confluence["symbol"])
        by_frame = {item["timeframe"]: item for item in confluence.get("timeframes", ())}
        row: list[float | None] = []
        row_text: list[str] = []
        for timeframe in timeframes:
            item = by_frame.get(timeframe)
            if item is None:
                row.append(None)
                row_text.append("")
                continue
            signed = float(item["direction"]) * float(item["confidence"])
            row.append(signed)
            row_text.append(f"{signed:+.2f}" if item["direction"] else "·")
        z.append(row)
        text.append(row_text)
        custom.append([[symbol, timeframe] for timeframe in timeframes])
        grade = str(confluence.get("grade", "NEUTRAL")).replace("_", " ")
        labels.append(f"{symbol}  {grade} {float(confluence.get('score', 0.0)):+.2f}")
    return {
        "data": [
            {
                "type": "heatmap",
                "z": z,
                "x": list(timeframes),
                "y": labels,
                "text": text,
                "texttemplate": "%{text}",
                "customdata": custom,
                "zmin": -1.0,
                "zmax": 1.0,
                "zmid": 0.0,
                "xgap": 2,
                "ygap": 2,
                "colorscale": [[0.0, DOWN_COLOR], [0.5, "#2a3142"], [1.0, UP_COLOR]],
                "colorbar": {
                    "title": {"text": "sell … buy", "font": {"color": MUTED}},
                    "tickfont": {"color": MUTED},
                },
                "hovertemplate": "%{customdata[0]} %{x}: %{z:+.2f}<extra>click to open</extra>",
            }
        ],
        "layout": {
            "paper_bgcolor": BACKGROUND,
            "plot_bgcolor": BACKGROUND,
            "font": {"color": TEXT},
            "margin": {"l": 10, "r": 10, "t": 40, "b": 10},
            "height": max(220, 60 + CELL_HEIGHT * len(labels)),
            "xaxis": {"side": "top", "type": "category", "gridcolor": GRID},
            "yaxis": {"autorange": "reversed", "type": "category", "automargin": True, "gridcolor": GRID},
        },
    }


def drill_target(
    click: dict[str, Any] | None, symbols: Sequence[str], timeframes: Sequence[Timeframe]
) -> tuple[str, str] | None:
    """(symbol, timeframe) of a clicked cell. A heatmap's click carries x and y (not customdata); the row
    label starts with the symbol."""
    points = (click or {}).get("points") or []
    if not points:
        return None
    symbol = str(points[0].get("y", "")).split(" ", 1)[0]
    timeframe = str(points[0].get("x", ""))
    if symbol not in symbols or timeframe not in {frame.value for frame in timeframes}:
        return None
    return symbol, timeframe


def matrix_payload(services: Services) -> Figure:
    timeframes = [timeframe.value for timeframe in services.market.datastream.timeframes]
    confluences = [services.analytics.confluence(symbol) for symbol in services.market.symbols()]
    return matrix_figure(confluences, timeframes)


def matrix_props(services: Services) -> dict[str, dict[str, Any]]:
    """The push topic: the whole heatmap (a few hundred numbers, so a figure rather than a patch)."""
    return {MATRIX_GRAPH: {"figure": matrix_payload(services)}}


def layout(services: Services) -> Any:
    return html.Div(
        [
            html.H5("Multi-timeframe matrix", className="page-title"),
            html.P(
                "Direction × confidence of each stream's recent signals; the grade is the weighted "
                "confluence (BUY from +0.3, STRONG BUY from +0.7). Click a cell to open that chart.",
                className="text-muted small",
            ),
            dcc.Graph(
                id=MATRIX_GRAPH,
                figure=matrix_payload(services),
                config={"displayModeBar": False, "responsive": True},
                className="matrix-graph",
            ),
            fallback_interval(MATRIX_TICK, MATRIX_INTERVAL_MS),
        ],
        className="matrix-page",
    )


def register(app: Dash, services: Services) -> None:
    @app.callback(
        Output(MATRIX_GRAPH, "figure"), Input(MATRIX_TICK, "n_intervals"), prevent_initial_call=True
    )
    def _refresh(_n: int) -> Any:
        return matrix_payload(services)

    @app.callback(
        Output(ids.URL, "pathname", allow_duplicate=True),
        Output(ids.URL, "search", allow_duplicate=True),
        Output(ids.SYMBOL_SELECT, "value", allow_duplicate=True),
        Output(ids.TIMEFRAME_SELECT, "value", allow_duplicate=True),
        Input(MATRIX_GRAPH, "clickData"),
        prevent_initial_call=True,
    )
    def _drill(click: dict[str, Any] | None) -> Any:
        target = drill_target(click, services.market.symbols(), services.market.datastream.timeframes)
        if target is None:
            return no_update, no_update, no_update, no_update
        symbol, timeframe = target
        pathname, search = open_chart(symbol, timeframe)
        return pathname, search, symbol, timeframe


PAGE = Page(path="/matrix", label="Matrix", layout=layout, register=register)
