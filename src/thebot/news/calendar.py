"""Economic-calendar events from iCalendar (.ics) files and RSS calendar feeds, times in UTC.

A raw VEVENT::

    BEGIN:VEVENT
    UID:fomc-2026-12
    DTSTART;TZID=America/New_York:20261216T140000
    SUMMARY:FOMC rate decision
    LOCATION:US
    PRIORITY:1
    END:VEVENT

becomes `CalendarEntry(title="FOMC rate decision", start=<19:00 UTC in ms>, country="US",
importance="high")`. PRIORITY 1-4 is high, 5 medium, 6-9 low (RFC 5545); `X-IMPORTANCE`, `X-COUNTRY`
and CATEGORIES such as "High" are honoured when present. A floating time (no TZID) is read in the
calendar's X-WR-TIMEZONE, else UTC; an all-day event starts at 00:00 UTC. RSS calendar items carry the
event time in `ev:startdate` (RSS event module) or any `*:dtstart`/`*:startdate` element, and
country/importance in any `*:country` and `*:importance`/`*:impact` element; without them the item's
date is the event time.
"""

from __future__ import annotations

import datetime as dt
import logging
from email.utils import parsedate_to_datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import feedparser
import icalendar

from thebot.news.models import CalendarEntry
from thebot.news.parse import ParseError, entry_time, item_id, plain_text

logger = logging.getLogger(__name__)

IMPORTANCE_WORDS = {
    "high": "high",
    "medium": "medium",
    "med": "medium",
    "low": "low",
    "3": "high",
    "2": "medium",
    "1": "low",
}


def _importance(value: str) -> str:
    return IMPORTANCE_WORDS.get(value.strip().lower(), "")


def _ms(value: dt.datetime) -> int:
    return int(value.timestamp() * 1000)


def _utc(value: Any, default_zone: dt.tzinfo) -> tuple[int, bool] | None:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=default_zone)
        return _ms(value.astimezone(dt.UTC)), False
    if isinstance(value, dt.date):
        return _ms(dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)), True
    return None


def _calendar_zone(calendar: Any) -> dt.tzinfo:
    name = str(calendar.get("X-WR-TIMEZONE", "") or "")
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            logger.warning("calendar time zone %r is unknown; reading floating times as UTC", name)
    return dt.UTC


def parse_ics(content: bytes, source: str) -> list[CalendarEntry]:
    try:
        calendar = icalendar.Calendar.from_ical(content)
    except ValueError as error:
        raise ParseError(f"cannot parse the calendar (not iCalendar: {str(error)[:160]})") from None
    zone = _calendar_zone(calendar)
    entries: list[CalendarEntry] = []
    for event in calendar.walk("VEVENT"):
        start_property = event.get("DTSTART")
        start = _utc(getattr(start_property, "dt", None), zone)
        title = plain_text(str(event.get("SUMMARY", "")), 200)
        if start is None or not title:
            continue  # an event without a time or a title cannot be shown or counted down
        importance = _importance(str(event.get("X-IMPORTANCE", "")))
        if not importance and event.get("PRIORITY") is not None:
            try:
                priority = int(event.get("PRIORITY"))
            except (TypeError, ValueError):
                priority = 0
            if 1 <= priority <= 4:
                importance = "high"
            elif priority == 5:
                importance = "medium"
            elif priority >= 6:
                importance = "low"
        if not importance:
            for category in _categories(event):
                importance = importance or _importance(category)
        country = plain_text(str(event.get("X-COUNTRY", "") or event.get("LOCATION", "")), 40)
        uid = str(event.get("UID", "") or f"{title}|{start[0]}")
        entries.append(
            CalendarEntry(
                id=item_id(f"{source}|{uid}|{start[0]}"),
                title=title,
                start=start[0],
                source=source,
                country=country,
                importance=importance,
                all_day=start[1],
            )
        )
    return entries


def _categories(event: Any) -> list[str]:
    raw = event.get("CATEGORIES")
    if raw is None:
        return []
    values = raw if isinstance(raw, list) else [raw]
    names: list[str] = []
    for value in values:
        for category in getattr(value, "cats", [value]):
            names.append(str(category))
    return names


def _parse_time(text: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        try:
            value = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return _ms(value)


def _field(entry: Any, suffixes: tuple[str, ...]) -> str:
    for key, value in entry.items():
        if isinstance(value, str) and key.endswith(suffixes):
            return value
    return ""


def parse_rss_calendar(content: bytes, source: str) -> list[CalendarEntry]:
    parsed = feedparser.parse(content)
    entries = list(parsed.get("entries") or [])
    if not entries and parsed.get("bozo"):
        raise ParseError("cannot parse the calendar (neither iCalendar nor RSS)")
    result: list[CalendarEntry] = []
    for entry in entries:
        title = plain_text(str(entry.get("title", "")), 200)
        start = _parse_time(_field(entry, ("startdate", "dtstart", "_start"))) or entry_time(entry)
        if start is None or not title:
            continue
        guid = str(entry.get("id", "") or title)
        result.append(
            CalendarEntry(
                id=item_id(f"{source}|{guid}|{start}"),
                title=title,
                start=start,
                source=source,
                country=plain_text(_field(entry, ("_country",)), 40),
                importance=_importance(_field(entry, ("_importance", "_impact"))),
            )
        )
    return result


def parse_calendar(content: bytes, source: str) -> list[CalendarEntry]:
    """iCalendar when the bytes say BEGIN:VCALENDAR, else an RSS/Atom calendar feed."""
    if content.lstrip()[:15].upper().startswith(b"BEGIN:VCALENDAR"):
        return parse_ics(content, source)
    return parse_rss_calendar(content, source)
