"""Feed bytes to plain-text items: RSS 2.0 and Atom 1.0 through feedparser.

A raw RSS 2.0 item::

    <item><title>Bitcoin &lt;b&gt;tops&lt;/b&gt; $100k</title><link>https://example.com/a</link>
      <guid>https://example.com/a</guid><pubDate>Sat, 21 Nov 2026 09:30:00 +0100</pubDate>
      <description>&lt;p&gt;ETF inflows&lt;script&gt;alert(1)&lt;/script&gt;&lt;/p&gt;</description></item>

becomes `RawItem(title="Bitcoin tops $100k", summary="ETF inflows", published=<08:30 UTC in ms>, ...)`.
Titles and summaries are reduced to text here, once, so no later layer can render a feed's markup.
A feed that parses with a `bozo` warning keeps its entries (and the warning); one without entries whose
parse failed is an error naming what the bytes looked like.
"""

from __future__ import annotations

import calendar
import hashlib
import html
import logging
import re
import time
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

import feedparser

logger = logging.getLogger(__name__)

MAX_TITLE_CHARS = 300
MAX_SUMMARY_CHARS = 600
_SPACES = re.compile(r"\s+")
_SKIPPED_TAGS = frozenset({"script", "style", "noscript", "iframe", "object", "template", "svg", "math"})


class ParseError(Exception):
    """The bytes are not a feed; the message says what they looked like."""


class _TextExtractor(HTMLParser):
    """Keeps text nodes, drops every tag and attribute and the contents of script-like elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_TAGS:
            self._skipping += 1
        elif tag in ("br", "p", "div", "li"):
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS and self._skipping:
            self._skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def plain_text(value: str, limit: int) -> str:
    """HTML (or text with entities) to one line of plain text, cut at `limit` characters."""
    if "<" in value or "&" in value:
        extractor = _TextExtractor()
        try:
            extractor.feed(value)
            extractor.close()
            value = "".join(extractor.parts)
        except Exception:  # HTMLParser is lenient, but a feed is untrusted: fall back to escaping
            value = html.escape(value)
        # Entities that were double-escaped in the feed (&amp;lt;) decode to markup-looking text; it stays
        # text because every consumer renders strings as text, never as HTML.
    text = _SPACES.sub(" ", value).strip()
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def normalised_title(title: str) -> str:
    """The dedup key of a title: lower case, letters and digits only, single spaces."""
    return " ".join(re.findall(r"[0-9a-z]+", title.lower()))


def item_id(key: str) -> str:
    return hashlib.sha1(key.encode("utf-8"), usedforsecurity=False).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class RawItem:
    """A parsed entry before scoring and tagging."""

    guid: str
    title: str
    link: str
    summary: str
    published: int | None


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str
    items: list[RawItem]
    warning: str
    entries: list[Any]


def _struct_to_ms(value: Any) -> int | None:
    if not value:
        return None
    try:
        return int(calendar.timegm(value) * 1000)
    except (TypeError, ValueError, OverflowError):
        return None


def entry_time(entry: Any) -> int | None:
    """feedparser normalises dates to UTC `struct_time`; `calendar.timegm` reads them as UTC."""
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        stamp = _struct_to_ms(entry.get(key))
        if stamp is not None:
            return stamp
    return None


def _looks_like(content: bytes) -> str:
    head = content[:512].lstrip().lower()
    if not head:
        return "an empty response"
    if head.startswith((b"<!doctype html", b"<html")) or b"<html" in head:
        return "an HTML page, not a feed; point news.feeds at the site's RSS or Atom URL"
    if head.startswith((b"{", b"[")):
        return "JSON, not a feed"
    return "not RSS or Atom"


def parse_feed(content: bytes, content_type: str = "") -> ParsedFeed:
    headers = {"content-type": content_type} if content_type else {}
    parsed = feedparser.parse(content, response_headers=headers, sanitize_html=True)
    entries = list(parsed.get("entries") or [])
    warning = ""
    if parsed.get("bozo"):
        problem = parsed.get("bozo_exception")
        reason = f"{type(problem).__name__}: {problem}" if problem is not None else "malformed feed"
        if not entries:
            version = parsed.get("version") or ""
            detail = _looks_like(content) if not version else f"a {version} feed without entries"
            raise ParseError(f"cannot parse the feed ({detail}; {reason[:160]})")
        warning = f"feed is malformed but readable ({reason[:160]})"
    elif not entries and not parsed.get("version"):
        raise ParseError(f"cannot parse the feed ({_looks_like(content)})")
    title = plain_text(str(parsed.get("feed", {}).get("title", "")), MAX_TITLE_CHARS)
    items = []
    for entry in entries:
        item_title = plain_text(str(entry.get("title", "")), MAX_TITLE_CHARS)
        summary = plain_text(str(entry.get("summary", "") or entry.get("description", "")), MAX_SUMMARY_CHARS)
        if not item_title:
            item_title = summary[:120]
        if not item_title:
            continue  # nothing to show; a title-less and text-less entry is noise
        link = str(entry.get("link", "") or "")
        if not link.startswith(("http://", "https://")):
            link = ""  # javascript:, data: and relative links are never made clickable
        items.append(
            RawItem(
                guid=str(entry.get("id", "") or ""),
                title=item_title,
                link=link,
                summary=summary,
                published=entry_time(entry),
            )
        )
    return ParsedFeed(title=title, items=items, warning=warning, entries=entries)


def now_ms() -> int:
    return int(time.time() * 1000)
