"""GET /api/indicators, /api/signals, /api/confluence: shapes, and 400s that name the bad input."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import duckdb
import numpy as np
import pytest
from flask import Flask

from dash_modules import analytics_api
from tests.unit.indicators.candle_data import generated_candles
from thebot.config import Settings
from thebot.market.datastream import DataStream
from thebot.market.timeframe import Timeframe
from thebot.signals.service import AnalyticsService
from thebot.signals.settings import SignalSettings

COUNT = 400


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    stream = DataStream(["BTCUSDT", "ETHUSDT"], [Timeframe.M1, Timeframe.M5], capacity=1000)
    settings = dataclasses.replace(Settings(), signals=SignalSettings(cooldown_bars=0))
    analytics = AnalyticsService(settings, stream, duckdb.connect(":memory:")).start()
    candles = generated_candles(COUNT, seed=33)
    stream.merge("BTCUSDT", Timeframe.M1, [candles.candle(index) for index in range(200)])
    for index in range(200, COUNT):
        stream.update(
            "BTCUSDT", Timeframe.M1, dataclasses.replace(candles.candle(index), closed=index < COUNT - 1)
        )
    assert analytics.wait_idle()
    server = Flask(__name__)
    analytics_api.register(
        server, SimpleNamespace(market=SimpleNamespace(datastream=stream), analytics=analytics)
    )  # type: ignore[arg-type]
    try:
        yield server.test_client(), candles, analytics
    finally:
        analytics.stop()


def test_indicator_series_with_talib_parameter_names(client: Any) -> None:
    http, candles, analytics = client
    response = http.get("/api/indicators?symbol=BTCUSDT&timeframe=1m&name=RSI&timeperiod=14&limit=100")
    assert response.status_code == 200
    rows = response.get_json()
    assert len(rows) == 100
    assert rows[-1]["open_time"] == int(candles.open_time[-1])
    assert set(rows[-1]["values"]) == {"real"}
    expected = analytics.factory.compute("RSI", candles, {"timeperiod": 14})["real"][-100:]
    np.testing.assert_allclose([row["values"]["real"] for row in rows], expected)


def test_warm_up_values_are_null(client: Any) -> None:
    http, _, _ = client
    rows = http.get(
        "/api/indicators?symbol=BTCUSDT&timeframe=1m&name=BBANDS&timeperiod=20&limit=10000"
    ).get_json()
    assert len(rows) == COUNT
    assert rows[0]["values"] == {"upperband": None, "middleband": None, "lowerband": None}
    assert rows[19]["values"]["middleband"] is not None


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("symbol=BTCUSDT&timeframe=1m&name=RSX", "RSX"),
        ("symbol=BTCUSDT&timeframe=1m&name=RSI&timeperiod=abc", "timeperiod"),
        ("symbol=BTCUSDT&timeframe=1m&name=RSI&timeperiod=1", "timeperiod"),
        ("symbol=BTCUSDT&timeframe=1m&name=RSI&period=14", "period"),
        ("symbol=BTCUSDT&timeframe=1m", "name"),
        ("symbol=DOGEUSDT&timeframe=1m&name=RSI", "DOGEUSDT"),
        ("symbol=BTCUSDT&timeframe=7m&name=RSI", "7m"),
        ("symbol=BTCUSDT&timeframe=1m&name=RSI&limit=0", "limit"),
    ],
)
def test_bad_requests_answer_400_naming_the_problem(client: Any, query: str, named: str) -> None:
    http, _, _ = client
    response = http.get(f"/api/indicators?{query}")
    assert response.status_code == 400
    assert named in response.get_json()["error"]


def test_signals_newest_first_with_signal_fields(client: Any) -> None:
    http, _, _ = client
    response = http.get("/api/signals?symbol=BTCUSDT&timeframe=1m&limit=20")
    assert response.status_code == 200
    signals = response.get_json()
    assert 0 < len(signals) <= 20
    assert set(signals[0]) == {
        "time",
        "symbol",
        "timeframe",
        "side",
        "rule",
        "strength",
        "price",
        "reason",
        "provisional",
    }
    times = [signal["time"] for signal in signals]
    assert times == sorted(times, reverse=True)
    assert {signal["side"] for signal in signals} <= {"BUY", "SELL"}
    assert http.get("/api/signals?symbol=BTCUSDT&limit=5").status_code == 200
    assert http.get("/api/signals?symbol=BTCUSDT&timeframe=1m&limit=x").status_code == 400


def test_confluence_per_timeframe_with_score_and_grade(client: Any) -> None:
    http, _, _ = client
    body = http.get("/api/confluence?symbol=BTCUSDT").get_json()
    assert body["grade"] in {"STRONG_SELL", "SELL", "NEUTRAL", "BUY", "STRONG_BUY"}
    assert -1 <= body["score"] <= 1
    assert [item["timeframe"] for item in body["timeframes"]] == ["1m", "5m"]
    assert {"direction", "confidence"} <= set(body["timeframes"][0])
    assert http.get("/api/confluence").status_code == 400


def test_catalog_lists_every_indicator_with_its_placement(client: Any) -> None:
    http, _, _ = client
    catalog = {item["name"]: item for item in http.get("/api/indicators/catalog").get_json()}
    assert len(catalog) > 200
    assert catalog["RSI"]["placement"] == "panel" and catalog["BBANDS"]["placement"] == "overlay"
