"""Alerts in the browser: the global toast layer (every page) and the alert centre at /alerts.

The push channel sets `alert-news` on every `AlertFired` (a hub topic, `news_props`); the page's toast
callback then asks `alert_manager.since(cursor)` (its own cursor: a page opened later does not replay
old alerts) and builds the toasts with `toast_payload`. Alerts fired while a page's push stream was
reconnecting arrive when it reconnects (`sync_props`); the callback answers `no_update` when nothing is new.
Sound is played by a clientside callback that catches Chromium's autoplay refusal and shows "sound
blocked" instead of failing silently; the choice to enable sound and the muted types are remembered in
local storage."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode

import dash_bootstrap_components as dbc
from dash import ALL, Dash, Input, Output, State, callback_context, dcc, html, no_update

from dash_modules import ids
from dash_modules.evidence_view import signal_alert_evidence, warm_evidence
from dash_modules.pages import Page
from thebot.alerts.coalesce import ToastGroup, coalesce
from thebot.alerts.manager import AlertManager
from thebot.alerts.models import (
    CHANNELS,
    Alert,
    AlertStatus,
    AlertType,
    Condition,
    RuleKind,
    SignalCondition,
    Trigger,
)
from thebot.alerts.rules import RuleError
from thebot.alerts.settings import AlertSettings
from thebot.events import now_ms
from thebot.market.timeframe import Timeframe

if TYPE_CHECKING:
    from thebot.services import Services

# Fallback only: the push channel brings new alerts at once.
MAX_TOASTS = 6
HISTORY_ROWS = 200
SOUND_TYPES = [alert_type.value.lower() for alert_type in AlertType]
_TOAST_COLOR = {
    AlertType.BUY: "buy",
    AlertType.SELL: "sell",
    AlertType.WARNING: "warning",
    AlertType.INFO: "info",
}
# The most urgent sound wins when one update carries several types.
_SOUND_ORDER = (AlertType.WARNING, AlertType.SELL, AlertType.BUY, AlertType.INFO)


# -- toasts ----------------------------------------------------------------------------------------------


def _time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _toast(group: ToastGroup, settings: AlertSettings) -> Any:
    alert_type = group.alert_type
    newest = group.alerts[-1]
    if group.summary:
        header = f"{len(group.alerts)} alerts"
        body: Any = [
            html.Div(
                f"{len(group.alerts)} alerts within {settings.coalesce_window_seconds:g} s",
                className="fw-bold",
            ),
            html.Ul([html.Li(alert.title) for alert in group.alerts[:5]], className="mb-1 ps-3"),
            dcc.Link("Open the alert centre", href="/alerts"),
        ]
        href = "/alerts"
    else:
        header = newest.title
        href = f"/alerts?alert={newest.id}"
        body = dcc.Link(newest.message, href=href, className="alert-toast-link")
    seconds = settings.toast_seconds(alert_type.value)
    return dbc.Toast(
        body,
        id=f"alert-toast-{newest.id}",
        header=header,
        is_open=True,
        dismissable=True,
        duration=int(seconds * 1000) if seconds > 0 else None,
        class_name=f"alert-toast alert-toast-{_TOAST_COLOR[alert_type]}",
        header_class_name="alert-toast-header",
    )


def toast_payload(alerts: Sequence[Alert], settings: AlertSettings) -> dict[str, Any]:
    """New alerts → {"toasts": [dbc.Toast], "sound": "buy"|...|None, "cursor": newest id}.

    Alerts whose type is silent or off carry no "toast"/"sound" channel and are skipped here; a burst
    is one summary toast with one sound."""
    shown = [alert for alert in alerts if "toast" in alert.channels]
    window_ms = int(settings.coalesce_window_seconds * 1000)
    groups = coalesce(shown, settings.coalesce_count, window_ms)
    sounding = {alert.alert_type for alert in alerts if "sound" in alert.channels}
    sound = next((kind.value.lower() for kind in _SOUND_ORDER if kind in sounding), None)
    return {
        "toasts": [_toast(group, settings) for group in groups],
        "sound": sound,
        "cursor": max((alert.id for alert in alerts), default=None),
    }


def _is_open(child: Any) -> bool:
    if isinstance(child, dict):
        return bool(child.get("props", {}).get("is_open", True))
    return bool(getattr(child, "is_open", True))


def toast_update(
    manager: AlertManager, settings: AlertSettings, cursor: int | None, children: list[Any] | None
) -> tuple[Any, Any, Any]:
    """(toast children, new cursor, sound to play); `no_update` for each when nothing is new.

    The first call of a page only learns the cursor, so a reload does not replay old toasts."""
    if cursor is None:
        return no_update, manager.last_id(), no_update
    alerts = manager.since(cursor)
    if not alerts:
        return no_update, no_update, no_update
    payload = toast_payload(alerts, settings)
    kept = [child for child in (children or []) if _is_open(child)]
    toasts = [*kept, *payload["toasts"]][-MAX_TOASTS:]
    sound = {"type": payload["sound"], "seq": payload["cursor"]} if payload["sound"] else no_update
    return (
        (toasts if payload["toasts"] or len(kept) != len(children or []) else no_update),
        payload["cursor"],
        sound,
    )


def news_props(manager: AlertManager) -> dict[str, dict[str, Any]]:
    """The push topic on `AlertFired`: tells every page that something is new (the page then reads what
    is new to it, by its own cursor)."""
    return {ids.ALERT_NEWS: {"title": str(manager.last_id())}}


def sync_props(manager: AlertManager) -> dict[str, dict[str, Any]]:
    """Sent when a page's push stream (re)connects: a page that already has a cursor catches up with the
    alerts fired while its stream was down; a page that has none only learns where it stands."""
    return {ids.ALERT_NEWS: {"title": f"sync:{manager.last_id()}"}}


def toast_layer(services: Services) -> list[Any]:
    """Goes into the page frame: toasts, stores, the sound control and the audio elements."""
    return [
        html.Div([], id=ids.ALERT_TOASTS, className="alert-toasts"),
        # A DOM element, not a Store: the push script only sets props of elements present in the page.
        html.Div(id=ids.ALERT_NEWS, hidden=True, title=""),
        dcc.Store(id=ids.ALERT_CURSOR, storage_type="memory", data=None),
        dcc.Store(id=ids.ALERT_PLAY, storage_type="memory", data=None),
        dcc.Store(id=ids.ALERT_SOUND_ENABLED, storage_type="local", data=False),
        dcc.Store(id=ids.ALERT_SOUND_MUTED, storage_type="local", data=[]),
        dcc.Store(id=ids.ALERT_SOUND_STATE, storage_type="memory", data={"status": "idle"}),
        html.Div(
            [
                html.Button(
                    "Enable sound", id=ids.ALERT_SOUND_BUTTON, n_clicks=0, className="alert-sound-button"
                ),
                html.Span("", id=ids.ALERT_SOUND_STATUS, className="alert-sound-status"),
            ],
            className="alert-sound-control",
        ),
        *[
            html.Audio(id=f"{ids.ALERT_AUDIO_PREFIX}{name}", src=f"/assets/sounds/{name}.wav", preload="auto")
            for name in SOUND_TYPES
        ],
    ]


_PLAY_JS = """
function(play, enabled, muted) {
    const dc = window.dash_clientside;
    if (!play || !play.type) { return dc.no_update; }
    const type = play.type, seq = play.seq;
    const mutedTypes = (muted || []).map((item) => String(item).toLowerCase());
    if (!enabled) { return {status: 'off', type: type, seq: seq}; }
    if (mutedTypes.includes('all') || mutedTypes.includes(type)) {
        return {status: 'muted', type: type, seq: seq};
    }
    const audio = document.getElementById('AUDIO_PREFIX' + type);
    if (!audio) { return dc.no_update; }
    audio.currentTime = 0;
    audio.play().then(
        () => dc.set_props('SOUND_STATE', {data: {status: 'played', type: type, seq: seq}}),
        (error) => dc.set_props('SOUND_STATE', {
            data: {status: 'blocked', type: type, seq: seq, reason: String(error && error.name)}})
    );
    // The outcome arrives through set_props; returning a value here would land after it and hide it.
    return dc.no_update;
}
""".replace("AUDIO_PREFIX", ids.ALERT_AUDIO_PREFIX).replace("SOUND_STATE", ids.ALERT_SOUND_STATE)

_ENABLE_JS = """
function(clicks, enabled, state) {
    const dc = window.dash_clientside;
    if (!clicks) { return [dc.no_update, dc.no_update]; }
    if (enabled && state && state.status === 'blocked') {
        // This click is the interaction Chromium waited for: sound can play from now on.
        return [true, {status: 'ready'}];
    }
    return [!enabled, {status: enabled ? 'off' : 'ready'}];
}
"""

_STATUS_JS = """
function(enabled, state) {
    const blocked = enabled && state && state.status === 'blocked';
    if (blocked) { return ['Sound blocked: click to allow', 'Sound blocked by the browser',
                           'alert-sound-button alert-sound-blocked']; }
    if (enabled) { return ['Sound on', '', 'alert-sound-button alert-sound-on']; }
    return ['Enable sound', '', 'alert-sound-button'];
}
"""


def register_toasts(app: Dash, services: Services) -> None:
    manager = services.alerts
    settings = services.settings.alerts

    @app.callback(
        Output(ids.ALERT_TOASTS, "children"),
        Output(ids.ALERT_CURSOR, "data"),
        Output(ids.ALERT_PLAY, "data"),
        Input(ids.ALERT_NEWS, "title"),
        State(ids.ALERT_CURSOR, "data"),
        State(ids.ALERT_TOASTS, "children"),
    )
    def _toasts(news: str | None, cursor: int | None, children: list[Any] | None) -> tuple[Any, Any, Any]:
        if manager is None:
            return no_update, no_update, no_update
        if cursor is None and news and not news.startswith("sync:"):
            cursor = int(news) - 1  # an alert fired before the page's first look: show it
        return toast_update(manager, settings, cursor, children)

    app.clientside_callback(
        _PLAY_JS,
        Output(ids.ALERT_SOUND_STATE, "data"),
        Input(ids.ALERT_PLAY, "data"),
        State(ids.ALERT_SOUND_ENABLED, "data"),
        State(ids.ALERT_SOUND_MUTED, "data"),
    )
    app.clientside_callback(
        _ENABLE_JS,
        Output(ids.ALERT_SOUND_ENABLED, "data"),
        Output(ids.ALERT_SOUND_STATE, "data", allow_duplicate=True),
        Input(ids.ALERT_SOUND_BUTTON, "n_clicks"),
        State(ids.ALERT_SOUND_ENABLED, "data"),
        State(ids.ALERT_SOUND_STATE, "data"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        _STATUS_JS,
        Output(ids.ALERT_SOUND_BUTTON, "children"),
        Output(ids.ALERT_SOUND_STATUS, "children"),
        Output(ids.ALERT_SOUND_BUTTON, "className"),
        Input(ids.ALERT_SOUND_ENABLED, "data"),
        Input(ids.ALERT_SOUND_STATE, "data"),
    )


# -- "alert on this price" from the chart ----------------------------------------------------------------


def alert_link(click_data: dict[str, Any] | None, symbol: str, timeframe: str) -> str | None:
    """A chart click → the alert centre with a price rule prefilled at the clicked level.

    For the lead to wire to the price chart's `clickData` (e.g. a `dcc.Location` href): a candlestick
    point has no cursor `y`, so its close is taken."""
    points = (click_data or {}).get("points") or []
    if not points:
        return None
    point = points[0]
    price = point.get("y", point.get("close"))
    if not isinstance(price, int | float) or not math.isfinite(price):
        return None
    return "/alerts?" + urlencode({"symbol": symbol, "timeframe": timeframe, "price": f"{price:.8g}"})


# -- the rule form -----------------------------------------------------------------------------------------

_PRICE_CONDITIONS = [{"label": c.value.replace("_", " "), "value": c.value} for c in Condition]
_SIGNAL_CONDITIONS = [
    {"label": "buy signal", "value": SignalCondition.BUY.value},
    {"label": "sell signal", "value": SignalCondition.SELL.value},
    {"label": "any signal", "value": SignalCondition.ANY.value},
    {"label": "confluence grade becomes…", "value": SignalCondition.GRADE.value},
]
FORM_FIELDS = (
    ids.ALERT_FORM_KIND,
    ids.ALERT_FORM_SYMBOL,
    ids.ALERT_FORM_TIMEFRAME,
    ids.ALERT_FORM_CONDITION,
    ids.ALERT_FORM_VALUE,
    ids.ALERT_FORM_VALUE2,
    ids.ALERT_FORM_INDICATOR,
    ids.ALERT_FORM_PARAMS,
    ids.ALERT_FORM_OUTPUT,
    ids.ALERT_FORM_OUTPUT2,
    ids.ALERT_FORM_BARS,
    ids.ALERT_FORM_TRIGGER,
    ids.ALERT_FORM_COOLDOWN,
    ids.ALERT_FORM_HYSTERESIS,
    ids.ALERT_FORM_EXPIRES,
    ids.ALERT_FORM_TYPE,
    ids.ALERT_FORM_MESSAGE,
    ids.ALERT_FORM_NOTIFY,
)
DEFAULT_NOTIFY = ["toast", "sound"]


def form_body(values: Sequence[Any], now: int) -> dict[str, Any]:
    """The form's values (in `FORM_FIELDS` order) → the API's rule JSON; raises `RuleError`."""
    fields = dict(zip(FORM_FIELDS, values, strict=True))
    kind = fields[ids.ALERT_FORM_KIND] or "price"
    body: dict[str, Any] = {
        "kind": kind,
        "symbol": fields[ids.ALERT_FORM_SYMBOL],
        "timeframe": fields[ids.ALERT_FORM_TIMEFRAME],
        "condition": fields[ids.ALERT_FORM_CONDITION],
        "trigger": fields[ids.ALERT_FORM_TRIGGER] or Trigger.ONCE_PER_BAR_CLOSE.value,
        "notify": list(fields[ids.ALERT_FORM_NOTIFY] or []),
    }
    for field, key in (
        (ids.ALERT_FORM_VALUE, "value"),
        (ids.ALERT_FORM_VALUE2, "value2"),
        (ids.ALERT_FORM_COOLDOWN, "cooldown_seconds"),
        (ids.ALERT_FORM_HYSTERESIS, "hysteresis"),
    ):
        if fields[field] not in (None, ""):
            body[key] = fields[field]
    if fields[ids.ALERT_FORM_BARS] not in (None, ""):
        body["bars"] = int(fields[ids.ALERT_FORM_BARS])
    if kind == "indicator":
        body["indicator"] = fields[ids.ALERT_FORM_INDICATOR] or ""
        raw = (fields[ids.ALERT_FORM_PARAMS] or "").strip()
        if raw:
            try:
                body["params"] = json.loads(raw)
            except ValueError:
                raise RuleError("params", 'must be JSON such as {"timeperiod": 14}') from None
        for field, key in ((ids.ALERT_FORM_OUTPUT, "output"), (ids.ALERT_FORM_OUTPUT2, "output2")):
            if fields[field]:
                body[key] = fields[field]
    if kind == "signal" and fields[ids.ALERT_FORM_CONDITION] == SignalCondition.GRADE:
        body["output"] = fields[ids.ALERT_FORM_OUTPUT] or ""
    if kind == "signal":
        body.pop("value2", None)
    expires = fields[ids.ALERT_FORM_EXPIRES]
    if expires not in (None, ""):
        body["expires_at"] = now + int(float(expires) * 60_000)
    if fields[ids.ALERT_FORM_TYPE]:
        body["type"] = fields[ids.ALERT_FORM_TYPE]
    if fields[ids.ALERT_FORM_MESSAGE]:
        body["message"] = fields[ids.ALERT_FORM_MESSAGE]
    return body


def form_values(rule: dict[str, Any]) -> list[Any]:
    """A rule (API shape) → the form's values, for editing."""
    params = rule.get("params") or {}
    return [
        rule.get("kind", "price"),
        rule.get("symbol"),
        rule.get("timeframe"),
        rule.get("condition"),
        rule.get("value"),
        rule.get("value2"),
        rule.get("indicator") or "",
        json.dumps(params) if params else "",
        rule.get("output") or "",
        rule.get("output2") or "",
        rule.get("bars", 1),
        rule.get("trigger"),
        rule.get("cooldown_seconds") or None,
        rule.get("hysteresis") or None,
        None,
        rule.get("type"),
        rule.get("message") or "",
        rule.get("notify", DEFAULT_NOTIFY),
    ]


