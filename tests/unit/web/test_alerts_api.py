"""The alerts API: 201 on create with the evidence line, 400 naming the field, 415 for non-JSON, the
history with filters, dismiss; and no secret in any answer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from flask import Flask

from dash_modules import alerts_api
from tests.unit.indicators.candle_data import generated_candles
from thebot.alerts.manager import AlertManager
from thebot.alerts.settings import AlertSettings
from thebot.alerts.store import AlertStore
from thebot.events import CandleClosed
from thebot.indicators import IndicatorFactory
from thebot.market.datastream import DataStream
from thebot.market.timeframe import Timeframe

TOKEN = "777:api-secret-token"
COUNT = 300


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Any]:
    stream = DataStream(["BTCUSDT", "ETHUSDT"], [Timeframe.M1, Timeframe.M5], capacity=1000)
    candles = generated_candles(COUNT, seed=5)
    stream.merge("BTCUSDT", Timeframe.M1, [candles.candle(index) for index in range(COUNT)])
    factory = IndicatorFactory()
    manager = AlertManager(
        AlertSettings(telegram_enabled=True, telegram_token=TOKEN, telegram_chat_id="1"),
        AlertStore(tmp_path / "alerts.sqlite3"),
        symbols=["BTCUSDT", "ETHUSDT"],
        timeframes=["1m", "5m"],
        datastream=stream,
        check_indicator=lambda name, params: factory.info(factory.spec(name, params).name).outputs,
        compute_indicator=lambda name, params, snapshot: factory.compute(
            factory.spec(name, params), snapshot
        ),
    )
    server = Flask(__name__)
    alerts_api.register(server, SimpleNamespace(alerts=manager))  # type: ignore[arg-type]
    yield server.test_client(), manager, candles
    manager.store.close()


RULE = {
    "kind": "price",
    "symbol": "BTCUSDT",
    "timeframe": "1m",
    "condition": "crossing",
    "value": 0.0,
    "trigger": "once_per_bar_close",
    "notify": ["toast", "sound", "telegram"],
}


def _crossings(closes: np.ndarray[Any, Any], level: float) -> int:
    above = closes > level
    below = closes < level
    return int(
        sum(
            1
            for i in range(1, len(closes))
            if (closes[i - 1] <= level and above[i]) or (closes[i - 1] >= level and below[i])
        )
    )


def test_create_answers_201_with_the_evidence_line(api: Any) -> None:
    http, _, candles = api
    level = float(np.median(candles.close))
    response = http.post("/api/alerts", json={**RULE, "value": level})
    assert response.status_code == 201
    body = response.get_json()
    assert body["id"] and body["status"] == "active" and body["value"] == level
    expected = _crossings(candles.close, level)
    assert expected > 3
    assert body["evidence"] == f"would have fired {expected} times in the last {COUNT} candles"
    assert [rule["id"] for rule in http.get("/api/alerts").get_json()] == [body["id"]]


def test_evidence_for_an_indicator_rule_without_saving(api: Any) -> None:
    http, manager, _ = api
    response = http.post(
        "/api/alerts/evidence",
        json={
            **RULE,
            "kind": "indicator",
            "indicator": "RSI",
            "params": {"timeperiod": 14},
            "condition": "crossing_up",
            "value": 30,
        },
    )
    assert response.status_code == 200
    assert response.get_json()["candles"] == COUNT
    assert response.get_json()["fired"] >= 1
    assert manager.rules() == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": "weather"}, "kind"),
        ({"symbol": "XRPUSDT"}, "symbol"),
        ({"condition": "sideways"}, "condition"),
        ({"value": None}, "value"),
        ({"trigger": "twice"}, "trigger"),
        ({"notify": "toast"}, "notify"),
        ({"kind": "indicator", "indicator": "NOPE"}, "indicator"),
        ({"kind": "indicator", "indicator": "RSI", "params": {"timeperiod": -3}}, "params"),
        ({"kind": "indicator", "indicator": "MACD", "output": "histogram"}, "output"),
    ],
)
def test_bad_rule_answers_400_naming_the_field(api: Any, change: dict[str, Any], field: str) -> None:
    http, _, _ = api
    response = http.post("/api/alerts", json={**RULE, **change})
    assert response.status_code == 400
    assert response.get_json()["field"] == field
    assert f"'{field}'" in response.get_json()["error"]


def test_state_changes_need_json(api: Any) -> None:
    http, _, _ = api
    assert http.post("/api/alerts", data="kind=price").status_code == 415
    assert http.post("/api/alerts", data="[1]", content_type="application/json").status_code == 400
    rule_id = http.post("/api/alerts", json=RULE).get_json()["id"]
    assert http.delete(f"/api/alerts/{rule_id}").status_code == 415
    assert http.patch(f"/api/alerts/{rule_id}", data="x").status_code == 415


def test_patch_pause_and_delete(api: Any) -> None:
    http, _, _ = api
    rule_id = http.post("/api/alerts", json=RULE).get_json()["id"]
    paused = http.patch(f"/api/alerts/{rule_id}", json={"paused": True})
    assert paused.status_code == 200 and paused.get_json()["status"] == "paused"
    assert http.patch(f"/api/alerts/{rule_id}", json={"value": "x"}).get_json()["field"] == "value"
    assert http.patch("/api/alerts/nope", json={"paused": True}).status_code == 404
    assert http.delete(f"/api/alerts/{rule_id}", json={}).status_code == 200
    assert http.delete(f"/api/alerts/{rule_id}", json={}).status_code == 404
    assert http.get("/api/alerts").get_json() == []


def _fire(manager: AlertManager, symbol: str, bar: int) -> None:
    manager.process(CandleClosed(symbol, "1m", 2_000_000_000_000 + bar * 60_000, 1.0, 1.0, 1.0, 1.0, 1.0))


def test_history_newest_first_with_filters_and_dismiss(api: Any) -> None:
    http, manager, _ = api
    http.post("/api/alerts", json={**RULE, "condition": "above", "value": 0.0})
    http.post(
        "/api/alerts", json={**RULE, "symbol": "ETHUSDT", "condition": "above", "value": 0.0, "type": "SELL"}
    )
    _fire(manager, "BTCUSDT", 0)
    _fire(manager, "ETHUSDT", 0)
    _fire(manager, "BTCUSDT", 1)
    rows = http.get("/api/alerts/history").get_json()
    assert [row["symbol"] for row in rows] == ["BTCUSDT", "ETHUSDT", "BTCUSDT"]
    assert set(rows[0]) >= {"id", "time", "type", "status", "symbol", "title", "message", "rule_id"}
    assert [row["type"] for row in http.get("/api/alerts/history?type=sell").get_json()] == ["SELL"]
    assert len(http.get("/api/alerts/history?symbol=btcusdt&limit=1").get_json()) == 1
    assert http.get("/api/alerts/history?status=GONE").status_code == 400
    assert http.get("/api/alerts/history?limit=0").status_code == 400
    newest = rows[0]["id"]
    assert http.post(f"/api/alerts/history/{newest}/dismiss", json={}).get_json()["status"] == "DISMISSED"
    assert http.post(f"/api/alerts/history/{newest}/dismiss", json={}).status_code == 409
    assert http.post("/api/alerts/history/999/dismiss", json={}).status_code == 404
    assert http.post("/api/alerts/history/dismiss", json={}).get_json() == {"dismissed": 2}
    assert http.get("/api/alerts/history?status=ACTIVE").get_json() == []


def test_no_answer_contains_a_secret(api: Any) -> None:
    http, manager, _ = api
    http.post("/api/alerts", json={**RULE, "condition": "above"})
    _fire(manager, "BTCUSDT", 0)
    manager.store.set_delivery(1, "telegram", "failed: HTTP 502 (attempt 3 of 3)")
    answers = [
        http.get("/api/alerts").get_data(as_text=True),
        http.get("/api/alerts/history").get_data(as_text=True),
    ]
    assert "telegram" in answers[1]
    assert manager.settings.telegram() == TOKEN  # configured, yet never answered
    assert not any(TOKEN in answer for answer in answers)
