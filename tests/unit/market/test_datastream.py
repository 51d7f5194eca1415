"""DataStream semantics a chart user relies on: one bar per open time, newest last, no torn reads."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest

from thebot.market.datastream import DataStream, Gap, UpdateKind
from thebot.market.models import Candle, StreamKey
from thebot.market.timeframe import Timeframe

MINUTE = 60_000
T0 = 1_677_628_800_000  # 2023-03-01 00:00 UTC


def candle(index: int, close: float = 100.0, closed: bool = False) -> Candle:
    return Candle(
        open_time=T0 + index * MINUTE,
        open=100.0,
        high=max(100.0, close) + 1,
        low=min(100.0, close) - 1,
        close=close,
        volume=float(index + 1),
        closed=closed,
    )


@pytest.fixture
def stream() -> DataStream:
    return DataStream(["BTCUSDT"], [Timeframe.M1], capacity=10)


def test_same_open_time_replaces_the_forming_candle(stream: DataStream) -> None:
    assert stream.update("BTCUSDT", Timeframe.M1, candle(0, 101.0)) == UpdateKind.APPENDED
    assert stream.update("BTCUSDT", Timeframe.M1, candle(0, 105.0)) == UpdateKind.REPLACED
    snapshot = stream.snapshot("BTCUSDT", Timeframe.M1)
    assert len(snapshot) == 1
    assert snapshot.close[-1] == 105.0
    assert not snapshot.closed[-1]


def test_newer_open_time_appends_and_closes_the_previous_candle(stream: DataStream) -> None:
    closes: list[Candle] = []
    stream.add_close_observer(lambda key, closed: closes.append(closed))
    stream.update("BTCUSDT", Timeframe.M1, candle(0, 101.0))
    stream.update("BTCUSDT", Timeframe.M1, candle(1, 102.0))
    snapshot = stream.snapshot("BTCUSDT", Timeframe.M1)
    assert list(snapshot.open_time) == [T0, T0 + MINUTE]
    assert list(snapshot.closed) == [True, False]
    # The x=true message of candle 0 never came, yet its close is reported once.
    assert [closed.open_time for closed in closes] == [T0]
    assert closes[0].close == 101.0


def test_older_candle_is_ignored_and_counted(stream: DataStream) -> None:
    stream.update("BTCUSDT", Timeframe.M1, candle(5, 101.0))
    version = stream.version("BTCUSDT", Timeframe.M1)
    assert stream.update("BTCUSDT", Timeframe.M1, candle(3, 999.0)) == UpdateKind.IGNORED
    assert stream.version("BTCUSDT", Timeframe.M1) == version
    snapshot = stream.snapshot("BTCUSDT", Timeframe.M1)
    assert list(snapshot.open_time) == [T0 + 5 * MINUTE]
    assert snapshot.close[-1] == 101.0
    [status] = stream.status()
    assert status.ignored_older == 1
    one = stream.stream_status("BTCUSDT", Timeframe.M1)
    assert one is not None and (one.key, one.version, one.ignored_older) == (
        status.key,
        status.version,
        status.ignored_older,
    )
    assert stream.stream_status("NOPEUSDT", Timeframe.M1) is None


def test_every_applied_update_changes_the_version(stream: DataStream) -> None:
    versions = {stream.version("BTCUSDT", Timeframe.M1)}
    for close in (101.0, 102.0, 103.0):
        stream.update("BTCUSDT", Timeframe.M1, candle(0, close))
        versions.add(stream.version("BTCUSDT", Timeframe.M1))
    stream.update("BTCUSDT", Timeframe.M1, candle(1))
    versions.add(stream.version("BTCUSDT", Timeframe.M1))
    assert len(versions) == 5


def test_a_jump_of_more_than_one_interval_is_reported_as_a_gap(stream: DataStream) -> None:
    gaps: list[Gap] = []
    stream.add_gap_observer(gaps.append)
    stream.update("BTCUSDT", Timeframe.M1, candle(0, closed=True))
    stream.update("BTCUSDT", Timeframe.M1, candle(4))
    assert len(gaps) == 1
    assert gaps[0].first_open_time == T0 + MINUTE
    assert gaps[0].last_open_time == T0 + 3 * MINUTE
    assert gaps[0].candles == 3
    assert not gaps[0].starts_unconfirmed
    assert stream.status()[0].gaps == 1


def test_a_candle_closed_without_its_final_message_is_handed_over_for_repair(stream: DataStream) -> None:
    gaps: list[Gap] = []
    stream.add_gap_observer(gaps.append)
    stream.update("BTCUSDT", Timeframe.M1, candle(0, 101.0, closed=True))
    stream.update("BTCUSDT", Timeframe.M1, candle(1, 102.0))
    stream.update("BTCUSDT", Timeframe.M1, candle(2, 103.0))  # x=true of candle 1 was lost
    assert [(gap.first_open_time, gap.last_open_time, gap.starts_unconfirmed) for gap in gaps] == [
        (T0 + MINUTE, T0 + MINUTE, True)
    ]
    assert stream.status()[0].gaps == 0  # nothing is missing, one candle is unconfirmed


def test_merged_closed_candles_override_unconfirmed_values(stream: DataStream) -> None:
    stream.update("BTCUSDT", Timeframe.M1, candle(0, 101.0))
    stream.update("BTCUSDT", Timeframe.M1, candle(1, 102.0))
    final = candle(0, 111.0, closed=True)
    assert stream.merge("BTCUSDT", Timeframe.M1, [final, candle(1, 55.0, closed=False)]) == 0
    snapshot = stream.snapshot("BTCUSDT", Timeframe.M1)
    assert snapshot.candle(0) == final
    # A forming candle from REST never overrides the streamed forming candle.
    assert snapshot.close[-1] == 102.0
    assert list(snapshot.closed) == [True, False]


def test_merge_into_an_empty_buffer_keeps_the_newest_candle_forming(stream: DataStream) -> None:
    history = [candle(index, 100.0 + index, closed=True) for index in range(15)]
    history.append(candle(15, 200.0, closed=False))
    assert stream.merge("BTCUSDT", Timeframe.M1, reversed(history)) == 16  # new open times, 10 kept
    snapshot = stream.snapshot("BTCUSDT", Timeframe.M1)
    assert list(snapshot.open_time) == [T0 + index * MINUTE for index in range(6, 16)]
    assert list(snapshot.closed) == [True] * 9 + [False]
    assert stream.update("BTCUSDT", Timeframe.M1, candle(15, 201.0)) == UpdateKind.REPLACED


def test_buffer_keeps_the_newest_capacity_candles(stream: DataStream) -> None:
    for index in range(35):
        stream.update("BTCUSDT", Timeframe.M1, candle(index, 100.0 + index))
    snapshot = stream.snapshot("BTCUSDT", Timeframe.M1)
    assert len(snapshot) == 10
    assert list(snapshot.open_time) == [T0 + index * MINUTE for index in range(25, 35)]
    assert list(snapshot.close) == [100.0 + index for index in range(25, 35)]


def test_closed_candle_is_not_reopened_by_a_late_forming_update(stream: DataStream) -> None:
    stream.update("BTCUSDT", Timeframe.M1, candle(0, 101.0, closed=True))
    assert stream.update("BTCUSDT", Timeframe.M1, candle(0, 50.0)) == UpdateKind.IGNORED
    snapshot = stream.snapshot("BTCUSDT", Timeframe.M1)
    assert snapshot.close[-1] == 101.0
    assert snapshot.closed[-1]


def test_merge_fills_history_without_duplicates(stream: DataStream) -> None:
    stream.update("BTCUSDT", Timeframe.M1, candle(5, 105.0))
    added = stream.merge(
        "BTCUSDT", Timeframe.M1, [candle(index, 100.0 + index, True) for index in range(3, 6)]
    )
    snapshot = stream.snapshot("BTCUSDT", Timeframe.M1)
    assert list(snapshot.open_time) == [T0 + index * MINUTE for index in range(3, 6)]
    assert added == 2
    assert len(set(snapshot.open_time.tolist())) == len(snapshot)


def test_failing_observer_does_not_disturb_the_others(stream: DataStream) -> None:
    seen: list[int] = []

    def broken(key: StreamKey, update: Candle) -> None:
        raise RuntimeError("observer bug")

    stream.add_update_observer(broken)
    stream.add_update_observer(lambda key, update: seen.append(update.open_time))
    stream.update("BTCUSDT", Timeframe.M1, candle(0))
    stream.update("BTCUSDT", Timeframe.M1, candle(1))
    assert seen == [T0, T0 + MINUTE]
    assert len(stream.snapshot("BTCUSDT", Timeframe.M1)) == 2


def test_async_observer_runs_on_the_configured_loop(stream: DataStream) -> None:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        received = threading.Event()

        async def observer(key: StreamKey, update: Candle) -> None:
            received.set()

        stream.set_event_loop(loop)
        stream.add_update_observer(observer)
        stream.update("BTCUSDT", Timeframe.M1, candle(0))
        assert received.wait(5)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


def test_snapshot_is_consistent_under_a_concurrent_writer() -> None:
    """Every row a reader sees was written whole: close == open_time-derived value, versions only grow."""
    stream = DataStream(["BTCUSDT"], [Timeframe.M1], capacity=200)
    stop = threading.Event()

    def value_of(index: int, tick: int) -> float:
        return float(index * 1000 + tick)

    def writer() -> None:
        index = 0
        while not stop.is_set():
            for tick in range(5):
                close = value_of(index, tick)
                stream.update(
                    "BTCUSDT",
                    Timeframe.M1,
                    Candle(T0 + index * MINUTE, close, close, close, close, float(index), tick == 4),
                )
            index += 1

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        last_version = -1
        checked = 0
        while checked < 300:
            snapshot = stream.snapshot("BTCUSDT", Timeframe.M1)
            if len(snapshot) < 2:
                continue
            assert snapshot.version >= last_version
            last_version = snapshot.version
            indexes = (snapshot.open_time - T0) // MINUTE
            # Rows are contiguous, ascending, and each row's fields belong to the same update.
            assert np.all(np.diff(indexes) == 1)
            assert np.array_equal(snapshot.volume, indexes.astype(np.float64))
            assert np.all(snapshot.close // 1000 == indexes)
            assert np.array_equal(snapshot.open, snapshot.close)
            assert np.all(snapshot.closed[:-1])
            checked += 1
    finally:
        stop.set()
        thread.join(5)
    assert last_version > 0


def test_timeframes_change_live_and_a_swap_keeps_every_symbol() -> None:
    data = DataStream(["BTCUSDT", "ETHUSDT"], [Timeframe.M1, Timeframe.M5], capacity=10)
    data.update("BTCUSDT", Timeframe.M1, candle(0, 101.0))
    added, removed = data.set_timeframes([Timeframe.M1, Timeframe.M15])
    assert (added, removed) == ([Timeframe.M15], [Timeframe.M5])
    assert set(data.keys()) == {
        StreamKey(symbol, timeframe)
        for symbol in ("BTCUSDT", "ETHUSDT")
        for timeframe in (Timeframe.M1, Timeframe.M15)
    }
    assert data.snapshot("BTCUSDT", Timeframe.M1).close.tolist() == [101.0]  # untouched
    # An update still in flight for the dropped timeframe is ignored, not an error.
    assert data.update("BTCUSDT", Timeframe.M5, candle(0)) == UpdateKind.IGNORED
    # Swapping every timeframe at once keeps both symbols.
    data.set_timeframes([Timeframe.H1])
    assert data.symbols() == ["BTCUSDT", "ETHUSDT"]
    assert data.timeframes == (Timeframe.H1,)
