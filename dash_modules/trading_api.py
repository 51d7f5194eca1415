"""The trading JSON API on the Dash (Flask) server, under the security floor (Host, Origin, token).

Every state-changing route takes JSON only (415 otherwise) and a JSON object body (400 otherwise); a
refused order answers 400 {"error": "...", "check": "<field or check name>"}, a placed one 201 with the
order. Nothing here echoes a key: answers are built from the service's value objects only.

    POST /api/orders  {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": 0.01}
    -> 201 {"id": "tb-…", "status": "FILLED", "average_price": 50012.5, "fee": 0.5, …}
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, Response, jsonify, request

from dash_modules.api import BadRequest, error_response
from thebot.execution.risk import RiskRejected
from thebot.execution.service import TradingService
from thebot.services import Services

Handler = Callable[..., Any]


def _json_body() -> dict[str, Any]:
    """The state-changing routes' body: JSON, an object (an empty object is fine)."""
    if not request.is_json:
        raise _Unsupported
    body = request.get_json(silent=True)
    if body is None and not request.get_data():
        return {}
    if not isinstance(body, dict):
        raise BadRequest('the body must be a JSON object, e.g. {"symbol": "BTCUSDT", ...}')
    return body


class _Unsupported(Exception):
    pass


def _rejected(error: RiskRejected) -> tuple[Response, int]:
    return jsonify({"error": error.message, "check": error.check}), 400


def register(server: Flask, services: Services) -> None:
    def trading() -> TradingService:
        if services.trading is None:
            raise _NotConfigured
        return services.trading

    def endpoint(handler: Handler) -> Handler:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return handler(*args, **kwargs)
            except _Unsupported:
                return error_response("send application/json", 415)
            except _NotConfigured:
                return error_response("trading is not running in this app", 503)
            except RiskRejected as error:
                return _rejected(error)
            except BadRequest as error:
                return error_response(str(error))

        wrapper.__name__ = handler.__name__
        return wrapper

    @server.get("/api/account")
    @endpoint
    def api_account() -> Any:
        return jsonify(trading().account())

    @server.post("/api/orders")
    @endpoint
    def api_place_order() -> Any:
        body = _json_body()
        order = trading().place(body)
        return jsonify(order.to_dict()), 201

    @server.post("/api/orders/preview")
    @endpoint
    def api_preview_order() -> Any:
        body = _json_body()
        return jsonify(trading().preview(body).to_dict())

    @server.get("/api/orders")
    @endpoint
    def api_orders() -> Any:
        status = request.args.get("status")
        if status not in (None, "", "open", "closed"):
            raise BadRequest(f"'status' must be open or closed, got '{status}'")
        return jsonify([order.to_dict() for order in trading().orders(status or None)])

    @server.delete("/api/orders/<order_id>")
    @endpoint
    def api_cancel_order(order_id: str) -> Any:
        _json_body()
        return jsonify(trading().cancel(order_id).to_dict())

    @server.get("/api/positions")
    @endpoint
    def api_positions() -> Any:
        return jsonify([item.to_dict() for item in trading().positions().values() if item.is_open])

    @server.post("/api/positions/<symbol>/close")
    @endpoint
    def api_close_position(symbol: str) -> Any:
        _json_body()
        return jsonify(trading().close_position(symbol.upper()).to_dict()), 201

    @server.get("/api/fills")
    @endpoint
    def api_fills() -> Any:
        return jsonify([fill.to_dict() for fill in trading().fills()])

    @server.get("/api/performance")
    @endpoint
    def api_performance() -> Any:
        service = trading()
        return jsonify(
            {
                **service.performance().to_dict(),
                "equity_curve": [[time_ms, equity] for time_ms, equity in service.journal.equity_curve()],
            }
        )

    @server.post("/api/trading/pause")
    @endpoint
    def api_pause() -> Any:
        _json_body()
        trading().pause()
        return jsonify(trading().account())

    @server.post("/api/trading/resume")
    @endpoint
    def api_resume() -> Any:
        _json_body()
        trading().resume()
        return jsonify(trading().account())

    @server.post("/api/trading/kill")
    @endpoint
    def api_kill() -> Any:
        body = _json_body()
        if body.get("confirm") is not True:
            raise RiskRejected("confirm", 'the kill switch cancels every open order: send {"confirm": true}')
        flatten = body.get("flatten", False)
        if not isinstance(flatten, bool):
            raise RiskRejected("flatten", "flatten must be true or false")
        return jsonify(trading().kill(flatten=flatten))


class _NotConfigured(Exception):
    pass
