"""The Trading page (`/trading`): order ticket with preview and confirm, open orders, positions, fills,
equity curve, performance, pause / resume / kill, and the mode badge (PAPER, VENUE, LIVE in red).

Callbacks are thin: they call the trading service (the same calls as the JSON API) and render its value
objects with the pure `render_*` functions below. The tables refresh on every user action and by push:
`trading_props` (the same rendering in the hub's `{id: {prop: value}}` shape) on `OrderUpdated` /
`TradingWarning`, and `marked_props` (account and positions at the latest prices) at most once per
`PUSH_SECONDS` after market data moved, while a page shows them. `REFRESH_MS` is the fallback interval
where push is unavailable.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import dash_bootstrap_components as dbc
from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update

from dash_modules.live import fallback_interval
from dash_modules.pages import Page
from thebot.execution.risk import RiskRejected

if TYPE_CHECKING:
    from thebot.execution.service import TradingService
    from thebot.services import Services

REFRESH_MS = 5_000  # only while push is down
PUSH_SECONDS = 1.0
UP = "#26a69a"
DOWN = "#ef5350"

# Component ids of this page (one place: callbacks and browser tests use these names).
MODE_BADGE = "trading-mode-badge"
ACCOUNT = "trading-account"
SYMBOL = "trading-symbol"
SIDE = "trading-side"
TYPE = "trading-type"
SIZE_MODE = "trading-size-mode"
SIZE = "trading-size"
PRICE = "trading-price"
STOP_PRICE = "trading-stop-price"
STOP_LOSS = "trading-stop-loss"
TAKE_PROFIT = "trading-take-profit"
TRAILING = "trading-trailing"
PREVIEW_BUTTON = "trading-preview-button"
CONFIRM_BUTTON = "trading-confirm-button"
PREVIEW = "trading-preview"
TICKET_MESSAGE = "trading-ticket-message"
TICKET_STORE = "trading-ticket-store"
POSITIONS = "trading-positions"
ORDERS = "trading-orders"
FILLS = "trading-fills"
EQUITY = "trading-equity"
PERFORMANCE = "trading-performance"
PAUSE = "trading-pause"
RESUME = "trading-resume"
KILL = "trading-kill"
FLATTEN = "trading-flatten"
CONTROL_MESSAGE = "trading-control-message"
TICK = "trading-tick"
CHANGED = "trading-changed"
ROW_CHANGED = "trading-row-changed"
CONTROL_CHANGED = "trading-control-changed"
CANCEL = "trading-cancel"  # pattern-matching: {"type": CANCEL, "index": client order id}
CLOSE = "trading-close"  # pattern-matching: {"type": CLOSE, "index": symbol}


# -- pure rendering --------------------------------------------------------------------------------------


def _number(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def _signed(value: float) -> html.Span:
    return html.Span(_number(value), style={"color": UP if value >= 0 else DOWN})


def mode_badge(mode: str) -> Any:
    color = {"paper": "secondary", "venue": "info", "live": "danger"}.get(mode, "secondary")
    return dbc.Badge(mode.upper(), color=color, id=MODE_BADGE, className=f"trading-mode trading-mode-{mode}")


def render_account(account: dict[str, Any]) -> Any:
    quote = account["quote_asset"]
    free = next((item["free"] for item in account["balances"] if item["asset"] == quote), 0.0)
    state = "KILLED" if account["killed"] else "PAUSED" if account["paused"] else "RUNNING"
    breaker = account["breaker"]
    cells = [
        ("Equity", f"{_number(account['equity'])} {quote}"),
        ("Free", f"{_number(free)} {quote}"),
        ("Day loss", f"{account['day_loss_pct']:.2f} % of {breaker['limit_pct']:g} %"),
        ("Breaker", "TRIPPED" if breaker["tripped"] else "ok"),
        ("Trading", state),
    ]
    return html.Div(
        [
            html.Div([html.Div(label, className="metric-label"), html.Div(value, className="metric-value")])
            for label, value in cells
        ],
        className="trading-account metrics-strip",
    )


def render_preview(preview: dict[str, Any]) -> Any:
    rows = [
        ("Quantity (rounded)", f"{preview['quantity']:g}"),
        ("Price", _number(preview["reference_price"])),
        ("Notional", _number(preview["notional"])),
        ("Fee", _number(preview["fee"], 4)),
        ("Risk", _number(preview["risk_quote"])),
        (
            "Risk % of equity",
            "—" if preview["risk_pct_of_equity"] is None else f"{preview['risk_pct_of_equity']:.2f} %",
        ),
    ]
    checks = [
        html.Li(
            [
                html.Span("✓ " if check["passed"] else "✗ ", className="check-mark"),
                html.Span(check["name"], className="check-name"),
                html.Span(f" — {check['detail']}", className="check-detail"),
            ],
            className="check-pass" if check["passed"] else "check-fail",
        )
        for check in preview["checks"]
    ]
    return html.Div(
        [
            html.Table(
                [html.Tr([html.Th(label), html.Td(value)]) for label, value in rows],
                className="trading-preview-table",
            ),
            html.Ul(checks, className="trading-checks"),
        ]
    )


def _table(headers: list[str], rows: list[list[Any]], empty: str) -> Any:
    if not rows:
        return html.Div(empty, className="text-muted small p-2")
    return dbc.Table(
        [html.Thead(html.Tr([html.Th(h) for h in headers])), html.Tbody([html.Tr(r) for r in rows])],
        size="sm",
        className="trading-table",
    )


def render_positions(positions: list[dict[str, Any]]) -> Any:
    rows = [
        [
            html.Td(item["symbol"]),
            html.Td(f"{item['quantity']:g}", className="position-quantity"),
            html.Td(_number(item["average_price"]), className="position-price"),
            html.Td(_number(item["mark_price"])),
            html.Td(_signed(item["unrealized_pnl"])),
            html.Td(_signed(item["realized_pnl"])),
            html.Td(_number(item["entry_fees"], 4), className="position-fees"),
            html.Td(
                dbc.Button("Close", id={"type": CLOSE, "index": item["symbol"]}, size="sm", color="secondary")
            ),
        ]
        for item in positions
    ]
    headers = ["Symbol", "Quantity", "Avg price", "Mark", "Unrealized", "Realized", "Fees", ""]
    return _table(headers, rows, "No open position.")


def render_orders(orders: list[dict[str, Any]]) -> Any:
    rows = [
        [
            html.Td(item["symbol"]),
            html.Td(item["side"], style={"color": UP if item["side"] == "BUY" else DOWN}),
            html.Td(item["type"]),
            html.Td(item["role"].replace("_", " ")),
            html.Td(f"{item['quantity']:g}"),
            html.Td(_number(item["price"]) if item["price"] else "—"),
            html.Td(_number(item["stop_price"]) if item["stop_price"] else "—", className="order-stop"),
            html.Td(item["status"]),
            html.Td(
                dbc.Button("Cancel", id={"type": CANCEL, "index": item["id"]}, size="sm", color="secondary")
            ),
        ]
        for item in orders
    ]
    headers = ["Symbol", "Side", "Type", "Role", "Quantity", "Price", "Stop", "Status", ""]
    return _table(headers, rows, "No open order.")


def render_fills(fills: list[dict[str, Any]], limit: int = 20) -> Any:
    rows = [
        [
            html.Td(item["symbol"]),
            html.Td(item["side"], style={"color": UP if item["side"] == "BUY" else DOWN}),
            html.Td(_number(item["price"]), className="fill-price"),
            html.Td(f"{item['quantity']:g}"),
            html.Td(_number(item["fee"], 4), className="fill-fee"),
        ]
        for item in fills[:limit]
    ]
    return _table(["Symbol", "Side", "Price", "Quantity", "Fee"], rows, "No fill yet.")


def equity_figure(curve: list[tuple[int, float]]) -> dict[str, Any]:
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines",
                "x": [time_ms for time_ms, _ in curve],
                "y": [equity for _, equity in curve],
                "line": {"color": UP, "width": 1.5},
                "hovertemplate": "%{y:,.2f}<extra></extra>",
            }
        ],
        "layout": {
            "template": "plotly_dark",
            "paper_bgcolor": "#131722",
            "plot_bgcolor": "#131722",
            "margin": {"l": 50, "r": 10, "t": 10, "b": 30},
            "height": 220,
            "xaxis": {"type": "date", "gridcolor": "#262c3d"},
            "yaxis": {"gridcolor": "#262c3d", "tickformat": ",.0f"},
            "showlegend": False,
        },
    }


def render_performance(performance: dict[str, Any]) -> Any:
    def ratio(value: float | None) -> str:
        return "—" if value is None else f"{value:.2f}"

    cards = [
        ("Trades", str(performance["trades"])),
        ("Win rate", f"{performance['win_rate'] * 100:.1f} %"),
        ("Profit factor", ratio(performance["profit_factor"])),
        ("Expectancy", _number(performance["expectancy"])),
        ("Sharpe", ratio(performance["sharpe"])),
        ("Sortino", ratio(performance["sortino"])),
        ("Max drawdown", f"{performance['max_drawdown'] * 100:.2f} %"),
        ("Net P&L", _number(performance["net_pnl"])),
    ]
    return html.Div(
        [
            html.Div([html.Div(label, className="metric-label"), html.Div(value, className="metric-value")])
            for label, value in cards
        ],
        className="trading-performance metrics-strip",
    )


FORM_FIELDS = (
    "symbol",
    "side",
    "type",
    "size_mode",
    "size",
    "price",
    "stop_price",
    "stop_loss",
    "take_profit",
    "trailing_pct",
)


def ticket_from_form(form: dict[str, Any]) -> dict[str, Any]:
    """The form (FORM_FIELDS) as the API's ticket; blanks are left out (the service names what is missing)."""
    values = {key: form.get(key) for key in FORM_FIELDS if key not in ("size_mode", "size")}
    values[form.get("size_mode") or "quantity"] = form.get("size")
    return {key: value for key, value in values.items() if value is not None and value != ""}


