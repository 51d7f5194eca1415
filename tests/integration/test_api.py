"""The JSON API against real services: an in-process simulated venue over loopback sockets."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from dash_modules.application import create_app
from thebot.config import load_settings, with_overrides
from thebot.services import Services, build_services


@pytest.fixture(scope="module")
def services() -> Iterator[Services]:
    settings = with_overrides(
        load_settings(), market={"source": "sim"}, venue={"speed": 60.0, "history_days": 1.0}
    )
    built = build_services(settings, store_path=":memory:").start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if all(status.candles > 0 for status in built.market.datastream.status()):
            break
        time.sleep(0.1)
    yield built
    built.stop()


@pytest.fixture(scope="module")
def client(services: Services) -> FlaskClient:
    return create_app(services).server.test_client()


def test_health_shape(client: FlaskClient) -> None:
    response = client.get("/api/health")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] in ("ok", "degraded", "down")
    assert body["source"] == "sim" and body["simulated"] is True
    websocket = body["websocket"]
    assert websocket["connected"] is True
    for key, kind in (("reconnects", int), ("messages", int), ("invalid_messages", int)):
        assert isinstance(websocket[key], kind)
    assert websocket["messages"] > 0
    streams = {(s["symbol"], s["timeframe"]): s for s in body["streams"]}
    assert ("BTCUSDT", "1m") in streams and ("ETHUSDT", "1d") in streams
    stream = streams[("BTCUSDT", "1m")]
    assert stream["candles"] > 0 and stream["last_open_time"] % 60_000 == 0
    assert isinstance(stream["last_update_age_ms"], int) and isinstance(stream["stale"], bool)


def test_klines_shape_and_order(client: FlaskClient) -> None:
    response = client.get("/api/klines?symbol=BTCUSDT&timeframe=1m&limit=50")
    assert response.status_code == 200
    rows = response.get_json()
    assert 1 <= len(rows) <= 50
    assert set(rows[0]) == {"open_time", "open", "high", "low", "close", "volume", "closed"}
    times = [row["open_time"] for row in rows]
    assert times == sorted(times) and len(set(times)) == len(times)
    for row in rows:
        assert row["low"] <= min(row["open"], row["close"]) <= max(row["open"], row["close"]) <= row["high"]
    assert all(row["closed"] for row in rows[:-1])


def test_klines_lowercase_symbol_is_accepted(client: FlaskClient) -> None:
    assert client.get("/api/klines?symbol=ethusdt&timeframe=5m&limit=3").status_code == 200


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("symbol=DOGEUSDT&timeframe=1m", "unknown symbol 'DOGEUSDT'"),
        ("timeframe=1m", "'symbol' is required"),
        ("symbol=BTCUSDT&timeframe=7m", "unknown timeframe '7m'"),
        ("symbol=BTCUSDT&timeframe=1s", "timeframe '1s' is not streamed"),
        ("symbol=BTCUSDT&timeframe=1m&limit=0", "'limit' must be between 1 and"),
        ("symbol=BTCUSDT&timeframe=1m&limit=abc", "'limit' must be an integer"),
        ("symbol=BTCUSDT&timeframe=1m&start=10&end=5", "'start' (10) is after 'end' (5)"),
    ],
)
def test_klines_bad_requests_answer_400(client: FlaskClient, query: str, fragment: str) -> None:
    response = client.get(f"/api/klines?{query}")
    assert response.status_code == 400
    assert fragment in response.get_json()["error"]
