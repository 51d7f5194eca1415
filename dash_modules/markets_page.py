"""The Markets page (watchlist): every streamed symbol with price, 24 h change, volume, a sparkline, its
confluence grade, today's signal count and freshness. Sortable; a click opens the symbol's chart.

The rows come from `markets_payload(services)` (pure reads of the services). They arrive by push: the hub
rebuilds them at most once per `PUSH_SECONDS` after market data changed, only while some page shows the
grid, and sends the same rows to every such page (`markets_props`). The interval is the fallback where
push is unavailable.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import dash_ag_grid as dag
from dash import Dash, Input, Output, State, html, no_update

from dash_modules import ids
from dash_modules.grids import GRID_THEME, SIGNED_CLASSES, formatter
from dash_modules.live import fallback_interval
from dash_modules.pages import Page
from thebot.analysis.markets import market_rows
from thebot.analysis.signal_details import chart_link

if TYPE_CHECKING:
    from thebot.services import Services

MARKETS_GRID = "markets-grid"
MARKETS_TICK = "markets-tick"
MARKETS_INTERVAL_MS = 5_000  # only while push is down
PUSH_SECONDS = 1.0

_GRADE_CLASSES = {
    "cell-up": "params.data.grade.endsWith('BUY')",
    "cell-down": "params.data.grade.endsWith('SELL')",
}

COLUMNS: list[dict[str, Any]] = [
    {"field": "symbol", "headerName": "Symbol", "pinned": "left", "minWidth": 110, "cellClass": "cell-link"},
    {
        "field": "last_price",
        "headerName": "Last",
        "valueFormatter": formatter("tbPrice"),
        "type": "rightAligned",
    },
    {
        "field": "change_percent",
        "headerName": "24 h %",
        "valueFormatter": {"function": "params.value == null ? '—' : d3.format('+.2f')(params.value) + ' %'"},
        "cellClassRules": SIGNED_CLASSES,
        "type": "rightAligned",
    },
    {
        "field": "volume",
        "headerName": "Volume 24 h",
        "valueFormatter": formatter("tbCompact"),
        "type": "rightAligned",
    },
    {
        "field": "sparkline",
        "headerName": "Trend",
        "cellRenderer": "TbSparkline",
        "sortable": False,
        "minWidth": 135,
    },
    {
        "field": "score",
        "headerName": "Grade",
        "valueFormatter": {
            "function": "params.data.grade.replace('_', ' ') + ' ' + d3.format('+.2f')(params.value)"
        },
        "cellClassRules": _GRADE_CLASSES,
        "minWidth": 140,
    },
    {"field": "signals_today", "headerName": "Signals today", "type": "rightAligned"},
    {
        "field": "age_ms",
        "headerName": "Updated",
        "valueFormatter": formatter("tbAge"),
        "cellClassRules": {"cell-stale": "params.data.stale"},
    },
]


def markets_payload(services: Services) -> list[dict[str, Any]]:
    """The grid's rowData: one dict per streamed symbol."""
    return [row.as_dict() for row in market_rows(services.market, services.analytics)]


def markets_props(services: Services) -> dict[str, dict[str, Any]]:
    """The push topic: the grid's rows (the grid keeps its sort; rows are matched by symbol)."""
    return {MARKETS_GRID: {"rowData": markets_payload(services)}}


def layout(services: Services) -> Any:
    return html.Div(
        [
            html.H5("Markets", className="page-title"),
            dag.AgGrid(
                id=MARKETS_GRID,
                columnDefs=COLUMNS,
                rowData=markets_payload(services),
                getRowId="params.data.symbol",
                defaultColDef={"sortable": True, "resizable": True, "flex": 1, "minWidth": 95},
                dashGridOptions={
                    "theme": GRID_THEME,
                    "domLayout": "autoHeight",
                    "animateRows": False,
                    "rowHeight": 36,
                    "suppressCellFocus": True,
                },
                className="tb-grid markets-grid",
            ),
            html.Div("Click a row to open its chart.", className="text-muted small mt-1"),
            fallback_interval(MARKETS_TICK, MARKETS_INTERVAL_MS),
        ],
        className="markets-page",
    )


def open_chart(symbol: str, timeframe: str) -> tuple[str, str]:
    """(pathname, search) of the chart page for one stream."""
    link = chart_link(symbol, timeframe)
    path, _, query = link.partition("?")
    return path, f"?{query}"


def register(app: Dash, services: Services) -> None:
    symbols = set(services.settings.market.symbols)

    @app.callback(
        Output(MARKETS_GRID, "rowData"), Input(MARKETS_TICK, "n_intervals"), prevent_initial_call=True
    )
    def _refresh(_n: int) -> Any:
        return markets_payload(services)

    @app.callback(
        Output(ids.URL, "pathname", allow_duplicate=True),
        Output(ids.URL, "search", allow_duplicate=True),
        Output(ids.SYMBOL_SELECT, "value", allow_duplicate=True),
        Input(MARKETS_GRID, "cellClicked"),
        State(ids.TIMEFRAME_SELECT, "value"),
        prevent_initial_call=True,
    )
    def _open(cell: dict[str, Any] | None, timeframe: str | None) -> Any:
        symbol = (cell or {}).get("rowId")
        if not symbol or symbol not in symbols | set(services.market.symbols()):
            return no_update, no_update, no_update
        pathname, search = open_chart(symbol, timeframe or services.settings.ui.default_timeframe.value)
        return pathname, search, symbol


PAGE = Page(path="/markets", label="Markets", layout=layout, register=register)

__all__ = ["PAGE", "markets_payload", "markets_props"]
