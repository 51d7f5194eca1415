"""Issue 14: candles are stored and restored per source; a venue switch never shows another venue's history.

Before source keys, a second `--venue` on the same data directory showed the first venue's candles (500 of
500 on the chart) and ignored its own as "older". Here two venues with different seeds take turns on one
data directory, in both directions and across restarts; every closed candle the chart would show must be
the current venue's own.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from thebot.config import Settings, settings_from_dict
from thebot.market.store import KlineStore
from thebot.market.timeframe import Timeframe
from thebot.services import build_services
from thebot.venue import RunningVenue, VenueConfig, run_venue_in_thread

SYMBOL = "BTCUSDT"


@pytest.fixture(scope="module")
def venues() -> Iterator[tuple[RunningVenue, RunningVenue]]:
    first = run_venue_in_thread(VenueConfig(symbols=(SYMBOL,), speed=60.0, history_days=0.5, seed=1))
    second = run_venue_in_thread(VenueConfig(symbols=(SYMBOL,), speed=60.0, history_days=0.5, seed=2))
    try:
        yield first, second
    finally:
        first.stop()
        second.stop()


def settings(data_dir: Path) -> Settings:
    return settings_from_dict(
        {
            "market": {"symbols": [SYMBOL], "timeframes": ["1m"], "buffer_size": 200},
            "ui": {"default_symbol": SYMBOL},
            "market_data": {"backfill_rate_limit_ms": 0},
            "storage": {"data_dir": str(data_dir)},
        }
    )


def venue_closes(venue: RunningVenue, start: int, end: int) -> dict[int, float]:
    query = f"symbol={SYMBOL}&interval=1m&startTime={start}&endTime={end}&limit=1000"
    with urllib.request.urlopen(f"{venue.http_url}/api/v3/klines?{query}", timeout=5) as response:
        rows = json.loads(response.read())
    return {int(row[0]): float(row[4]) for row in rows}


def chart_after_start(venue: RunningVenue, data_dir: Path) -> dict[int, float]:
    """Start the app's services against `venue` on `data_dir`: the closed 1m candles the chart shows."""
    services = build_services(settings(data_dir), venue_url=venue.http_url)
    try:
        services.start()
        assert services.market.wait_backfilled(30)
        candles = services.market.klines(SYMBOL, Timeframe.M1, limit=200)
        assert services.market.flush()
    finally:
        services.stop()
    return {candle.open_time: candle.close for candle in candles if candle.closed}


def assert_own(venue: RunningVenue, shown: dict[int, float]) -> None:
    assert len(shown) >= 150
    truth = venue_closes(venue, min(shown), max(shown))
    foreign = [open_time for open_time, close in shown.items() if truth.get(open_time) != close]
    assert foreign == [], f"{len(foreign)} of {len(shown)} candles on the chart are not this venue's"


def test_two_venues_on_one_data_directory_never_show_each_others_candles(
    venues: tuple[RunningVenue, RunningVenue], tmp_path: Path
) -> None:
    first, second = venues
    # The venues' prices differ, so a mix-up would show.
    sample = venue_closes(first, 0, 2**62)
    assert sample != venue_closes(second, min(sample), max(sample))
    assert_own(first, chart_after_start(first, tmp_path))
    assert_own(second, chart_after_start(second, tmp_path))  # A then B
    assert_own(first, chart_after_start(first, tmp_path))  # B then A, A restored after a restart
    assert_own(second, chart_after_start(second, tmp_path))
    stored = KlineStore(str(tmp_path / "thebot.duckdb"), "sim:seed=1")
    try:
        sources = {row["source"] for row in stored.inventory()}
    finally:
        stored.close()
    assert sources == {"sim:seed=1", "sim:seed=2"}
