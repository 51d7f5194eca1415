"""The read-only JSON API on the Dash (Flask) server.

Part of the product (analysts pull data into notebooks) and the black-box interface for tests.
Every bad request answers HTTP 400 with {"error": "..."} naming what was wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, jsonify, request

from thebot.market.timeframe import Timeframe
from thebot.services import Services

if TYPE_CHECKING:
    from dash_modules.push import PushHub

MAX_KLINES_LIMIT = 100_000
DEFAULT_KLINES_LIMIT = 500


class BadRequest(ValueError):
    """A query parameter is missing or invalid; the message is shown to the caller as is."""


def error_response(message: str, status: int = 400) -> tuple[Response, int]:
    return jsonify({"error": message}), status


def query_symbol(services: Services, name: str = "symbol") -> str:
    symbol = (request.args.get(name) or "").upper()
    if not symbol:
        raise BadRequest(f"'{name}' is required, e.g. {name}=BTCUSDT")
    known = services.market.datastream.symbols()
    if symbol not in known:
        raise BadRequest(f"unknown symbol '{symbol}'; streamed symbols: {', '.join(known)}")
    return symbol


def query_timeframe(services: Services, name: str = "timeframe") -> Timeframe:
    raw = request.args.get(name) or ""
    allowed = services.market.datastream.timeframes
    try:
        timeframe = Timeframe(raw)
    except ValueError:
        raise BadRequest(
            f"unknown timeframe '{raw}'; use one of {', '.join(tf.value for tf in allowed)}"
        ) from None
    if timeframe not in allowed:
        raise BadRequest(
            f"timeframe '{raw}' is not streamed; use one of {', '.join(t.value for t in allowed)}"
        )
    return timeframe


def query_int(name: str, default: int | None, minimum: int, maximum: int) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"'{name}' must be an integer, got '{raw}'") from None
    if not minimum <= value <= maximum:
        raise BadRequest(f"'{name}' must be between {minimum} and {maximum}, got {value}")
    return value


def json_endpoint(handler: Callable[[], Any]) -> Callable[[], Any]:
    """Turn `BadRequest` into HTTP 400 with a JSON error body."""

    def wrapper() -> Any:
        try:
            return handler()
        except BadRequest as error:
            return error_response(str(error))

    wrapper.__name__ = handler.__name__
    return wrapper


def register(server: Flask, services: Services, hub: PushHub | None = None) -> None:
    @server.get("/api/health")
    @json_endpoint
    def api_health() -> Any:
        report = services.health()
        if hub is not None:
            report["push"] = hub.stats()
        return jsonify(report)

    @server.get("/api/klines")
    @json_endpoint
    def api_klines() -> Any:
        symbol = query_symbol(services)
        timeframe = query_timeframe(services)
        limit = query_int("limit", DEFAULT_KLINES_LIMIT, 1, MAX_KLINES_LIMIT)
        start = query_int("start", None, 0, 2**53)
        end = query_int("end", None, 0, 2**53)
        if start is not None and end is not None and start > end:
            raise BadRequest(f"'start' ({start}) is after 'end' ({end})")
        assert limit is not None
        candles = services.market.klines(symbol, timeframe, limit=limit, start=start, end=end)
        return jsonify([candle.as_dict() for candle in candles])
