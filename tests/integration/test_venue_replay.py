"""Replay: real candles from a CSV come back over REST exactly, up to the replay clock."""

from __future__ import annotations

import csv
import time
import urllib.parse
import urllib.request
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from thebot.venue import RunningVenue, VenueConfig, run_venue_in_thread

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "BTCUSDT-1m-2023-03.csv"
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def rest(venue: RunningVenue, path: str, **parameters: Any) -> Any:
    with _OPENER.open(f"{venue.http_url}{path}?{urllib.parse.urlencode(parameters)}", timeout=10) as response:
        return orjson.loads(response.read())


def all_klines(venue: RunningVenue, interval: str = "1m") -> list[list[Any]]:
    rows: list[list[Any]] = []
    start = 0
    while True:
        page = rest(venue, "/api/v3/klines", symbol="BTCUSDT", interval=interval, startTime=start, limit=1000)
        rows.extend(page)
        if len(page) < 1000:
            return rows
        start = page[-1][0] + 1


@pytest.mark.slow
def test_replay_of_the_shared_csv_reproduces_every_candle_exactly() -> None:
    if not DATA.exists():
        pytest.skip(f"real candles not found at {DATA}")
    with DATA.open(newline="") as handle:
        expected = list(csv.DictReader(handle))
    config = VenueConfig(replay=DATA, history_days=60.0, symbols=("BTCUSDT",), speed=1.0)
    with run_venue_in_thread(config) as venue:
        rows = all_klines(venue)
        daily = all_klines(venue, "1d")
    assert len(rows) == len(expected) == 30_240
    for row, record in zip(rows, expected, strict=True):
        assert (Decimal(row[1]), Decimal(row[2]), Decimal(row[3]), Decimal(row[4]), Decimal(row[5])) == (
            Decimal(record["open"]),
            Decimal(record["high"]),
            Decimal(record["low"]),
            Decimal(record["close"]),
            Decimal(record["volume"]),
        )
    first_day = expected[:1440]
    assert Decimal(daily[0][2]) == max(Decimal(record["high"]) for record in first_day)
    assert Decimal(daily[0][5]) == sum(Decimal(record["volume"]) for record in first_day)


def test_replay_serves_history_only_up_to_its_clock_and_plays_on(tmp_path: Path) -> None:
    csv_path = tmp_path / "BTCUSDT-replay.csv"
    start = 1_700_000_000_000 - 1_700_000_000_000 % 60_000
    lines = ["open_time,open,high,low,close,volume,trades"]
    for minute in range(3 * 1440):
        price = 100 + minute % 50
        lines.append(
            f"{start + minute * 60_000},{price},{price + 1.5},{price - 1.25},{price + 0.5},{minute + 1},9"
        )
    csv_path.write_text("\n".join(lines) + "\n")
    config = VenueConfig(replay=csv_path, history_days=1.0, symbols=("BTCUSDT",), speed=600.0)
    with run_venue_in_thread(config) as venue:
        first = all_klines(venue)
        assert first[0][0] == start
        now = rest(venue, "/api/v3/time")["serverTime"]
        assert now - start < 1440 * 60_000 + 600_000  # the clock starts one day in
        assert first[-1][0] <= now
        assert len(first) < 3 * 1440
        time.sleep(1.0)  # 600x: ten more minutes are played
        later = all_klines(venue)
    assert len(later) >= len(first) + 8
    minute = 5
    assert later[minute][1:6] == [
        "105.00000000",
        "106.50000000",
        "103.75000000",
        "105.50000000",
        "6.00000000",
    ]


def test_replayed_seconds_add_up_to_the_real_minute(tmp_path: Path) -> None:
    csv_path = tmp_path / "BTCUSDT-seconds.csv"
    start = 1_700_000_000_000 - 1_700_000_000_000 % 86_400_000
    rows = ["open_time,open,high,low,close,volume"]
    rows += [
        f"{start + minute * 60_000},{200 - minute},{203.37},{196.01},{201.5 - minute},{7.123457}"
        for minute in range(3)
    ]
    csv_path.write_text("\n".join(rows) + "\n")
    with run_venue_in_thread(VenueConfig(replay=csv_path, history_days=1.0, symbols=("BTCUSDT",))) as venue:
        for minute in range(3):
            seconds = rest(
                venue,
                "/api/v3/klines",
                symbol="BTCUSDT",
                interval="1s",
                startTime=start + minute * 60_000,
                endTime=start + minute * 60_000 + 59_999,
                limit=100,
            )
            candle = rest(
                venue,
                "/api/v3/klines",
                symbol="BTCUSDT",
                interval="1m",
                startTime=start + minute * 60_000,
                limit=1,
            )[0]
            assert len(seconds) == 60
            assert seconds[0][1] == candle[1] and seconds[-1][4] == candle[4]
            assert max(Decimal(row[2]) for row in seconds) == Decimal(candle[2]) == Decimal("203.37")
            assert min(Decimal(row[3]) for row in seconds) == Decimal(candle[3]) == Decimal("196.01")
            assert sum(Decimal(row[5]) for row in seconds) == Decimal(candle[5]) == Decimal("7.123457")
