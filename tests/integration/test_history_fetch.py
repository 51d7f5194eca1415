"""`thebot.history fetch` against the simulated venue: pages, a stop halfway, and a resume that fetches only
what is missing and leaves one contiguous, duplicate-free history equal to the venue's."""

from __future__ import annotations

import asyncio
import contextlib
import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from thebot.history.fetch import FetchProgress, HistoryFetch
from thebot.market.ccxt_client import make_binance_client
from thebot.market.models import StreamKey
from thebot.market.store import KlineStore
from thebot.market.timeframe import Timeframe
from thebot.venue import RunningVenue, VenueConfig, run_venue_in_thread

KEY = StreamKey("BTCUSDT", Timeframe.M1)
MINUTE = 60_000


@pytest.fixture(scope="module")
def venue() -> Iterator[RunningVenue]:
    running = run_venue_in_thread(VenueConfig(symbols=("BTCUSDT",), speed=60.0, history_days=1.0, seed=5))
    try:
        yield running
    finally:
        running.stop()


class Interrupted(Exception):
    pass


class StopsAfter:
    """A ccxt client that dies (as a killed process would) before its `pages + 1`-th klines request."""

    def __init__(self, client: Any, pages: int | None) -> None:
        self.client, self.pages, self.requests = client, pages, 0

    async def publicGetKlines(self, request: dict[str, Any]) -> Any:
        if self.pages is not None and self.requests >= self.pages:
            raise Interrupted
        self.requests += 1
        return await self.client.publicGetKlines(request)


async def fetch(
    store: KlineStore, venue: RunningVenue, start: int, end: int, pages: int | None
) -> tuple[int, list[FetchProgress]]:
    client = make_binance_client(venue.http_url)
    counting = StopsAfter(client, pages)
    progress: list[FetchProgress] = []
    try:
        job = HistoryFetch(
            store,
            counting,
            KEY,
            start,
            end,
            source="sim:seed=5",
            page_size=300,
            pause_seconds=0.0,
            on_progress=progress.append,
        )
        server_time = int((await client.publicGetTime())["serverTime"])
        with contextlib.suppress(Interrupted):
            await job.run(server_time)
    finally:
        await client.close()
    return counting.requests, progress


def test_a_fetch_stopped_halfway_resumes_where_it_stopped(venue: RunningVenue, tmp_path: Path) -> None:
    with urllib.request.urlopen(f"{venue.http_url}/api/v3/time", timeout=5) as response:
        now = int(json.loads(response.read())["serverTime"])
    end = now // MINUTE * MINUTE - 10 * MINUTE
    start = end - 1199 * MINUTE  # 1,200 candles: four pages of 300
    store = KlineStore(str(tmp_path / "thebot.duckdb"), "sim:seed=5")
    try:
        requests, progress = asyncio.run(fetch(store, venue, start, end, pages=2))
        assert requests == 2
        assert store.count() == 600  # two whole pages, each committed with its marker
        assert progress[-1].done == 600 and progress[-1].total == 1200
        requests, progress = asyncio.run(fetch(store, venue, start, end, pages=None))
        assert requests == 2  # pages three and four only
        assert progress[0].resumed_from == start + 600 * MINUTE
        assert progress[-1].done == 1200
        stored = store.read("BTCUSDT", Timeframe.M1)
        open_times = stored["open_time"]
        assert open_times.shape[0] == 1200 and open_times[0] == start and open_times[-1] == end
        assert np.all(np.diff(open_times) == MINUTE)
        query = f"symbol=BTCUSDT&interval=1m&startTime={end - 99 * MINUTE}&endTime={end}&limit=100"
        with urllib.request.urlopen(f"{venue.http_url}/api/v3/klines?{query}", timeout=5) as response:
            truth = [float(row[4]) for row in json.loads(response.read())]
        assert stored["close"][-100:].tolist() == truth
        again, _ = asyncio.run(fetch(store, venue, start, end, pages=None))
        assert again == 0  # a finished fetch asks for nothing
    finally:
        store.close()
