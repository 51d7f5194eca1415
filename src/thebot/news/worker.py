"""The CPU-heavy half of a refresh (feedparser, VADER, the tag regexes), runnable in a worker process.

feedparser is pure Python: parsing 20 feeds in threads of the app's process holds the GIL for whole
seconds and delays the market loop's wake-ups. In a separate process it competes only for a core, not for
the interpreter. The functions here take and return plain picklable values; each process keeps its own
scorer and tagger (a per-process memo, rebuilt when the symbols change).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

from thebot.news.calendar import parse_calendar
from thebot.news.models import CalendarEntry, SentimentLabel
from thebot.news.parse import RawItem, parse_feed
from thebot.news.sentiment import SentimentScorer
from thebot.news.tags import SymbolTagger


@dataclass(frozen=True, slots=True)
class ScoredItem:
    item: RawItem
    score: float
    label: SentimentLabel
    symbols: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Digest:
    title: str = ""
    warning: str = ""
    items: tuple[ScoredItem, ...] = ()
    events: tuple[CalendarEntry, ...] = ()


@dataclass(frozen=True, slots=True)
class TagSpec:
    symbols: tuple[str, ...]
    names: tuple[tuple[str, str], ...]
    base_assets: tuple[tuple[str, str], ...] = ()


class Digester:
    """Parses, scores and tags one document; one per process (or one per service when parsing inline)."""

    def __init__(self) -> None:
        self._scorer: SentimentScorer | None = None
        self._tagger: SymbolTagger | None = None
        self._spec: TagSpec | None = None

    def tagger(self, spec: TagSpec) -> SymbolTagger:
        if self._tagger is None or spec != self._spec:
            self._tagger = SymbolTagger(spec.symbols, dict(spec.names), dict(spec.base_assets))
            self._spec = spec
        return self._tagger

    def scorer(self) -> SentimentScorer:
        if self._scorer is None:
            self._scorer = SentimentScorer()
        return self._scorer

    def digest(self, kind: str, content: bytes, content_type: str, source: str, spec: TagSpec) -> Digest:
        if kind == "calendar":
            return Digest(events=tuple(parse_calendar(content, source)))
        parsed = parse_feed(content, content_type)
        tagger = self.tagger(spec)
        scorer = self.scorer()
        scored = []
        for item in parsed.items:
            sentiment = scorer.score(f"{item.title}. {item.summary}" if item.summary else item.title)
            scored.append(
                ScoredItem(item, sentiment.score, sentiment.label, tagger.tag(item.title, item.summary))
            )
        return Digest(title=parsed.title, warning=parsed.warning, items=tuple(scored))


_PROCESS_DIGESTER = Digester()
# Parsing news is background work: at this niceness the OS runs the app's own threads first when the
# cores are busy, so a refresh of many feeds does not delay the live market data.
WORKER_NICENESS = 10


def warm_up() -> bool:
    """Run once in a new worker before any feed: the imports and the lexicon load are its start-up cost,
    which must not count against a feed's parse timeout."""
    _PROCESS_DIGESTER.scorer()
    return True


def lower_priority() -> None:
    """The worker process's initializer."""
    with contextlib.suppress(AttributeError, OSError):  # os.nice is POSIX-only
        os.nice(WORKER_NICENESS)


def digest_in_process(kind: str, content: bytes, content_type: str, source: str, spec: TagSpec) -> Digest:
    """The entry point a worker process runs (module-level so that it pickles by name)."""
    return _PROCESS_DIGESTER.digest(kind, content, content_type, source, spec)
