"""The news JSON API: items, feed health, per-symbol sentiment and the economic calendar (read-only).

`GET /api/news?symbol=&sentiment=&source=&q=&limit=`, `GET /api/news/feeds`,
`GET /api/news/sentiment?symbol=`, `GET /api/calendar?from=&to=` (UTC epoch milliseconds).
Every bad query answers 400 with {"error": "..."} naming what was wrong.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Flask, jsonify, request

from dash_modules.api import BadRequest, error_response, json_endpoint, query_int, query_symbol
from thebot.news.service import NewsService
from thebot.services import Services

SENTIMENTS = ("positive", "negative", "neutral")
DEFAULT_NEWS_LIMIT = 100
MAX_NEWS_LIMIT = 1000
NEWS_OFF = "news is off: set news.enabled = true in the settings file and restart"


def news_query(services: Services) -> dict[str, Any]:
    """The filters of /api/news, checked; the page's filters use the same names."""
    symbol = query_symbol(services) if request.args.get("symbol") else None
    sentiment = (request.args.get("sentiment") or "").lower() or None
    if sentiment is not None and sentiment not in SENTIMENTS:
        raise BadRequest(f"'sentiment' must be one of {', '.join(SENTIMENTS)}, got '{sentiment}'")
    limit = query_int("limit", DEFAULT_NEWS_LIMIT, 1, MAX_NEWS_LIMIT)
    assert limit is not None
    return {
        "symbol": symbol,
        "sentiment": sentiment,
        "source": request.args.get("source") or None,
        "query": request.args.get("q") or None,
        "limit": limit,
    }


def register(server: Flask, services: Services) -> None:
    def news() -> NewsService | None:
        return services.news

    @server.get("/api/news")
    @json_endpoint
    def api_news() -> Any:
        service = news()
        if service is None:
            return error_response(NEWS_OFF, 503)
        filters = news_query(services)
        return jsonify([article.to_json() for article in service.items(**filters)])

    @server.get("/api/news/feeds")
    @json_endpoint
    def api_news_feeds() -> Any:
        service = news()
        if service is None:
            return error_response(NEWS_OFF, 503)
        return jsonify(service.feeds())

    @server.get("/api/news/sentiment")
    @json_endpoint
    def api_news_sentiment() -> Any:
        service = news()
        if service is None:
            return error_response(NEWS_OFF, 503)
        symbol = query_symbol(services)
        return jsonify(service.sentiment(symbol))

    @server.get("/api/calendar")
    @json_endpoint
    def api_calendar() -> Any:
        service = news()
        if service is None:
            return error_response(NEWS_OFF, 503)
        start = query_int("from", None, 0, 2**53)
        end = query_int("to", None, 0, 2**53)
        if start is None and end is None:
            start = int(time.time() * 1000) - 3_600_000  # the last hour and everything ahead
        if start is not None and end is not None and start > end:
            raise BadRequest(f"'from' ({start}) is after 'to' ({end})")
        return jsonify([entry.to_json() for entry in service.calendar(start, end)])
