"""The backtest API against real services: stored candles of the running source, a job in the background,
results by id; bad input answers 400 naming the problem and queues nothing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient

from dash_modules.application import create_app
from thebot.config import load_settings, with_overrides
from thebot.market.timeframe import Timeframe
from thebot.services import Services, build_services


@pytest.fixture(scope="module")
def services() -> Iterator[Services]:
    settings = with_overrides(
        load_settings(),
        market={"source": "sim", "symbols": ("BTCUSDT",), "timeframes": (Timeframe.M1, Timeframe.M5)},
        venue={"speed": 60.0, "history_days": 1.0},
        ui={"default_symbol": "BTCUSDT", "default_timeframe": Timeframe.M1},
    )
    built = build_services(settings, store_path=":memory:").start()
    assert built.market.wait_backfilled(30)
    assert built.market.flush()
    yield built
    built.stop()


@pytest.fixture(scope="module")
def client(services: Services) -> FlaskClient:
    return create_app(services).server.test_client()


def finished(client: FlaskClient, job_id: str, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body: dict[str, Any] = client.get(f"/api/backtests/{job_id}").get_json()
        if body["status"] in ("done", "failed"):
            return body
        assert 0.0 <= body["progress"] <= 1.0
        time.sleep(0.1)
    raise AssertionError(f"backtest {job_id} did not finish in {timeout} s")


def test_a_backtest_runs_in_the_background_and_reports_its_results(
    client: FlaskClient, services: Services
) -> None:
    body = {
        "symbol": "BTCUSDT",
        "timeframe": "1m",
        "exits": {"stop_loss": 0.004, "trailing": 0.003},
        "in_sample": 0.6,
    }
    response = client.post("/api/backtests", json=body)
    assert response.status_code == 202
    job_id = response.get_json()["id"]
    assert response.headers["Location"] == f"/api/backtests/{job_id}"
    job = finished(client, job_id)
    assert job["status"] == "done" and job["progress"] == 1.0, job["error"]
    (result,) = job["results"]
    assert result["request"]["source"] == services.endpoints.store_source == "sim:seed=7"
    assert result["candles"] >= 900  # the backfilled day, from the store
    metrics = result["metrics"]
    assert metrics["trades"] == result["trades_total"] > 0
    assert set(result["walk_forward"]) == {"split_time", "in_sample", "out_of_sample"}
    assert len(result["chart"]["equity"]) == len(result["chart"]["time"]) <= 2001
    listed = client.get("/api/backtests").get_json()
    assert listed[0]["id"] == job_id and "results" not in listed[0]
    sources = client.get("/api/backtests/sources").get_json()
    assert sources["current"] == "sim:seed=7"
    assert {"source": "sim:seed=7", "symbol": "BTCUSDT", "timeframe": "1m"}.items() <= sources["streams"][
        0
    ].items()


def test_a_sweep_returns_one_result_per_exit_policy(client: FlaskClient) -> None:
    sweep = {"stop_loss": [0.002, 0.01], "take_profit": [0.005]}
    response = client.post("/api/backtests", json={"symbol": "BTCUSDT", "timeframe": "5m", "sweep": sweep})
    job = finished(client, response.get_json()["id"])
    assert [result["exits"] for result in job["results"]] == [
        "opposite signal, stop 0.2 %, take profit 0.5 %",
        "opposite signal, stop 1 %, take profit 0.5 %",
    ]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"symbol": "BTCUSDT", "timeframe": "2m"}, "unknown timeframe '2m'"),
        ({"symbol": "DOGEUSDT", "timeframe": "1m"}, "no stored candles of DOGEUSDT"),
        ({"symbol": "BTCUSDT", "timeframe": "1m", "start": "2001-01-01", "end": "2001-01-02"}, "holds 0 1m"),
        (
            {"symbol": "BTCUSDT", "timeframe": "1m", "start": "2024-01-02", "end": "2024-01-01"},
            "range is empty",
        ),
        (
            {
                "symbol": "BTCUSDT",
                "timeframe": "1m",
                "sweep": {"stop_loss": list(range(1, 40)), "max_bars": [1, 2]},
            },
            "78 runs asked for; at most 50",
        ),
    ],
)
def test_bad_input_answers_400_naming_the_problem_and_queues_nothing(
    client: FlaskClient, body: dict[str, Any], words: str
) -> None:
    before = len(client.get("/api/backtests").get_json())
    response = client.post("/api/backtests", json=body)
    assert response.status_code == 400
    assert words in response.get_json()["error"]
    assert len(client.get("/api/backtests").get_json()) == before


def test_only_json_objects_are_accepted_and_unknown_ids_are_404(client: FlaskClient) -> None:
    form = client.post(
        "/api/backtests", data="symbol=BTCUSDT", content_type="application/x-www-form-urlencoded"
    )
    assert form.status_code == 415 and form.get_json() == {"error": "send application/json"}
    listed = client.post("/api/backtests", json=["BTCUSDT"])
    assert listed.status_code == 400 and "JSON object" in listed.get_json()["error"]
    missing = client.get("/api/backtests/nosuchjob")
    assert missing.status_code == 404 and "no backtest 'nosuchjob'" in missing.get_json()["error"]


def test_rule_evidence_over_the_stored_range(client: FlaskClient) -> None:
    rows = client.get("/api/backtests/evidence?symbol=BTCUSDT&timeframe=5m&horizon=3").get_json()
    total = rows[-1]
    assert total["rule"] == "all rules" and total["horizon_bars"] == 3
    assert total["signals"] == sum(row["signals"] for row in rows[:-1]) > 0
    assert total["expectancy"] == pytest.approx(total["mean_forward_return"] - 2 * 0.001 - 2 * 0.0002)
    bad = client.get("/api/backtests/evidence?symbol=BTCUSDT&timeframe=9m")
    assert bad.status_code == 400 and "unknown timeframe '9m'" in bad.get_json()["error"]
