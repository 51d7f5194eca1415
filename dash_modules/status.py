"""The status strip: simulated-market badge, connection state and headline metrics of the stream."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, html

from dash_modules import ids
from dash_modules.figures import DOWN_COLOR, UP_COLOR
from thebot.market.models import CandleSnapshot
from thebot.market.timeframe import Timeframe
from thebot.services import Services

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


def connection_props(services: Services) -> dict[str, dict[str, Any]]:
    """The navbar's connection badge and backfill line (rendered on load, pushed on bus events)."""
    report = services.health()
    status = report["status"]
    websocket = report["websocket"]
    detail = (
        f"source {report['source']}; reconnects {websocket.get('reconnects', 0)}; "
        f"invalid messages {websocket.get('invalid_messages', 0)}"
    )
    if websocket.get("last_error"):
        detail += f"; last error: {websocket['last_error']}"
    return {
        ids.CONNECTION_STATUS: {
            "children": _STATUS_LABEL[status],
            "color": _STATUS_COLOR[status],
            "title": detail,
        },
        ids.BACKFILL_STATUS: {"children": backfill_text(report.get("backfill") or {})},
    }


def metrics_props(
    services: Services, symbol: str, timeframe: Timeframe, shown: CandleSnapshot | None = None
) -> dict[str, dict[str, Any]]:
    """The metrics strip of one stream. "Last update" carries the age in ms when computed; the page's
    script counts it up every second, so no server call is needed to keep it honest."""
    if shown is None:
        try:
            shown = services.market.datastream.snapshot(
                symbol, timeframe, limit=services.settings.ui.chart_candles
            )
        except KeyError:
            return _metrics_empty(f"{symbol} {timeframe.value} is not streamed")
    if len(shown) == 0:
        return _metrics_empty("", updated="waiting…")
    last = float(shown.close[-1])
    first_open = float(shown.open[0])
    change = (last - first_open) / first_open * 100 if first_open else 0.0
    color = {"color": UP_COLOR if change >= 0 else DOWN_COLOR}
    stream = services.market.datastream.stream_status(symbol, timeframe)
    age_ms = stream.last_update_age_ms if stream is not None else -1
    warning = ""
    if stream is not None and stream.stale and age_ms >= 0:
        warning = f"⚠ {symbol} {timeframe.value} is stale: no update for {age_ms / 1000:.1f} s"
    return {
        ids.METRIC_LAST_PRICE: {"children": format_price(last), "style": color},
        ids.METRIC_CHANGE: {"children": f"{change:+.2f}%", "style": color},
        ids.METRIC_RANGE: {
            "children": f"{format_price(float(shown.high.max()))} / {format_price(float(shown.low.min()))}"
        },
        ids.METRIC_UPDATED: {
            "children": f"{age_ms / 1000:.1f} s ago" if age_ms >= 0 else "—",
            "data-age-ms": age_ms,
        },
        ids.STREAM_WARNING: {"children": warning},
    }


def _metrics_empty(warning: str, updated: str = "—") -> dict[str, dict[str, Any]]:
    return {
        ids.METRIC_LAST_PRICE: {"children": "—", "style": {}},
        ids.METRIC_CHANGE: {"children": "—", "style": {}},
        ids.METRIC_RANGE: {"children": "—"},
        ids.METRIC_UPDATED: {"children": updated, "data-age-ms": -1},
        ids.STREAM_WARNING: {"children": warning},
    }


_METRIC_OUTPUTS = (
    (ids.METRIC_LAST_PRICE, "children"),
    (ids.METRIC_LAST_PRICE, "style"),
    (ids.METRIC_CHANGE, "children"),
    (ids.METRIC_CHANGE, "style"),
    (ids.METRIC_RANGE, "children"),
    (ids.METRIC_UPDATED, "children"),
    (ids.METRIC_UPDATED, "data-age-ms"),
    (ids.STREAM_WARNING, "children"),
)


def register_callbacks(app: Dash, services: Services) -> None:
    """First render only: after it, the push channel (dash_modules/push.py) sends these props."""

    @app.callback(
        Output(ids.CONNECTION_STATUS, "children"),
        Output(ids.CONNECTION_STATUS, "color"),
        Output(ids.CONNECTION_STATUS, "title"),
        Output(ids.BACKFILL_STATUS, "children"),
        Input(ids.URL, "pathname"),
    )
    def _connection(_path: str | None) -> tuple[Any, ...]:
        props = connection_props(services)
        badge = props[ids.CONNECTION_STATUS]
        return badge["children"], badge["color"], badge["title"], props[ids.BACKFILL_STATUS]["children"]

    @app.callback(
        *(Output(component, prop) for component, prop in _METRIC_OUTPUTS),
        Input(ids.SYMBOL_SELECT, "value"),
        Input(ids.TIMEFRAME_SELECT, "value"),
    )
    def _metrics(symbol: str, timeframe_value: str) -> tuple[Any, ...]:
        props = metrics_props(services, symbol, Timeframe(timeframe_value))
        return tuple(props[component][prop] for component, prop in _METRIC_OUTPUTS)
