"""Alerts benchmark: 1,000 rules over 20 streams, evaluated on every closed candle.

`python -m thebot.bench alerts [--minutes N] [--rules N] [--streams N]`

Every minute the 20 streams' 1m candles close together; the AlertManager evaluates each stream's 50
rules on its close (`process_close`: trigger state, hysteresis, cooldown, expiry, and one durable SQLite
transaction for the rules that fired). Target: p99 ≤ 5 ms per closed candle. Also reported: the whole
minute boundary (all 20 closes, all 1,000 rules), in wall time and in this thread's CPU time (what it
costs when the shared machine is busy elsewhere). Baseline, same run, same candles: the bare condition
checks (`condition_met` on each rule's level) in a plain loop, without the manager. Rules are price
rules with mixed conditions (crossings near the price so some fire, above/below, channels, moving %); an
indicator rule adds one shared series lookup per (stream, indicator), which the analytics cache holds.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from thebot.alerts.conditions import condition_met
from thebot.alerts.manager import AlertManager
from thebot.alerts.models import Condition
from thebot.alerts.settings import AlertSettings
from thebot.alerts.store import AlertStore
from thebot.events import CandleClosed

START = 1_700_000_000_000
CONDITIONS = (
    Condition.CROSSING,
    Condition.CROSSING_UP,
    Condition.CROSSING_DOWN,
    Condition.ABOVE,
    Condition.BELOW,
    Condition.ENTERING_CHANNEL,
    Condition.EXITING_CHANNEL,
    Condition.MOVING_UP_PERCENT,
    Condition.MOVING_DOWN_PERCENT,
)


def _rule(rng: np.random.Generator, symbol: str, price: float, index: int) -> dict[str, Any]:
    condition = CONDITIONS[index % len(CONDITIONS)]
    body: dict[str, Any] = {
        "kind": "price",
        "symbol": symbol,
        "timeframe": "1m",
        "condition": condition.value,
        "trigger": "once_per_bar_close",
        "notify": ["toast"],
        "cooldown_seconds": float(rng.choice([0, 60, 300])),
        "hysteresis": float(rng.choice([0.0, price * 0.001])),
    }
    if condition in (Condition.MOVING_UP_PERCENT, Condition.MOVING_DOWN_PERCENT):
        body.update(value=float(rng.uniform(0.5, 3.0)), bars=int(rng.integers(1, 20)))
    elif condition in (Condition.ENTERING_CHANNEL, Condition.EXITING_CHANNEL):
        low = price * float(rng.uniform(0.97, 1.0))
        body.update(value=low, value2=low * 1.02)
    elif condition in (Condition.ABOVE, Condition.BELOW):
        body.update(value=price * float(rng.uniform(1.05, 1.2) if condition is Condition.ABOVE else 0.9))
    else:
        body.update(value=price * float(rng.uniform(0.98, 1.02)))
    return body


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def run(argv: list[str]) -> dict[str, object]:
    parser = argparse.ArgumentParser(prog="python -m thebot.bench alerts")
    parser.add_argument("--minutes", type=int, default=2_000, help="closes per stream")
    parser.add_argument("--rules", type=int, default=1_000)
    parser.add_argument("--streams", type=int, default=20)
    arguments = parser.parse_args(argv)
    rng = np.random.default_rng(11)
    symbols = [f"SYM{index}USDT" for index in range(arguments.streams)]
    start_prices = {symbol: float(rng.uniform(1, 60_000)) for symbol in symbols}
    closes = {
        symbol: start * np.exp(np.cumsum(rng.normal(0, 0.002, arguments.minutes)))
        for symbol, start in start_prices.items()
    }
    clock = [START]

    with tempfile.TemporaryDirectory() as directory:
        store = AlertStore(Path(directory) / "alerts.sqlite3")
        manager = AlertManager(
            AlertSettings(), store, symbols=symbols, timeframes=["1m"], clock=lambda: clock[0]
        )
        per_stream = arguments.rules // arguments.streams
        for index in range(arguments.rules):
            symbol = symbols[(index // per_stream) % len(symbols)]
            manager.create_rule(_rule(rng, symbol, start_prices[symbol], index))
        rules = manager.rules()
        plain = [(rule.symbol, Condition(rule.condition), rule.value, rule.value2) for rule in rules]

        manager_ms: list[float] = []
        manager_cpu_ms: list[float] = []
        close_ms: list[float] = []
        close_cpu_ms: list[float] = []
        baseline_ms: list[float] = []
        previous: dict[str, float] = {}
        for minute in range(arguments.minutes):
            open_time = START + minute * 60_000
            clock[0] = open_time + 60_000
            events = [
                CandleClosed(symbol, "1m", open_time, price, price, price, price, 1.0)
                for symbol in symbols
                for price in (float(closes[symbol][minute]),)
            ]
            started = time.perf_counter_ns()
            cpu_started = time.thread_time_ns()
            for event in events:
                event_started = time.perf_counter_ns()
                event_cpu = time.thread_time_ns()
                manager.process_close(event, clock[0])
                close_cpu_ms.append((time.thread_time_ns() - event_cpu) / 1e6)
                close_ms.append((time.perf_counter_ns() - event_started) / 1e6)
            manager_cpu_ms.append((time.thread_time_ns() - cpu_started) / 1e6)
            manager_ms.append((time.perf_counter_ns() - started) / 1e6)

            current = {symbol: float(closes[symbol][minute]) for symbol in symbols}
            started = time.perf_counter_ns()
            hits = 0
            for symbol, condition, level, level2 in plain:
                if condition_met(condition, previous.get(symbol), current[symbol], level, level2=level2):
                    hits += 1
            baseline_ms.append((time.perf_counter_ns() - started) / 1e6)
            previous = current
        fired = len(store.history(limit=10_000_000))
        store.close()

    skip = 10  # the first minutes fill caches
    warm = manager_ms[skip:]
    warm_cpu = manager_cpu_ms[skip:]
    warm_close = close_ms[skip * arguments.streams :]
    warm_baseline = baseline_ms[skip:]
    warm_close_cpu = close_cpu_ms[skip * arguments.streams :]
    close_p99 = _percentile(warm_close, 0.99)
    close_cpu_p99 = _percentile(warm_close_cpu, 0.99)
    return {
        "machine": f"{platform.machine()} {os.cpu_count()} cpus, python {platform.python_version()}",
        "rules": len(rules),
        "streams": arguments.streams,
        "minutes": arguments.minutes,
        "alerts_fired": fired,
        "evaluations": manager.evaluations,
        # one closed candle: that stream's rules evaluated (the target)
        "per_close_ms_p50": round(statistics.median(warm_close), 3),
        "per_close_ms_p99": round(close_p99, 3),
        "per_close_cpu_ms_p50": round(statistics.median(warm_close_cpu), 3),
        "per_close_cpu_ms_p99": round(close_cpu_p99, 3),
        # one minute boundary: every stream closes, all rules evaluated
        "per_minute_ms_p50": round(statistics.median(warm), 3),
        "per_minute_ms_p99": round(_percentile(warm, 0.99), 3),
        "per_minute_cpu_ms_p50": round(statistics.median(warm_cpu), 3),
        "per_minute_cpu_ms_p99": round(_percentile(warm_cpu, 0.99), 3),
        "baseline_per_minute_ms_p50": round(statistics.median(warm_baseline), 3),
        "baseline_per_minute_ms_p99": round(_percentile(warm_baseline, 0.99), 3),
        "ratio_p50": round(statistics.median(warm) / statistics.median(warm_baseline), 2),
        "target_per_close_p99_ms": 5.0,
        "ok_wall": close_p99 <= 5.0,
        "ok_cpu": close_cpu_p99 <= 5.0,
    }
