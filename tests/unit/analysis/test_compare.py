"""Compare page math, checked against pandas on the same data."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from tests.unit.indicators.candle_data import generated_candles
from thebot.analysis.compare import align, closed_closes, correlation, rebase, simple_returns, statistics

MINUTE = 60_000


def random_walk(seed: int, count: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 100.0 * np.exp(np.cumsum(rng.normal(0, 0.01, count)))


def test_align_keeps_common_times_only_and_from_the_start() -> None:
    a_times = np.arange(0, 10, dtype=np.int64) * MINUTE
    b_times = np.arange(3, 12, dtype=np.int64) * MINUTE
    aligned = align(
        {"A": (a_times, a_times / MINUTE + 100.0), "B": (b_times, b_times / MINUTE + 200.0)}, start=4 * MINUTE
    )
    assert aligned.symbols == ("A", "B")
    assert aligned.times.tolist() == [t * MINUTE for t in range(4, 10)]
    assert aligned.closes[:, 0].tolist() == [104.0 + i for i in range(6)]
    assert aligned.closes[:, 1].tolist() == [204.0 + i for i in range(6)]


def test_rebased_lines_start_at_100_and_keep_relative_moves() -> None:
    closes = np.column_stack([random_walk(1, 50), random_walk(2, 50)])
    rebased = rebase(closes)
    assert rebased[0].tolist() == [100.0, 100.0]
    np.testing.assert_allclose(rebased[-1], closes[-1] / closes[0] * 100)


def test_correlation_equals_pandas_corr_on_the_same_returns() -> None:
    closes = np.column_stack([random_walk(seed, 300) for seed in (3, 4, 5)])
    closes[:, 2] = closes[:, 0] * 0.7 + closes[:, 2] * 0.3  # one pair clearly correlated
    frame = pd.DataFrame(closes, columns=["A", "B", "C"])
    expected = frame.pct_change().corr().to_numpy()
    np.testing.assert_allclose(correlation(simple_returns(closes)), expected, rtol=0, atol=1e-12)
    assert expected[0, 2] > 0.5


def test_correlation_with_gaps_and_flat_series_matches_pandas() -> None:
    returns = np.column_stack([random_walk(6, 40), random_walk(7, 40), np.full(40, 5.0)])
    returns[[3, 9, 20], 0] = np.nan
    returns[[4, 9], 1] = np.nan
    expected = pd.DataFrame(returns).corr().to_numpy()
    np.testing.assert_allclose(correlation(returns), expected, rtol=0, atol=1e-12, equal_nan=True)
    assert math.isnan(correlation(returns)[2, 2])  # no variance: undefined, as in pandas


def test_statistics_skip_warm_up_and_match_pandas() -> None:
    values = [math.nan, math.nan, 3.0, 1.0, 4.0, 1.0, 5.0]
    stats = statistics(values)
    assert stats is not None
    series = pd.Series(values).dropna()
    assert stats.count == 5 and stats.last == 5.0
    assert stats.mean == pytest.approx(series.mean())
    assert stats.std == pytest.approx(series.std())
    assert (stats.minimum, stats.maximum, stats.last_percentile) == (1.0, 5.0, 100.0)
    assert statistics([math.nan]) is None


def test_closed_closes_leave_out_the_forming_candle() -> None:
    snapshot = generated_candles(20)
    snapshot.closed[-1] = False  # the newest candle is still forming
    times, closes = closed_closes(snapshot)
    assert len(times) == 19 and times[-1] == snapshot.open_time[-2]
    assert closes.tolist() == snapshot.close[:-1].tolist()