def trading_props(service: TradingService) -> dict[str, dict[str, Any]]:
    """Everything the page shows of the account, as `{component id: {prop: value}}`: what the 2 s refresh
    renders now, and what the push hub can send on `OrderUpdated` / `TradingWarning` instead."""
    positions = [item.to_dict() for item in service.positions().values() if item.is_open]
    return {
        ACCOUNT: {"children": render_account(service.account())},
        POSITIONS: {"children": render_positions(positions)},
        ORDERS: {"children": render_orders([order.to_dict() for order in service.orders("open")])},
        FILLS: {"children": render_fills([fill.to_dict() for fill in service.fills()])},
        EQUITY: {"figure": equity_figure(service.journal.equity_curve())},
        PERFORMANCE: {"children": render_performance(service.performance().to_dict())},
    }


def marked_props(service: TradingService) -> dict[str, dict[str, Any]]:
    """What moves with prices alone: the account's equity and the positions' marks and P&L."""
    positions = [item.to_dict() for item in service.positions().values() if item.is_open]
    return {
        ACCOUNT: {"children": render_account(service.account())},
        POSITIONS: {"children": render_positions(positions)},
    }


# -- layout ----------------------------------------------------------------------------------------------


def _input(label: str, component_id: str, placeholder: str = "") -> Any:
    return dbc.Row(
        [
            dbc.Label(label, html_for=component_id, width=5, className="small"),
            dbc.Col(
                dbc.Input(id=component_id, type="number", placeholder=placeholder, size="sm", min=0),
                width=7,
            ),
        ],
        className="mb-1",
    )


