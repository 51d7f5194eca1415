"""The Signals page: every stream's signals in one grid (sort, filter, pagination) with a details modal.

New signals enter as row transactions (add, update, remove), never by replacing `rowData`, so the user's
sort, filters and page stay as they are while rows arrive. Row ids are stable (`signal_id`), so a
provisional signal that becomes final updates its row and a withdrawn one is removed.

The transactions arrive by push: on signal events the hub's `SignalsFeed` computes one transaction from
the previous aggregator version to the current one and writes it into a hidden carrier on every page that
shows the grid; a clientside callback (assets/32_signals_feed.js) applies it when the page holds that
previous version or a later one (rows it already holds are not added twice), and otherwise (a page that
missed a message while its stream reopened) asks the server for its own transaction from what it holds.
The interval is the fallback where push is unavailable.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
import orjson
from dash import ClientsideFunction, Dash, Input, Output, State, dcc, html, no_update

from dash_modules.evidence_view import evidence_block, warm_evidence
from dash_modules.grids import GRID_THEME, SIDE_CLASSES, formatter
from dash_modules.live import carrier, fallback_interval
from dash_modules.pages import Page
from dash_modules.status import format_price
from thebot.analysis.signal_details import ID_SEPARATOR, SignalDetails, signal_details, signal_id
from thebot.backtest.evidence_cache import StoredEvidence
from thebot.indicators import IndicatorError
from thebot.market.timeframe import Timeframe
from thebot.signals.models import Signal

if TYPE_CHECKING:
    from thebot.services import Services

SIGNALS_GRID = "signals-grid"
SIGNALS_TICK = "signals-tick"
SIGNALS_KNOWN = "signals-known"
SIGNALS_VERSION = "signals-version"
SIGNALS_FEED = "signals-feed"  # hidden carrier of the pushed transaction
SIGNALS_RESYNC = "signals-resync"  # set by the page when a pushed transaction does not fit what it holds
SIGNAL_MODAL = "signal-modal"
SIGNAL_MODAL_BODY = "signal-modal-body"
SIGNALS_INTERVAL_MS = 5_000  # only while push is down
PUSH_SECONDS = 0.5
MAX_ROWS = 1_000  # newest signals across every stream kept in the grid's live window
PAGE_SIZE = 25

COLUMNS: list[dict[str, Any]] = [
    {
        "field": "time",
        "headerName": "Time (UTC)",
        "valueFormatter": formatter("tbTime"),
        "sort": "desc",
        "filter": "agNumberColumnFilter",
        "minWidth": 140,
    },
    {"field": "symbol", "headerName": "Symbol", "filter": "agTextColumnFilter", "minWidth": 105},
    {"field": "timeframe", "headerName": "TF", "filter": "agTextColumnFilter", "maxWidth": 90},
    {
        "field": "side",
        "headerName": "Side",
        "filter": "agTextColumnFilter",
        "cellClassRules": SIDE_CLASSES,
        "maxWidth": 95,
    },
    {"field": "rule", "headerName": "Rule", "filter": "agTextColumnFilter", "minWidth": 130},
    {
        "field": "strength",
        "headerName": "Strength",
        "filter": "agNumberColumnFilter",
        "valueFormatter": {"function": "d3.format('.2f')(params.value)"},
        "type": "rightAligned",
        "maxWidth": 120,
    },
    {"field": "price", "headerName": "Price", "valueFormatter": formatter("tbPrice"), "type": "rightAligned"},
    {"field": "reason", "headerName": "Reason", "flex": 2, "minWidth": 220, "tooltipField": "reason"},
]


def signal_row(signal: Signal) -> dict[str, Any]:
    return {
        "id": signal_id(signal),
        "time": signal.time,
        "symbol": signal.symbol,
        "timeframe": signal.timeframe.value,
        "side": signal.side.value,
        "rule": signal.rule,
        "strength": round(signal.strength, 4),
        "price": signal.price,
        "reason": signal.reason + (" (provisional)" if signal.provisional else ""),
        "provisional": signal.provisional,
    }


def signals_payload(services: Services, limit: int = MAX_ROWS) -> list[dict[str, Any]]:
    """The newest `limit` signals of every stream, newest first, as grid rows."""
    analytics = services.analytics
    collected: list[Signal] = []
    for symbol in services.market.symbols():
        collected.extend(analytics.signals(symbol, None, limit))
    collected.sort(key=lambda signal: (signal.time, signal.timeframe.milliseconds, signal.rule), reverse=True)
    return [signal_row(signal) for signal in collected[:limit]]


def known_of(rows: Sequence[dict[str, Any]]) -> dict[str, bool]:
    """What the browser holds: row id → provisional."""
    return {row["id"]: bool(row["provisional"]) for row in rows}


def signal_transaction(
    known: dict[str, bool], rows: Sequence[dict[str, Any]]
) -> tuple[dict[str, Any] | None, dict[str, bool]]:
    """The grid transaction from what the browser holds (`known`) to `rows`: new rows added, provisional
    rows that became final updated, withdrawn provisional rows removed. Rows that only fell out of the
    newest-`MAX_ROWS` window stay in the grid (they are still true). None when nothing changed."""
    current = known_of(rows)
    add = [row for row in rows if row["id"] not in known]
    update = [row for row in rows if row["id"] in known and known[row["id"]] != row["provisional"]]
    oldest = min((row["time"] for row in rows), default=None)
    remove = [
        {"id": row_id}
        for row_id, provisional in known.items()
        if provisional
        and row_id not in current
        and (oldest is None or int(row_id.split(ID_SEPARATOR)[2]) >= oldest)
    ]
    kept = {row_id: flag for row_id, flag in known.items() if row_id not in {item["id"] for item in remove}}
    kept.update(current)
    # Keep the browser's bookkeeping bounded: ids older than the window can no longer change.
    if oldest is not None:
        kept = {row_id: flag for row_id, flag in kept.items() if int(row_id.split(ID_SEPARATOR)[2]) >= oldest}
    if not (add or update or remove):
        return None, kept
    return {"add": add, "update": update, "remove": remove}, kept


class SignalsFeed:
    """The hub's side of the grid: what every up-to-date page holds (rows by id, at one aggregator
    version), and the transaction that brings such a page to the current version."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._version = services.analytics.signals_version()
        self._known = known_of(signals_payload(services))

    def props(self) -> dict[str, dict[str, Any]]:
        """The push topic: `{from, to, transaction}` in the carrier's title; nothing when nothing moved."""
        version = self._services.analytics.signals_version()
        if version == self._version:
            return {}
        rows = signals_payload(self._services)
        transaction, self._known = signal_transaction(self._known, rows)
        oldest = min((row["time"] for row in rows), default=None)
        message = {"from": self._version, "to": version, "transaction": transaction, "oldest": oldest}
        self._version = version
        return {SIGNALS_FEED: {"title": orjson.dumps(message).decode()}}


