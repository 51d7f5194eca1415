"""The backtest JSON API: `POST /api/backtests` → 202 {"id"}; `GET /api/backtests/<id>` → status, progress
and results; `GET /api/backtests` → recent runs; `GET /api/backtests/sources` → what can be backtested;
`GET /api/backtests/evidence?symbol=BTCUSDT&timeframe=15m` → per-rule evidence over the stored range.

A POST must be JSON (415 otherwise) holding an object (400 otherwise); a bad field answers 400 naming it,
and nothing is queued. Example body::

    {"symbol": "BTCUSDT", "timeframe": "15m", "start": "2023-03-01", "end": "2023-03-21",
     "entry": "rules", "rules": ["rsi", "macd"], "exits": {"stop_loss": 0.01, "trailing": 0.005},
     "fee_rate": 0.001, "slippage_bps": 2, "in_sample": 0.7}
"""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, request

from dash_modules.api import BadRequest, error_response, json_endpoint, query_int
from thebot.backtest.jobs import BacktestJobs
from thebot.backtest.models import BacktestInputError
from thebot.services import Services


def _jobs(services: Services) -> BacktestJobs:
    if services.backtests is None:
        raise BadRequest("backtests are not available in this app")
    return services.backtests


def register(server: Flask, services: Services) -> None:
    @server.post("/api/backtests")
    @json_endpoint
    def api_backtest_submit() -> Any:
        if not request.is_json:
            return error_response("send application/json", 415)
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise BadRequest(
                'the body must be a JSON object such as {"symbol": "BTCUSDT", "timeframe": "1h"}'
            )
        try:
            job_id = _jobs(services).submit(body)
        except BacktestInputError as error:
            raise BadRequest(str(error)) from None
        response = jsonify({"id": job_id})
        response.status_code = 202
        response.headers["Location"] = f"/api/backtests/{job_id}"
        return response

    @server.get("/api/backtests")
    @json_endpoint
    def api_backtest_list() -> Any:
        return jsonify(_jobs(services).jobs())

    @server.get("/api/backtests/sources")
    @json_endpoint
    def api_backtest_sources() -> Any:
        jobs = _jobs(services)
        return jsonify({"current": jobs.source, "streams": jobs.sources()})

    @server.get("/api/backtests/evidence")
    @json_endpoint
    def api_backtest_evidence() -> Any:
        """Per rule: signals, hit rate, mean forward return and expectancy over a stored range (for the
        signal details and the alerts form). Query: symbol, timeframe, [source, start, end, horizon]."""
        arguments = {
            key: request.args[key]
            for key in ("symbol", "timeframe", "source", "start", "end")
            if key in request.args
        }
        for key in ("start", "end"):
            if key in arguments and arguments[key].isdigit():
                arguments[key] = int(arguments[key])
        horizon = query_int("horizon", None, 1, 1_000)
        try:
            return jsonify(_jobs(services).evidence(arguments, horizon))
        except BacktestInputError as error:
            raise BadRequest(str(error)) from None

    @server.get("/api/backtests/<job_id>")
    def api_backtest_get(job_id: str) -> Any:
        job = _jobs(services).get(job_id)
        if job is None:
            return error_response(
                f"no backtest '{job_id}'; finished runs are kept for a while, then dropped", 404
            )
        return jsonify(job)
