"""NewsService: refreshes every feed and calendar in the background and answers the page and the API.

Off the page's path and off the market loop: one scheduler thread decides what is due, a small thread
pool fetches and parses (sync httpx with hard limits, then feedparser, which is CPU-bound and would stall
an asyncio loop). Each feed has its own interval plus jitter; a failing feed backs off exponentially and
ends as its own status, never touching the other feeds. diskcache keeps HTTP validators, items and
calendar events across restarts, so a restart neither re-downloads unchanged feeds nor re-announces
items.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import logging
import multiprocessing
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import diskcache

from thebot.events import CalendarEventSoon, EventBus, NewsFeedChanged, NewsItem
from thebot.news.fetch import FetchError, FetchLimits, fetch, fetch_base_assets, is_local, new_client
from thebot.news.items import ItemStore, make_article
from thebot.news.models import Article, CalendarEntry, FeedStatus
from thebot.news.parse import ParseError
from thebot.news.settings import NewsSettings
from thebot.news.tags import SymbolTagger
from thebot.news.worker import (
    Digest,
    Digester,
    ScoredItem,
    TagSpec,
    digest_in_process,
    lower_priority,
    warm_up,
)

logger = logging.getLogger(__name__)

# The scheduler wakes at least this often to check calendar alerts and newly due feeds.
_TICK_SECONDS = 5.0
_CACHE_VERSION = 1
# A new parser process imports feedparser, VADER and icalendar and loads the lexicon first; on a busy
# machine that takes seconds, and it is not the feed's fault.
_WORKER_START_SECONDS = 60.0


def source_name(url: str) -> str:
    """A short label for a feed without a title: its host, or its file name."""
    if is_local(url):
        return Path(urlsplit(url).path if url.startswith("file:") else url).name or url
    host = urlsplit(url).hostname or url
    return host.removeprefix("www.")


class NewsService:
    """Thread-safe reads (`items`, `feeds`, `calendar`, `sentiment`); writes happen in its own workers."""

    def __init__(
        self,
        settings: NewsSettings,
        *,
        bus: EventBus | None = None,
        symbols: Callable[[], Sequence[str]] = lambda: (),
        cache_dir: Path | None = None,
        base_assets: Mapping[str, str] | None = None,
        exchange_info_url: str | None = None,
        clock: Callable[[], float] = time.time,
        workers: int = 2,
        process_digest: Callable[[str, bytes, str, str, TagSpec], Digest] = digest_in_process,
    ) -> None:
        """`process_digest` is what the parser processes run: a module-level function (it is pickled by
        name); tests pass one that hangs or dies."""
        self.settings = settings
        self._bus = bus
        self._symbols = symbols
        self._base_assets = dict(base_assets or {})
        self._exchange_info_url = exchange_info_url
        self._exchange_info_tried: tuple[str, ...] = ()
        self._clock = clock
        self._limits = FetchLimits(
            timeout_seconds=settings.timeout_seconds,
            max_bytes=settings.max_bytes,
            max_redirects=settings.max_redirects,
            user_agent=settings.user_agent,
        )
        self._lock = threading.RLock()
        self._store = ItemStore(settings.max_items)
        self._calendar: dict[str, list[CalendarEntry]] = {}
        self._alerted: set[str] = set()
        self._status: dict[str, FeedStatus] = {}
        for url in settings.feeds:
            self._status[url] = FeedStatus(url=url, kind="news", interval_seconds=settings.interval_for(url))
        for url in settings.calendars:
            self._status[url] = FeedStatus(
                url=url, kind="calendar", interval_seconds=settings.calendar_refresh_seconds
            )
        self._due: dict[str, float] = {}
        self._running: set[str] = set()
        self._digester = Digester()
        self._process_digest = process_digest
        self._tagged_symbols: tuple[str, ...] | None = None
        self._parsers: concurrent.futures.ProcessPoolExecutor | None = None
        self._parsers_ready: concurrent.futures.Future[bool] | None = None
        self._parsers_lock = threading.Lock()
        self._cache = diskcache.Cache(str(cache_dir)) if cache_dir is not None else None
        self._client = new_client(self._limits)
        self._workers = workers
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._restore()

    # -- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> NewsService:
        if self._thread is not None or not self.settings.enabled:
            return self
        self._pool = concurrent.futures.ThreadPoolExecutor(self._workers, thread_name_prefix="news-fetch")
        now = self._clock()
        for index, url in enumerate(self._status):
            self._due[url] = now + 0.05 * index  # all soon, not all at once
        self._thread = threading.Thread(target=self._schedule, name="news-scheduler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(5.0)
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        self._reset_parsers()
        self._client.close()
        if self._cache is not None:
            self._cache.close()

    # -- reads -----------------------------------------------------------------------------------------

    def items(
        self,
        *,
        symbol: str | None = None,
        sentiment: str | None = None,
        source: str | None = None,
        query: str | None = None,
        limit: int = 100,
    ) -> list[Article]:
        """Newest first; every filter is optional; `query` matches title and summary, any case."""
        with self._lock:
            articles = self._store.newest_first()
        needle = (query or "").strip().lower()
        result = []
        for article in articles:
            if symbol and symbol not in article.symbols:
                continue
            if sentiment and article.label != sentiment:
                continue
            if source and article.source != source:
                continue
            if needle and needle not in article.title.lower() and needle not in article.summary.lower():
                continue
            result.append(article)
            if len(result) >= limit:
                break
        return result

    def sources(self) -> list[str]:
        with self._lock:
            return sorted({article.source for article in self._store.newest_first()})

    def feeds(self) -> list[dict[str, Any]]:
        now = int(self._clock() * 1000)
        with self._lock:
            return [status.to_json(now) for status in self._status.values()]

    def calendar(self, start: int | None = None, end: int | None = None) -> list[CalendarEntry]:
        with self._lock:
            entries = [entry for events in self._calendar.values() for entry in events]
        unique = {entry.id: entry for entry in entries}
        return sorted(
            (
                entry
                for entry in unique.values()
                if (start is None or entry.start >= start) and (end is None or entry.start <= end)
            ),
            key=lambda entry: (entry.start, entry.title),
        )

    def sentiment(self, symbol: str, hours: float = 24.0) -> dict[str, Any]:
        """Mean score of the symbol's items of the last `hours`, with the counts per label."""
        since = int((self._clock() - hours * 3600) * 1000)
        with self._lock:
            articles = [a for a in self._store.newest_first() if symbol in a.symbols and a.published >= since]
        counts = {"positive": 0, "negative": 0, "neutral": 0}
        for article in articles:
            counts[article.label] += 1
        score = sum(article.score for article in articles) / len(articles) if articles else 0.0
        return {"symbol": symbol, "hours": hours, "items": len(articles), "score": round(score, 4), **counts}

    # -- refresh ---------------------------------------------------------------------------------------

    def refresh(self, url: str) -> dict[str, Any]:
        """Fetch one feed or calendar now, on the caller's thread; returns its status."""
        self._refresh(url)
        now = int(self._clock() * 1000)
        with self._lock:
            return self._status[url].to_json(now)

    def refresh_all(self) -> list[dict[str, Any]]:
        for url in list(self._status):
            self._refresh(url)
        return self.feeds()

    def _refresh(self, url: str) -> bool:
        status = self._status[url]
        self._retag_if_symbols_changed()
        with self._lock:
            validators = dict(status.validators)
            status.last_attempt = int(self._clock() * 1000)
        try:
            result = fetch(self._client, url, self._limits, validators)
            if result.not_modified:
                self._record_success(status, not_modified=True)
                return True
            digest = self._digest(status.kind, result.content, result.content_type, source_name(url))
            if status.kind == "calendar":
                self._merge_calendar(status, list(digest.events))
            else:
                self._merge_feed(status, digest.title, digest.items, digest.warning)
            with self._lock:
                status.validators = result.validators
            self._save_status(status)
            self._record_success(status, not_modified=False)
            return True
        except (FetchError, ParseError) as error:
            if self._stop.is_set():
                return False  # the service closed the client or the parsers under this fetch
            self._record_failure(status, str(error))
        except Exception as error:  # an unexpected parser failure on hostile input stays this feed's problem
            if self._stop.is_set():
                return False
            logger.exception("news feed %s failed unexpectedly", url)
            self._record_failure(status, f"unexpected error ({type(error).__name__}); see the log")
        return False

    def _record_success(self, status: FeedStatus, *, not_modified: bool) -> None:
        with self._lock:
            before = (status.last_success is not None, status.error)
            now = int(self._clock() * 1000)
            status.last_fetch = now
            status.last_success = now
            status.error = ""
            status.failures = 0
            if not_modified:
                status.not_modified += 1
        if before != (True, ""):
            if before[1]:
                logger.info("news feed %s works again", status.url)
            self._announce(status)

    def _record_failure(self, status: FeedStatus, message: str) -> None:
        with self._lock:
            changed = status.error != message
            status.last_fetch = int(self._clock() * 1000)
            status.error = message
            status.failures += 1
        # Once per new error, not at every retry of a feed that stays down.
        logger.log(logging.WARNING if changed else logging.DEBUG, "news feed %s: %s", status.url, message)
        if changed:
            self._announce(status)

    def _announce(self, status: FeedStatus) -> None:
        if self._bus is None:
            return
        now = int(self._clock() * 1000)
        with self._lock:
            event = NewsFeedChanged(
                url=status.url, status=status.state(now), error=status.error, items=status.items
            )
        self._bus.publish(event)

    def _retag_if_symbols_changed(self) -> None:
        """Items kept (or restored from the cache) carry the tags of the symbols streamed when they came;
        when the symbols change, every kept item is tagged again (a few ms for the whole store)."""
        symbols = tuple(self._symbols())
        with self._lock:
            if symbols == self._tagged_symbols:
                return
            self._tagged_symbols = symbols
            articles = self._store.newest_first()
        tagger = SymbolTagger(symbols, self.settings.name_table(), dict(self._known_base_assets(symbols)))
        retagged = [
            dataclasses.replace(article, symbols=tagger.tag(article.title, article.summary))
            for article in articles
        ]
        with self._lock:
            self._store.replace(article for article in retagged)

    def _known_base_assets(self, symbols: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
        """exchangeInfo's baseAsset for the streamed symbols, asked once per set of symbols; without an
        answer the tagger strips the quote asset (BTCUSDT → BTC), which is right for nearly every pair."""
        with self._lock:
            ask = bool(self._exchange_info_url) and symbols != self._exchange_info_tried
            self._exchange_info_tried = symbols
        if ask and self._exchange_info_url:
            try:
                answer = fetch_base_assets(self._client, self._exchange_info_url, symbols, self._limits)
                with self._lock:
                    self._base_assets.update(answer)
            except FetchError as error:
                logger.info("news tags fall back to symbol names: %s", error)
        with self._lock:
            return tuple(
                (symbol, self._base_assets[symbol]) for symbol in symbols if symbol in self._base_assets
            )

    def _digest(self, kind: str, content: bytes, content_type: str, source: str) -> Digest:
        symbols = tuple(self._symbols())
        spec = TagSpec(
            symbols=symbols,
            names=tuple(self.settings.name_table().items()),
            base_assets=self._known_base_assets(symbols) if kind == "news" else (),
        )
        if self.settings.parse_workers == 0 or self._stop.is_set():
            return self._digester.digest(kind, content, content_type, source, spec)
        with self._parsers_lock:
            if self._parsers is None:
                # spawn, not fork: this process has threads (the market loop, the web server).
                self._parsers = concurrent.futures.ProcessPoolExecutor(
                    self.settings.parse_workers,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=lower_priority,
                )
                self._parsers_ready = self._parsers.submit(warm_up)
            parsers, ready = self._parsers, self._parsers_ready
        assert ready is not None  # set together with the pool
        try:
            ready.result(_WORKER_START_SECONDS)  # waits only while a new process starts
        except (concurrent.futures.TimeoutError, concurrent.futures.BrokenExecutor):
            self._reset_parsers(parsers)
            raise ParseError(
                f"the parser process did not start within {_WORKER_START_SECONDS:g} s; retrying later"
            ) from None
        future = parsers.submit(self._process_digest, kind, content, content_type, source, spec)
        timeout = self.settings.parse_timeout_seconds
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            self._reset_parsers(parsers)
            raise ParseError(
                f"parsing took longer than {timeout:g} s (news.parse_timeout_seconds); "
                "the feed is too large or too complex"
            ) from None
        except concurrent.futures.BrokenExecutor:
            self._reset_parsers(parsers)
            raise ParseError("the parser process died on this feed; retrying later") from None

    def _reset_parsers(self, broken: concurrent.futures.ProcessPoolExecutor | None = None) -> None:
        """Drop the parser processes (all, or only `broken` if it is still the current pool)."""
        with self._parsers_lock:
            parsers = self._parsers
            if parsers is None or (broken is not None and parsers is not broken):
                return
            self._parsers = None
        for process in list(getattr(parsers, "_processes", {}).values()):
            process.terminate()  # a parser stuck on hostile input does not stop by itself
        parsers.shutdown(wait=False, cancel_futures=True)

    def _merge_feed(self, status: FeedStatus, title: str, scored: Sequence[ScoredItem], warning: str) -> None:
        source = title or source_name(status.url)
        now = int(self._clock() * 1000)
        with self._lock:
            candidates = [entry for entry in scored if not self._store.seen(entry.item)]
        fresh = [
            (
                entry.item,
                make_article(
                    entry.item,
                    source=source,
                    feed=status.url,
                    seen_at=now,
                    score=entry.score,
                    label=entry.label,
                    symbols=entry.symbols,
                ),
            )
            for entry in candidates
        ]
        with self._lock:
            added = [article for item, article in fresh if self._store.add(item, article)]
            dropped = {article.id for article in self._store.trim()}
            status.title = title
            status.warning = warning
            status.items = len(scored)
            kept = self._store.of_feed(status.url)
            records = [{**item.cache_record(), "keys": self._store.keys_of(item.id)} for item in kept]
        if self._cache is not None:
            self._cache.set(f"items:{status.url}", records)
        if self._bus is not None:
            for article in sorted(added, key=lambda article: article.published):
                if article.id not in dropped:
                    self._bus.publish(
                        NewsItem(
                            id=article.id,
                            title=article.title,
                            link=article.link,
                            source=article.source,
                            published=article.published,
                            score=article.score,
                            label=article.label,
                            symbols=article.symbols,
                        )
                    )

    def _merge_calendar(self, status: FeedStatus, entries: list[CalendarEntry]) -> None:
        with self._lock:
            self._calendar[status.url] = entries
            status.items = len(entries)
            status.warning = ""
        if self._cache is not None:
            self._cache.set(f"calendar:{status.url}", [entry.to_json() for entry in entries])

    def _save_status(self, status: FeedStatus) -> None:
        if self._cache is None:
            return
        with self._lock:
            record = {
                "version": _CACHE_VERSION,
                "validators": dict(status.validators),
                "title": status.title,
                "items": status.items,
                "last_success": status.last_success,
            }
        self._cache.set(f"status:{status.url}", record)

    def _restore(self) -> None:
        if self._cache is None:
            return
        restored = 0
        for url, status in self._status.items():
            record = self._cache.get(f"status:{url}")
            if isinstance(record, dict) and record.get("version") == _CACHE_VERSION:
                status.validators = dict(record.get("validators") or {})
                status.title = str(record.get("title") or "")
                status.items = int(record.get("items") or 0)
            try:
                if status.kind == "calendar":
                    cached = self._cache.get(f"calendar:{url}") or []
                    self._calendar[url] = [CalendarEntry.from_json(entry) for entry in cached]
                else:
                    cached_items = self._cache.get(f"items:{url}")
                    if cached_items is None:
                        status.validators = {}  # a 304 would leave this feed empty: download it again
                    for entry in cached_items or []:
                        self._store.restore(Article.from_cache(entry), list(entry.get("keys") or []))
                        restored += 1
            except (KeyError, TypeError, ValueError) as error:
                # A damaged cache costs one download, never the start.
                logger.warning("news cache for %s is unreadable (%s); fetching it again", url, error)
                status.validators = {}
        self._store.trim()
        if restored:
            logger.info("news: %d cached items restored", restored)

    # -- scheduling ------------------------------------------------------------------------------------

    def next_delay(self, url: str, ok: bool) -> float:
        """Seconds until the next fetch: the interval (doubled per failure, capped) plus jitter."""
        status = self._status[url]
        interval = status.interval_seconds
        if not ok:
            interval = min(interval * 2 ** max(status.failures - 1, 0), self.settings.backoff_max_seconds)
            interval = max(interval, min(status.interval_seconds, self.settings.backoff_max_seconds))
        return interval * (1.0 + random.uniform(0.0, self.settings.jitter))

    def _schedule(self) -> None:
        while not self._stop.is_set():
            now = self._clock()
            with self._lock:
                due = [url for url, at in self._due.items() if at <= now and url not in self._running]
                self._running.update(due)
            for url in due:
                assert self._pool is not None
                try:
                    self._pool.submit(self._job, url)
                except RuntimeError:  # the pool is shutting down
                    return
            try:
                self.check_calendar_alerts()
            except Exception:  # a bad calendar entry must not stop every feed's refresh
                logger.exception("news: calendar alert check failed; feeds keep refreshing")
            with self._lock:
                upcoming = [at for url, at in self._due.items() if url not in self._running]
            wait = min([_TICK_SECONDS, *(at - self._clock() for at in upcoming)])
            self._wake.wait(max(wait, 0.01))
            self._wake.clear()

    def _job(self, url: str) -> None:
        ok = False
        try:
            ok = self._refresh(url)
        finally:
            delay = self.next_delay(url, ok)
            with self._lock:
                self._running.discard(url)
                self._due[url] = self._clock() + delay
                self._status[url].next_fetch = int((self._clock() + delay) * 1000)
            self._wake.set()

    def check_calendar_alerts(self) -> list[CalendarEntry]:
        """Publish CalendarEventSoon once for each important event now within the alert window."""
        now = int(self._clock() * 1000)
        window = int(self.settings.calendar_alert_minutes * 60_000)
        soon = [
            entry
            for entry in self.calendar(now, now + window)
            if entry.important and entry.id not in self._alerted
        ]
        for entry in soon:
            self._alerted.add(entry.id)
            if self._bus is not None:
                self._bus.publish(
                    CalendarEventSoon(
                        id=entry.id,
                        title=entry.title,
                        start=entry.start,
                        country=entry.country,
                        importance=entry.importance,
                        minutes_before=self.settings.calendar_alert_minutes,
                    )
                )
        return soon