def _card(title: str, body: Any, class_name: str = "") -> Any:
    return dbc.Card([dbc.CardHeader(title), dbc.CardBody(body)], className=f"trading-card {class_name}")


def ticket_card(services: Services) -> Any:
    symbols = services.settings.market.symbols
    return _card(
        "Order ticket",
        [
            dcc.Dropdown(
                id=SYMBOL,
                options=[{"label": symbol, "value": symbol} for symbol in symbols],
                value=services.settings.ui.default_symbol,
                clearable=False,
                className="mb-2",
            ),
            dbc.RadioItems(
                id=SIDE,
                options=[{"label": "Buy", "value": "BUY"}, {"label": "Sell", "value": "SELL"}],
                value="BUY",
                inline=True,
                className="mb-1",
            ),
            dbc.RadioItems(
                id=TYPE,
                options=[{"label": label, "value": label} for label in ("MARKET", "LIMIT", "STOP_LIMIT")],
                value="MARKET",
                inline=True,
                className="mb-1",
            ),
            dbc.RadioItems(
                id=SIZE_MODE,
                options=[
                    {"label": "Quantity", "value": "quantity"},
                    {"label": "Quote amount", "value": "quote_amount"},
                    {"label": "Risk %", "value": "risk_pct"},
                ],
                value="quantity",
                inline=True,
                className="mb-2",
            ),
            _input("Size", SIZE, "e.g. 0.01"),
            _input("Limit price", PRICE, "LIMIT / STOP_LIMIT"),
            _input("Stop trigger", STOP_PRICE, "STOP_LIMIT"),
            _input("Stop-loss", STOP_LOSS, "optional"),
            _input("Take-profit", TAKE_PROFIT, "optional"),
            _input("Trailing %", TRAILING, "optional, e.g. 0.5"),
            html.Div(
                [
                    dbc.Button("Preview", id=PREVIEW_BUTTON, color="secondary", size="sm", className="me-2"),
                    dbc.Button("Confirm order", id=CONFIRM_BUTTON, color="success", size="sm", disabled=True),
                ],
                className="mt-2",
            ),
            html.Div(id=PREVIEW, className="trading-preview mt-2"),
            html.Div(id=TICKET_MESSAGE, className="trading-message mt-2"),
            dcc.Store(id=TICKET_STORE),
        ],
        "ticket-card",
    )


