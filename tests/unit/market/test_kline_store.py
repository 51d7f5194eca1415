"""The DuckDB candle store: batches, one row per key, reads beyond the buffer, retention, restore."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np
import pytest

from thebot.market.datastream import DataStream
from thebot.market.models import Candle, StreamKey
from thebot.market.store import UNKNOWN_SOURCE, KlineStore
from thebot.market.timeframe import Timeframe

MINUTE = 60_000
T0 = 1_677_628_800_000
BTC_1M = StreamKey("BTCUSDT", Timeframe.M1)


def candles(first: int, count: int, close: float = 100.0, closed: bool = True) -> list[Candle]:
    return [
        Candle(T0 + index * MINUTE, 100.0, close + 1, 99.0, close + index / 100, 1.0 + index, closed)
        for index in range(first, first + count)
    ]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[KlineStore]:
    store = KlineStore(str(tmp_path / "klines.duckdb"), "sim", flush_seconds=0.2, batch_rows=50).start()
    try:
        yield store
    finally:
        store.close()


def test_closed_candles_are_written_in_batches_and_read_back_oldest_first(store: KlineStore) -> None:
    for candle in candles(0, 120):
        store.write(BTC_1M, [candle])
    assert store.flush()
    status = store.status()
    assert status.rows_written == 120
    assert status.batches < 120, "every candle was its own transaction"
    columns = store.read("BTCUSDT", Timeframe.M1)
    assert columns["open_time"].tolist() == [T0 + index * MINUTE for index in range(120)]
    newest = store.read("BTCUSDT", Timeframe.M1, limit=10)
    assert newest["open_time"].tolist() == [T0 + index * MINUTE for index in range(110, 120)]
    window = store.read("BTCUSDT", Timeframe.M1, start=T0 + 5 * MINUTE, end=T0 + 9 * MINUTE)
    assert window["open_time"].tolist() == [T0 + index * MINUTE for index in range(5, 10)]


def test_forming_candles_are_never_stored(store: KlineStore) -> None:
    store.write(BTC_1M, candles(0, 3, closed=False))
    assert store.flush()
    assert store.count() == 0


def test_a_partial_batch_is_written_after_the_flush_interval(store: KlineStore) -> None:
    store.write(BTC_1M, candles(0, 3))
    deadline = time.monotonic() + 3
    while store.count() < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert store.count() == 3


def test_rewriting_an_open_time_replaces_the_row(store: KlineStore) -> None:
    store.write(BTC_1M, candles(0, 5, close=100.0))
    assert store.flush()
    store.write(BTC_1M, candles(2, 2, close=200.0))  # repaired values from REST
    store.write(BTC_1M, candles(3, 1, close=300.0))  # in the same batch: the later write wins
    assert store.flush()
    columns = store.read("BTCUSDT", Timeframe.M1)
    assert columns["open_time"].tolist() == [T0 + index * MINUTE for index in range(5)]
    assert columns["close"].tolist() == [100.0, 100.01, 200.02, 300.03, 100.04]


def test_streams_and_exchanges_are_kept_apart(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.duckdb")
    sim = KlineStore(path, "sim").start()
    sim.write(BTC_1M, candles(0, 3))
    sim.write(StreamKey("ETHUSDT", Timeframe.M1), candles(0, 2))
    sim.write(StreamKey("BTCUSDT", Timeframe.M5), candles(0, 1))
    sim.close()
    binance = KlineStore(path, "binance").start()
    try:
        assert binance.count() == 0
        binance.write(BTC_1M, candles(0, 1, close=5.0))
        assert binance.flush()
        assert binance.read("BTCUSDT", Timeframe.M1)["close"].tolist() == [5.0]
    finally:
        binance.close()
    reopened = KlineStore(path, "sim")
    try:
        assert reopened.count() == 6
        assert reopened.last_open_time("BTCUSDT", Timeframe.M1) == T0 + 2 * MINUTE
        assert reopened.read("ETHUSDT", Timeframe.M1)["open_time"].shape[0] == 2
    finally:
        reopened.close()


def test_retention_drops_old_candles_per_timeframe(tmp_path: Path) -> None:
    store = KlineStore(str(tmp_path / "r.duckdb"), "sim", retention_days={Timeframe.M1: 1.0}).start()
    try:
        day = 1440
        store.write(BTC_1M, candles(0, 3 * day))
        store.write(StreamKey("BTCUSDT", Timeframe.H1), candles(0, 100))
        assert store.flush(30)
        removed = store.apply_retention()
        assert removed == 2 * day - 1
        remaining = store.read("BTCUSDT", Timeframe.M1)["open_time"]
        assert remaining[0] == T0 + (2 * day - 1) * MINUTE
        assert remaining.shape[0] == day + 1
        assert store.read("BTCUSDT", Timeframe.H1)["open_time"].shape[0] == 100, "1h has no retention"
    finally:
        store.close()


def test_restore_fills_buffers_with_the_newest_candles(tmp_path: Path) -> None:
    path = str(tmp_path / "restore.duckdb")
    store = KlineStore(path, "sim").start()
    store.write(BTC_1M, candles(0, 50))
    store.write(StreamKey("ETHUSDT", Timeframe.M1), candles(0, 5))
    store.close()
    reopened = KlineStore(path, "sim")
    try:
        restored = reopened.read_recent_all(20)
    finally:
        reopened.close()
    datastream = DataStream(["BTCUSDT", "ETHUSDT"], [Timeframe.M1], capacity=20)
    for key, columns in restored.items():
        datastream.merge_columns(key.symbol, key.timeframe, columns)
    btc = datastream.snapshot("BTCUSDT", Timeframe.M1)
    assert btc.open_time.tolist() == [T0 + index * MINUTE for index in range(30, 50)]
    assert np.all(btc.closed)
    assert len(datastream.snapshot("ETHUSDT", Timeframe.M1)) == 5
    # Streaming continues where the store ended.
    next_candle = candles(50, 1, closed=False)[0]
    assert datastream.update("BTCUSDT", Timeframe.M1, next_candle) == "appended"


def test_a_data_directory_from_before_sources_keeps_its_candles_apart_as_unknown(tmp_path: Path) -> None:
    path = str(tmp_path / "old.duckdb")
    old = duckdb.connect(path)
    old.execute(
        "CREATE TABLE klines (exchange VARCHAR, symbol VARCHAR, timeframe VARCHAR, open_time BIGINT, "
        "open DOUBLE, high DOUBLE, low DOUBLE, close DOUBLE, volume DOUBLE, quote_volume DOUBLE, "
        "trades BIGINT, taker_buy_volume DOUBLE)"
    )
    old.execute(f"INSERT INTO klines VALUES ('sim', 'BTCUSDT', '1m', {T0}, 1, 2, 0.5, 1.5, 3, 4, 5, 1)")
    old.close()
    store = KlineStore(path, "sim:seed=7").start()
    try:
        assert store.count() == 0
        assert store.read_recent_all(100) == {}
        assert store.read("BTCUSDT", Timeframe.M1, source=UNKNOWN_SOURCE)["close"].tolist() == [1.5]
        store.write(BTC_1M, candles(0, 1, close=9.0))
        assert store.flush()
        assert store.read("BTCUSDT", Timeframe.M1)["close"].tolist() == [9.0]
    finally:
        store.close()
    reopened = KlineStore(path, "sim")  # the old name is no longer a source of its own
    try:
        assert reopened.count() == 0
        assert {(row["source"], row["candles"]) for row in reopened.inventory()} == {
            (UNKNOWN_SOURCE, 1),
            ("sim:seed=7", 1),
        }
    finally:
        reopened.close()
