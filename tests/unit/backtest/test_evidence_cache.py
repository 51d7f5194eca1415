"""Stored rule evidence: computed once on a worker thread, served at once, refreshed when old."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.unit.backtest.candles import random_walk
from thebot.backtest.data import load_candles
from thebot.backtest.evidence import rule_evidence
from thebot.backtest.evidence_cache import EvidenceCache, StoredEvidence
from thebot.backtest.jobs import BacktestJobs
from thebot.backtest.settings import BacktestSettings
from thebot.market.models import KLINE_COLUMNS, StreamKey
from thebot.market.store import KlineStore
from thebot.market.timeframe import Timeframe
from thebot.signals.settings import SignalSettings


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_get_never_waits_computes_once_and_refreshes_an_old_entry() -> None:
    calls: list[tuple[str, Timeframe]] = []
    release = threading.Event()

    def compute(symbol: str, timeframe: Timeframe) -> StoredEvidence:
        release.wait(5)
        calls.append((symbol, timeframe))
        return StoredEvidence(symbol, timeframe, (), first_open_time=len(calls))

    clock = Clock()
    cache = EvidenceCache(compute, max_age_seconds=60, clock=clock)
    try:
        assert cache.get("BTCUSDT", Timeframe.M1) is None  # queued, the caller does not wait
        assert cache.get("BTCUSDT", Timeframe.M1) is None  # still computing: not queued twice
        release.set()
        assert cache.wait_idle(5)
        entry = cache.get("BTCUSDT", Timeframe.M1)
        assert entry is not None and entry.first_open_time == 1 and entry.computed_at == 1_000.0
        assert calls == [("BTCUSDT", Timeframe.M1)]
        clock.now += 61
        assert cache.get("BTCUSDT", Timeframe.M1) is entry  # old, served while the new one computes
        assert cache.wait_idle(5)
        refreshed = cache.get("BTCUSDT", Timeframe.M1)
        assert refreshed is not None and refreshed.first_open_time == 2
        assert len(calls) == 2
    finally:
        cache.stop()


def test_a_failing_stream_reports_why_and_does_not_stop_the_worker() -> None:
    calls: list[str] = []

    def compute(symbol: str, timeframe: Timeframe) -> StoredEvidence:
        calls.append(symbol)
        if symbol == "BAD":
            raise RuntimeError("disk on fire")
        return StoredEvidence(symbol, timeframe, ())

    clock = Clock()
    cache = EvidenceCache(compute, clock=clock)
    try:
        cache.get("BAD", Timeframe.M1)
        cache.get("BTCUSDT", Timeframe.M1)
        assert cache.wait_idle(5)
        bad = cache.get("BAD", Timeframe.M1)
        assert bad is not None and "disk on fire" in bad.error and bad.rows == ()
        good = cache.get("BTCUSDT", Timeframe.M1)
        assert good is not None and good.error == ""
        clock.now += 31  # a stream without a record is retried sooner than one with
        assert cache.get("BTCUSDT", Timeframe.M1) is good and cache.get("BAD", Timeframe.M1) is bad
        assert cache.wait_idle(5)
        assert calls == ["BAD", "BTCUSDT", "BAD"]
    finally:
        cache.stop()


@pytest.fixture
def jobs(tmp_path: Path) -> Iterator[BacktestJobs]:
    store = KlineStore(str(tmp_path / "thebot.duckdb"), "binance")
    candles = random_walk(3_000)
    store.import_columns(
        StreamKey("BTCUSDT", Timeframe.M1),
        {name: np.asarray(getattr(candles, name)) for name in KLINE_COLUMNS},
    )
    built = BacktestJobs(store, SignalSettings(), BacktestSettings(), source="binance")
    yield built
    built.stop()
    store.close()


def test_stored_evidence_is_the_evidence_table_of_the_stored_candles(jobs: BacktestJobs) -> None:
    assert jobs.stored_evidence("BTCUSDT", Timeframe.M5) is None
    assert jobs.stored_evidence("ETHUSDT", Timeframe.M1) is None
    assert jobs.evidence_cache.wait_idle(60)
    five = jobs.stored_evidence("BTCUSDT", Timeframe.M5)
    assert five is not None and five.error == ""
    candles = load_candles(
        jobs._store, "binance", "BTCUSDT", Timeframe.M5, start=None, end=None, limit=10_000
    )
    expected = rule_evidence(
        candles,
        SignalSettings(),
        horizon=SignalSettings().quality_horizon_bars,
        round_trip_cost=2 * 0.001 + 2 * 2 / 10_000,
    )
    assert five.rows == tuple(expected) and five.candles == 600
    assert five.rows[-1].rule == "all rules" and five.rows[-1].signals > 0
    assert five.first_open_time == int(candles.open_time[0])
    assert five.last_open_time == int(candles.open_time[-1])
    unknown = jobs.stored_evidence("ETHUSDT", Timeframe.M1)
    assert unknown is not None and unknown.rows == () and "no stored candles of ETHUSDT" in unknown.error
