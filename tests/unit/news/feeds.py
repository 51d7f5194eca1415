"""Feed documents the news tests write: RSS 2.0, Atom 1.0, iCalendar, and the hostile ones."""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape


@dataclass(frozen=True)
class Entry:
    title: str
    link: str | None = None
    guid: str | None = None
    date: str | None = "Sat, 21 Nov 2026 09:30:00 +0100"
    summary: str = ""


def rss(entries: list[Entry], title: str = "Test Wire", encoding: str = "utf-8") -> bytes:
    items = []
    for entry in entries:
        parts = [f"<title>{escape(entry.title)}</title>"]
        if entry.link is not None:
            parts.append(f"<link>{escape(entry.link)}</link>")
        if entry.guid is not None:
            parts.append(f'<guid isPermaLink="false">{escape(entry.guid)}</guid>')
        if entry.date is not None:
            parts.append(f"<pubDate>{entry.date}</pubDate>")
        if entry.summary:
            parts.append(f"<description>{escape(entry.summary)}</description>")
        items.append("<item>" + "".join(parts) + "</item>")
    text = (
        f'<?xml version="1.0" encoding="{encoding}"?>\n'
        f'<rss version="2.0"><channel><title>{escape(title)}</title>'
        f"<link>https://example.com/</link><description>test</description>{''.join(items)}</channel></rss>"
    )
    return text.encode(encoding)


def atom(entries: list[Entry], title: str = "Atom Desk") -> bytes:
    items = []
    for entry in entries:
        parts = [
            f"<title>{escape(entry.title)}</title>",
            f"<id>{escape(entry.guid or entry.link or '')}</id>",
        ]
        if entry.link:
            parts.append(f'<link href="{escape(entry.link)}"/>')
        if entry.date:
            parts.append(f"<updated>{entry.date}</updated>")
        if entry.summary:
            parts.append(f'<summary type="html">{escape(entry.summary)}</summary>')
        items.append("<entry>" + "".join(parts) + "</entry>")
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{escape(title)}</title><id>urn:test</id><updated>2026-11-21T08:00:00Z</updated>"
        + "".join(items)
        + "</feed>"
    ).encode()


def ics(events: list[str], header: str = "") -> bytes:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//thebot//tests//EN"]
    if header:
        lines.append(header)
    for event in events:
        lines.extend(["BEGIN:VEVENT", *event.strip().splitlines(), "END:VEVENT"])
    lines.append("END:VCALENDAR")
    return ("\r\n".join(line.strip() for line in lines) + "\r\n").encode()


XSS_SUMMARY = (
    'Markets calm<script>window.__pwned = 1</script> today <img src=x onerror="window.__pwned = 2">'
    ' <a href="javascript:window.__pwned=3">click</a>'
)
HTML_PAGE = b"<!DOCTYPE html><html><head><title>Home</title></head><body><p>Welcome</p></body></html>"
MALFORMED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>Broken<item><title>x</title></channel>'