def prefill(search: str | None, services: Services) -> list[Any] | None:
    """`?symbol=&timeframe=&price=` (from the chart) → a price-crossing rule in the form."""
    query = parse_qs((search or "").lstrip("?"))
    price = (query.get("price") or [None])[0]
    if price is None:
        return None
    try:
        level = float(price)
    except ValueError:
        return None
    settings = services.settings
    symbol = (query.get("symbol") or [settings.ui.default_symbol])[0].upper()
    timeframe = (query.get("timeframe") or [settings.ui.default_timeframe.value])[0]
    return form_values(
        {
            "kind": "price",
            "symbol": symbol,
            "timeframe": timeframe,
            "condition": Condition.CROSSING.value,
            "value": level,
            "trigger": Trigger.ONCE_PER_BAR_CLOSE.value,
        }
    )


def _field(label: str, control: Any, width: int = 6) -> Any:
    return dbc.Col([dbc.Label(label, className="alert-form-label"), control], md=width, className="mb-2")


def _number(field_id: str, placeholder: str = "", value: Any = None) -> Any:
    return dbc.Input(
        id=field_id, type="number", placeholder=placeholder, value=value, debounce=True, size="sm"
    )


def rule_form(services: Services) -> Any:
    settings = services.settings
    timeframes = [tf.value for tf in settings.market.timeframes]
    return dbc.Card(
        [
            dbc.CardHeader(
                [
                    html.Span("Alert rule", id="alert-form-title"),
                    html.Span(id=ids.ALERT_FORM_EDITING + "-label"),
                ],
                className="alert-card-header",
            ),
            dbc.CardBody(
                [
                    dcc.Store(id=ids.ALERT_FORM_EDITING, data=None),
                    dbc.RadioItems(
                        id=ids.ALERT_FORM_KIND,
                        options=[{"label": kind, "value": kind} for kind in ("price", "indicator", "signal")],
                        value="price",
                        inline=True,
                        className="mb-2",
                    ),
                    dbc.Row(
                        [
                            _field(
                                "Symbol",
                                dcc.Dropdown(
                                    id=ids.ALERT_FORM_SYMBOL,
                                    options=list(settings.market.symbols),
                                    value=settings.ui.default_symbol,
                                    clearable=False,
                                ),
                            ),
                            _field(
                                "Timeframe",
                                dcc.Dropdown(
                                    id=ids.ALERT_FORM_TIMEFRAME,
                                    options=timeframes,
                                    value=settings.ui.default_timeframe.value,
                                    clearable=False,
                                ),
                            ),
                        ]
                    ),
                    html.Div(
                        dbc.Row(
                            [
                                _field(
                                    "Indicator",
                                    dbc.Input(
                                        id=ids.ALERT_FORM_INDICATOR,
                                        placeholder="RSI",
                                        debounce=True,
                                        size="sm",
                                    ),
                                    4,
                                ),
                                _field(
                                    "Parameters (JSON)",
                                    dbc.Input(
                                        id=ids.ALERT_FORM_PARAMS,
                                        placeholder='{"timeperiod": 14}',
                                        debounce=True,
                                        size="sm",
                                    ),
                                    8,
                                ),
                                _field(
                                    "Output",
                                    dbc.Input(
                                        id=ids.ALERT_FORM_OUTPUT,
                                        placeholder="first output",
                                        debounce=True,
                                        size="sm",
                                    ),
                                ),
                                _field(
                                    "…against output (optional)",
                                    dbc.Input(
                                        id=ids.ALERT_FORM_OUTPUT2,
                                        placeholder="e.g. macdsignal",
                                        debounce=True,
                                        size="sm",
                                    ),
                                ),
                            ]
                        ),
                        id="alert-form-indicator-fields",
                    ),
                    dbc.Row(
                        [
                            _field(
                                "Condition",
                                dcc.Dropdown(
                                    id=ids.ALERT_FORM_CONDITION,
                                    options=_PRICE_CONDITIONS,
                                    value=Condition.CROSSING.value,
                                    clearable=False,
                                ),
                            ),
                            _field("Value", _number(ids.ALERT_FORM_VALUE, "level, %, or min. strength"), 3),
                            _field("Value 2", _number(ids.ALERT_FORM_VALUE2, "channel edge"), 3),
                            _field(
                                "Trigger",
                                dcc.Dropdown(
                                    id=ids.ALERT_FORM_TRIGGER,
                                    options=[
                                        {"label": t.value.replace("_", " "), "value": t.value}
                                        for t in Trigger
                                    ],
                                    value=Trigger.ONCE_PER_BAR_CLOSE.value,
                                    clearable=False,
                                ),
                            ),
                            _field("Bars (moving %)", _number(ids.ALERT_FORM_BARS, "1", 1), 3),
                            _field("Expires in (min)", _number(ids.ALERT_FORM_EXPIRES, "open-ended"), 3),
                            _field("Cooldown (s)", _number(ids.ALERT_FORM_COOLDOWN, "0"), 3),
                            _field("Hysteresis", _number(ids.ALERT_FORM_HYSTERESIS, "0"), 3),
                            _field(
                                "Type",
                                dcc.Dropdown(
                                    id=ids.ALERT_FORM_TYPE,
                                    options=[{"label": t.value, "value": t.value} for t in AlertType],
                                    value=None,
                                    placeholder="automatic",
                                ),
                            ),
                            _field(
                                "Notify",
                                dbc.Checklist(
                                    id=ids.ALERT_FORM_NOTIFY,
                                    options=[{"label": c, "value": c} for c in CHANNELS],
                                    value=DEFAULT_NOTIFY,
                                    inline=True,
                                ),
                            ),
                            _field(
                                "Message",
                                dbc.Input(
                                    id=ids.ALERT_FORM_MESSAGE,
                                    placeholder="{{symbol}} {{timeframe}} at {{close}} ({{time}})",
                                    debounce=True,
                                    size="sm",
                                ),
                                12,
                            ),
                        ]
                    ),
                    html.Div(id=ids.ALERT_FORM_EVIDENCE, className="alert-evidence"),
                    html.Div(id=ids.ALERT_FORM_ERROR, className="alert-form-error"),
                    html.Div(
                        [
                            dbc.Button(
                                "Save rule", id=ids.ALERT_FORM_SAVE, color="success", size="sm", n_clicks=0
                            ),
                            dbc.Button(
                                "Cancel edit",
                                id=ids.ALERT_FORM_CANCEL,
                                color="secondary",
                                size="sm",
                                outline=True,
                                n_clicks=0,
                            ),
                        ],
                        className="d-flex gap-2 mt-2",
                    ),
                ]
            ),
        ],
        className="alert-card",
    )


