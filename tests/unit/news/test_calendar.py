"""Calendar parsing: iCalendar time zones, floating and all-day times, importance; RSS calendar items."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.unit.news.feeds import ics
from thebot.news.calendar import parse_calendar
from thebot.news.parse import ParseError


def utc_ms(*args: int) -> int:
    return int(dt.datetime(*args, tzinfo=dt.UTC).timestamp() * 1000)


def test_time_zones_are_normalised_to_utc() -> None:
    document = ics(
        [
            "UID:fomc\nDTSTART;TZID=America/New_York:20261216T140000\nSUMMARY:FOMC rate decision\n"
            "LOCATION:US\nPRIORITY:1",
            "UID:ecb\nDTSTART;TZID=Europe/Berlin:20260716T141500\nSUMMARY:ECB rate decision\nX-COUNTRY:EU\n"
            "X-IMPORTANCE:High",
            "UID:cpi\nDTSTART:20261210T133000Z\nSUMMARY:US CPI\nCATEGORIES:Medium,Inflation",
            "UID:xmas\nDTSTART;VALUE=DATE:20261225\nSUMMARY:Christmas (markets closed)\nPRIORITY:9",
        ]
    )
    events = {event.title: event for event in parse_calendar(document, "macro.ics")}
    fomc = events["FOMC rate decision"]
    assert (fomc.start, fomc.country, fomc.importance) == (utc_ms(2026, 12, 16, 19, 0), "US", "high")
    ecb = events["ECB rate decision"]  # summer time: UTC+2
    assert (ecb.start, ecb.country, ecb.importance) == (utc_ms(2026, 7, 16, 12, 15), "EU", "high")
    assert events["US CPI"].importance == "medium"
    xmas = events["Christmas (markets closed)"]
    assert (xmas.start, xmas.all_day, xmas.importance) == (utc_ms(2026, 12, 25), True, "low")


def test_floating_times_use_the_calendar_time_zone() -> None:
    document = ics(
        ["UID:boj\nDTSTART:20260120T120000\nSUMMARY:BoJ decision"], header="X-WR-TIMEZONE:Asia/Tokyo"
    )
    [event] = parse_calendar(document, "asia.ics")
    assert event.start == utc_ms(2026, 1, 20, 3, 0)


def test_events_without_time_or_title_are_skipped() -> None:
    document = ics(
        [
            "UID:a\nSUMMARY:No time",
            "UID:b\nDTSTART:20260101T000000Z",
            "UID:c\nDTSTART:20260101T000000Z\nSUMMARY:OK",
        ]
    )
    assert [event.title for event in parse_calendar(document, "x.ics")] == ["OK"]


def test_rss_calendar_items() -> None:
    document = b"""<?xml version="1.0"?>
<rss version="2.0" xmlns:ev="http://purl.org/rss/1.0/modules/event/" xmlns:cal="https://example.com/cal">
<channel><title>Macro</title>
<item><title>US Nonfarm Payrolls</title><guid>nfp</guid><ev:startdate>2026-12-04T08:30:00-05:00</ev:startdate>
<cal:country>US</cal:country><cal:impact>High</cal:impact></item>
<item><title>German Ifo</title><guid>ifo</guid><pubDate>Mon, 23 Nov 2026 09:00:00 GMT</pubDate></item>
</channel></rss>"""
    events = {event.title: event for event in parse_calendar(document, "macro.xml")}
    nfp = events["US Nonfarm Payrolls"]
    assert (nfp.start, nfp.country, nfp.importance, nfp.important) == (
        utc_ms(2026, 12, 4, 13, 30),
        "US",
        "high",
        True,
    )
    assert events["German Ifo"].start == utc_ms(2026, 11, 23, 9, 0)
    assert not events["German Ifo"].important


def test_garbage_is_an_error() -> None:
    with pytest.raises(ParseError):
        parse_calendar(b"BEGIN:VCALENDAR\r\nthis is not\r\n", "bad.ics")
    with pytest.raises(ParseError):
        parse_calendar(b"<html><body>nope", "bad.xml")
