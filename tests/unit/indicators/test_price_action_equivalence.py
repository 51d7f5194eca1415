"""The fair value gap and zone machines on plain floats give exactly what the per-Candle machines gave.

The oracle is the old code, kept verbatim in `price_action_reference.py`. Equality is bit for bit (NaN
where NaN), on the real March 2023 minutes, on a random walk, and on grids of round prices where the
boundary cases (a low exactly at a gap's top, a close exactly at a zone's bottom) happen all the time;
both the batch series and the live `update`/`peek` answers are compared.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from tests.unit.indicators import price_action_reference as reference
from tests.unit.indicators.candle_data import (
    candles_from_rows,
    generated_candles,
    partial,
    real_candles,
    snapshot_from_columns,
)
from thebot.indicators import IndicatorFactory
from thebot.indicators.custom.base import CustomState, iterate_candles
from thebot.market.models import CandleSnapshot

CASES: list[tuple[str, dict[str, float], Callable[[], CustomState]]] = [
    ("FAIR_VALUE_GAPS", {}, lambda: reference._GapState(0.0, 10)),
    ("FAIR_VALUE_GAPS", {"min_size": 0.0005, "max_gaps": 2}, lambda: reference._GapState(0.0005, 2)),
    ("FAIR_VALUE_GAPS", {"max_gaps": 1}, lambda: reference._GapState(0.0, 1)),
    ("SUPPLY_DEMAND_ZONES", {"period": 20, "factor": 2.0}, lambda: reference._ZoneState(20, 2.0, 10)),
    (
        "SUPPLY_DEMAND_ZONES",
        {"period": 3, "factor": 1.2, "max_zones": 2},
        lambda: reference._ZoneState(3, 1.2, 2),
    ),
    ("SUPPLY_DEMAND_ZONES", {"period": 1, "factor": 0.5}, lambda: reference._ZoneState(1, 0.5, 10)),
]
IDS = [f"{name}{params}" for name, params, _ in CASES]


@pytest.fixture(scope="module")
def factory() -> IndicatorFactory:
    return IndicatorFactory()


def grid_candles(count: int, seed: int) -> CandleSnapshot:
    """Prices on a grid of whole numbers: equal highs, lows and closes across candles are common."""
    rng = np.random.default_rng(seed)
    close = 100 + np.cumsum(rng.integers(-2, 3, count)).astype(np.float64)
    open_ = np.concatenate([[100.0], close[:-1]]) + rng.integers(-1, 2, count)
    high = np.maximum(open_, close) + rng.integers(0, 3, count)
    low = np.minimum(open_, close) - rng.integers(0, 3, count)
    return snapshot_from_columns(
        1_677_628_800_000 + 60_000 * np.arange(count, dtype=np.int64),
        open_,
        high,
        low,
        close,
        np.full(count, 5.0),
    )


def _assert_batch_equal(
    factory: IndicatorFactory,
    name: str,
    params: dict[str, float],
    old: Callable[[], CustomState],
    candles: CandleSnapshot,
) -> np.ndarray:
    expected = reference.reference_batch(old(), candles).reshape(len(candles), -1)
    outputs = factory.compute(name, candles, params)
    actual = np.column_stack(list(outputs.values()))
    assert actual.shape == expected.shape
    assert np.array_equal(actual, expected, equal_nan=True), f"{name}{params} differs"
    return expected


@pytest.mark.parametrize(("name", "params", "old"), CASES, ids=IDS)
def test_batch_equals_the_old_machine_on_the_real_month(
    factory: IndicatorFactory, name: str, params: dict[str, float], old: Callable[[], CustomState]
) -> None:
    expected = _assert_batch_equal(factory, name, params, old, real_candles())
    assert (expected[:, -1] != 0).sum() > 100  # the month has plenty of fills and touches to compare


@pytest.mark.parametrize(("name", "params", "old"), CASES, ids=IDS)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_batch_equals_the_old_machine_on_a_random_walk_and_on_a_price_grid(
    factory: IndicatorFactory,
    name: str,
    params: dict[str, float],
    old: Callable[[], CustomState],
    seed: int,
) -> None:
    _assert_batch_equal(factory, name, params, old, generated_candles(5_000, seed=seed))
    expected = _assert_batch_equal(factory, name, params, old, grid_candles(5_000, seed=seed))
    assert (expected[:, -1] > 0).any() and (expected[:, -1] < 0).any()


@pytest.mark.parametrize(("name", "params", "old"), CASES, ids=IDS)
def test_short_and_odd_inputs_equal_the_old_machine(
    factory: IndicatorFactory, name: str, params: dict[str, float], old: Callable[[], CustomState]
) -> None:
    rows = [
        (10.0, 11.0, 9.0, 10.5),
        (10.5, 12.0, 10.5, 11.8),
        (11.8, 14.0, 11.0, 13.9),  # low equals the high two candles back: no gap
        (13.9, 16.0, 12.5, 15.5),  # a bullish gap 12.0..12.5
        (15.5, 15.5, 12.5, 12.5),  # low exactly at the gap's top: untouched
        (12.5, 12.5, 12.0, 12.0),  # low and close exactly at its bottom: filled
        (12.0, 12.0, 12.0, 12.0),  # a flat candle
        (12.0, float("nan"), float("nan"), 12.0),  # a hole in the data
        (12.0, 13.0, 5.0, 6.0),  # through everything
        (6.0, 6.0, 1.0, 1.0),
        (1.0, 30.0, 1.0, 29.0),  # an impulse up
        (29.0, 29.5, 28.0, 28.5),
        (28.5, 28.5, 0.5, 0.5),  # and down through it
    ]
    empty = candles_from_rows(rows).head(0)
    assert all(len(series) == 0 for series in factory.compute(name, empty, params).values())
    for count in (1, 2, 3, len(rows)):
        _assert_batch_equal(factory, name, params, old, candles_from_rows(rows[:count]))


@pytest.mark.parametrize(("name", "params", "old"), CASES, ids=IDS)
def test_live_update_and_peek_equal_the_old_machine(
    factory: IndicatorFactory, name: str, params: dict[str, float], old: Callable[[], CustomState]
) -> None:
    candles = grid_candles(1_500, seed=7)
    opened = 200
    old_state = old()
    for candle in iterate_candles(candles, 0, opened):
        old_state.update(candle)
    stream = factory.open_stream(name, candles.head(opened), params)
    for candle in iterate_candles(candles, opened):
        for fraction in (0.2, 0.6, 1.0):
            forming = partial(candle, fraction)
            assert np.array_equal(
                np.array(stream.peek(forming)), np.array(old_state.peek(forming)), equal_nan=True
            ), f"peek at {candle.open_time}"
        assert np.array_equal(
            np.array(stream.update(candle)), np.array(old_state.update(candle)), equal_nan=True
        ), f"update at {candle.open_time}"
