"""The analytics part of the JSON API: indicator series, signals, confluence, the indicator catalog.

`GET /api/indicators?symbol=BTCUSDT&timeframe=1m&name=RSI&timeperiod=14[&limit=]` — every query key other
than symbol, timeframe, name and limit is an indicator parameter, so a notebook asks for any TA-Lib
function the way TA-Lib spells it. Bad names or parameters answer 400 with {"error": ...} naming them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flask import Flask, jsonify, request

from dash_modules.api import (
    BadRequest,
    json_endpoint,
    query_int,
    query_symbol,
    query_timeframe,
)
from thebot.indicators import IndicatorError

if TYPE_CHECKING:
    from thebot.services import Services
    from thebot.signals.service import AnalyticsService

RESERVED_KEYS = frozenset({"symbol", "timeframe", "name", "limit"})
DEFAULT_SERIES_LIMIT = 500
MAX_SERIES_LIMIT = 100_000
DEFAULT_SIGNALS_LIMIT = 100
MAX_SIGNALS_LIMIT = 10_000


def analytics_endpoint(
    services: Services,
) -> Callable[[Callable[[AnalyticsService], Any]], Callable[[], Any]]:
    """Hand the handler the analytics service; `IndicatorError` and `BadRequest` become HTTP 400."""

    def decorate(handler: Callable[[AnalyticsService], Any]) -> Callable[[], Any]:
        def wrapper() -> Any:
            try:
                return handler(services.analytics)
            except IndicatorError as error:
                raise BadRequest(str(error)) from None

        wrapper.__name__ = handler.__name__
        return json_endpoint(wrapper)

    return decorate


def register(server: Flask, services: Services) -> None:
    endpoint = analytics_endpoint(services)

    @server.get("/api/indicators")
    @endpoint
    def api_indicators(analytics: AnalyticsService) -> Any:
        symbol = query_symbol(services)
        timeframe = query_timeframe(services)
        name = (request.args.get("name") or "").strip()
        if not name:
            raise BadRequest("'name' is required, e.g. name=RSI; GET /api/indicators/catalog lists them")
        limit = query_int("limit", DEFAULT_SERIES_LIMIT, 1, MAX_SERIES_LIMIT)
        params = {key: value for key, value in request.args.items() if key not in RESERVED_KEYS}
        return jsonify(analytics.indicator_series(symbol, timeframe, name, params, limit))

    @server.get("/api/indicators/catalog")
    @endpoint
    def api_indicator_catalog(analytics: AnalyticsService) -> Any:
        return jsonify(analytics.indicator_catalog())

    @server.get("/api/signals")
    @endpoint
    def api_signals(analytics: AnalyticsService) -> Any:
        symbol = query_symbol(services)
        timeframe = query_timeframe(services) if request.args.get("timeframe") else None
        limit = query_int("limit", DEFAULT_SIGNALS_LIMIT, 1, MAX_SIGNALS_LIMIT)
        assert limit is not None
        return jsonify([signal.as_dict() for signal in analytics.signals(symbol, timeframe, limit)])

    @server.get("/api/confluence")
    @endpoint
    def api_confluence(analytics: AnalyticsService) -> Any:
        return jsonify(analytics.confluence(query_symbol(services)))

    @server.get("/api/signals/quality")
    @endpoint
    def api_signal_quality(analytics: AnalyticsService) -> Any:
        symbol = query_symbol(services)
        timeframe = query_timeframe(services)
        horizon = query_int("horizon", None, 1, 1000)
        return jsonify([item.as_dict() for item in analytics.quality(symbol, timeframe, horizon)])
