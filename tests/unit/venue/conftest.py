"""Venues shared by the venue tests: start-up costs a generated history, so start each kind once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from thebot.venue import RunningVenue, VenueConfig, run_venue_in_thread


@pytest.fixture(scope="module")
def fast_venue() -> Iterator[RunningVenue]:
    """A venue at 600x: a 1m candle closes every 0.1 s of real time."""
    venue = run_venue_in_thread(VenueConfig(speed=600.0, history_days=1.0, symbols=("BTCUSDT", "ETHUSDT")))
    try:
        yield venue
    finally:
        venue.stop()
