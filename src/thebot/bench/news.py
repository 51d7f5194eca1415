"""`python -m thebot.bench news [--items N] [--load-seconds S]`: the news pipeline's cost.

1. Parse, deduplicate, tag and score N items (default 1,000, target ≤ 1 s) from RSS documents written
   here, against a baseline of bare `feedparser.parse` of the same documents in the same run.
2. Load: 20 local feeds refreshed every second by a NewsService (every fetch a full 200 with changed
   content, no 304s), while an asyncio loop thread measures its own wake-up lag (p95), against the same
   measurement without the service. The lead's live-runtime latency benchmark can run inside
   `news_load()` for the real comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import random
import statistics
import threading
import time
from collections.abc import Iterator
from email.utils import formatdate
from multiprocessing.connection import Connection
from typing import Any
from xml.sax.saxutils import escape

import feedparser

from thebot.bench._feedserver import FeedServer
from thebot.news.items import ItemStore, make_article
from thebot.news.service import NewsService
from thebot.news.settings import NewsSettings
from thebot.news.worker import Digester, TagSpec, lower_priority

SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "BNBUSDT", "DOGEUSDT", "ADAUSDT", "LINKUSDT")
SUBJECTS = (
    "Bitcoin",
    "BTC",
    "Ether",
    "Ethereum",
    "Solana",
    "XRP",
    "BNB",
    "Dogecoin",
    "Cardano",
    "the market",
)
EVENTS = (
    "rallies to a record high on ETF inflows",
    "slides as liquidations mount",
    "exchange hacked, funds drained",
    "developers ship a mainnet upgrade",
    "traders brace for the halving",
    "holds steady ahead of the Fed",
    "faces a rug pull scare",
    "gains after ETF approval",
    "whales move coins to exchanges",
    "fees fall to a two-year low",
)
SUMMARY = (
    "<p>{subject} {event}, analysts said on <b>{day}</b>. "
    '<a href="https://example.com/{index}">Read more</a><img src="https://example.com/i.png"></p>'
)


def documents(items: int, per_feed: int = 100, duplicate_share: float = 0.1, seed: int = 1) -> list[bytes]:
    """RSS documents holding `items` entries; about `duplicate_share` repeat a story of another feed."""
    generator = random.Random(seed)
    stories: list[tuple[str, str]] = []
    docs: list[bytes] = []
    now = time.time()
    for start in range(0, items, per_feed):
        entries = []
        for index in range(start, min(start + per_feed, items)):
            if stories and generator.random() < duplicate_share:
                title, link = generator.choice(stories)
                link = link + "?syndicated"  # another link, the same title: a dedup by title
            else:
                subject, event = generator.choice(SUBJECTS), generator.choice(EVENTS)
                title = f"{subject} {event} (#{index})"
                link = f"https://news.example/{index}"
                stories.append((title, link))
            summary = SUMMARY.format(subject=title.split()[0], event="moves", day="Monday", index=index)
            entries.append(
                f"<item><title>{escape(title)}</title><link>{link}</link><guid>{link}</guid>"
                f"<pubDate>{formatdate(now - index * 60, usegmt=True)}</pubDate>"
                f"<description>{escape(summary)}</description></item>"
            )
        docs.append(
            (
                '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
                f"<title>Bench feed {start // per_feed}</title>" + "".join(entries) + "</channel></rss>"
            ).encode()
        )
    return docs


def pipeline(docs: list[bytes], digester: Digester, spec: TagSpec) -> tuple[int, int]:
    """What the service does per fetched document, minus the network: returns (parsed, kept)."""
    store = ItemStore(100_000)
    parsed_count = 0
    for number, doc in enumerate(docs):
        digest = digester.digest("news", doc, "application/rss+xml", "bench", spec)
        parsed_count += len(digest.items)
        for entry in digest.items:
            if store.seen(entry.item):
                continue
            article = make_article(
                entry.item,
                source=digest.title,
                feed=str(number),
                seen_at=0,
                score=entry.score,
                label=entry.label,
                symbols=entry.symbols,
            )
            store.add(entry.item, article)
    return parsed_count, len(store)


def _best_of(runs: int, work: Any) -> float:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        timings.append(time.perf_counter() - started)
    return min(timings)


# -- load ----------------------------------------------------------------------------------------------


def _serve_feeds(feeds: int, items_per_feed: int, connection: Connection) -> None:
    """In its own process at low priority: it stands in for the internet, not for work of the app."""
    lower_priority()
    with FeedServer() as server:
        docs = documents(feeds * items_per_feed, per_feed=items_per_feed, duplicate_share=0.0)
        urls = [server.add(f"/feed{index}.xml", doc, validators=False) for index, doc in enumerate(docs)]
        connection.send(urls)
        with contextlib.suppress(EOFError, OSError):
            connection.recv()  # until the parent says stop (or goes away)


@contextlib.contextmanager
def feed_server_process(feeds: int = 20, items_per_feed: int = 50) -> Iterator[list[str]]:
    """`feeds` RSS feeds served by a separate process (no validators: every fetch is a full 200)."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    server = context.Process(target=_serve_feeds, args=(feeds, items_per_feed, child), daemon=True)
    server.start()
    try:
        if not parent.poll(60):
            raise RuntimeError("the feed server process did not start within 60 s")
        yield parent.recv()
    finally:
        with contextlib.suppress(OSError):
            parent.send("stop")
        server.join(5)
        if server.is_alive():
            server.terminate()


