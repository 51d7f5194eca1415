"""The alert page's plain functions: the toast payload the push channel will send, the poll that answers
nothing when nothing is new, the form's JSON, "alert on this price" from a chart click."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import plotly.io
import pytest
from dash import no_update

from dash_modules import alerts_page
from thebot.alerts.manager import AlertManager
from thebot.alerts.models import Alert, AlertStatus, AlertType
from thebot.alerts.rules import RuleError
from thebot.alerts.settings import AlertSettings
from thebot.alerts.store import AlertStore
from thebot.config import Settings
from thebot.events import CandleClosed


def _alert(
    alert_id: int, alert_type: AlertType, time: int, channels: tuple[str, ...] = ("toast", "sound")
) -> Alert:
    return Alert(
        id=alert_id,
        time=time,
        alert_type=alert_type,
        status=AlertStatus.ACTIVE,
        symbol="BTCUSDT",
        timeframe="1m",
        title=f"title {alert_id}",
        message=f"message {alert_id}",
        rule_id="r",
        channels=channels,
    )


def test_toast_payload_colours_durations_and_the_most_urgent_sound() -> None:
    settings = AlertSettings(toast_seconds_buy=8, toast_seconds_warning=0)
    payload = alerts_page.toast_payload(
        [
            _alert(1, AlertType.BUY, 0),
            _alert(2, AlertType.WARNING, 10_000),
            _alert(3, AlertType.SELL, 20_000, ()),
        ],
        settings,
    )
    buy, warning = payload["toasts"]
    assert "alert-toast-buy" in buy.class_name and buy.duration == 8000
    assert "alert-toast-warning" in warning.class_name and warning.duration is None  # stays until closed
    assert buy.children.href == "/alerts?alert=1"  # a click opens the alert
    assert payload["sound"] == "warning"  # the SELL alert is silent (no toast, no sound channel)
    assert payload["cursor"] == 3


def test_a_burst_becomes_one_summary_toast() -> None:
    burst = [_alert(index, AlertType.BUY, index * 100) for index in range(1, 8)]
    payload = alerts_page.toast_payload(burst, AlertSettings(coalesce_count=4, coalesce_window_seconds=5))
    [summary] = payload["toasts"]
    assert summary.header == "7 alerts"
    assert payload["sound"] == "buy"


@pytest.fixture
def manager(tmp_path: Path) -> Any:
    made = AlertManager(
        AlertSettings(), AlertStore(tmp_path / "a.sqlite3"), symbols=["BTCUSDT"], timeframes=["1m"]
    )
    made.create_rule(
        {"kind": "price", "symbol": "BTCUSDT", "timeframe": "1m", "condition": "above", "value": 0}
    )
    yield made
    made.store.close()


def _fire(manager: AlertManager, bar: int) -> None:
    manager.process(CandleClosed("BTCUSDT", "1m", 1_700_000_000_000 + bar * 60_000, 1, 1, 1, 1, 1))


def test_toast_poll_learns_the_cursor_first_then_answers_only_news(manager: AlertManager) -> None:
    settings = AlertSettings()
    _fire(manager, 0)  # fired before the page opened: not toasted on load
    children, cursor, sound = alerts_page.toast_update(manager, settings, None, None)
    assert (children, sound) == (no_update, no_update) and cursor == 1
    assert alerts_page.toast_update(manager, settings, cursor, []) == (no_update, no_update, no_update)
    _fire(manager, 1)
    children, cursor, sound = alerts_page.toast_update(manager, settings, cursor, [])
    assert [toast.id for toast in children] == ["alert-toast-2"]
    assert cursor == 2 and sound == {"type": "info", "seq": 2}
    closed = json.loads(plotly.io.json.to_json_plotly(children))
    closed[0]["props"]["is_open"] = False  # dismissed in the page
    _fire(manager, 2)
    children, cursor, _ = alerts_page.toast_update(manager, settings, cursor, closed)
    assert [toast.id for toast in children] == ["alert-toast-3"]  # closed toasts are dropped


def _values(**changes: Any) -> list[Any]:
    base = alerts_page.form_values(
        {
            "kind": "price",
            "symbol": "BTCUSDT",
            "timeframe": "1m",
            "condition": "crossing",
            "value": 100.0,
            "trigger": "once_per_bar",
            "notify": ["toast"],
        }
    )
    fields = dict(zip(alerts_page.FORM_FIELDS, base, strict=True))
    for key, value in changes.items():
        fields[f"alert-form-{key}"] = value
    return list(fields.values())


def test_form_body_round_trip() -> None:
    body = alerts_page.form_body(_values(expires=30, message="{{symbol}}"), now=1_000)
    assert body == {
        "kind": "price",
        "symbol": "BTCUSDT",
        "timeframe": "1m",
        "condition": "crossing",
        "trigger": "once_per_bar",
        "notify": ["toast"],
        "value": 100.0,
        "bars": 1,
        "expires_at": 1_000 + 30 * 60_000,
        "message": "{{symbol}}",
    }
    indicator = alerts_page.form_body(
        _values(
            kind="indicator",
            indicator="MACD",
            params='{"fastperiod": 8}',
            output="macd",
            output2="macdsignal",
        ),
        0,
    )
    assert indicator["params"] == {"fastperiod": 8} and indicator["output2"] == "macdsignal"
    with pytest.raises(RuleError) as caught:
        alerts_page.form_body(_values(kind="indicator", indicator="RSI", params="{timeperiod: 14"), 0)
    assert caught.value.field == "params"


def test_alert_link_from_a_chart_click() -> None:
    click = {"points": [{"x": "2026-01-01", "open": 1, "high": 2, "low": 0.5, "close": 65_432.1}]}
    assert (
        alerts_page.alert_link(click, "BTCUSDT", "1m") == "/alerts?symbol=BTCUSDT&timeframe=1m&price=65432.1"
    )
    assert alerts_page.alert_link({"points": [{"y": 3.5}]}, "ETHUSDT", "5m").endswith("price=3.5")
    assert alerts_page.alert_link(None, "BTCUSDT", "1m") is None
    services = SimpleNamespace(settings=Settings())
    values = alerts_page.prefill("?symbol=ETHUSDT&timeframe=1m&price=65432.1", services)  # type: ignore[arg-type]
    assert values is not None
    fields = dict(zip(alerts_page.FORM_FIELDS, values, strict=True))
    assert (fields["alert-form-symbol"], fields["alert-form-value"], fields["alert-form-condition"]) == (
        "ETHUSDT",
        65432.1,
        "crossing",
    )


def test_pages_never_render_a_secret(manager: AlertManager) -> None:
    token = "555:page-secret"
    settings = dataclasses.replace(
        Settings(), alerts=AlertSettings(telegram_enabled=True, telegram_token=token, telegram_chat_id="1")
    )
    services = SimpleNamespace(settings=settings, alerts=manager, simulated=True, backtests=None)
    rendered = plotly.io.json.to_json_plotly(
        [alerts_page.toast_layer(services), alerts_page.layout(services), alerts_page.rule_rows(manager)]  # type: ignore[arg-type]
    )
    assert "alert-sound-button" in rendered
    assert token not in rendered
