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
from typing import Any

import feedparser

logger = logging.getLogger(__name__)

MAX_TITLE_CHARS = 300
MAX_SUMMARY_CHARS = 600
_SPACES = re.compile(r"\s+")
# Elements whose content is never text worth showing (and, in a feed, often an attack).
_HIDDEN = re.compile(
    r"<(script|style|noscript|iframe|object|template|svg|math)\b.*?(?:</\1\s*>|\Z)", re.IGNORECASE | re.DOTALL
)
# A comment, or a tag with its attributes; quoted attribute values may hold ">".
_TAG = re.compile(r"""<!--.*?(?:-->|\Z)|<[!/?]?[a-zA-Z](?:"[^"]*"|'[^']*'|[^'">])*(?:>|\Z)""", re.DOTALL)
_BLOCK_TAG = re.compile(r"<(?:br|p|div|li|h[1-6]|tr|td)\b", re.IGNORECASE)


class ParseError(Exception):
    """The bytes are not a feed; the message says what they looked like."""


def plain_text(value: str, limit: int) -> str:
    """HTML (or text with entities) to one line of plain text, cut at `limit` characters.

    Regular expressions rather than an HTML parser: several times faster on feed summaries, and the
    result only has to be readable text, because every consumer renders it as text, never as markup.
    Entities escaped twice in the feed (`&amp;lt;b&amp;gt;`) decode to markup-looking text and stay text.
    """
    if "<" in value:
        value = _HIDDEN.sub("", value)
        value = _BLOCK_TAG.sub(lambda match: " " + match.group(0), value)
        value = _TAG.sub("", value)
    if "&" in value:
        value = html.unescape(value)
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
    # Our own extractor reduces every title and summary to text, so feedparser's HTML sanitizer and URI
    # resolver (60 % of its time) would only clean markup that is thrown away next.
    parsed = feedparser.parse(
        content, response_headers=headers, sanitize_html=False, resolve_relative_uris=False
    )
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
    return ParsedFeed(title=title, items=items, warning=warning)


def now_ms() -> int:
    return int(time.time() * 1000)