# -- rules and history tables --------------------------------------------------------------------------------


def _badge(alert_type: str) -> Any:
    return html.Span(alert_type, className=f"alert-type alert-type-{alert_type.lower()}")


def rule_rows(manager: AlertManager) -> Any:
    rules = [manager.rule_status(rule) for rule in manager.rules()]
    if not rules:
        return html.Div("No rules yet: create one with the form.", className="text-muted small p-2")
    header = html.Thead(html.Tr([html.Th(name) for name in ("Rule", "Trigger", "Status", "Fired", "")]))
    rows = []
    for rule in sorted(rules, key=lambda item: item["created_at"], reverse=True):
        rule_id = rule["id"]
        paused = rule["status"] == "paused"
        title = rule["title"] or _rule_title(rule)
        rows.append(
            html.Tr(
                [
                    html.Td([_badge(rule["type"]), " ", title]),
                    html.Td(rule["trigger"].replace("_", " ")),
                    html.Td(rule["status"], className=f"rule-status rule-status-{rule['status']}"),
                    html.Td(str(rule["fired"]), className="num"),
                    html.Td(
                        [
                            html.Button(
                                "Edit",
                                id={"type": ids.ALERT_RULE_ACTION, "action": "edit", "id": rule_id},
                                className="link-button",
                            ),
                            html.Button(
                                "Resume" if paused else "Pause",
                                id={
                                    "type": ids.ALERT_RULE_ACTION,
                                    "action": "resume" if paused else "pause",
                                    "id": rule_id,
                                },
                                className="link-button",
                            ),
                            html.Button(
                                "Delete",
                                id={"type": ids.ALERT_RULE_ACTION, "action": "delete", "id": rule_id},
                                className="link-button danger",
                            ),
                        ],
                        className="text-end text-nowrap",
                    ),
                ],
                id=f"alert-rule-{rule_id}",
            )
        )
    return dbc.Table([header, html.Tbody(rows)], size="sm", className="alert-table", borderless=True)


