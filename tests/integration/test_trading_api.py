"""The trading API: JSON only on every state change, fields and checks named, secrets never echoed."""

from __future__ import annotations

import dataclasses
import logging
import types
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from dash_modules import trading_api
from thebot.events import EventBus
from thebot.execution.ccxt_broker import CcxtBroker
from thebot.execution.journal import Journal
from thebot.execution.paper import PaperBroker
from thebot.execution.service import TradingService
from thebot.execution.settings import TradingSettings
from thebot.venue import VenueConfig, run_venue_in_thread

SYMBOLS = ("BTCUSDT", "ETHUSDT")
ORDER = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": 0.01}


def client_for(service: TradingService) -> FlaskClient:
    server = Flask(__name__)
    trading_api.register(server, types.SimpleNamespace(trading=service))  # type: ignore[arg-type]
    return server.test_client()


@pytest.fixture
def paper_service(tmp_path: Path) -> Iterator[TradingService]:
    journal = Journal(tmp_path / "journal.sqlite")
    settings = dataclasses.replace(TradingSettings(), paper_slippage_bps=0.0)
    broker = PaperBroker(journal, SYMBOLS, starting_balance=10_000.0, slippage_bps=0.0)
    service = TradingService(settings, broker, journal, EventBus(), symbols=SYMBOLS).start(subscribe=False)
    service.on_price("BTCUSDT", 50_000, 50_000, 50_000)
    yield service
    service.stop()


def test_state_changes_take_json_only(paper_service: TradingService) -> None:
    client = client_for(paper_service)
    for method, path in [
        ("post", "/api/orders"),
        ("delete", "/api/orders/x"),
        ("post", "/api/positions/BTCUSDT/close"),
        ("post", "/api/trading/pause"),
        ("post", "/api/trading/resume"),
        ("post", "/api/trading/kill"),
    ]:
        response = getattr(client, method)(
            path, data="symbol=BTCUSDT", content_type="application/x-www-form-urlencoded"
        )
        assert response.status_code == 415, path
        assert response.get_json() == {"error": "send application/json"}
    response = client.post("/api/orders", data="[1, 2]", content_type="application/json")
    assert response.status_code == 400 and "JSON object" in response.get_json()["error"]
    assert paper_service.orders() == []


def test_place_list_cancel_and_the_named_refusals(paper_service: TradingService) -> None:
    client = client_for(paper_service)
    placed = client.post("/api/orders", json=ORDER)
    assert placed.status_code == 201
    order = placed.get_json()
    assert order["symbol"] == "BTCUSDT" and order["quantity"] == 0.01 and order["id"].startswith("tb-")
    assert [item["id"] for item in client.get("/api/orders?status=open").get_json()] == [order["id"]]
    assert client.get("/api/orders?status=maybe").status_code == 400
    canceled = client.delete(f"/api/orders/{order['id']}", json={})
    assert canceled.status_code == 200 and canceled.get_json()["status"] == "CANCELED"
    assert client.get("/api/orders?status=closed").get_json()[0]["id"] == order["id"]

    refused = client.post("/api/orders", json={**ORDER, "quantity": -1})
    assert refused.status_code == 400 and refused.get_json()["check"] == "quantity"
    refused = client.post("/api/orders", json={**ORDER, "quantity": 0.2})
    assert refused.get_json()["check"] == "max_order_notional"
    assert "10,000.00 USDT is above the limit of 5,000.00" in refused.get_json()["error"]
    refused = client.post("/api/orders", json={**ORDER, "type": "LIMIT", "price": 50_000.001})
    assert refused.get_json()["check"] == "PRICE_FILTER"
    refused = client.post("/api/orders", json={**ORDER, "symbol": "NOPEUSDT"})
    assert refused.get_json()["check"] == "symbol"
    assert client.delete("/api/orders/tb-unknown", json={}).get_json()["check"] == "id"


def test_fills_positions_performance_close_and_kill(paper_service: TradingService) -> None:
    client = client_for(paper_service)
    client.post("/api/orders", json=ORDER)
    paper_service.on_price("BTCUSDT", 50_000, 50_000, 50_000)
    [fill] = client.get("/api/fills").get_json()
    assert fill["price"] == 50_000 and fill["fee"] == pytest.approx(0.5)
    [position] = client.get("/api/positions").get_json()
    assert position["quantity"] == pytest.approx(0.01) and position["average_price"] == 50_000
    account = client.get("/api/account").get_json()
    assert account["mode"] == "paper" and account["equity"] == pytest.approx(9_999.5)
    assert client.post("/api/trading/pause", json={}).get_json()["paused"] is True
    assert client.post("/api/orders", json=ORDER).get_json()["check"] == "paused"
    closed = client.post("/api/positions/BTCUSDT/close", json={})
    assert closed.status_code == 201 and closed.get_json()["side"] == "SELL"
    paper_service.on_price("BTCUSDT", 50_100, 50_100, 50_100)
    performance = client.get("/api/performance").get_json()
    assert performance["trades"] == 1 and performance["net_pnl"] == pytest.approx(1.0 - 0.5 - 0.501)
    assert client.post("/api/trading/kill", json={}).get_json()["check"] == "confirm"
    killed = client.post("/api/trading/kill", json={"confirm": True, "flatten": True})
    assert killed.status_code == 200 and killed.get_json()["errors"] == []
    assert client.get("/api/account").get_json()["killed"] is True
    assert client.post("/api/trading/resume", json={}).get_json()["killed"] is False


def test_api_keys_never_reach_logs_or_answers(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    key, secret = "PLANTEDKEY7c1f0a", "PLANTEDSECRET9e2d4b"
    caplog.set_level(logging.DEBUG)
    venue = run_venue_in_thread(VenueConfig(history_days=0.05, symbols=SYMBOLS, accounts=((key, secret),)))
    try:
        broker = CcxtBroker(venue.http_url, key, secret, timeout_seconds=5.0)
        settings = dataclasses.replace(TradingSettings(), mode="venue")
        service = TradingService(
            settings, broker, Journal(tmp_path / "j.sqlite"), EventBus(), symbols=SYMBOLS
        )
        service.start(subscribe=False)
        client = client_for(service)
        answers = [
            client.post("/api/orders", json=ORDER).get_data(as_text=True),
            client.post("/api/orders", json={**ORDER, "quantity": 100}).get_data(as_text=True),
            *(
                client.get(path).get_data(as_text=True)
                for path in ("/api/account", "/api/orders", "/api/fills")
            ),
            client.post("/api/trading/kill", json={"confirm": True, "flatten": True}).get_data(as_text=True),
        ]
        assert '"status":"FILLED"' in answers[0].replace(" ", "")
        from dash_modules.trading_page import render_account

        page = str(render_account(service.account()))
        service.stop()
    finally:
        venue.stop()
    for text in [*answers, caplog.text, page]:
        assert key not in text and secret not in text
