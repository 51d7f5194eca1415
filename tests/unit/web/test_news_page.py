"""The News page's pure parts: chart markers, times, the empty-list reason, rows rendered as text."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import plotly.io

from dash_modules.news_page import (
    calendar_panel,
    countdown,
    empty_reason,
    feeds_table,
    news_marker_trace,
    news_row,
    relative_time,
    side_props,
)
from thebot.news.models import Article, CalendarEntry
from thebot.news.service import NewsService
from thebot.news.settings import NewsSettings

MINUTE = 60_000


def article(title: str, published: int, label: str = "neutral", **fields: Any) -> Article:
    values: dict[str, Any] = {
        "id": title[:8],
        "title": title,
        "link": "https://e.example/1",
        "source": "Wire",
        "feed": "f",
        "published": published,
        "summary": "",
        "label": label,
        **fields,
    }
    return Article(**values)


def texts(component: Any) -> str:
    """Every string a component renders, as Dash would send it (children only, never as markup)."""
    return json.dumps(component.to_plotly_json(), cls=plotly.utils.PlotlyJSONEncoder)


def test_marker_trace_keeps_items_in_range_in_time_order_with_escaped_headlines() -> None:
    items = [
        article("Late <b>story</b>", 5 * MINUTE, "negative"),
        article("Too old", 0),
        article("Early story", 2 * MINUTE, "positive"),
        article("Too new", 11 * MINUTE),
    ]
    trace = news_marker_trace(items, MINUTE, 10 * MINUTE, 42.0)
    assert trace["type"] == "scatter" and trace["mode"] == "markers"
    assert trace["x"] == [2 * MINUTE, 5 * MINUTE]
    assert trace["y"] == [42.0, 42.0]
    assert trace["text"] == ["Early story", "Late &lt;b&gt;story&lt;/b&gt;"]
    assert trace["marker"]["color"] == ["#26a69a", "#ef5350"]
    assert "%{text}" in trace["hovertemplate"]
    assert news_marker_trace([], 0, 1, 1.0)["x"] == []


def test_relative_time_and_countdown() -> None:
    now = 1_000 * MINUTE
    assert relative_time(now - 30_000, now) == "just now"
    assert relative_time(now - 5 * MINUTE, now) == "5 min ago"
    assert relative_time(now - 180 * MINUTE, now) == "3 h ago"
    assert relative_time(now - 3 * 1440 * MINUTE, now) == "3 d ago"
    assert relative_time(now + 10 * MINUTE, now) == "in 10 min"
    assert countdown(now + 65 * MINUTE, now) == "in 1 h 05 min"
    assert countdown(now + (2 * 1440 + 180) * MINUTE, now) == "in 2 d 3 h"
    assert countdown(now + 4 * MINUTE + 30_000, now) == "in 4 min"
    assert countdown(now + 10_000, now) == "now"
    assert countdown(now - 10 * MINUTE, now) == "started 10 min ago"


def feed(
    url: str, status: str, error: str = "", last_fetch: int | None = 1, title: str = ""
) -> dict[str, Any]:
    return {
        "url": url,
        "kind": "news",
        "title": title,
        "status": status,
        "last_fetch": last_fetch,
        "items": 0,
        "error": error,
    }


def test_empty_list_always_has_a_reason() -> None:
    offline = [
        feed("https://a", "error", "cannot reach the feed: DNS"),
        feed("https://b", "error", "HTTP 500"),
    ]
    assert "all 2 feeds are unreachable" in empty_reason(offline, 0, 0, False)
    assert "cannot reach the feed: DNS" in empty_reason(offline, 0, 0, False)
    waiting = [feed("https://a", "stale", last_fetch=None)]
    assert "Waiting for the first fetch" in empty_reason(waiting, 0, 0, False)
    assert "news.feeds" in empty_reason([], 0, 0, False)
    mixed = [feed("https://a", "ok"), feed("https://b", "error", "HTTP 500", title="Broken Wire")]
    assert empty_reason(mixed, 5, 0, True).startswith("No items match these filters")
    assert empty_reason(mixed, 5, 5, False) == "1 of 2 feeds unreachable: Broken Wire."
    assert empty_reason([feed("https://a", "ok")], 5, 5, False) == ""


def test_row_is_text_only_and_links_only_http() -> None:
    hostile = article(
        "<img src=x onerror=alert(1)> headline",
        MINUTE,
        "negative",
        link="javascript:alert(1)",
        symbols=("BTCUSDT",),
    )
    row = news_row(hostile, 2 * MINUTE)
    rendered = row.to_plotly_json()
    assert "javascript:" not in texts(row)
    assert "<img src=x onerror=alert(1)> headline" in texts(row)  # a plain string child, shown as text
    assert rendered["props"]["className"] == "news-item news-item-negative"
    assert "BTCUSDT" in texts(row) and "negative" in texts(row)
    linked = news_row(article("Fine", MINUTE), 2 * MINUTE)
    assert '"href": "https://e.example/1"' in texts(linked)


def test_feeds_table_and_calendar_panel() -> None:
    table = texts(
        feeds_table([feed("https://down.example/rss", "error", "HTTP 500 Internal Server Error")], 10)
    )
    assert "HTTP 500 Internal Server Error" in table and "feed-row-error" in table
    event = CalendarEntry(
        id="x", title="FOMC rate decision", start=90 * MINUTE, source="m", importance="high"
    )
    panel = texts(calendar_panel([event], 0, True))
    assert "FOMC rate decision" in panel and "in 1 h 30 min" in panel and "calendar-important" in panel
    assert "news.calendars" in texts(calendar_panel([], 0, False))


def test_side_props_for_the_push_hub(tmp_path: Path) -> None:
    broken = tmp_path / "broken.xml"
    broken.write_bytes(b"<html><body>moved</body></html>")
    service = NewsService(NewsSettings(feeds=(str(broken),), parse_workers=0))
    try:
        service.refresh(str(broken))
        settings = SimpleNamespace(news=NewsSettings(calendars=()))
        props = side_props(SimpleNamespace(news=service, settings=settings), now_ms=0)  # type: ignore[arg-type]
        assert "HTML page, not a feed" in texts(props["news-feeds"]["children"])
        assert "news.calendars" in texts(props["news-calendar"]["children"])
        off = side_props(SimpleNamespace(news=None, settings=settings))  # type: ignore[arg-type]
        assert "news.enabled" in texts(off["news-feeds"]["children"])
    finally:
        service.stop()
