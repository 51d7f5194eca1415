"""No indicator looks ahead: the value at bar t is the same computed on data[:t+1] or on all the data."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.indicators.candle_data import generated_candles, head
from thebot.indicators import IndicatorFactory
from thebot.indicators.defaults import DEFAULT_INDICATORS

CHOICES = [
    *DEFAULT_INDICATORS,
    ("VOLUME_DELTA", {}),
    ("MARKET_PROFILE", {"window": 20}),
    ("FAIR_VALUE_GAPS", {}),
    ("SUPPLY_DEMAND_ZONES", {}),
    ("CDLHARAMI", {}),
    ("SAR", {}),
]
FACTORY = IndicatorFactory()


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), cut=st.integers(1, 299))
def test_values_at_t_do_not_depend_on_later_bars(seed: int, cut: int) -> None:
    candles = generated_candles(300, seed=seed)
    for name, params in CHOICES:
        full = FACTORY.compute(name, candles, params)
        early = FACTORY.compute(name, head(candles, cut + 1), params)
        for output, series in full.items():
            np.testing.assert_array_equal(
                early[output], series[: cut + 1], err_msg=f"{name}.{output} changed with later data"
            )
