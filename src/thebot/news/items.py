"""From parsed entries to scored, tagged, deduplicated articles.

An item is the same story when any of its keys was seen before, in any feed: its guid, its link, or its
normalised title (two outlets syndicating one wire story keep the title and change the link). The first
copy wins; later copies are dropped, so a refresh never re-announces an item.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from thebot.news.models import Article, SentimentLabel
from thebot.news.parse import RawItem, item_id, normalised_title
from thebot.news.sentiment import SentimentScorer
from thebot.news.tags import SymbolTagger


def dedup_keys(item: RawItem) -> list[str]:
    keys = []
    if item.guid:
        keys.append(f"guid:{item.guid}")
    if item.link:
        keys.append(f"link:{item.link.rstrip('/')}")
    title = normalised_title(item.title)
    if title:
        keys.append(f"title:{title}")
    return keys


def to_article(
    item: RawItem,
    *,
    source: str,
    feed: str,
    seen_at: int,
    tagger: SymbolTagger,
    scorer: SentimentScorer,
) -> Article:
    sentiment = scorer.score(f"{item.title}. {item.summary}" if item.summary else item.title)
    return make_article(
        item,
        source=source,
        feed=feed,
        seen_at=seen_at,
        score=sentiment.score,
        label=sentiment.label,
        symbols=tagger.tag(item.title, item.summary),
    )


def make_article(
    item: RawItem,
    *,
    source: str,
    feed: str,
    seen_at: int,
    score: float,
    label: SentimentLabel,
    symbols: tuple[str, ...],
) -> Article:
    keys = dedup_keys(item)
    return Article(
        id=item_id(keys[0] if keys else f"{feed}|{item.title}"),
        title=item.title,
        link=item.link,
        source=source,
        feed=feed,
        published=item.published if item.published is not None else seen_at,
        summary=item.summary,
        score=score,
        label=label,
        symbols=symbols,
        dated=item.published is not None,
    )


@dataclass
class ItemStore:
    """The newest `capacity` articles with their dedup keys; not thread-safe (the service locks)."""

    capacity: int
    _articles: dict[str, Article] = field(default_factory=dict)
    _keys: dict[str, str] = field(default_factory=dict)
    _article_keys: dict[str, list[str]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self._articles)

    def seen(self, item: RawItem) -> bool:
        return any(key in self._keys for key in dedup_keys(item))

    def add(self, item: RawItem, article: Article) -> bool:
        """False when the item is a duplicate of one already kept."""
        keys = dedup_keys(item)
        if article.id in self._articles or any(key in self._keys for key in keys):
            return False
        self._articles[article.id] = article
        self._article_keys[article.id] = keys
        for key in keys:
            self._keys[key] = article.id
        return True

    def restore(self, article: Article, keys: list[str]) -> None:
        """A cached article with the dedup keys it was stored with."""
        if article.id in self._articles or any(key in self._keys for key in keys):
            return
        self._articles[article.id] = article
        self._article_keys[article.id] = list(keys)
        for key in keys:
            self._keys[key] = article.id

    def keys_of(self, article_id: str) -> list[str]:
        return list(self._article_keys.get(article_id, []))

    def trim(self) -> list[Article]:
        """Drop the oldest beyond capacity; returns what was dropped."""
        if len(self._articles) <= self.capacity:
            return []
        ordered = sorted(self._articles.values(), key=lambda article: article.published, reverse=True)
        dropped = ordered[self.capacity :]
        for article in dropped:
            del self._articles[article.id]
            for key in self._article_keys.pop(article.id, []):
                if self._keys.get(key) == article.id:
                    del self._keys[key]
        return dropped

    def newest_first(self) -> list[Article]:
        articles = self._articles.values()
        return sorted(articles, key=lambda article: (article.published, article.id), reverse=True)

    def of_feed(self, feed: str) -> list[Article]:
        return [article for article in self._articles.values() if article.feed == feed]

    def replace(self, articles: Iterable[Article]) -> None:
        """Swap articles in place (same ids), e.g. after symbols changed and items were tagged again."""
        for article in articles:
            if article.id in self._articles:
                self._articles[article.id] = article