def _rule_title(rule: dict[str, Any]) -> str:
    subject = "price" if rule["kind"] == "price" else rule.get("indicator") or rule["kind"]
    condition = rule["condition"].replace("_", " ")
    return f"{rule['symbol']} {rule['timeframe']} {subject} {condition} {rule['value']:g}"


def history_rows(alerts: Sequence[Alert], focus: int | None) -> Any:
    if not alerts:
        return html.Div("No alerts match.", className="text-muted small p-2")
    header = html.Thead(
        html.Tr(
            [html.Th(name) for name in ("Time (UTC)", "Type", "Status", "Symbol", "Alert", "Delivery", "")]
        )
    )
    rows = []
    for alert in alerts:
        delivery = ", ".join(f"{channel}: {outcome}" for channel, outcome in sorted(alert.delivery.items()))
        active = alert.status is AlertStatus.ACTIVE
        rows.append(
            html.Tr(
                [
                    html.Td(_time(alert.time), className="num text-nowrap"),
                    html.Td(_badge(alert.alert_type.value)),
                    html.Td(
                        alert.status.value,
                        className=f"alert-status alert-status-{alert.status.value.lower()}",
                    ),
                    html.Td(f"{alert.symbol} {alert.timeframe}".strip()),
                    html.Td(
                        [
                            html.Div(alert.title, className="fw-semibold"),
                            html.Div(alert.message, className="small text-muted"),
                        ]
                    ),
                    html.Td(delivery, className="small text-muted"),
                    html.Td(
                        html.Button(
                            "Dismiss", id={"type": ids.ALERT_DISMISS, "id": alert.id}, className="link-button"
                        )
                        if active
                        else ""
                    ),
                ],
                id=f"alert-row-{alert.id}",
                className="alert-row-focus" if alert.id == focus else "",
            )
        )
    return dbc.Table([header, html.Tbody(rows)], size="sm", className="alert-table", borderless=True)


