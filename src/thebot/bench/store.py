"""`python -m thebot.bench store`: the DuckDB candle store's write, read and restore speed.

Targets (issue 4): insert 1,000,000 klines in at most 2 s; the last 1,000 candles of one stream in at
most 10 ms; restoring 100 symbols x 6 timeframes x 1,000 candles into the buffers in at most 2 s. The
baseline, measured in the same run on the same machine, is a bare DuckDB insert / select of the same
rows without the store's batching, de-duplication and buffer loading.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from thebot.market.datastream import DataStream
from thebot.market.models import StreamKey
from thebot.market.store import COLUMNS, KlineStore
from thebot.market.timeframe import Timeframe

TIMEFRAMES = (Timeframe.M1, Timeframe.M5, Timeframe.M15, Timeframe.H1, Timeframe.H4, Timeframe.D1)
START_MS = 1_677_628_800_000


def _columns(key: StreamKey, count: int, rng: np.random.Generator) -> dict[str, np.ndarray[Any, Any]]:
    close = 20_000 + np.cumsum(rng.standard_normal(count))
    return {
        "open_time": START_MS + np.arange(count, dtype=np.int64) * key.timeframe.milliseconds,
        "open": close - 0.5,
        "high": close + 1.0,
        "low": close - 1.0,
        "close": close,
        "volume": rng.random(count) * 10,
        "quote_volume": rng.random(count) * 200_000,
        "trades": rng.integers(1, 1000, count),
        "taker_buy_volume": rng.random(count) * 5,
    }


def _streams(symbols: int) -> list[StreamKey]:
    return [
        StreamKey(f"SYM{index:03d}USDT", timeframe) for index in range(symbols) for timeframe in TIMEFRAMES
    ]


def _baseline_insert(path: Path, data: dict[StreamKey, dict[str, np.ndarray[Any, Any]]]) -> float:
    frames = []
    for key, columns in data.items():
        frame = pd.DataFrame(columns)
        frame.insert(0, "timeframe", key.timeframe.value)
        frame.insert(0, "symbol", key.symbol)
        frame.insert(0, "exchange", "sim")
        frames.append(frame)
    rows = pd.concat(frames, ignore_index=True)
    connection = duckdb.connect(str(path))
    connection.register("bench_rows", rows)
    connection.execute("CREATE TABLE klines AS SELECT * FROM bench_rows LIMIT 0")  # same columns, no key
    started = time.perf_counter()
    connection.execute("INSERT INTO klines SELECT * FROM bench_rows")
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed


def run(argv: list[str]) -> dict[str, object]:
    parser = argparse.ArgumentParser(prog="python -m thebot.bench store")
    parser.add_argument("--rows", type=int, default=1_000_000, help="klines inserted in the insert test")
    parser.add_argument("--symbols", type=int, default=100, help="symbols restored (x 6 timeframes)")
    parser.add_argument("--candles", type=int, default=1000, help="candles per restored stream")
    arguments = parser.parse_args(argv)
    rng = np.random.default_rng(7)

    with tempfile.TemporaryDirectory(prefix="thebot-bench-store-") as directory:
        folder = Path(directory)
        # -- insert -------------------------------------------------------------------------------------
        keys = _streams(max(1, arguments.rows // (len(TIMEFRAMES) * 1000)))
        per_stream = -(-arguments.rows // len(keys))
        data = {key: _columns(key, per_stream, rng) for key in keys}
        inserted = sum(int(columns["open_time"].shape[0]) for columns in data.values())
        baseline_insert = _baseline_insert(folder / "baseline.duckdb", data)

        store = KlineStore(str(folder / "store.duckdb"), "sim").start()
        started = time.perf_counter()
        for key, columns in data.items():
            store.write_columns(key, columns)
        store.flush(timeout=600)
        insert_seconds = time.perf_counter() - started
        assert store.count() == inserted, "the store lost rows"

        # -- last 1,000 of one stream -------------------------------------------------------------------
        probe = keys[len(keys) // 2]
        timings = []
        for _ in range(30):
            started = time.perf_counter()
            last = store.read(probe.symbol, probe.timeframe, limit=1000)
            timings.append((time.perf_counter() - started) * 1000)
        assert last["open_time"].shape[0] == min(1000, per_stream)
        store.close()

        # -- restore into buffers -----------------------------------------------------------------------
        restore_keys = _streams(arguments.symbols)
        restore_store = KlineStore(str(folder / "restore.duckdb"), "sim").start()
        for key in restore_keys:
            restore_store.write_columns(key, _columns(key, arguments.candles, rng))
        restore_store.flush(timeout=600)
        restore_store.close()

        baseline_connection = duckdb.connect(str(folder / "restore.duckdb"), read_only=True)
        started = time.perf_counter()
        baseline_connection.execute(
            f"SELECT symbol, timeframe, {', '.join(COLUMNS)} FROM klines"
        ).fetchnumpy()
        baseline_restore = time.perf_counter() - started
        baseline_connection.close()

        started = time.perf_counter()
        reopened = KlineStore(str(folder / "restore.duckdb"), "sim")
        datastream = DataStream(
            sorted({key.symbol for key in restore_keys}), TIMEFRAMES, capacity=arguments.candles
        )
        restored = 0
        for key, columns in reopened.read_recent_all(arguments.candles).items():
            datastream.merge_columns(key.symbol, key.timeframe, columns)
            restored += int(columns["open_time"].shape[0])
        restore_seconds = time.perf_counter() - started
        reopened.close()
        assert restored == len(restore_keys) * arguments.candles
        assert (
            len(datastream.snapshot(restore_keys[0].symbol, restore_keys[0].timeframe)) == arguments.candles
        )

    last_ms = statistics.median(timings)
    return {
        "insert_rows": inserted,
        "insert_seconds": round(insert_seconds, 3),
        "insert_rows_per_second": round(inserted / insert_seconds),
        "baseline_bare_insert_seconds": round(baseline_insert, 3),
        "insert_vs_baseline": round(insert_seconds / baseline_insert, 2),
        "last_1000_ms_median": round(last_ms, 2),
        "last_1000_ms_max": round(max(timings), 2),
        "restore_candles": restored,
        "restore_seconds": round(restore_seconds, 3),
        "baseline_bare_select_seconds": round(baseline_restore, 3),
        "targets": {"insert_seconds": 2.0, "last_1000_ms": 10.0, "restore_seconds": 2.0},
        "meets_targets": insert_seconds <= 2.0 and last_ms <= 10.0 and restore_seconds <= 2.0,
    }
