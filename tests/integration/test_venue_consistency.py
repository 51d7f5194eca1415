"""Interval consistency over the wire: 5m, 15m, 1h and 1d klines equal the aggregate of the 1m klines,
over REST and over WebSocket, and REST and WebSocket agree with each other."""

from __future__ import annotations

import itertools
import random
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import orjson
import pytest
from websockets.sync.client import connect

from thebot.venue import RunningVenue, VenueConfig, run_venue_in_thread

INTERVAL_MS = {"1m": 60_000, "5m": 300_000, "15m": 900_000, "1h": 3_600_000, "1d": 86_400_000}
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def rest(venue: RunningVenue, path: str, **parameters: Any) -> Any:
    query = urllib.parse.urlencode(parameters)
    with _OPENER.open(f"{venue.http_url}{path}?{query}", timeout=10) as response:
        return orjson.loads(response.read())


def aggregate(rows: list[list[Any]]) -> tuple[Any, ...]:
    """Kline rows -> (open, high, low, close, volume, quote volume, trades, taker base, taker quote)."""
    return (
        Decimal(rows[0][1]),
        max(Decimal(row[2]) for row in rows),
        min(Decimal(row[3]) for row in rows),
        Decimal(rows[-1][4]),
        sum(Decimal(row[5]) for row in rows),
        sum(Decimal(row[7]) for row in rows),
        sum(row[8] for row in rows),
        sum(Decimal(row[9]) for row in rows),
        sum(Decimal(row[10]) for row in rows),
    )


def rest_klines(venue: RunningVenue, interval: str, start: int, end: int) -> list[list[Any]]:
    rows: list[list[Any]] = []
    while start <= end:
        page = rest(
            venue,
            "/api/v3/klines",
            symbol="BTCUSDT",
            interval=interval,
            startTime=start,
            endTime=end,
            limit=1000,
        )
        if not page:
            break
        rows.extend(page)
        start = page[-1][0] + INTERVAL_MS[interval]
    return rows


@pytest.fixture(scope="module")
def venue() -> Iterator[RunningVenue]:
    running = run_venue_in_thread(VenueConfig(speed=3000.0, history_days=3.0, symbols=("BTCUSDT",), seed=21))
    try:
        yield running
    finally:
        running.stop()


@pytest.mark.parametrize("interval", ["5m", "15m", "1h", "1d"])
def test_rest_intervals_equal_the_aggregate_of_1m(venue: RunningVenue, interval: str) -> None:
    interval_ms = INTERVAL_MS[interval]
    now = rest(venue, "/api/v3/time")["serverTime"]
    oldest = rest(venue, "/api/v3/klines", symbol="BTCUSDT", interval=interval, startTime=0, limit=1)[0][0]
    picker = random.Random(interval_ms)
    count = 1 if interval == "1d" else 4
    for _ in range(3):
        newest_start = now - (count + 1) * interval_ms
        slots = (newest_start - oldest) // interval_ms
        start = oldest + picker.randrange(max(1, slots)) * interval_ms
        candles = rest_klines(venue, interval, start, start + (count - 1) * interval_ms)
        minutes = rest_klines(venue, "1m", start, start + count * interval_ms - 1)
        assert len(candles) == count
        per = interval_ms // 60_000
        assert len(minutes) == count * per
        for index, candle in enumerate(candles):
            assert candle[6] == candle[0] + interval_ms - 1
            assert aggregate([candle]) == aggregate(minutes[index * per : (index + 1) * per]), (
                interval,
                start,
            )


def test_history_covers_the_requested_days(venue: RunningVenue) -> None:
    now = rest(venue, "/api/v3/time")["serverTime"]
    rows = rest_klines(venue, "1m", now - 3 * 86_400_000, now)
    assert len(rows) >= 3 * 1440
    opens = [row[0] for row in rows]
    assert all(later - earlier == 60_000 for earlier, later in itertools.pairwise(opens))


def test_websocket_candles_equal_rest_and_aggregate_exactly(venue: RunningVenue) -> None:
    """At 3000x a 5m candle closes every 0.1 s: collect closed 1m, 5m and 15m candles for a few seconds."""
    streams = "btcusdt@kline_1m/btcusdt@kline_5m/btcusdt@kline_15m/btcusdt@kline_1h"
    closed: dict[str, dict[int, dict[str, Any]]] = {"1m": {}, "5m": {}, "15m": {}, "1h": {}}
    with connect(f"{venue.ws_url}/stream?streams={streams}", proxy=None) as socket:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and (len(closed["15m"]) < 3 or len(closed["1h"]) < 2):
            kline = orjson.loads(socket.recv(timeout=5))["data"]["k"]
            if kline["x"]:
                closed[kline["i"]][kline["t"]] = kline
    assert len(closed["15m"]) >= 3 and len(closed["1h"]) >= 2

    compared = 0
    for interval in ("5m", "15m", "1h"):
        per = INTERVAL_MS[interval] // 60_000
        for open_time, kline in closed[interval].items():
            minutes = [closed["1m"].get(open_time + index * 60_000) for index in range(per)]
            if any(minute is None for minute in minutes):
                continue  # subscribed mid-candle
            assert aggregate([as_row(kline)]) == aggregate([as_row(minute) for minute in minutes if minute])
            assert kline["f"] == minutes[0]["f"] and kline["L"] == minutes[-1]["L"]  # type: ignore[index]
            compared += 1
            rest_row = rest_klines(venue, interval, open_time, open_time)[0]
            assert rest_row == as_row(kline)
    assert compared >= 4


def as_row(kline: dict[str, Any]) -> list[Any]:
    return [
        kline["t"],
        kline["o"],
        kline["h"],
        kline["l"],
        kline["c"],
        kline["v"],
        kline["T"],
        kline["q"],
        kline["n"],
        kline["V"],
        kline["Q"],
        "0",
    ]


def test_websocket_daily_candle_equals_its_minutes() -> None:
    """At 50,000x a day lasts 1.7 s: the 1d close over WebSocket equals its 1,440 1m closes."""
    config = VenueConfig(speed=50_000.0, history_days=0.05, symbols=("BTCUSDT",), seed=8)
    minutes: dict[int, dict[str, Any]] = {}
    days: list[dict[str, Any]] = []
    with (
        run_venue_in_thread(config) as fast,
        connect(
            f"{fast.ws_url}/stream?streams=btcusdt@kline_1m/btcusdt@kline_1d", proxy=None, max_queue=None
        ) as socket,
    ):
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            kline = orjson.loads(socket.recv(timeout=5))["data"]["k"]
            if not kline["x"]:
                continue
            if kline["i"] == "1m":
                minutes[kline["t"]] = kline
            else:
                group = [minutes.get(kline["t"] + index * 60_000) for index in range(1440)]
                if all(group):
                    days.append(kline)
                    break
    assert days, "no complete day of 1m candles arrived"
    day = days[0]
    group = [as_row(minutes[day["t"] + index * 60_000]) for index in range(1440)]
    assert aggregate([as_row(day)]) == aggregate(group)
