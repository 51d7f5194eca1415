"""The Multi page: up to four live charts side by side, e.g. one symbol in 1m, 15m, 1h and 4h.

Each pane is the Chart page's chart in small: the same full figure (`chart.full_chart`) on a change of
its symbol or timeframe, then the same compact pushed updates, addressed to the pane's graph
(`assets/30_push.js` `followPane`, `dash_modules/push.py` `charts=`). Panes that show one stream share
one computation with each other and with every Chart page on it. No timer: a pane moves only by push.

The URL holds the layout: `/multi?symbol=BTCUSDT&timeframes=1m,15m,1h,4h` (one symbol in every pane) or
`/multi?symbols=BTCUSDT,ETHUSDT&timeframes=1m,1m` (a symbol per pane); the number of timeframes is the
number of panes. Changes on the page rewrite the address bar in place (history.replaceState).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode

import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, State, dcc, html, no_update

from dash_modules import ids
from dash_modules.chart import full_chart
from dash_modules.figures import empty_figure
from dash_modules.pages import Page

if TYPE_CHECKING:
    from thebot.services import Services

PATH = "/multi"
MAX_PANES = 4
PREFERRED_TIMEFRAMES = ("1m", "15m", "1h", "4h")

# Component ids (pane ids end with the pane's index, 0-3).
MULTI_COUNT = "multi-count"
MULTI_GRID = "multi-grid"
MULTI_RENDERED = "multi-rendered"
MULTI_QUERY = "multi-query"
MULTI_QUERY_SINK = "multi-query-sink"
MULTI_CLEARED = "multi-cleared"
MULTI_SYMBOL = "multi-symbol-"
MULTI_TIMEFRAME = "multi-timeframe-"
MULTI_GRAPH = "multi-graph-"
MULTI_FULL = "multi-full-"
MULTI_RESYNC = "multi-resync-"
MULTI_ACTIVE = "multi-active-"
MULTI_OPEN = "multi-open-"


@dataclass(frozen=True, slots=True)
class Pane:
    symbol: str
    timeframe: str


def default_panes(symbol: str, timeframes: Sequence[str]) -> list[Pane]:
    """Four panes of one symbol: 1m, 15m, 1h, 4h where streamed, then the other streamed timeframes."""
    preferred = [frame for frame in PREFERRED_TIMEFRAMES if frame in timeframes]
    rest = [frame for frame in timeframes if frame not in preferred]
    chosen = (preferred + rest)[:MAX_PANES] or [""]
    while len(chosen) < MAX_PANES:
        chosen.append(chosen[-1])
    return [Pane(symbol, frame) for frame in chosen]


def panes_from_query(
    search: str | None, symbols: Sequence[str], timeframes: Sequence[str], default_symbol: str
) -> tuple[int, list[Pane]]:
    """(panes shown, all four panes) from `?symbol=`/`?symbols=` and `?timeframes=`; unknown symbols and
    timeframes fall back to the defaults with the rest kept. Without `timeframes` all four panes show."""
    query = parse_qs((search or "").lstrip("?"))
    fallback = default_symbol if default_symbol in symbols else (symbols[0] if symbols else default_symbol)
    single = (query.get("symbol") or [""])[0].strip().upper()
    if single in symbols:
        fallback = single
    panes = default_panes(fallback, timeframes)
    listed = [item.strip() for item in (query.get("timeframes") or [""])[0].split(",") if item.strip()]
    per_pane = [item.strip().upper() for item in (query.get("symbols") or [""])[0].split(",")]
    count = min(len(listed), MAX_PANES) or MAX_PANES
    for index in range(MAX_PANES):
        timeframe = listed[index] if index < len(listed) and listed[index] in timeframes else None
        symbol = per_pane[index] if index < len(per_pane) and per_pane[index] in symbols else None
        panes[index] = Pane(symbol or panes[index].symbol, timeframe or panes[index].timeframe)
    return count, panes


def panes_query(panes: Sequence[Pane]) -> str:
    """The query string of the shown panes: `symbol=` when they share one, `symbols=` otherwise."""
    symbols = [pane.symbol for pane in panes]
    query: dict[str, str] = (
        {"symbol": symbols[0]} if len(set(symbols)) == 1 else {"symbols": ",".join(symbols)}
    )
    query["timeframes"] = ",".join(pane.timeframe for pane in panes)
    return urlencode(query, safe=",")


def grid_class(count: int) -> str:
    return f"multi-grid multi-grid-{count}"


def _pane(index: int, symbols: Sequence[str], timeframes: Sequence[str]) -> Any:
    return html.Div(
        [
            html.Div(
                [
                    dcc.Dropdown(
                        id=f"{MULTI_SYMBOL}{index}",
                        options=[{"label": symbol, "value": symbol} for symbol in symbols],
                        value=None,
                        clearable=False,
                        searchable=True,
                        className="multi-symbol",
                    ),
                    dcc.Dropdown(
                        id=f"{MULTI_TIMEFRAME}{index}",
                        options=[{"label": frame, "value": frame} for frame in timeframes],
                        value=None,
                        clearable=False,
                        searchable=False,
                        className="multi-timeframe",
                    ),
                    dcc.Link("open ↗", id=f"{MULTI_OPEN}{index}", href="/", className="multi-open small"),
                ],
                className="multi-pane-head",
            ),
            # The box sets the height (by the grid's class); the responsive graph fills it.
            html.Div(
                dcc.Graph(
                    id=f"{MULTI_GRAPH}{index}",
                    figure=empty_figure("Waiting for market data…"),
                    config={"displaylogo": False, "scrollZoom": True, "responsive": True},
                    style={"height": "100%"},
                ),
                className="multi-graph",
            ),
            dcc.Store(id=f"{MULTI_FULL}{index}", data=None),
            dcc.Store(id=f"{MULTI_RESYNC}{index}", data=0),
            dcc.Store(id=f"{MULTI_ACTIVE}{index}", data=None),
        ],
        className="multi-pane tb-card",
    )


def layout(services: Services) -> Any:
    symbols = services.market.symbols()
    timeframes = [frame.value for frame in services.market.datastream.timeframes]
    return html.Div(
        [
            html.Div(
                [
                    html.H5("Multi chart", className="page-title"),
                    html.Span("Panes", className="text-muted small"),
                    dbc.RadioItems(
                        id=MULTI_COUNT,
                        options=[{"label": str(n), "value": n} for n in range(1, MAX_PANES + 1)],
                        value=None,
                        inline=True,
                        className="btn-group multi-count",
                        inputClassName="btn-check",
                        labelClassName="btn btn-outline-secondary btn-sm",
                        labelCheckedClassName="active",
                    ),
                ],
                className="multi-controls",
            ),
            html.Div(
                [_pane(index, symbols, timeframes) for index in range(MAX_PANES)],
                id=MULTI_GRID,
                className=grid_class(MAX_PANES),
            ),
            dcc.Store(id=MULTI_RENDERED, data=None),
            dcc.Store(id=MULTI_QUERY, data=None),
            dcc.Store(id=MULTI_QUERY_SINK, data=None),
            dcc.Store(id=MULTI_CLEARED, data=None),
        ],
        className="multi-page",
    )


def register(app: Dash, services: Services) -> None:
    pane_range = range(MAX_PANES)

    @app.callback(
        Output(MULTI_COUNT, "value"),
        *(Output(f"{MULTI_SYMBOL}{index}", "value") for index in pane_range),
        *(Output(f"{MULTI_TIMEFRAME}{index}", "value") for index in pane_range),
        # Fires when the page is rendered (its store appears), so its outputs exist by then.
        Input(MULTI_RENDERED, "data"),
        State(ids.URL, "search"),
    )
    def _from_url(_rendered: Any, search: str | None) -> tuple[Any, ...]:
        timeframes = [frame.value for frame in services.market.datastream.timeframes]
        count, panes = panes_from_query(
            search, services.market.symbols(), timeframes, services.settings.ui.default_symbol
        )
        return (count, *(pane.symbol for pane in panes), *(pane.timeframe for pane in panes))

    # The page's panes start from nothing followed (a pane left on an earlier visit shows nothing now).
    app.clientside_callback(
        """function (_rendered) {
            if (window.thebotPush && window.thebotPush.clearPanes) { window.thebotPush.clearPanes(); }
            return window.dash_clientside.no_update;
        }""",
        Output(MULTI_CLEARED, "data"),
        Input(MULTI_RENDERED, "data"),
    )

    # Panes shown → the grid's class and each pane's `active` flag, set only when it flips so a pane that
    # stays shown keeps its figure.
    app.clientside_callback(
        """function (count) {
            const dc = window.dash_clientside;
            const active = Array.prototype.slice.call(arguments, 1);
            if (!count) { return [dc.no_update].concat(active.map(() => dc.no_update)); }
            return ['multi-grid multi-grid-' + count].concat(
                active.map((was, index) => (index < count) === was ? dc.no_update : index < count));
        }""",
        Output(MULTI_GRID, "className"),
        *(Output(f"{MULTI_ACTIVE}{index}", "data") for index in pane_range),
        Input(MULTI_COUNT, "value"),
        *(State(f"{MULTI_ACTIVE}{index}", "data") for index in pane_range),
    )

    @app.callback(
        Output(MULTI_QUERY, "data"),
        Input(MULTI_COUNT, "value"),
        *(Input(f"{MULTI_SYMBOL}{index}", "value") for index in pane_range),
        *(Input(f"{MULTI_TIMEFRAME}{index}", "value") for index in pane_range),
    )
    def _to_url(count: int | None, *values: str | None) -> Any:
        symbols, timeframes = values[:MAX_PANES], values[MAX_PANES:]
        if not count or not all(symbols[:count]) or not all(timeframes[:count]):
            return no_update
        panes = [Pane(str(symbols[index]), str(timeframes[index])) for index in range(count)]
        return panes_query(panes)

    app.clientside_callback(
        """function (query) {
            const path = '"""
        + PATH
        + """';
            if (!query || window.location.pathname !== path) { return window.dash_clientside.no_update; }
            const target = path + '?' + query;
            if (target !== window.location.pathname + window.location.search) {
                window.history.replaceState(window.history.state, '', target);
            }
            return window.dash_clientside.no_update;
        }""",
        Output(MULTI_QUERY_SINK, "data"),
        Input(MULTI_QUERY, "data"),
    )

    for index in pane_range:
        _register_pane(app, services, index)


