"""Dedup across feeds (guid, link, normalised title) and the capacity of the item store."""

from __future__ import annotations

from thebot.news.items import ItemStore, to_article
from thebot.news.parse import RawItem
from thebot.news.sentiment import SentimentScorer
from thebot.news.tags import SymbolTagger

TAGGER = SymbolTagger(["BTCUSDT"], {"Bitcoin": "BTC"})
SCORER = SentimentScorer()


def add(store: ItemStore, item: RawItem, feed: str = "a") -> bool:
    return store.add(item, to_article(item, source=feed, feed=feed, seen_at=5, tagger=TAGGER, scorer=SCORER))


def test_same_story_from_two_feeds_is_kept_once() -> None:
    store = ItemStore(100)
    assert add(store, RawItem("g1", "Bitcoin ETF approved!", "https://a.com/1", "", 1000))
    assert not add(
        store, RawItem("other", "bitcoin ETF  approved", "https://b.com/9", "", 2000), "b"
    )  # title
    assert not add(store, RawItem("g2", "Different words", "https://a.com/1/", "", 3000), "b")  # same link
    assert not add(store, RawItem("g1", "Changed title", "https://c.com/3", "", 4000), "c")  # same guid
    assert add(store, RawItem("g3", "Another story", "https://a.com/3", "", 5000))
    assert [article.title for article in store.newest_first()] == ["Another story", "Bitcoin ETF approved!"]


def test_article_is_scored_tagged_and_undated_items_take_the_time_seen() -> None:
    store = ItemStore(10)
    add(store, RawItem("", "Bitcoin exchange hacked", "", "", None))
    [article] = store.newest_first()
    assert (article.symbols, article.label, article.published, article.dated) == (
        ("BTCUSDT",),
        "negative",
        5,
        False,
    )


def test_capacity_keeps_the_newest() -> None:
    store = ItemStore(3)
    for index in range(5):
        add(store, RawItem(f"g{index}", f"Story number {index}", "", "", index * 1000))
    dropped = store.trim()
    assert [article.title for article in dropped] == ["Story number 1", "Story number 0"]
    assert [article.published for article in store.newest_first()] == [4000, 3000, 2000]