def find_signal(services: Services, row_id: str) -> Signal | None:
    try:
        symbol, timeframe, time, rule = row_id.split(ID_SEPARATOR, 3)
        frame = Timeframe(timeframe)
        when = int(time)
    except ValueError:
        return None
    for signal in services.analytics.signals(symbol, frame, limit=100_000):
        if signal.time == when and signal.rule == rule:
            return signal
        if signal.time < when:
            break
    return None


def signal_evidence(services: Services, signal: Signal) -> StoredEvidence | None:
    """The record of every rule on the signal's stream over the stored candles, from the cache (None
    while it is first computed, or when the app has no backtests)."""
    if services.backtests is None:
        return None
    return services.backtests.stored_evidence(signal.symbol, signal.timeframe)


def details_payload(services: Services, row_id: str) -> SignalDetails | str:
    """The details of one grid row, or a sentence saying why there are none."""
    signal = find_signal(services, row_id)
    if signal is None:
        return "This signal is no longer held (it was withdrawn or is older than the buffer)."
    analytics = services.analytics
    try:
        snapshot = services.market.datastream.snapshot(signal.symbol, signal.timeframe)
        qualities = analytics.quality(signal.symbol, signal.timeframe)
    except (KeyError, IndicatorError) as error:
        return f"No candles for {signal.symbol} {signal.timeframe.value}: {error}"
    return signal_details(analytics.factory, analytics.settings, snapshot, signal, qualities)


