"""kill -9 and restart leave no gap: the store keeps what was committed, the next start backfills the rest."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from thebot.config import Settings, settings_from_dict
from thebot.market.service import MarketData
from thebot.market.timeframe import Timeframe
from thebot.runtime import EventLoopThread
from thebot.venue import RunningVenue, VenueConfig, run_venue_in_thread

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SETTINGS: dict[str, Any] = {
    "market": {"symbols": ["BTCUSDT"], "timeframes": ["1m", "5m"], "buffer_size": 200},
    "market_data": {
        "min_connect_interval_seconds": 0.2,
        "backfill_rate_limit_ms": 0,
        "store_flush_seconds": 0.5,
    },
}

CHILD = textwrap.dedent(
    """
    import json, logging, sys, time
    from thebot.config import settings_from_dict
    from thebot.market.service import MarketData
    from thebot.runtime import EventLoopThread

    logging.basicConfig(level=logging.INFO, format="%(relativeCreated)6.0f %(name)s: %(message)s")
    settings = settings_from_dict(json.loads(sys.argv[1]))
    loop = EventLoopThread().start()
    market = MarketData(settings, ws_url=sys.argv[2], rest_url=sys.argv[3], exchange="sim",
                        store_path=sys.argv[4], loop=loop)
    market.start()
    while True:
        print(market.store.status().rows_written, flush=True)
        time.sleep(0.1)
    """
)


def rest_klines(venue: RunningVenue, start: int, end: int) -> list[list[Any]]:
    rows: list[list[Any]] = []
    while start <= end:
        query = f"symbol=BTCUSDT&interval=1m&startTime={start}&endTime={end}&limit=1000"
        with urllib.request.urlopen(f"{venue.http_url}/api/v3/klines?{query}", timeout=5) as response:
            page: list[list[Any]] = json.loads(response.read())
        if not page:
            break
        rows.extend(page)
        start = int(page[-1][0]) + 60_000
    return rows


@pytest.mark.slow
def test_kill_9_and_restart_leave_no_gap(tmp_path: Path) -> None:
    store_path = str(tmp_path / "thebot.duckdb")
    venue = run_venue_in_thread(VenueConfig(symbols=("BTCUSDT",), speed=60.0, history_days=1.0, seed=5))
    try:
        environment = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT / "src")}
        child_log = tmp_path / "child.log"
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, json.dumps(SETTINGS), venue.ws_url, venue.http_url, store_path],
            stdout=subprocess.PIPE,
            stderr=child_log.open("w"),
            text=True,
            env=environment,
        )
        try:
            assert child.stdout is not None
            deadline = time.monotonic() + 30
            written = 0
            # 2 x 199 closed candles from the start backfill, then a few streamed 1m closes.
            while written < 2 * 199 + 4 and time.monotonic() < deadline:
                line = child.stdout.readline()
                if not line:
                    break
                written = int(line)
            assert written >= 2 * 199 + 4, (
                f"the child stored only {written} candles; its log ends:\n"
                + "\n".join(child_log.read_text().splitlines()[-15:])
            )
            time.sleep(0.3)
        finally:
            os.kill(child.pid, signal.SIGKILL)
            child.wait(10)
        assert child.returncode == -signal.SIGKILL
        # Let the venue move on while nothing is running: these minutes must be backfilled.
        time.sleep(3)

        settings: Settings = settings_from_dict(SETTINGS)
        loop = EventLoopThread("restart").start()
        market = MarketData(
            settings,
            ws_url=venue.ws_url,
            rest_url=venue.http_url,
            exchange="sim",
            store_path=store_path,
            loop=loop,
        )
        try:
            restored_rows = market.store.count()
            assert restored_rows >= 2 * 199, "committed candles were lost by the crash"
            market.start()
            assert market.wait_backfilled(20)
            time.sleep(1.5)  # a closed candle or two streamed after the restart
            assert market.wait_backfilled(20)
            assert market.flush()
            stored = market.store.read("BTCUSDT", Timeframe.M1)
            open_times = stored["open_time"]
            assert np.all(np.diff(open_times) == 60_000), "the store has a gap or a duplicate after kill -9"
            expected = rest_klines(venue, int(open_times[0]), int(open_times[-1]))
            assert open_times.tolist() == [int(row[0]) for row in expected]
            assert stored["close"].tolist() == [float(row[4]) for row in expected]
            assert stored["volume"].tolist() == [float(row[5]) for row in expected]
        finally:
            market.stop()
            loop.stop()
    finally:
        venue.stop()
