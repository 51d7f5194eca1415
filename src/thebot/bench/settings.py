"""`python -m thebot.bench settings`: what one settings change costs, end to end in the store.

`apply` checks each key, validates the whole model, writes the user file (tomlkit, temp file, fsync,
rename, last good copy), appends the history (fsync) and publishes one event. Target: a change from the
panel well under 50 ms at the median, so Save feels instant. The baseline, measured in the same run, is
the bare validation of the same document with `settings_from_dict` (no per-key errors, no disk).
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from thebot.config import load_settings, settings_from_dict
from thebot.events import Event
from thebot.market.symbols import FixedCatalog
from thebot.settings_schema import settings_to_dict
from thebot.settings_store import SettingsRejected, SettingsStore

TARGET_MEDIAN_MS = 50.0


def _milliseconds(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median_ms": round(statistics.median(ordered) * 1000, 3),
        "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1] * 1000, 3),
    }


def run(argv: list[str]) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m thebot.bench settings")
    parser.add_argument("--changes", type=int, default=200, help="changes applied per measurement")
    args = parser.parse_args(argv)
    defaults = load_settings()
    document = settings_to_dict(defaults)
    events: list[Event] = []
    weights = (0.25, 0.75)
    symbol_lists = (["BTCUSDT", "ETHUSDT"], ["BTCUSDT", "ETHUSDT", "SOLUSDT"])

    baseline: list[float] = []
    for index in range(args.changes):
        document["signals"]["rule_weights"]["rsi"] = weights[index % 2]
        started = time.perf_counter()
        settings_from_dict(document)
        baseline.append(time.perf_counter() - started)

    with tempfile.TemporaryDirectory(prefix="thebot-bench-settings-") as directory:
        store = SettingsStore(defaults, data_dir=Path(directory))
        store.attach(publish=events.append, catalog=FixedCatalog({"BTCUSDT", "ETHUSDT", "SOLUSDT"}))
        weight_changes: list[float] = []
        for index in range(args.changes):
            started = time.perf_counter()
            store.apply({"signals": {"rule_weights": {"rsi": weights[index % 2]}}})
            weight_changes.append(time.perf_counter() - started)
        symbol_changes: list[float] = []
        for index in range(args.changes):
            started = time.perf_counter()
            store.apply({"market": {"symbols": symbol_lists[index % 2]}})
            symbol_changes.append(time.perf_counter() - started)
        rejected: list[float] = []
        for _ in range(args.changes):
            started = time.perf_counter()
            with contextlib.suppress(SettingsRejected):
                store.apply({"market": {"symbols": ["BTCUSDT", "NOPEUSDT"]}, "ui": {"chart_candles": 1}})
            rejected.append(time.perf_counter() - started)
        history_entries = len(store.history(10_000))
        reopen_started = time.perf_counter()
        SettingsStore(defaults, data_dir=Path(directory))
        reopen = time.perf_counter() - reopen_started

    weight = _milliseconds(weight_changes)
    return {
        "changes": args.changes,
        "baseline_validate": _milliseconds(baseline),
        "apply_weight": weight,
        "apply_symbols": _milliseconds(symbol_changes),
        "reject_two_fields": _milliseconds(rejected),
        "apply_over_baseline": round(
            statistics.median(weight_changes) / max(statistics.median(baseline), 1e-9), 1
        ),
        "events": len(events),
        "history_entries": history_entries,
        "reopen_with_history_ms": round(reopen * 1000, 1),
        "target_median_ms": TARGET_MEDIAN_MS,
        "meets_target": weight["median_ms"] <= TARGET_MEDIAN_MS,
    }
