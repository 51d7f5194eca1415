"""The status strip: simulated-market badge, connection state and headline metrics of the stream."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, html

from dash_modules import ids
from dash_modules.indicators_panel import CONFLUENCE_BADGE
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


def _metric(label: str, value_id: str, title: str = "") -> Any:
    return html.Div(
        [html.Div(label, className="metric-label"), html.Div("—", id=value_id, className="metric-value")],
        className="metric",
        title=title,
    )


def metrics_strip() -> Any:
    """The chart's badges: price and the venue's 24 h ticker, the stream's signals and grade, and how
    healthy and how far behind the venue its data is. Rendered on navigation, then pushed."""
    return html.Div(
        [
            _metric("Last price", ids.METRIC_LAST_PRICE),
            _metric("24 h change", ids.METRIC_CHANGE),
            _metric("24 h high / low", ids.METRIC_RANGE),
            _metric("24 h volume", ids.METRIC_VOLUME, "Quote volume over 24 h (USDT for USDT pairs)"),
            _metric("Signals 24 h", ids.METRIC_SIGNALS, "Signals of this stream on the last 24 h of candles"),
            html.Div(
                [html.Div("Grade", className="metric-label"), html.Div(id=CONFLUENCE_BADGE)],
                className="metric metric-grade",
            ),
            _metric("Health", ids.METRIC_HEALTH),
            _metric("Lag", ids.METRIC_LAG, LAG_TITLE),
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


def format_compact(value: float) -> str:
    """1234567 → 1.23M: a volume badge that fits a phone."""
    for size, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.2f}{suffix}"
    return f"{value:.2f}"


LAG_TITLE = (
    "The venue's time when the stream's newest frame arrived minus the frame's event time (E), in the "
    "venue's milliseconds (its clock sampled with GET /api/v3/time). ×N: the venue's clock runs N times "
    "as fast as the wall's (the simulated venue's --speed); divide by N for wall-clock milliseconds."
)


def format_lag(lag_ms: int | None, rate: float) -> str:
    """The lag badge: venue milliseconds, with the venue clock's rate when it is not the wall's (the
    simulated venue at `--speed`); `LAG_TITLE` explains it. Pushed with every update, so kept short."""
    if lag_ms is None:
        return "—"
    text = f"{lag_ms:,} ms" if abs(lag_ms) < 10_000 else f"{lag_ms / 1000:,.1f} s"
    if abs(rate - 1.0) > 0.05 and rate > 0:
        text += f" ×{rate:.0f}" if rate >= 2 else f" ×{rate:.2f}"
    return text


def health_of(connected: bool, age_ms: int, stale: bool) -> tuple[str, str]:
    """(label, css class) of the stream's health badge."""
    if not connected:
        return "Disconnected", "health-down"
    if age_ms < 0:
        return "Waiting", "health-waiting"
    if stale:
        return "Stale", "health-stale"
    return "Live", "health-live"


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


def _signed_class(value: float | None) -> str:
    if value is None:
        return "metric-value"
    return "metric-value text-up" if value >= 0 else "metric-value text-down"


def metrics_props(
    services: Services, symbol: str, timeframe: Timeframe, shown: CandleSnapshot | None = None
) -> dict[str, dict[str, Any]]:
    """The metrics badges of one stream (pushed with every chart update, so kept to text and a class).
    Price, 24 h change, range and volume come from the venue's 24 h ticker (the candles' window when no
    ticker has arrived yet); "Last update" carries the age in ms and the page's script counts it up."""
    market = services.market
    if shown is None:
        try:
            shown = market.datastream.snapshot(symbol, timeframe, limit=services.settings.ui.chart_candles)
        except KeyError:
            return _metrics_empty(f"{symbol} {timeframe.value} is not streamed")
    if len(shown) == 0:
        return _metrics_empty("", updated="waiting…")
    ticker = market.ticker(symbol)
    if ticker is not None:
        last, change = ticker.last_price, ticker.price_change_percent
        high, low, volume = ticker.high_price, ticker.low_price, format_compact(ticker.quote_volume)
    else:
        last = float(shown.close[-1])
        first_open = float(shown.open[0])
        change = (last - first_open) / first_open * 100 if first_open else 0.0
        high, low, volume = float(shown.high.max()), float(shown.low.min()), "—"
    stream = market.datastream.stream_status(symbol, timeframe)
    age_ms = stream.last_update_age_ms if stream is not None else -1
    stale = stream is not None and stream.stale
    warning = ""
    if stale and age_ms >= 0:
        warning = f"⚠ {symbol} {timeframe.value} is stale: no update for {age_ms / 1000:.1f} s"
    health, health_class = health_of(market.websocket.connected, age_ms, stale)
    lag = format_lag(market.event_lag_ms(symbol, timeframe), market.clock.rate())
    signed = _signed_class(change)
    return {
        ids.METRIC_LAST_PRICE: {"children": format_price(last), "className": signed},
        ids.METRIC_CHANGE: {"children": f"{change:+.2f}%", "className": signed},
        ids.METRIC_RANGE: {"children": f"{format_price(high)} / {format_price(low)}"},
        ids.METRIC_VOLUME: {"children": volume},
        ids.METRIC_HEALTH: {"children": health, "className": f"metric-value {health_class}"},
        ids.METRIC_LAG: {"children": lag},
        ids.METRIC_UPDATED: {
            "children": f"{age_ms / 1000:.1f} s ago" if age_ms >= 0 else "—",
            "data-age-ms": age_ms,
        },
        ids.STREAM_WARNING: {"children": warning},
    }


def _metrics_empty(warning: str, updated: str = "—") -> dict[str, dict[str, Any]]:
    return {
        ids.METRIC_LAST_PRICE: {"children": "—", "className": "metric-value"},
        ids.METRIC_CHANGE: {"children": "—", "className": "metric-value"},
        ids.METRIC_RANGE: {"children": "—"},
        ids.METRIC_VOLUME: {"children": "—"},
        ids.METRIC_HEALTH: {"children": "—", "className": "metric-value"},
        ids.METRIC_LAG: {"children": "—"},
        ids.METRIC_UPDATED: {"children": updated, "data-age-ms": -1},
        ids.STREAM_WARNING: {"children": warning},
    }


_METRIC_OUTPUTS = (
    (ids.METRIC_LAST_PRICE, "children"),
    (ids.METRIC_LAST_PRICE, "className"),
    (ids.METRIC_CHANGE, "children"),
    (ids.METRIC_CHANGE, "className"),
    (ids.METRIC_RANGE, "children"),
    (ids.METRIC_VOLUME, "children"),
    (ids.METRIC_HEALTH, "children"),
    (ids.METRIC_HEALTH, "className"),
    (ids.METRIC_LAG, "children"),
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
