"""Signal quality by hand: hit rate and mean signed forward return N candles after each signal."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest

from tests.unit.indicators.candle_data import candles_from_rows
from thebot.market.timeframe import Timeframe
from thebot.signals.history import SignalHistory
from thebot.signals.models import Side, Signal
from thebot.signals.quality import signal_quality

START = 1_677_628_800_000


def at(index: int, rule: str, side: Side, price: float) -> Signal:
    return Signal(START + index * 60_000, "BTCUSDT", Timeframe.M1, side, rule, 0.5, price, "test")


def test_hit_rate_and_mean_forward_return_per_rule() -> None:
    closes = [100.0, 110.0, 99.0, 121.0, 90.0, 100.0]
    candles = candles_from_rows([(c, c, c, c) for c in closes])
    signals = [
        at(0, "rsi", Side.BUY, 100.0),  # 2 bars later 99: -1%, a miss
        at(1, "rsi", Side.BUY, 110.0),  # 121: +10%, a hit
        at(2, "macd", Side.SELL, 99.0),  # 90: +9.09% for a sell, a hit
        at(4, "macd", Side.SELL, 90.0),  # no candle 2 bars later yet: not counted
    ]
    quality = {item.rule: item for item in signal_quality(signals, candles, horizon=2)}
    assert quality["rsi"].signals == 2
    assert quality["rsi"].hit_rate == pytest.approx(0.5)
    assert quality["rsi"].mean_forward_return == pytest.approx((-0.01 + 0.1) / 2)
    assert quality["macd"].signals == 1
    assert quality["macd"].hit_rate == 1.0
    assert quality["macd"].mean_forward_return == pytest.approx(1 - 90 / 99)
    assert quality["rsi"].as_dict()["horizon_bars"] == 2


def test_stored_signals_round_trip_through_duckdb() -> None:
    history = SignalHistory(duckdb.connect(":memory:"))
    signals = [at(index, "rsi", Side.BUY, 100.0 + index) for index in range(5)]
    history.record(signals)
    history.record(signals[:2])  # replays are not stored twice
    assert history.count() == 5
    assert history.query("BTCUSDT", Timeframe.M1, limit=2) == signals[::-1][:2]
    assert history.query("BTCUSDT", Timeframe.M1, since=START + 3 * 60_000) == signals[::-1][:2]
    assert history.query("ETHUSDT") == []
    closes = np.asarray([100.0 + index for index in range(5)])
    assert (
        signal_quality(history.query("BTCUSDT"), candles_from_rows([(c, c, c, c) for c in closes]), 1)[
            0
        ].hit_rate
        == 1.0
    )