def controls(services: Services) -> Any:
    mode = services.trading.mode if services.trading is not None else "off"
    return html.Div(
        [
            mode_badge(mode),
            html.Div(id=ACCOUNT, className="flex-grow-1"),
            dcc.ConfirmDialogProvider(
                dbc.Button("Pause", color="warning", size="sm", outline=True),
                id=PAUSE,
                message="Pause trading? New entries are refused; exits still run.",
            ),
            dcc.ConfirmDialogProvider(
                dbc.Button("Resume", color="success", size="sm", outline=True),
                id=RESUME,
                message="Resume trading?",
            ),
            dbc.Checkbox(id=FLATTEN, label="flatten", value=False, className="ms-2 small"),
            dcc.ConfirmDialogProvider(
                dbc.Button("Kill", color="danger", size="sm"),
                id=KILL,
                message="Kill switch: cancel every open order (and sell every position if 'flatten' is "
                "ticked) and stop trading until resumed?",
            ),
            html.Div(id=CONTROL_MESSAGE, className="trading-message ms-2"),
        ],
        className="trading-controls",
    )


def layout(services: Services) -> Any:
    if services.trading is None:
        return html.Div("Trading is not running in this app.", className="p-4 text-muted")
    return html.Div(
        [
            controls(services),
            dbc.Row(
                [
                    dbc.Col(ticket_card(services), md=4),
                    dbc.Col(
                        [
                            _card("Positions", html.Div(id=POSITIONS)),
                            _card("Open orders", html.Div(id=ORDERS)),
                            _card("Equity", dcc.Graph(id=EQUITY, config={"displayModeBar": False})),
                            _card("Performance", html.Div(id=PERFORMANCE)),
                            _card("Fills", html.Div(id=FILLS)),
                        ],
                        md=8,
                    ),
                ],
                className="g-3",
            ),
            fallback_interval(TICK, REFRESH_MS),
            dcc.Store(id=CHANGED, data=0),
            dcc.Store(id=ROW_CHANGED, data=0),
            dcc.Store(id=CONTROL_CHANGED, data=0),
        ],
        className="trading-page",
    )


# -- callbacks -------------------------------------------------------------------------------------------


def _refused(error: RiskRejected) -> Any:
    return html.Div(
        [html.Strong(f"Refused by {error.check}"), html.Span(f": {error.message}")],
        className="text-danger trading-refused",
    )