def _register_pane(app: Dash, services: Services, index: int) -> None:
    graph = f"{MULTI_GRAPH}{index}"

    @app.callback(
        Output(f"{MULTI_FULL}{index}", "data"),
        Output(f"{MULTI_OPEN}{index}", "href"),
        Input(f"{MULTI_SYMBOL}{index}", "value"),
        Input(f"{MULTI_TIMEFRAME}{index}", "value"),
        Input(f"{MULTI_ACTIVE}{index}", "data"),
        Input(f"{MULTI_RESYNC}{index}", "data"),
    )
    def _full(symbol: str | None, timeframe: str | None, active: bool | None, _resync: Any) -> Any:
        if not active or not symbol or not timeframe:
            return {"figure": None, "state": None}, no_update
        figure, state = full_chart(services, symbol, timeframe, [])
        href = "/?" + urlencode({"symbol": symbol, "timeframe": timeframe})
        return {"figure": figure, "state": state}, href

    # As on the Chart page, the figure goes on the graph in the same step as the push script switches
    # the pane to its new state: no update of the pane's previous stream lands on the new figure.
    app.clientside_callback(
        """function (full) {
            const dc = window.dash_clientside;
            if (!full) { return dc.no_update; }
            if (window.thebotPush && window.thebotPush.followPane) {
                window.thebotPush.followPane('"""
        + graph
        + """', full.state, '"""
        + f"{MULTI_RESYNC}{index}"
        + """');
            }
            return full.figure || dc.no_update;
        }""",
        Output(graph, "figure"),
        Input(f"{MULTI_FULL}{index}", "data"),
    )


PAGE = Page(path=PATH, label="Multi", layout=layout, register=register)
