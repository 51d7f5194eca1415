"""Everything the chart overlays on the candles is on the price scale, or the candles would flatten."""

from __future__ import annotations

import numpy as np
import pytest

from tests.unit.indicators.candle_data import generated_candles
from thebot.indicators import IndicatorFactory
from thebot.indicators.metadata import Placement

FACTORY = IndicatorFactory()
OVERLAYS = [info.name for info in FACTORY.catalog() if info.placement is Placement.OVERLAY]


def test_there_are_overlays_to_check() -> None:
    assert {"BBANDS", "EMA", "SESSION_VWAP", "FAIR_VALUE_GAPS", "SUPPLY_DEMAND_ZONES"} <= set(OVERLAYS)


@pytest.mark.parametrize("name", OVERLAYS)
def test_overlay_chart_outputs_stay_near_the_prices(name: str) -> None:
    candles = generated_candles(600, seed=3)
    info = FACTORY.info(name)
    outputs = FACTORY.compute(name, candles)
    drawn = info.chart_outputs or info.outputs
    low, high = float(candles.low.min()), float(candles.high.max())
    for output in drawn:
        values = np.asarray(outputs[output], dtype=np.float64)
        finite = values[np.isfinite(values)]
        if finite.size == 0:
            continue  # e.g. no gap formed: nothing drawn, nothing to flatten
        assert finite.min() > 0.5 * low and finite.max() < 2.0 * high, (name, output)
