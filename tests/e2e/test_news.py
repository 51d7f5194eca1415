"""A user opens the News page of an app whose feeds point at a local server: items with tags and
sentiment badges, the symbol filter, a failing feed's error, a news marker on the price, and a hostile
summary whose <script> and onerror never run."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import ROOT, RunningApp, start_app, stop_app
from tests.unit.news.feeds import Entry, ics, rss
from thebot.bench._feedserver import FeedServer

pytestmark = pytest.mark.e2e

NOW = time.time()
HOSTILE_TITLE = 'Ethereum <img src=x onerror="window.__pwned = 1"> upgrade ships'
HOSTILE_SUMMARY = 'Calm day<script>window.__pwned = 2</script><img src=y onerror="window.__pwned = 3">'


@dataclass
class NewsApp:
    app: RunningApp
    server: FeedServer


def news_section(server: FeedServer) -> str:
    feeds = [server.url("/wire.xml"), server.url("/down.xml")]
    return (
        f"[news]\nfeeds = {feeds!r}\n".replace("'", '"')
        + f'calendars = ["{server.url("/macro.ics")}"]\n'
        + "refresh_seconds = 30.0\ntimeout_seconds = 2.0\n"
    )


def write_config(tmp_path: Path, server: FeedServer) -> Path:
    text = (ROOT / "config" / "settings.toml").read_text()
    # Replace the [news] table (up to the next table header) with one that reads the local server.
    replaced = re.sub(r"(?ms)^\[news\]\n.*?(?=^\[|\Z)", lambda _: news_section(server) + "\n", text)
    assert replaced != text
    path = tmp_path / "settings.toml"
    path.write_text(replaced)
    return path


@pytest.fixture(scope="module")
def news_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NewsApp]:
    server = FeedServer().start()
    server.add(
        "/wire.xml",
        rss(
            [
                Entry(
                    "Bitcoin ETF approval lifts the market",
                    link="https://wire.example/1",
                    date=formatdate(NOW - 1800),
                ),
                Entry(
                    HOSTILE_TITLE,
                    link="javascript:window.__pwned=4",
                    date=formatdate(NOW - 3600),
                    summary=HOSTILE_SUMMARY,
                ),
                Entry(
                    "Exchange hacked, Bitcoin and Ether drained",
                    link="https://wire.example/3",
                    date=formatdate(NOW - 5400),
                ),
            ],
            title="Local Wire",
        ),
    )
    server.behave("/down.xml", "status", status=500)
    start = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(NOW + 2 * 3600 + 300))
    server.add("/macro.ics", ics([f"UID:fomc\nDTSTART:{start}\nSUMMARY:FOMC rate decision\nPRIORITY:1"]))
    tmp = tmp_path_factory.mktemp("news-app")
    app = start_app(tmp, "--source", "sim", "--speed", "60", "--config", str(write_config(tmp, server)))
    yield NewsApp(app, server)
    stop_app(app)
    server.stop()


def item_titles(page: Any) -> list[str]:
    return [title.strip() for title in page.locator("#news-list .news-title").all_inner_texts()]


def test_news_page(browser: Any, news_app: NewsApp) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(f"{news_app.app.url}/news")

    # 1) The list: newest first, with source, tags and sentiment badges.
    page.wait_for_function(
        "() => document.querySelectorAll('#news-list .news-item').length >= 3", timeout=30_000
    )
    titles = item_titles(page)
    assert titles[0] == "Bitcoin ETF approval lifts the market"
    assert titles[1] == "Ethereum upgrade ships"  # the <img onerror> is gone, the words stay
    items = page.locator("#news-list .news-item")
    first = items.nth(0)
    assert first.locator(".news-source").inner_text() == "Local Wire"
    assert first.locator(".news-tag").all_inner_texts() == ["BTCUSDT"]
    assert first.locator(".news-badge").inner_text().startswith("positive")
    assert "news-negative" in (items.nth(2).locator(".news-badge").get_attribute("class") or "")
    assert items.nth(2).locator(".news-tag").all_inner_texts() == ["BTCUSDT", "ETHUSDT"]
    assert re.fullmatch(r"\d+ min ago", first.locator(".news-time").inner_text())
    badge_colour = first.locator(".news-badge").evaluate("(el) => getComputedStyle(el).color")
    assert badge_colour == "rgb(38, 166, 154)"
    # The javascript: link is not clickable at all.
    assert items.nth(1).locator("a").count() == 0

    # 2) The failing feed says what is wrong, in the table and above the list.
    page.wait_for_selector("#news-feeds .feed-row-error", timeout=10_000)
    assert "HTTP 500" in page.inner_text("#news-feeds .feed-row-error")
    assert "1 of 2 feeds unreachable" in page.inner_text("#news-reason")

    # 3) The calendar counts down to the FOMC decision.
    page.wait_for_selector("#news-calendar .calendar-important", timeout=10_000)
    # NOW is taken when the module is imported, which in a full run is minutes before this line.
    left = int((NOW + 2 * 3600 + 300 - time.time()) // 60)
    shown = re.search(r"in (\d+) h (\d+) min", page.inner_text("#news-calendar"))
    assert shown is not None
    assert abs(int(shown[1]) * 60 + int(shown[2]) - left) <= 1, (shown[0], left)

    # 4) Filter by symbol: only items tagged ETHUSDT, and the symbol's 24 h sentiment.
    page.select_option("#news-symbol", "ETHUSDT")
    page.wait_for_function(
        "() => document.querySelectorAll('#news-list .news-item').length === 2", timeout=10_000
    )
    assert item_titles(page) == ["Ethereum upgrade ships", "Exchange hacked, Bitcoin and Ether drained"]
    assert "ETHUSDT · 24 h sentiment" in page.inner_text("#news-summary")

    # 5) A news marker on the price: the News trace holds the symbol's items, headline on hover.
    page.select_option("#news-symbol", "BTCUSDT")
    marker = page.wait_for_function(
        """() => { const gd = document.querySelector('#news-chart .js-plotly-plot');
                   if (!gd || !gd.data || !gd.data.length || gd.data[0].name !== 'BTCUSDT') return null;
                   const news = gd.data.find((trace) => trace.name === 'News');
                   return news && news.x.length === 2 ? news.text : null; }""",
        timeout=45_000,
    ).json_value()
    assert marker == ["Exchange hacked, Bitcoin and Ether drained", "Bitcoin ETF approval lifts the market"]

    # The page follows pushed changes: its interval (the fallback) is off while the stream is up.
    assert page.evaluate("() => window.thebotPush.connected")
    assert (
        page.evaluate(
            "(id) => { const s = window.store.getState(); let node = s.layout;"
            " for (const step of s.paths.strs[id]) node = node[step]; return node.props.disabled; }",
            "news-tick",
        )
        is True
    )

    # 6) Nothing injected ran.
    assert page.evaluate("() => window.__pwned") is None
    assert page.locator("#news-list img, #news-list script, #news-list [onerror]").count() == 0
    assert dialogs == [] and errors == []
    page.close()