def _focus(search: str | None) -> int | None:
    raw = (parse_qs((search or "").lstrip("?")).get("alert") or [""])[0]
    return int(raw) if raw.isdigit() else None


# -- the page ------------------------------------------------------------------------------------------------


def layout(services: Services) -> Any:
    warm_evidence(services)
    settings = services.settings
    history_filters = html.Div(
        [
            dcc.Dropdown(
                id=ids.ALERT_HISTORY_SYMBOL,
                options=list(settings.market.symbols),
                placeholder="all symbols",
                className="alert-filter",
            ),
            dcc.Dropdown(
                id=ids.ALERT_HISTORY_TYPE,
                options=[t.value for t in AlertType],
                placeholder="all types",
                className="alert-filter",
            ),
            dcc.Dropdown(
                id=ids.ALERT_HISTORY_STATUS,
                options=[s.value for s in AlertStatus],
                placeholder="all states",
                className="alert-filter",
            ),
            dbc.Button(
                "Dismiss all",
                id=ids.ALERT_DISMISS_ALL,
                color="secondary",
                outline=True,
                size="sm",
                n_clicks=0,
            ),
        ],
        className="alert-filters",
    )
    return html.Div(
        [
            dcc.Store(id=ids.ALERT_RULES_VERSION, data=0),
            dcc.Store(id=ids.ALERT_HISTORY_VERSION, data=0),
            dbc.Row(
                [
                    dbc.Col(rule_form(services), lg=5),
                    dbc.Col(
                        [
                            dbc.Card(
                                [
                                    dbc.CardHeader("Rules", className="alert-card-header"),
                                    dbc.CardBody(id=ids.ALERT_RULES),
                                ],
                                className="alert-card mb-3",
                            ),
                            dbc.Card(
                                [
                                    dbc.CardHeader("Sound", className="alert-card-header"),
                                    dbc.CardBody(
                                        dbc.Checklist(
                                            id=ids.ALERT_MUTE,
                                            options=[{"label": "mute all", "value": "ALL"}]
                                            + [
                                                {"label": f"mute {t.value}", "value": t.value}
                                                for t in AlertType
                                            ],
                                            value=[],
                                            switch=True,
                                            inline=True,
                                            persistence=True,
                                            persistence_type="local",
                                        )
                                    ),
                                ],
                                className="alert-card",
                            ),
                        ],
                        lg=7,
                    ),
                ],
                className="mb-3",
            ),
            dbc.Card(
                [
                    dbc.CardHeader(
                        ["History", history_filters],
                        className="alert-card-header d-flex align-items-center gap-3",
                    ),
                    dbc.CardBody(id=ids.ALERT_HISTORY),
                ],
                className="alert-card",
            ),
        ],
        className="alerts-page",
    )


