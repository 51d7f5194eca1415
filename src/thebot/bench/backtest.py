"""Backtest benchmark: one year of 1m candles (525,600) for one symbol with the default rules.

`python -m thebot.bench backtest [--candles N] [--seed N]`

The candles (a seeded random walk) are written to a DuckDB store and read back through the backtest's
loader, then backtested with the default signal settings (every rule, rule-signal entries, 1 % stop,
opposite-signal exits, default costs). Baseline, in the same run on the same candles: the indicators those
rules need, computed in one batch pass through the factory (TA-Lib, plus the custom gap and zone
indicators). Target: the backtest ≤ 20 s; the ratio says how much the rules, aggregator and positions
cost on top of the indicators themselves. Wall-clock and CPU seconds are both printed: on a machine other
work shares, the CPU seconds are what this code costs.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from thebot.backtest.data import load_candles
from thebot.backtest.engine import run_backtest
from thebot.backtest.models import BacktestRequest, ExitPolicy
from thebot.bench.indicators import synthetic_candles
from thebot.indicators import IndicatorFactory
from thebot.market.models import KLINE_COLUMNS, StreamKey
from thebot.market.store import KlineStore
from thebot.market.timeframe import Timeframe
from thebot.signals.engine import requirements_of
from thebot.signals.rules import build_rules
from thebot.signals.settings import SignalSettings

YEAR_OF_MINUTES = 525_600
TARGET_SECONDS = 20.0
T0 = 1_672_531_200_000  # 2023-01-01 00:00 UTC


def run(argv: list[str]) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m thebot.bench backtest")
    parser.add_argument("--candles", type=int, default=YEAR_OF_MINUTES)
    parser.add_argument("--seed", type=int, default=42)
    arguments = parser.parse_args(argv)
    load_before = os.getloadavg()[0]
    generated = synthetic_candles(arguments.candles, arguments.seed)
    columns = {name: np.asarray(getattr(generated, name)) for name in KLINE_COLUMNS}
    columns["open_time"] = T0 + np.arange(arguments.candles, dtype=np.int64) * Timeframe.M1.milliseconds
    settings = SignalSettings()
    with tempfile.TemporaryDirectory(prefix="thebot-bench-backtest-") as folder:
        store = KlineStore(str(Path(folder) / "thebot.duckdb"), "bench")
        try:
            store.import_columns(StreamKey("BTCUSDT", Timeframe.M1), columns)
            started = time.perf_counter()
            candles = load_candles(
                store, "bench", "BTCUSDT", Timeframe.M1, start=None, end=None, limit=arguments.candles
            )
            load_seconds = time.perf_counter() - started
        finally:
            store.close()
    factory = IndicatorFactory()
    specs = requirements_of(build_rules(factory, settings))
    started, cpu = time.perf_counter(), time.process_time()
    for spec in specs:
        factory.compute(spec, candles)
    indicator_seconds = time.perf_counter() - started
    indicator_cpu = time.process_time() - cpu
    request = BacktestRequest(symbol="BTCUSDT", timeframe=Timeframe.M1, exits=ExitPolicy(stop_loss=0.01))
    started, cpu = time.perf_counter(), time.process_time()
    (result,) = run_backtest(candles, settings, request)
    backtest_seconds = time.perf_counter() - started
    backtest_cpu = time.process_time() - cpu
    assert result.full.metrics is not None
    return {
        "candles": len(candles),
        "rules": list(settings.rules),
        "indicator_specs": len(specs),
        "signals": result.signals,
        "trades": result.full.metrics.trades,
        "load_seconds": round(load_seconds, 3),
        "indicators_one_pass_seconds": round(indicator_seconds, 3),
        "backtest_seconds": round(backtest_seconds, 3),
        "ratio_backtest_to_indicators": round(backtest_seconds / indicator_seconds, 2),
        # CPU seconds of this process: on a shared machine the wall clock also counts other people's work
        "indicators_cpu_seconds": round(indicator_cpu, 3),
        "backtest_cpu_seconds": round(backtest_cpu, 3),
        "ratio_cpu": round(backtest_cpu / indicator_cpu, 2),
        "target_seconds": TARGET_SECONDS,
        "within_target": backtest_seconds + load_seconds <= TARGET_SECONDS,
        "machine": f"{platform.machine()}, {os.cpu_count()} cpus, {platform.python_implementation()} "
        f"{platform.python_version()}",
        "load_average_at_start": round(load_before, 2),
    }
