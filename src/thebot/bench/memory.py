"""`python -m thebot.bench memory`: resident memory of the market data layer at full width.

100 symbols x 6 timeframes x 1,000-candle buffers, streaming live from the simulated venue (run in a
child process so that its own memory is not counted), with the DuckDB store on disk. Target (issue 4):
RSS <= 500 MB. The baseline is this process's RSS after the imports, before the layer is built.

A day of venue history fills the 1m buffers but not the slower ones (a 1d buffer would need 1,000 days),
and untouched buffer pages cost no resident memory: so after the backfill every buffer is topped up to
its capacity with older closed candles, and the figure is for full buffers.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from thebot.config import settings_from_dict
from thebot.market.datastream import DataStream
from thebot.market.service import MarketData
from thebot.runtime import EventLoopThread

TIMEFRAMES = ["1m", "5m", "15m", "1h", "4h", "1d"]


def rss_mb() -> float:
    """Resident set size from /proc (Linux); falls back to the peak from `resource` elsewhere."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fill_buffers(datastream: DataStream) -> int:
    """Top every buffer up to capacity with older closed candles; returns how many were added."""
    added = 0
    for key in datastream.keys():
        snapshot = datastream.snapshot(key.symbol, key.timeframe)
        missing = datastream.capacity - len(snapshot)
        if missing <= 0 or len(snapshot) == 0:
            continue
        step = key.timeframe.milliseconds
        first = int(snapshot.open_time[0])
        open_time = first - step * np.arange(missing, 0, -1, dtype=np.int64)
        price = np.full(missing, float(snapshot.open[0]))
        added += datastream.merge_columns(
            key.symbol,
            key.timeframe,
            {
                "open_time": open_time,
                "open": price,
                "high": price * 1.001,
                "low": price * 0.999,
                "close": price,
                "volume": np.full(missing, 1.0),
                "closed": np.ones(missing, dtype=np.bool_),
            },
        )
    return added


def _start_venue(symbols: list[str], speed: float, history_days: float) -> tuple[subprocess.Popen[str], str]:
    source = Path(__file__).resolve().parents[2]
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(source), os.environ.get("PYTHONPATH", "")]),
    }
    command = [
        sys.executable,
        "-m",
        "thebot.venue",
        "--port",
        "0",
        "--symbols",
        ",".join(symbols),
        "--speed",
        str(speed),
        "--history-days",
        str(history_days),
        "--log-level",
        "WARNING",
    ]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=environment)
    assert child.stdout is not None
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        line = child.stdout.readline()
        if not line:
            break
        if line.startswith("REST"):
            url = line.split()[1].removesuffix("/api/v3/")
            return child, url
    child.kill()
    raise RuntimeError("the venue did not start")


def run(argv: list[str]) -> dict[str, object]:
    parser = argparse.ArgumentParser(prog="python -m thebot.bench memory")
    parser.add_argument("--symbols", type=int, default=100)
    parser.add_argument("--candles", type=int, default=1000, help="buffer size per stream")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long to stream after the backfill")
    parser.add_argument("--speed", type=float, default=60.0, help="venue speed (simulated s per real s)")
    parser.add_argument("--history-days", type=float, default=1.0)
    arguments = parser.parse_args(argv)
    symbols = [f"SYM{index:03d}USDT" for index in range(arguments.symbols)]
    baseline = rss_mb()
    venue, url = _start_venue(symbols, arguments.speed, arguments.history_days)
    ws_url = url.replace("http://", "ws://")
    peak = baseline
    try:
        with tempfile.TemporaryDirectory(prefix="thebot-bench-memory-") as directory:
            settings = settings_from_dict(
                {
                    "market": {
                        "symbols": symbols,
                        "timeframes": TIMEFRAMES,
                        "buffer_size": arguments.candles,
                    },
                    "ui": {"default_symbol": symbols[0]},
                    "market_data": {"backfill_rate_limit_ms": 0},
                }
            )
            loop = EventLoopThread("bench-memory").start()
            market = MarketData(
                settings,
                ws_url=ws_url,
                rest_url=url,
                exchange="sim",
                store_path=str(Path(directory) / "thebot.duckdb"),
                loop=loop,
            )
            started = time.monotonic()
            market.start()
            backfilled = market.wait_backfilled(600)
            backfill_seconds = time.monotonic() - started
            topped_up = fill_buffers(market.datastream)
            peak = max(peak, rss_mb())
            end = time.monotonic() + arguments.seconds
            while time.monotonic() < end:
                time.sleep(1.0)
                peak = max(peak, rss_mb())
            health = market.health()
            final = rss_mb()
            candles = sum(stream["candles"] for stream in health["streams"])
            market.stop()
            loop.stop()
    finally:
        venue.terminate()
        try:
            venue.wait(10)
        except subprocess.TimeoutExpired:
            venue.kill()
    return {
        "symbols": arguments.symbols,
        "streams": arguments.symbols * len(TIMEFRAMES),
        "buffer_size": arguments.candles,
        "candles_buffered": candles,
        "candles_topped_up": topped_up,
        "backfilled": backfilled,
        "backfill_seconds": round(backfill_seconds, 1),
        "messages": health["websocket"]["messages"],
        "rss_baseline_mb": round(baseline, 1),
        "rss_final_mb": round(final, 1),
        "rss_peak_mb": round(peak, 1),
        "target_mb": 500,
        "meets_target": peak <= 500,
    }