def _number(value: float | None) -> str:
    return "—" if value is None else format_price(value) if value >= 0 else f"{value:,.4f}"


def details_body(details: SignalDetails | str, evidence: StoredEvidence | None = None) -> Any:
    if isinstance(details, str):
        return html.P(details, className="text-muted")
    signal = details.signal
    side_class = "text-up" if signal.side.value == "BUY" else "text-down"
    when = datetime.fromtimestamp(signal.time / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts: list[Any] = [
        html.H6(
            [
                html.Span(signal.side.value, className=f"{side_class} me-2"),
                f"{signal.rule} · {signal.symbol} {signal.timeframe.value} · {when}",
            ],
            className="detail-title",
        ),
        html.P(signal.reason, className="detail-reason"),
        html.Div(
            f"Strength {signal.strength:.2f} · price {format_price(signal.price)}"
            + (" · provisional (forming candle)" if signal.provisional else ""),
            className="small text-muted mb-2",
        ),
    ]
    candle = details.candle
    if candle is not None:
        parts.append(html.Div("Candle", className="metric-label"))
        parts.append(
            dbc.Table(
                [
                    html.Thead(
                        html.Tr([html.Th(name) for name in ("Open", "High", "Low", "Close", "Volume")])
                    ),
                    html.Tbody(
                        html.Tr(
                            [
                                html.Td(_number(value), className="detail-candle-value")
                                for value in (
                                    candle.open,
                                    candle.high,
                                    candle.low,
                                    candle.close,
                                    candle.volume,
                                )
                            ]
                        )
                    ),
                ],
                size="sm",
                color="dark",
                className="detail-table detail-candle",
            )
        )
    if details.indicators:
        parts.append(html.Div("Indicators at the signal", className="metric-label"))
        parts.append(
            dbc.Table(
                html.Tbody(
                    [
                        html.Tr(
                            [
                                html.Td(f"{item.name} {output}" if len(item.values) > 1 else item.name),
                                html.Td(_number(value), className="detail-indicator-value"),
                            ]
                        )
                        for item in details.indicators
                        for output, value in item.values.items()
                    ]
                ),
                size="sm",
                color="dark",
                className="detail-table detail-indicators",
            )
        )
    quality = details.quality
    parts.append(html.Div("Rule record", className="metric-label"))
    if quality is None:
        parts.append(html.P("Not enough later candles yet to score this rule.", className="small text-muted"))
    else:
        parts.append(
            html.P(
                f"Hit rate {quality.hit_rate * 100:.1f} % · mean forward return "
                f"{quality.mean_forward_return * 100:+.3f} % over {quality.signals} signals, "
                f"{quality.horizon_bars} candles ahead",
                className="detail-quality",
            )
        )
    parts.append(html.Div("Record over the stored history", className="metric-label"))
    parts.append(html.Div(evidence_block(evidence, [signal.rule]), className="detail-evidence"))
    parts.append(dcc.Link("Open on the chart →", href=details.link, className="detail-link", refresh=False))
    return parts


def layout(services: Services) -> Any:
    warm_evidence(services)
    version = services.analytics.signals_version()
    rows = signals_payload(services)
    return html.Div(
        [
            html.H5("Signals", className="page-title"),
            dag.AgGrid(
                id=SIGNALS_GRID,
                columnDefs=COLUMNS,
                rowData=rows,
                getRowId="params.data.id",
                defaultColDef={
                    "sortable": True,
                    "resizable": True,
                    "flex": 1,
                    "minWidth": 90,
                    "floatingFilter": True,
                },
                dashGridOptions={
                    "theme": GRID_THEME,
                    "pagination": True,
                    "paginationPageSize": PAGE_SIZE,
                    "paginationPageSizeSelector": [25, 50, 100],
                    "animateRows": False,
                    "tooltipShowDelay": 300,
                    "suppressCellFocus": True,
                },
                rowClassRules={"row-provisional": "params.data.provisional"},
                style={"height": "640px"},
                className="tb-grid signals-grid",
            ),
            html.Div("Click a row for its details.", className="text-muted small mt-1"),
            dcc.Store(id=SIGNALS_KNOWN, data=known_of(rows)),
            dcc.Store(id=SIGNALS_VERSION, data=version),
            dcc.Store(id=SIGNALS_RESYNC, data=0),
            carrier(SIGNALS_FEED),
            fallback_interval(SIGNALS_TICK, SIGNALS_INTERVAL_MS),
            dbc.Modal(
                [
                    dbc.ModalHeader(dbc.ModalTitle("Signal details")),
                    dbc.ModalBody(id=SIGNAL_MODAL_BODY),
                ],
                id=SIGNAL_MODAL,
                is_open=False,
                size="lg",
                className="signal-modal",
            ),
        ],
        className="signals-page",
    )


def register(app: Dash, services: Services) -> None:
    # Pushed transactions apply in the browser (assets/32_signals_feed.js) when they fit what it holds.
    app.clientside_callback(
        ClientsideFunction("thebotSignals", "apply"),
        Output(SIGNALS_GRID, "rowTransaction", allow_duplicate=True),
        Output(SIGNALS_KNOWN, "data", allow_duplicate=True),
        Output(SIGNALS_VERSION, "data", allow_duplicate=True),
        Output(SIGNALS_RESYNC, "data"),
        Input(SIGNALS_FEED, "title"),
        State(SIGNALS_VERSION, "data"),
        State(SIGNALS_KNOWN, "data"),
        prevent_initial_call=True,
    )

    @app.callback(
        Output(SIGNALS_GRID, "rowTransaction"),
        Output(SIGNALS_KNOWN, "data"),
        Output(SIGNALS_VERSION, "data"),
        Input(SIGNALS_TICK, "n_intervals"),
        Input(SIGNALS_RESYNC, "data"),
        State(SIGNALS_KNOWN, "data"),
        State(SIGNALS_VERSION, "data"),
        prevent_initial_call=True,
    )
    def _arrivals(_n: int, _resync: int, known: dict[str, bool] | None, seen_version: int | None) -> Any:
        # The aggregator's version moves whenever a signal is accepted, updated or withdrawn.
        version = services.analytics.signals_version()
        if version == seen_version:
            return no_update, no_update, no_update
        transaction, kept = signal_transaction(known or {}, signals_payload(services))
        if transaction is None:
            return no_update, no_update if kept == (known or {}) else kept, version
        return transaction, kept, version

    @app.callback(
        Output(SIGNAL_MODAL_BODY, "children"),
        Output(SIGNAL_MODAL, "is_open"),
        Input(SIGNALS_GRID, "cellClicked"),
        prevent_initial_call=True,
    )
    def _details(cell: dict[str, Any] | None) -> Any:
        row_id = (cell or {}).get("rowId")
        if not row_id:
            return no_update, no_update
        details = details_payload(services, str(row_id))
        evidence = None if isinstance(details, str) else signal_evidence(services, details.signal)
        return details_body(details, evidence), True


PAGE = Page(path="/signals", label="Signals", layout=layout, register=register)
