"""NewsService without a network: backoff after failures, calendar alerts once, the filters and settings."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from tests.unit.news.feeds import Entry, ics, rss
from thebot.config import settings_from_dict
from thebot.config_errors import ConfigError
from thebot.events import CalendarEventSoon, EventBus, NewsFeedChanged
from thebot.news.service import NewsService
from thebot.news.settings import NewsSettings

START = dt.datetime(2026, 12, 16, 19, 0, tzinfo=dt.UTC).timestamp()


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_failing_feed_backs_off_exponentially_up_to_the_cap(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.xml")
    settings = NewsSettings(
        feeds=(missing,), refresh_seconds=60, jitter=0.0, backoff_max_seconds=600, parse_workers=0
    )
    service = NewsService(settings)
    try:
        delays = []
        for _ in range(6):
            assert service.refresh(missing)["status"] == "error"
            delays.append(service.next_delay(missing, ok=False))
        assert delays == [60, 120, 240, 480, 600, 600]
        (tmp_path / "missing.xml").write_bytes(rss([Entry("Back again")]))
        assert service.refresh(missing)["status"] == "ok"
        assert service.next_delay(missing, ok=True) == 60
    finally:
        service.stop()


def test_jitter_stays_within_its_fraction(tmp_path: Path) -> None:
    feed = str(tmp_path / "f.xml")
    service = NewsService(NewsSettings(feeds=(feed,), refresh_seconds=100, jitter=0.2))
    try:
        delays = {service.next_delay(feed, ok=True) for _ in range(50)}
        assert all(100 <= delay <= 120 for delay in delays) and len(delays) > 1
    finally:
        service.stop()


def test_calendar_alert_is_published_once_inside_the_window(tmp_path: Path) -> None:
    calendar = tmp_path / "macro.ics"
    calendar.write_bytes(
        ics(
            [
                "UID:fomc\nDTSTART:20261216T190000Z\nSUMMARY:FOMC rate decision\nPRIORITY:1\nLOCATION:US",
                "UID:minor\nDTSTART:20261216T190500Z\nSUMMARY:Minor data\nPRIORITY:8",
            ]
        )
    )
    bus = EventBus()
    seen: list[CalendarEventSoon] = []
    bus.subscribe(CalendarEventSoon, seen.append, name="alerts")
    clock = Clock(START - 45 * 60)
    settings = NewsSettings(feeds=(), calendars=(str(calendar),), calendar_alert_minutes=30, parse_workers=0)
    service = NewsService(settings, bus=bus, clock=clock)
    try:
        service.refresh(str(calendar))
        assert service.check_calendar_alerts() == []  # 45 min before: too early
        clock.now = START - 29 * 60
        assert [entry.title for entry in service.check_calendar_alerts()] == ["FOMC rate decision"]
        clock.now = START - 10 * 60
        assert service.check_calendar_alerts() == []  # once only
        bus.wait_idle()
        assert [(event.title, event.country, event.minutes_before) for event in seen] == [
            ("FOMC rate decision", "US", 30.0)
        ]
        assert [entry.title for entry in service.calendar(int(START * 1000), None)] == [
            "FOMC rate decision",
            "Minor data",
        ]
        assert service.calendar(None, int(START * 1000) - 1) == []
    finally:
        service.stop()
        bus.close()


def test_news_section_in_the_config() -> None:
    settings = settings_from_dict({"news": {"feeds": ["a.xml"], "feed_refresh_seconds": ["a.xml=30"]}})
    assert settings.news.interval_for("a.xml") == 30.0
    with pytest.raises(ConfigError, match=r"news\.timeout_seconds"):
        settings_from_dict({"news": {"timeout_seconds": 0}})
    with pytest.raises(ConfigError, match=r"news\.feed_refresh_seconds.*a\.xml=soon"):
        settings_from_dict({"news": {"feed_refresh_seconds": ["a.xml=soon"]}})
    with pytest.raises(ConfigError, match=r"news\.names.*Bitcoin=btc"):
        settings_from_dict({"news": {"names": ["Bitcoin=btc"]}})
    with pytest.raises(ConfigError, match=r"news\.feeds.*repeat"):
        settings_from_dict({"news": {"feeds": ["a.xml", "a.xml"]}})


def test_feed_changes_are_announced_once_per_change(tmp_path: Path) -> None:
    feed = str(tmp_path / "later.xml")
    bus = EventBus()
    seen: list[NewsFeedChanged] = []
    bus.subscribe(NewsFeedChanged, seen.append, name="push")
    service = NewsService(NewsSettings(feeds=(feed,), parse_workers=0), bus=bus)
    try:
        service.refresh(feed)
        service.refresh(feed)  # still missing: nothing new to say
        (tmp_path / "later.xml").write_bytes(rss([Entry("Here now")]))
        service.refresh(feed)
        service.refresh(feed)  # unchanged: nothing new to say
        bus.wait_idle()
        assert [(event.status, "cannot read" in event.error, event.items) for event in seen] == [
            ("error", True, 0),
            ("ok", False, 1),
        ]
    finally:
        service.stop()
        bus.close()


def test_kept_items_are_tagged_again_when_the_symbols_change(tmp_path: Path) -> None:
    feed = tmp_path / "f.xml"
    feed.write_bytes(rss([Entry("Solana rallies, Bitcoin flat", link="https://e.example/s")]))
    streamed = ["BTCUSDT"]
    service = NewsService(NewsSettings(feeds=(str(feed),), parse_workers=0), symbols=lambda: tuple(streamed))
    try:
        service.refresh(str(feed))
        assert [item.symbols for item in service.items()] == [("BTCUSDT",)]
        streamed.append("SOLUSDT")  # a symbol added at runtime
        assert service.refresh(str(feed))["status"] == "ok"  # unchanged file: nothing new parsed
        assert [item.symbols for item in service.items()] == [("BTCUSDT", "SOLUSDT")]
        assert [item.title for item in service.items(symbol="SOLUSDT")] == ["Solana rallies, Bitcoin flat"]
    finally:
        service.stop()