@contextlib.contextmanager
def refreshing(urls: list[str], refresh_seconds: float = 1.0) -> Iterator[NewsService]:
    settings = NewsSettings(
        feeds=tuple(urls),
        feed_refresh_seconds=tuple(f"{url}={refresh_seconds:g}" for url in urls),
        jitter=0.1,
        timeout_seconds=5.0,
    )
    service = NewsService(settings, symbols=lambda: SYMBOLS).start()
    try:
        yield service
    finally:
        service.stop()


@contextlib.contextmanager
def news_load(
    feeds: int = 20, refresh_seconds: float = 1.0, items_per_feed: int = 50
) -> Iterator[NewsService]:
    """A NewsService refreshing `feeds` local feeds every `refresh_seconds`; every fetch is a full 200.

    The feeds are served by a separate process. For the lead's latency benchmark: run it once plainly and
    once inside `with news_load(): ...`."""
    with feed_server_process(feeds, items_per_feed) as urls, refreshing(urls, refresh_seconds) as service:
        yield service


def _loop_lag_p95(seconds: float, period: float = 0.01) -> tuple[float, int]:
    """p95 of how late an asyncio loop thread wakes from `sleep(period)`, in milliseconds."""
    lags: list[float] = []

    async def measure() -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            started = time.perf_counter()
            await asyncio.sleep(period)
            lags.append((time.perf_counter() - started - period) * 1000)

    thread = threading.Thread(target=lambda: asyncio.run(measure()), name="bench-loop")
    thread.start()
    thread.join()
    return statistics.quantiles(lags, n=20)[18], len(lags)


def run(argv: list[str]) -> dict[str, object]:
    parser = argparse.ArgumentParser(prog="python -m thebot.bench news")
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--load-seconds", type=float, default=5.0, help="length of each lag window; 0 skips the load part"
    )
    parser.add_argument("--rounds", type=int, default=3, help="quiet/loaded rounds of the load measurement")
    args = parser.parse_args(argv)

    docs = documents(args.items)
    digester = Digester()
    spec = TagSpec(SYMBOLS, tuple(NewsSettings().name_table().items()))
    parsed, kept = pipeline(docs, digester, spec)  # also warms the scorer and the tagger up
    baseline = _best_of(args.runs, lambda: [feedparser.parse(doc) for doc in docs])
    full = _best_of(args.runs, lambda: pipeline(docs, digester, spec))
    result: dict[str, object] = {
        "items": parsed,
        "unique": kept,
        "documents": len(docs),
        "feedparser_seconds": round(baseline, 4),
        "pipeline_seconds": round(full, 4),
        "overhead_vs_feedparser": round(full / baseline, 2),
        "target_seconds": 1.0,
        "target_met": full <= 1.0,
    }
    if args.load_seconds > 0:
        # Interleaved rounds, so that a change in the machine's load moves every figure alike:
        # quiet; one refresh of the 20 feeds (a service starts and fetches each once, as at the app's
        # start or every refresh_seconds); and, as a stress case, the 20 feeds refreshed every second.
        quiet: list[float] = []
        once: list[float] = []
        stress: list[float] = []
        refreshed = stressed = 0
        with feed_server_process() as urls:
            for _ in range(args.rounds):
                quiet.append(_loop_lag_p95(args.load_seconds)[0])
                with refreshing(urls, refresh_seconds=300.0) as service:
                    once.append(_loop_lag_p95(args.load_seconds)[0])
                    refreshed = sum(1 for feed in service.feeds() if feed["status"] == "ok")
                with refreshing(urls, refresh_seconds=1.0) as service:
                    time.sleep(1.5)  # the parser process starts and the first round lands
                    stress.append(_loop_lag_p95(args.load_seconds)[0])
                    stressed = sum(1 for feed in service.feeds() if feed["status"] == "ok")
        baseline = statistics.median(quiet)

        def change(values: list[float]) -> float | None:
            return round(statistics.median(values) / baseline - 1.0, 3) if baseline else None

        result.update(
            {
                "load_feeds": len(urls),
                "loop_lag_p95_ms_quiet": [round(value, 2) for value in quiet],
                "loop_lag_p95_ms_one_refresh": [round(value, 2) for value in once],
                "one_refresh_feeds_ok": refreshed,
                "one_refresh_p95_change": change(once),
                "loop_lag_p95_ms_every_second": [round(value, 2) for value in stress],
                "every_second_feeds_ok": stressed,
                "every_second_p95_change": change(stress),
            }
        )
    return result