def register(app: Dash, services: Services) -> None:
    def trading() -> TradingService:
        assert services.trading is not None
        return services.trading

    @app.callback(
        Output(PREVIEW, "children"),
        Output(TICKET_MESSAGE, "children"),
        Output(CONFIRM_BUTTON, "disabled"),
        Output(TICKET_STORE, "data"),
        Output(CHANGED, "data"),
        Input(PREVIEW_BUTTON, "n_clicks"),
        Input(CONFIRM_BUTTON, "n_clicks"),
        State(SYMBOL, "value"),
        State(SIDE, "value"),
        State(TYPE, "value"),
        State(SIZE_MODE, "value"),
        State(SIZE, "value"),
        State(PRICE, "value"),
        State(STOP_PRICE, "value"),
        State(STOP_LOSS, "value"),
        State(TAKE_PROFIT, "value"),
        State(TRAILING, "value"),
        State(TICKET_STORE, "data"),
        State(CHANGED, "data"),
        prevent_initial_call=True,
    )
    def _ticket(_preview: int | None, _confirm: int | None, *values: Any) -> tuple[Any, Any, bool, Any, Any]:
        *form, previewed, changed = values
        if ctx.triggered_id == CONFIRM_BUTTON and previewed:
            try:
                order = trading().place(previewed)
            except RiskRejected as error:
                return no_update, _refused(error), True, None, no_update
            text = f"Order {order.status.value.lower()}: {order.side.value} {order.quantity:g} {order.symbol}"
            return (
                no_update,
                html.Div(text, className="text-success trading-placed"),
                True,
                None,
                (changed or 0) + 1,
            )
        ticket = ticket_from_form(dict(zip(FORM_FIELDS, form, strict=True)))
        try:
            preview = trading().preview(ticket).to_dict()
        except RiskRejected as error:
            return None, _refused(error), True, None, no_update
        if not preview["ok"]:
            error = RiskRejected(preview["check"], preview["error"])
            return render_preview(preview), _refused(error), True, None, no_update
        ready = html.Div("Checks pass: confirm to send.", className="text-muted")
        return render_preview(preview), ready, False, ticket, no_update

    @app.callback(
        Output(ROW_CHANGED, "data"),
        Output(CONTROL_MESSAGE, "children", allow_duplicate=True),
        Input({"type": CANCEL, "index": ALL}, "n_clicks"),
        Input({"type": CLOSE, "index": ALL}, "n_clicks"),
        State(ROW_CHANGED, "data"),
        prevent_initial_call=True,
    )
    def _row_action(_cancels: list[Any], _closes: list[Any], changed: int | None) -> tuple[Any, Any]:
        if not ctx.triggered or not ctx.triggered[0]["value"] or not isinstance(ctx.triggered_id, dict):
            return no_update, no_update  # the buttons were (re)drawn, not clicked
        target = ctx.triggered_id
        try:
            if target["type"] == CANCEL:
                order = trading().cancel(str(target["index"]))
                message = f"Canceled {order.symbol} {order.role.value.replace('_', ' ')}"
            else:
                order = trading().close_position(str(target["index"]))
                message = f"Closing {order.symbol}: sell {order.quantity:g} ({order.status.value.lower()})"
        except RiskRejected as error:
            return no_update, _refused(error)
        return (changed or 0) + 1, html.Span(message, className="text-muted")

    @app.callback(
        Output(CONTROL_CHANGED, "data"),
        Output(CONTROL_MESSAGE, "children"),
        Input(PAUSE, "submit_n_clicks"),
        Input(RESUME, "submit_n_clicks"),
        Input(KILL, "submit_n_clicks"),
        State(FLATTEN, "value"),
        State(CONTROL_CHANGED, "data"),
        prevent_initial_call=True,
    )
    def _control(_pause: Any, _resume: Any, _kill: Any, flatten: bool | None, changed: int | None) -> Any:
        service = trading()
        if ctx.triggered_id == PAUSE:
            service.pause()
            message = "Paused: exits only."
        elif ctx.triggered_id == RESUME:
            service.resume()
            message = "Trading resumed."
        else:
            result = service.kill(flatten=bool(flatten))
            message = f"Kill switch: {len(result['canceled'])} order(s) canceled"
            if flatten:
                message += f", {len(result['closed'])} position(s) closed"
            if result["errors"]:
                message += f"; problems: {'; '.join(result['errors'])}"
        return (changed or 0) + 1, html.Span(message, className="text-muted")

    @app.callback(
        Output(ACCOUNT, "children"),
        Output(POSITIONS, "children"),
        Output(ORDERS, "children"),
        Output(FILLS, "children"),
        Output(EQUITY, "figure"),
        Output(PERFORMANCE, "children"),
        Input(TICK, "n_intervals"),
        Input(CHANGED, "data"),
        Input(ROW_CHANGED, "data"),
        Input(CONTROL_CHANGED, "data"),
    )
    def _refresh(*_: Any) -> tuple[Any, ...]:
        props = trading_props(trading())
        return (
            props[ACCOUNT]["children"],
            props[POSITIONS]["children"],
            props[ORDERS]["children"],
            props[FILLS]["children"],
            props[EQUITY]["figure"],
            props[PERFORMANCE]["children"],
        )


PAGE = Page(path="/trading", label="Trading", layout=layout, register=register)
