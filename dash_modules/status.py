"""The status strip: simulated-market badge, connection state and headline metrics of the stream."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, dcc, html

from dash_modules import ids
from dash_modules.figures import DOWN_COLOR, UP_COLOR
from thebot.market.timeframe import Timeframe
from thebot.services import Services

STATUS_INTERVAL_MS = 1000

_STATUS_LABEL = {"ok": "Live", "degraded": "Degraded", "down": "Disconnected"}
_STATUS_COLOR = {"ok": "success", "degraded": "warning", "down": "danger"}


def navbar_badges(services: Services) -> list[Any]:
    badges: list[Any] = []
    if services.simulated:
        badges.append(
            dbc.Badge(
                "Simulated market",
                id=ids.SIM_BADGE,
                color="warning",
                text_color="dark",
                className="me-2 sim-badge",
                title="Prices come from thebot's built-in simulated venue, not from Binance",
            )
        )
    badges.append(html.Span(id=ids.BACKFILL_STATUS, className="backfill-status me-3"))
    badges.append(dbc.Badge("Connecting…", id=ids.CONNECTION_STATUS, color="secondary", className="me-2"))
    badges.append(dcc.Interval(id=ids.STATUS_TICK, interval=STATUS_INTERVAL_MS, n_intervals=0))
    return badges


def _metric(label: str, value_id: str) -> Any:
    return html.Div(
        [html.Div(label, className="metric-label"), html.Div("—", id=value_id, className="metric-value")],
        className="metric",
    )


def metrics_strip() -> Any:
    return html.Div(
        [
            _metric("Last price", ids.METRIC_LAST_PRICE),
            _metric("Change (window)", ids.METRIC_CHANGE),
            _metric("High / low (window)", ids.METRIC_RANGE),
            _metric("Last update", ids.METRIC_UPDATED),
            html.Div(id=ids.STREAM_WARNING, className="stream-warning"),
        ],
        className="metrics-strip",
    )


def format_price(value: float) -> str:
    if value >= 1000:
        return f"{value:,.2f}"
    if value >= 1:
        return f"{value:,.4f}"
    return f"{value:.6g}"


def backfill_text(backfill: dict[str, Any]) -> str:
    """One calm line while history is being fetched; nothing once it is done."""
    if not backfill.get("running"):
        error = backfill.get("last_error")
        return f"Backfill failed: {error}" if error and backfill.get("jobs_failed") else ""
    current = backfill.get("current") or "history"
    queued = int(backfill.get("queued", 0))
    more = f" (+{queued} queued)" if queued else ""
    return f"Backfilling {current}{more} · {int(backfill.get('candles', 0)):,} candles so far"


def register_callbacks(app: Dash, services: Services) -> None:
    window = services.settings.ui.chart_candles

    @app.callback(
        Output(ids.CONNECTION_STATUS, "children"),
        Output(ids.CONNECTION_STATUS, "color"),
        Output(ids.CONNECTION_STATUS, "title"),
        Output(ids.BACKFILL_STATUS, "children"),
        Input(ids.STATUS_TICK, "n_intervals"),
    )
    def _connection(_n: int) -> tuple[str, str, str, str]:
        report = services.health()
        status = report["status"]
        websocket = report["websocket"]
        detail = (
            f"source {report['source']}; reconnects {websocket.get('reconnects', 0)}; "
            f"messages {websocket.get('messages', 0)}; invalid {websocket.get('invalid_messages', 0)}"
        )
        if websocket.get("last_error"):
            detail += f"; last error: {websocket['last_error']}"
        backfill = backfill_text(report.get("backfill") or {})
        return _STATUS_LABEL[status], _STATUS_COLOR[status], detail, backfill

    @app.callback(
        Output(ids.METRIC_LAST_PRICE, "children"),
        Output(ids.METRIC_LAST_PRICE, "style"),
        Output(ids.METRIC_CHANGE, "children"),
        Output(ids.METRIC_CHANGE, "style"),
        Output(ids.METRIC_RANGE, "children"),
        Output(ids.METRIC_UPDATED, "children"),
        Output(ids.STREAM_WARNING, "children"),
        Input(ids.STATUS_TICK, "n_intervals"),
        Input(ids.SYMBOL_SELECT, "value"),
        Input(ids.TIMEFRAME_SELECT, "value"),
    )
    def _metrics(_n: int, symbol: str, timeframe_value: str) -> tuple[Any, ...]:
        timeframe = Timeframe(timeframe_value)
        try:
            snapshot = services.market.datastream.snapshot(symbol, timeframe, limit=window)
        except KeyError:
            return ("—", {}, "—", {}, "—", "—", f"{symbol} {timeframe_value} is not streamed")
        if len(snapshot) == 0:
            return ("—", {}, "—", {}, "—", "waiting…", "")
        last = float(snapshot.close[-1])
        first_open = float(snapshot.open[0])
        change = (last - first_open) / first_open * 100 if first_open else 0.0
        color = {"color": UP_COLOR if change >= 0 else DOWN_COLOR}
        stream = next(
            (
                status
                for status in services.market.datastream.status()
                if status.key.symbol == symbol and status.key.timeframe is timeframe
            ),
            None,
        )
        age = "—"
        warning = ""
        if stream is not None and stream.last_update_age_ms >= 0:
            age = f"{stream.last_update_age_ms / 1000:.1f} s ago"
            if stream.stale:
                warning = f"⚠ {symbol} {timeframe_value} is stale: no update for {age}"
        return (
            format_price(last),
            color,
            f"{change:+.2f}%",
            color,
            f"{format_price(float(snapshot.high.max()))} / {format_price(float(snapshot.low.min()))}",
            age,
            warning,
        )
