"""GET /api/news, /api/news/feeds, /api/news/sentiment, /api/calendar: shapes, filters and 400s."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from email.utils import formatdate
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask

from dash_modules import news_api
from tests.unit.news.feeds import Entry, atom, ics, rss
from thebot.news.service import NewsService
from thebot.news.settings import NewsSettings

SYMBOLS = ["BTCUSDT", "ETHUSDT"]
NOW = time.time()  # items of the last hours, so the 24 h sentiment counts them


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    folder = tmp_path_factory.mktemp("feeds")
    wire, desk, broken, calendar = (
        folder / name for name in ("wire.xml", "desk.atom", "broken.xml", "macro.ics")
    )
    wire.write_bytes(
        rss(
            [
                Entry(
                    "Bitcoin rallies to record high",
                    link="https://w.example/1",
                    date=formatdate(NOW - 7200, usegmt=True),
                ),
                Entry(
                    "Ethereum bridge hacked",
                    link="https://w.example/2",
                    date=formatdate(NOW - 3600, usegmt=True),
                ),
            ],
            title="Wire",
        )
    )
    desk.write_bytes(
        atom(
            [
                Entry(
                    "Markets wait for the Fed",
                    link="https://d.example/1",
                    date=dt.datetime.fromtimestamp(NOW - 1800, dt.UTC).isoformat(),
                )
            ]
        )
    )
    broken.write_bytes(b"<html><body>gone</body></html>")
    calendar.write_bytes(
        ics(
            [
                "UID:a\nDTSTART:20261216T190000Z\nSUMMARY:FOMC rate decision\nPRIORITY:1",
                "UID:b\nDTSTART:20261204T133000Z\nSUMMARY:Nonfarm payrolls\nPRIORITY:1",
            ]
        )
    )
    settings = NewsSettings(
        feeds=(str(wire), str(desk), str(broken)), calendars=(str(calendar),), parse_workers=0
    )
    service = NewsService(settings, symbols=lambda: SYMBOLS)
    service.refresh_all()
    server = Flask(__name__)
    market = SimpleNamespace(datastream=SimpleNamespace(symbols=lambda: SYMBOLS))
    news_api.register(server, SimpleNamespace(market=market, news=service))  # type: ignore[arg-type]
    off = Flask("off")
    news_api.register(off, SimpleNamespace(market=market, news=None))  # type: ignore[arg-type]
    try:
        yield server.test_client(), off.test_client(), str(broken)
    finally:
        service.stop()


def test_news_newest_first_with_the_documented_fields(client: Any) -> None:
    http, _, _ = client
    rows = http.get("/api/news").get_json()
    assert [row["title"] for row in rows] == [
        "Markets wait for the Fed",
        "Ethereum bridge hacked",
        "Bitcoin rallies to record high",
    ]
    assert set(rows[0]) == {"id", "title", "link", "source", "published", "summary", "sentiment", "symbols"}
    assert rows[1]["sentiment"]["label"] == "negative" and rows[1]["sentiment"]["score"] < -0.05
    assert rows[1]["symbols"] == ["ETHUSDT"] and rows[1]["source"] == "Wire"


@pytest.mark.parametrize(
    ("query", "titles"),
    [
        ("symbol=btcusdt", ["Bitcoin rallies to record high"]),
        ("sentiment=negative", ["Ethereum bridge hacked"]),
        ("source=Wire&limit=1", ["Ethereum bridge hacked"]),
        ("q=FED", ["Markets wait for the Fed"]),
    ],
)
def test_filters(client: Any, query: str, titles: list[str]) -> None:
    http, _, _ = client
    assert [row["title"] for row in http.get(f"/api/news?{query}").get_json()] == titles


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("symbol=DOGEUSDT", "unknown symbol 'DOGEUSDT'"),
        ("sentiment=bullish", "'sentiment' must be one of positive, negative, neutral"),
        ("limit=0", "'limit' must be between 1 and 1000"),
        ("limit=ten", "'limit' must be an integer"),
    ],
)
def test_bad_queries_answer_400(client: Any, query: str, message: str) -> None:
    http, _, _ = client
    response = http.get(f"/api/news?{query}")
    assert response.status_code == 400 and message in response.get_json()["error"]


def test_feeds_show_the_failing_one(client: Any) -> None:
    http, _, broken = client
    feeds = {row["url"]: row for row in http.get("/api/news/feeds").get_json()}
    assert feeds[broken]["status"] == "error" and "HTML page" in feeds[broken]["error"]
    assert {row["status"] for url, row in feeds.items() if url != broken} == {"ok"}
    assert all({"url", "status", "last_fetch", "items", "error"} <= set(row) for row in feeds.values())


def test_calendar_window(client: Any) -> None:
    http, _, _ = client
    rows = http.get("/api/calendar?from=0").get_json()
    assert [row["title"] for row in rows] == ["Nonfarm payrolls", "FOMC rate decision"]
    december_10 = 1_796_860_800_000
    assert [row["title"] for row in http.get(f"/api/calendar?from={december_10}").get_json()] == [
        "FOMC rate decision"
    ]
    assert [row["title"] for row in http.get(f"/api/calendar?from=0&to={december_10}").get_json()] == [
        "Nonfarm payrolls"
    ]
    response = http.get("/api/calendar?from=5&to=1")
    assert response.status_code == 400 and "'from' (5) is after 'to' (1)" in response.get_json()["error"]


def test_symbol_sentiment(client: Any) -> None:
    http, _, _ = client
    row = http.get("/api/news/sentiment?symbol=ETHUSDT").get_json()
    assert (row["symbol"], row["items"], row["negative"]) == ("ETHUSDT", 1, 1)
    assert row["score"] < -0.05


def test_news_off_says_how_to_turn_it_on(client: Any) -> None:
    _, off, _ = client
    response = off.get("/api/news")
    assert response.status_code == 503 and "news.enabled" in response.get_json()["error"]
