"""NewsService against a local feed server: good feeds, every bad case of the issue, and restarts.

Each bad feed ends as its own status; the good feeds keep updating on their own interval; a second fetch
gets 304 and changes nothing; a restart restores items from the cache without announcing them again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.unit.news import hostile_parsers
from tests.unit.news.feeds import HTML_PAGE, MALFORMED, XSS_SUMMARY, Entry, atom, ics, rss
from thebot.bench._feedserver import FeedServer
from thebot.events import EventBus, NewsItem
from thebot.news.service import NewsService
from thebot.news.settings import NewsSettings

SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")


@dataclass
class Running:
    service: NewsService
    events: list[NewsItem]
    cache: Path
    bus: EventBus


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


@pytest.fixture(scope="module")
def server() -> Iterator[FeedServer]:
    with FeedServer() as running:
        running.add(
            "/wire.xml",
            rss(
                [
                    Entry("Bitcoin ETF approval lifts the market", link="https://wire.example/1", guid="w1"),
                    Entry(
                        "Ethereum exchange hacked, funds drained", link="https://wire.example/2", guid="w2"
                    ),
                    Entry(
                        "Central bankers meet", link="https://wire.example/3", guid="w3", summary=XSS_SUMMARY
                    ),
                ],
                title="Wire",
            ),
        )
        running.add(
            "/desk.atom",
            atom(
                [
                    # the same story as w1, syndicated under another link: kept once
                    Entry(
                        "Bitcoin ETF approval lifts the market",
                        link="https://desk.example/a",
                        date="2026-11-21T09:00:00Z",
                    ),
                    Entry(
                        "Solana rallies on upgrade",
                        link="https://desk.example/b",
                        date="2026-11-21T09:10:00Z",
                    ),
                ]
            ),
            content_type="application/atom+xml",
            gzip=True,
        )
        running.add("/undated.xml", rss([Entry("Undated note on ether", date=None)], title="Notes"))
        running.add(
            "/latin.xml",
            rss(
                [Entry("Bitcoin à 100\xa0000 €", link="https://latin.example/1")],
                title="Latin",
                encoding="windows-1252",
            ),
            content_type="application/rss+xml",  # no charset: the XML declaration decides
        )
        readable = rss([Entry("Readable despite errors", link="https://bozo.example/1")]).replace(
            b"</channel></rss>", b"<broken></channel>"
        )
        running.add("/bozo.xml", readable)
        running.add("/malformed.xml", MALFORMED + b"<<<")
        running.add("/page.html", HTML_PAGE, content_type="text/html")
        running.behave("/500.xml", "status", status=500)
        running.behave("/forever.xml", "never_ends")
        running.behave("/huge.xml", "huge", size=50_000_000)
        running.behave("/loop.xml", "redirect_loop")
        running.add(
            "/macro.ics",
            ics(["UID:fomc\nDTSTART:20261216T190000Z\nSUMMARY:FOMC rate decision\nPRIORITY:1"]),
            content_type="text/calendar",
        )
        yield running


GOOD = ["/wire.xml", "/desk.atom", "/undated.xml", "/latin.xml", "/bozo.xml"]
BAD = {
    "/malformed.xml": "cannot parse the feed",
    "/page.html": "HTML page, not a feed",
    "/404.xml": "HTTP 404",
    "/500.xml": "HTTP 500",
    "/forever.xml": "did not finish within 1 s",
    "/huge.xml": "max_bytes",
    "/loop.xml": "more than 3 redirects",
}


def settings_for(server: FeedServer, **changes: object) -> NewsSettings:
    values: dict[str, object] = {
        "feeds": tuple(server.url(path) for path in [*GOOD, *BAD]),
        "calendars": (server.url("/macro.ics"),),
        "timeout_seconds": 1.0,
        "max_bytes": 1_000_000,
        "max_redirects": 3,
        "jitter": 0.0,
        **changes,
    }
    return NewsSettings(**values)  # type: ignore[arg-type]


def collect(bus: EventBus) -> list[NewsItem]:
    seen: list[NewsItem] = []
    bus.subscribe(NewsItem, seen.append, name="test-news")
    return seen


@pytest.fixture(scope="module")
def running(server: FeedServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    cache = tmp_path_factory.mktemp("news-cache")
    bus = EventBus()
    events = collect(bus)
    wire = server.url("/wire.xml")
    service = NewsService(
        settings_for(server, feed_refresh_seconds=(f"{wire}=1",)),
        bus=bus,
        symbols=lambda: SYMBOLS,
        cache_dir=cache,
        workers=4,
    ).start()
    wait_for(lambda: all(feed["last_fetch"] is not None for feed in service.feeds()), timeout=15)
    bus.wait_idle()
    yield Running(service, events, cache, bus)
    service.stop()
    bus.close()


def test_every_bad_feed_ends_as_its_own_status(running: Running, server: FeedServer) -> None:
    service = running.service
    feeds = {feed["url"]: feed for feed in service.feeds()}
    for path, message in BAD.items():
        feed = feeds[server.url(path)]
        assert feed["status"] == "error" and message in feed["error"], (path, feed)
    for path in GOOD:
        feed = feeds[server.url(path)]
        assert feed["status"] == "ok" and feed["error"] == "" and feed["items"] >= 1, (path, feed)
    assert "malformed but readable" in feeds[server.url("/bozo.xml")]["warning"]
    assert feeds[server.url("/macro.ics")]["status"] == "ok"


def test_items_are_deduplicated_scored_tagged_and_plain_text(
    running: Running,
) -> None:
    service, events = running.service, running.events
    items = {item.title: item for item in service.items(limit=100)}
    assert [title for title in items if title.startswith("Bitcoin ETF approval")] == [
        "Bitcoin ETF approval lifts the market"
    ]
    assert items["Bitcoin ETF approval lifts the market"].symbols == ("BTCUSDT",)
    assert items["Bitcoin ETF approval lifts the market"].label == "positive"
    assert items["Ethereum exchange hacked, funds drained"].label == "negative"
    assert items["Ethereum exchange hacked, funds drained"].symbols == ("ETHUSDT",)
    assert items["Solana rallies on upgrade"].symbols == ("SOLUSDT",)
    assert items["Undated note on ether"].symbols == ("ETHUSDT",)
    assert "Bitcoin à 100 000 €" in items  # windows-1252 bytes, no-break space shown as a space
    assert items["Central bankers meet"].summary == "Markets calm today click"
    assert len(events) == len({event.id for event in events}) == len(items)
    assert service.items(symbol="SOLUSDT")[0].title == "Solana rallies on upgrade"
    assert {item.label for item in service.items(sentiment="negative")} == {"negative"}
    assert [item.title for item in service.items(query="HACKED")] == [
        "Ethereum exchange hacked, funds drained"
    ]
    assert {item.source for item in service.items(source="Wire")} == {"Wire"}
    published = [item.published for item in service.items()]
    assert published == sorted(published, reverse=True)


def test_second_fetch_gets_304_and_changes_nothing(running: Running, server: FeedServer) -> None:
    service, events = running.service, running.events
    url = server.url("/desk.atom")
    before = ([item.to_json() for item in service.items()], len(events))
    not_modified = server.count("/desk.atom", 304)
    status = service.refresh(url)
    assert status["status"] == "ok"
    assert server.count("/desk.atom", 304) == not_modified + 1
    assert ([item.to_json() for item in service.items()], len(events)) == before


def test_good_feed_keeps_updating_on_its_own_interval_while_others_fail(
    running: Running, server: FeedServer
) -> None:
    service, events = running.service, running.events
    server.add(
        "/wire.xml",
        rss(
            [Entry("Breaking: Solana liquidation wave", link="https://wire.example/4", guid="w4")],
            title="Wire",
        ),
    )
    wait_for(
        lambda: any(item.title == "Breaking: Solana liquidation wave" for item in service.items()), timeout=6
    )
    assert (
        any(event.title == "Breaking: Solana liquidation wave" for event in events)
        or service._bus.wait_idle()
    )  # type: ignore[union-attr]
    feeds = {feed["url"]: feed for feed in service.feeds()}
    assert feeds[server.url("/500.xml")]["status"] == "error"
    assert service.sentiment("SOLUSDT", hours=24 * 3650)["items"] == 2


def test_calendar_from_the_server(running: Running) -> None:
    service = running.service
    [event] = service.calendar()
    assert (event.title, event.importance) == ("FOMC rate decision", "high")


def test_restart_restores_items_and_sends_validators(running: Running, server: FeedServer) -> None:
    service, cache = running.service, running.cache
    titles = {item.title for item in service.items()}
    service.stop()
    bus = EventBus()
    events = collect(bus)
    again = NewsService(settings_for(server), bus=bus, symbols=lambda: SYMBOLS, cache_dir=cache)
    try:
        assert {item.title for item in again.items()} == titles  # before any fetch
        not_modified = server.count("/desk.atom", 304)
        assert again.refresh(server.url("/desk.atom"))["status"] == "ok"
        assert server.count("/desk.atom", 304) == not_modified + 1
        again.refresh(server.url("/wire.xml"))
        bus.wait_idle()
        assert events == []  # nothing new: nothing announced twice
    finally:
        again.stop()
        bus.close()


def test_base_assets_come_from_exchange_info(server: FeedServer) -> None:
    """BTCUSD1 (quote USD1, unknown to the quote-stripping fallback) is tagged on "BTC" via exchangeInfo."""
    server.add(
        "/api/v3/exchangeInfo",
        '{"symbols": [{"symbol": "BTCUSD1", "baseAsset": "BTC", "quoteAsset": "USD1"}]}',
        content_type="application/json",
    )
    server.add("/usd1.xml", rss([Entry("BTC pairs against USD1 open", link="https://w.example/usd1")]))
    feed = server.url("/usd1.xml")

    def tags(exchange_info_url: str | None) -> list[tuple[str, ...]]:
        service = NewsService(
            NewsSettings(feeds=(feed,), parse_workers=0),
            symbols=lambda: ("BTCUSD1",),
            exchange_info_url=exchange_info_url,
        )
        try:
            service.refresh(feed)
            return [item.symbols for item in service.items()]
        finally:
            service.stop()

    assert tags(None) == [()]
    assert tags(server.url("")) == [("BTCUSD1",)]
    assert server.count("/api/v3/exchangeInfo") == 1


@pytest.mark.parametrize(
    ("parser", "message"),
    [
        (hostile_parsers.hangs_on_wire, "parsing took longer than 2 s"),
        (hostile_parsers.dies_on_wire, "parser process died"),
    ],
)
def test_a_stuck_or_dying_parser_process_is_that_feeds_error_and_is_replaced(
    server: FeedServer, parser: Any, message: str
) -> None:
    wire, desk = server.url("/wire.xml"), server.url("/desk.atom")
    settings = NewsSettings(feeds=(wire, desk), parse_timeout_seconds=2.0)
    service = NewsService(settings, symbols=lambda: SYMBOLS, process_digest=parser)
    try:
        started = time.monotonic()
        status = service.refresh(wire)
        assert status["status"] == "error" and message in status["error"]
        assert time.monotonic() - started < 60
        assert service.refresh(desk)["status"] == "ok"  # a new parser process
        assert [item.source for item in service.items()] == ["Atom Desk", "Atom Desk"]
    finally:
        service.stop()
