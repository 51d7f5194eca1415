"""The signal history's writes: a replayed stream's hundreds of signals in one statement, duplicates
ignored, and reads and writes interleaving on one cursor."""

from __future__ import annotations

import time

import duckdb

from thebot.market.timeframe import Timeframe
from thebot.signals.history import SignalHistory
from thebot.signals.models import Side, Signal


def signal(index: int, rule: str = "rsi") -> Signal:
    return Signal(
        time=index * 60_000,
        symbol="BTCUSDT",
        timeframe=Timeframe.M1,
        side=Side.BUY if index % 2 else Side.SELL,
        rule=rule,
        strength=0.6,
        price=30_000.0 + index,
        reason=f"reason {index}",
    )


def test_a_replayed_history_is_stored_at_once_and_again_changes_nothing() -> None:
    history = SignalHistory(duckdb.connect(":memory:"))
    replayed = [signal(index, rule) for index in range(100) for rule in ("rsi", "macd", "zone", "pattern")]
    started = time.perf_counter()
    history.record(replayed)
    elapsed = time.perf_counter() - started
    assert history.count() == 400
    # One statement for all of them (row by row took over a second for 400 here).
    assert elapsed < 0.5, f"{elapsed:.3f} s for 400 signals"
    history.record(replayed)  # the same history replayed after a reopen
    assert history.count() == 400
    history.record([signal(100)])  # a live close's single signal, after a read on the same cursor
    history.record([signal(101), signal(102, "macd")])
    assert history.count() == 403
    newest = history.query("BTCUSDT", Timeframe.M1, limit=2)
    assert [item.time for item in newest] == [102 * 60_000, 101 * 60_000]
    assert newest[0].reason == "reason 102" and newest[0].price == 30_102.0