def register(app: Dash, services: Services) -> None:
    register_toasts(app, services)
    manager = services.alerts
    if manager is None:
        return
    form_states = [State(field, "value") for field in FORM_FIELDS]

    @app.callback(Output(ids.ALERT_SOUND_MUTED, "data"), Input(ids.ALERT_MUTE, "value"))
    def _mute(values: list[str] | None) -> list[str]:
        return list(values or [])

    @app.callback(
        Output("alert-form-indicator-fields", "style"),
        Output(ids.ALERT_FORM_CONDITION, "options"),
        Input(ids.ALERT_FORM_KIND, "value"),
    )
    def _kind(kind: str | None) -> tuple[dict[str, str], list[dict[str, str]]]:
        hidden = {} if kind == "indicator" else {"display": "none"}
        return hidden, _SIGNAL_CONDITIONS if kind == "signal" else _PRICE_CONDITIONS

    @app.callback(
        Output(ids.ALERT_FORM_EVIDENCE, "children"),
        *[Input(field, "value") for field in FORM_FIELDS],
    )
    def _evidence(*values: Any) -> Any:
        try:
            rule = manager.parse(form_body(values, now_ms()))
        except RuleError as error:
            if error.field == "value" and values[FORM_FIELDS.index(ids.ALERT_FORM_VALUE)] in (None, ""):
                return html.Span(
                    "Enter a value to see how often this rule would have fired.", className="text-muted"
                )
            return html.Span(f"Fix {error}", className="text-warning")
        except (TypeError, ValueError) as error:
            return html.Span(str(error), className="text-warning")
        if rule.kind is RuleKind.SIGNAL:
            backtests = services.backtests
            if backtests is None:
                return "Signal rules have no record in this app (backtests are off)."
            return signal_alert_evidence(backtests.stored_evidence(rule.symbol, Timeframe(rule.timeframe)))
        evidence = manager.evidence(rule)
        if evidence is None:
            return "Evidence is shown for price, indicator and signal rules."
        return f"This rule {evidence.sentence()}."

    @app.callback(
        Output(ids.ALERT_FORM_ERROR, "children"),
        Output(ids.ALERT_RULES_VERSION, "data"),
        Output(ids.ALERT_FORM_EDITING, "data"),
        Input(ids.ALERT_FORM_SAVE, "n_clicks"),
        *form_states,
        State(ids.ALERT_FORM_EDITING, "data"),
        State(ids.ALERT_RULES_VERSION, "data"),
        prevent_initial_call=True,
    )
    def _save(clicks: int, *values: Any) -> tuple[Any, Any, Any]:
        *fields, editing, version = values
        if not clicks:
            return no_update, no_update, no_update
        try:
            body = form_body(fields, now_ms())
            if editing and manager.rule(editing) is not None:
                manager.update_rule(editing, body)
            else:
                manager.create_rule(body)
        except RuleError as error:
            return f"Not saved: {error}", no_update, no_update
        return "", (version or 0) + 1, None

    @app.callback(
        Output(ids.ALERT_RULES_VERSION, "data", allow_duplicate=True),
        *[Output(field, "value", allow_duplicate=True) for field in FORM_FIELDS],
        Output(ids.ALERT_FORM_EDITING, "data", allow_duplicate=True),
        Input({"type": ids.ALERT_RULE_ACTION, "action": ALL, "id": ALL}, "n_clicks"),
        State(ids.ALERT_RULES_VERSION, "data"),
        prevent_initial_call=True,
    )
    def _rule_action(clicks: list[int | None], version: int | None) -> tuple[Any, ...]:
        blank = [no_update] * len(FORM_FIELDS)
        nothing = (no_update, *blank, no_update)
        triggered = callback_context.triggered_id
        if not isinstance(triggered, dict) or not any(clicks):
            return nothing
        value = next((item["value"] for item in callback_context.triggered), None)
        if not value:
            return nothing
        rule_id, action = str(triggered["id"]), str(triggered["action"])
        rule = manager.rule(rule_id)
        if rule is None:
            return ((version or 0) + 1, *blank, no_update)
        if action == "edit":
            return (no_update, *form_values(rule.as_dict()), rule_id)
        if action == "delete":
            manager.delete_rule(rule_id)
        else:
            manager.update_rule(rule_id, {"paused": action == "pause"})
        return ((version or 0) + 1, *blank, no_update)

    @app.callback(
        *[Output(field, "value", allow_duplicate=True) for field in FORM_FIELDS],
        Output(ids.ALERT_FORM_EDITING, "data", allow_duplicate=True),
        Input(ids.URL, "search"),
        Input(ids.ALERT_FORM_CANCEL, "n_clicks"),
        prevent_initial_call="initial_duplicate",
    )
    def _prefill(search: str | None, _cancel: int) -> tuple[Any, ...]:
        blank = [no_update] * len(FORM_FIELDS)
        if callback_context.triggered_id == ids.ALERT_FORM_CANCEL:
            return (*blank, None)
        values = prefill(search, services)
        if values is None:
            return (*blank, no_update)
        return (*values, None)

    @app.callback(
        Output(ids.ALERT_FORM_EDITING + "-label", "children"),
        Input(ids.ALERT_FORM_EDITING, "data"),
    )
    def _editing(rule_id: str | None) -> str:
        return f" · editing {rule_id}" if rule_id else " · new"

    @app.callback(
        Output(ids.ALERT_RULES, "children"),
        Input(ids.ALERT_RULES_VERSION, "data"),
        Input(ids.ALERT_CURSOR, "data"),
    )
    def _rules(_version: int, _cursor: int | None) -> Any:
        return rule_rows(manager)

    @app.callback(
        Output(ids.ALERT_HISTORY_VERSION, "data"),
        Input({"type": ids.ALERT_DISMISS, "id": ALL}, "n_clicks"),
        Input(ids.ALERT_DISMISS_ALL, "n_clicks"),
        State(ids.ALERT_HISTORY_VERSION, "data"),
        prevent_initial_call=True,
    )
    def _dismiss(clicks: list[int | None], dismiss_all: int, version: int | None) -> Any:
        triggered = callback_context.triggered_id
        value = next((item["value"] for item in callback_context.triggered), None)
        if not value:
            return no_update
        if triggered == ids.ALERT_DISMISS_ALL:
            manager.dismiss_all()
        elif isinstance(triggered, dict):
            manager.dismiss(int(triggered["id"]))
        return (version or 0) + 1

    @app.callback(
        Output(ids.ALERT_HISTORY, "children"),
        Input(ids.ALERT_HISTORY_SYMBOL, "value"),
        Input(ids.ALERT_HISTORY_TYPE, "value"),
        Input(ids.ALERT_HISTORY_STATUS, "value"),
        Input(ids.ALERT_HISTORY_VERSION, "data"),
        Input(ids.ALERT_CURSOR, "data"),
        Input(ids.URL, "search"),
    )
    def _history(
        symbol: str | None,
        alert_type: str | None,
        status: str | None,
        _v: int,
        _c: int | None,
        search: str | None,
    ) -> Any:
        alerts = manager.history(symbol=symbol, alert_type=alert_type, status=status, limit=HISTORY_ROWS)
        return history_rows(alerts, _focus(search))


PAGE = Page(path="/alerts", label="Alerts", layout=layout, register=register)
