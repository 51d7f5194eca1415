"""The news domain's value objects: an article, a calendar entry and a feed's health."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

SentimentLabel = Literal["positive", "negative", "neutral"]
FeedState = Literal["ok", "error", "stale"]


@dataclass(frozen=True, slots=True)
class Article:
    """One news item, plain text only; `published` is UTC epoch milliseconds."""

    id: str
    title: str
    link: str
    source: str
    feed: str
    published: int
    summary: str
    score: float = 0.0
    label: SentimentLabel = "neutral"
    symbols: tuple[str, ...] = ()
    # False when the feed gave no date and `published` is the time thebot first saw the item
    dated: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "link": self.link,
            "source": self.source,
            "published": self.published,
            "summary": self.summary,
            "sentiment": {"score": round(self.score, 4), "label": self.label},
            "symbols": list(self.symbols),
        }

    def cache_record(self) -> dict[str, Any]:
        return {**self.to_json(), "feed": self.feed, "dated": self.dated}

    @staticmethod
    def from_cache(record: dict[str, Any]) -> Article:
        sentiment = record.get("sentiment") or {}
        return Article(
            id=str(record["id"]),
            title=str(record["title"]),
            link=str(record.get("link", "")),
            source=str(record.get("source", "")),
            feed=str(record.get("feed", "")),
            published=int(record["published"]),
            summary=str(record.get("summary", "")),
            score=float(sentiment.get("score", 0.0)),
            label=sentiment.get("label", "neutral"),
            symbols=tuple(record.get("symbols", ())),
            dated=bool(record.get("dated", True)),
        )


@dataclass(frozen=True, slots=True)
class CalendarEntry:
    """One economic-calendar event; `start` is UTC epoch milliseconds, `importance` low/medium/high or ""."""

    id: str
    title: str
    start: int
    source: str
    country: str = ""
    importance: str = ""
    all_day: bool = False

    @property
    def important(self) -> bool:
        return self.importance == "high"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "start": self.start,
            "source": self.source,
            "country": self.country,
            "importance": self.importance,
            "all_day": self.all_day,
        }

    @staticmethod
    def from_json(record: dict[str, Any]) -> CalendarEntry:
        return CalendarEntry(
            id=str(record["id"]),
            title=str(record["title"]),
            start=int(record["start"]),
            source=str(record.get("source", "")),
            country=str(record.get("country", "")),
            importance=str(record.get("importance", "")),
            all_day=bool(record.get("all_day", False)),
        )


@dataclass(slots=True)
class FeedStatus:
    """What the feeds table shows: mutable, owned by the service, copied out as JSON."""

    url: str
    kind: Literal["news", "calendar"] = "news"
    title: str = ""
    last_fetch: int | None = None
    last_success: int | None = None
    last_attempt: int | None = None
    items: int = 0
    error: str = ""
    warning: str = ""
    failures: int = 0
    not_modified: int = 0
    next_fetch: int | None = None
    interval_seconds: float = 0.0
    validators: dict[str, str] = field(default_factory=dict)

    def state(self, now_ms: int) -> str:
        if self.error:
            return "error"
        if self.last_success is None:
            return "stale"
        # A feed that has not succeeded for three intervals is shown stale even without an error.
        if now_ms - self.last_success > 3 * self.interval_seconds * 1000:
            return "stale"
        return "ok"

    def to_json(self, now_ms: int) -> dict[str, Any]:
        error = self.error
        if not error and self.last_success is None:
            error = "not fetched yet"
        return {
            "url": self.url,
            "kind": self.kind,
            "title": self.title,
            "status": self.state(now_ms),
            "last_fetch": self.last_fetch,
            "items": self.items,
            "error": error,
            "warning": self.warning,
            "next_fetch": self.next_fetch,
        }
