"""Custom indicators against cases worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.unit.indicators.candle_data import candles_from_rows, snapshot_from_columns
from thebot.indicators import IndicatorFactory

DAY = 86_400_000
MARCH_1 = 1_677_628_800_000


@pytest.fixture(scope="module")
def factory() -> IndicatorFactory:
    return IndicatorFactory()


def test_session_vwap_weights_typical_price_and_resets_at_utc_midnight(factory: IndicatorFactory) -> None:
    # Two candles late on 1 March, two early on 2 March.
    candles = snapshot_from_columns(
        np.array([MARCH_1 + DAY - 120_000, MARCH_1 + DAY - 60_000, MARCH_1 + DAY, MARCH_1 + DAY + 60_000]),
        np.array([10.0, 11.0, 50.0, 52.0]),
        np.array([12.0, 13.0, 54.0, 60.0]),
        np.array([9.0, 10.0, 48.0, 51.0]),
        np.array([12.0, 13.0, 51.0, 57.0]),
        np.array([1.0, 3.0, 2.0, 0.0]),
    )
    vwap = factory.compute("SESSION_VWAP", candles)["vwap"]
    # typical prices: 11, 12, 51, 56
    assert vwap[0] == pytest.approx(11.0)
    assert vwap[1] == pytest.approx((11 * 1 + 12 * 3) / 4)
    assert vwap[2] == pytest.approx(51.0)  # new UTC day: yesterday's volume no longer counts
    assert vwap[3] == pytest.approx(51.0)  # a candle without volume does not move it


def test_session_vwap_is_undefined_until_the_session_trades(factory: IndicatorFactory) -> None:
    candles = candles_from_rows([(1, 2, 0.5, 1.5), (1.5, 2, 1, 1.8)], volume=0.0)
    assert np.isnan(factory.compute("SESSION_VWAP", candles)["vwap"]).all()


def test_volume_delta_is_twice_taker_buy_minus_volume_and_cvd_accumulates(factory: IndicatorFactory) -> None:
    candles = snapshot_from_columns(
        np.arange(3) * 60_000 + MARCH_1,
        np.ones(3),
        np.ones(3) * 2,
        np.ones(3) * 0.5,
        np.ones(3),
        np.array([5.0, 10.0, 4.0]),
        np.array([3.0, 2.0, 4.0]),
    )
    outputs = factory.compute("VOLUME_DELTA", candles)
    np.testing.assert_allclose(outputs["delta"], [1.0, -6.0, 4.0])
    np.testing.assert_allclose(outputs["cvd"], [1.0, -5.0, -1.0])


def test_market_profile_poc_and_value_area_by_hand(factory: IndicatorFactory) -> None:
    # step 10: candle A spans buckets 90-100 and 100-110 (15 each), B spans 100-110 and 110-120 (10 each),
    # C sits in 100-110 (10). Profile: 90s 15, 100s 35, 110s 10; total 60, 70% = 42.
    # POC 100-110 (35) -> add the larger neighbour, 90-100 (15) -> 50 >= 42: value area 90..110.
    rows = [(100, 105, 95, 100), (105, 112, 101, 110), (106, 109, 103, 104)]
    candles = snapshot_from_columns(
        np.arange(3) * 60_000 + MARCH_1,
        *(np.array(column, dtype=float) for column in zip(*rows, strict=True)),
        np.array([30.0, 20.0, 10.0]),
    )
    outputs = factory.compute("MARKET_PROFILE", candles, {"window": 3, "step": 10})
    assert np.isnan(outputs["poc"][:2]).all()  # not a full window yet
    assert outputs["poc"][2] == pytest.approx(105.0)
    assert outputs["vah"][2] == pytest.approx(110.0)
    assert outputs["val"][2] == pytest.approx(90.0)


def test_market_profile_expands_toward_the_larger_neighbour_above(factory: IndicatorFactory) -> None:
    # Buckets of 1: 10s get 1, 11s get 6 (POC), 12s get 3; 70% of 10 = 7 -> 11 + 12s (9) beats 11 + 10s.
    rows = [(10.2, 10.8, 10.1, 10.5), (11.2, 11.8, 11.1, 11.5), (12.2, 12.8, 12.1, 12.5)]
    candles = snapshot_from_columns(
        np.arange(3) * 60_000 + MARCH_1,
        *(np.array(column, dtype=float) for column in zip(*rows, strict=True)),
        np.array([1.0, 6.0, 3.0]),
    )
    outputs = factory.compute("MARKET_PROFILE", candles, {"window": 3, "step": 1})
    assert (outputs["poc"][2], outputs["val"][2], outputs["vah"][2]) == pytest.approx((11.5, 11.0, 13.0))


def test_fair_value_gap_forms_is_touched_and_filled(factory: IndicatorFactory) -> None:
    candles = candles_from_rows(
        [
            (100, 101, 99, 100),
            (100, 106, 100, 105),  # the impulse
            (105, 108, 103, 107),  # low 103 > high 101 two candles back: bullish gap 101..103
            (107, 109, 104, 108),  # stays above the gap
            (108, 108, 102, 106),  # dips into it and closes above: partially filled, fill = +1
            (106, 107, 100, 101),  # trades through its bottom: filled, gap gone
        ]
    )
    outputs = factory.compute("FAIR_VALUE_GAPS", candles)
    assert math.isnan(outputs["bull_top"][1])
    assert (outputs["bull_top"][2], outputs["bull_bottom"][2], outputs["bull_state"][2]) == (103, 101, 0)
    assert outputs["bull_state"][3] == 0
    assert outputs["bull_state"][4] == 1
    assert outputs["fill"].tolist() == [0, 0, 0, 0, 1, 0]
    assert math.isnan(outputs["bull_top"][5])
    assert np.isnan(outputs["bear_top"]).all()


def test_bearish_fair_value_gap_mirrors(factory: IndicatorFactory) -> None:
    candles = candles_from_rows(
        [
            (100, 101, 99, 100),
            (100, 100, 94, 95),
            (95, 97, 92, 93),  # high 97 < low 99: bearish gap 97..99
            (93, 98, 92, 96),  # reaches into it, closes below its top: fill = -1
        ]
    )
    outputs = factory.compute("FAIR_VALUE_GAPS", candles)
    assert (outputs["bear_top"][2], outputs["bear_bottom"][2]) == (99, 97)
    assert outputs["fill"].tolist() == [0, 0, 0, -1]
    assert outputs["bear_state"][3] == 1


def test_demand_zone_forms_after_an_impulse_is_touched_once_and_breaks(factory: IndicatorFactory) -> None:
    candles = candles_from_rows(
        [
            (100, 101, 99, 101),
            (101, 102, 100, 100),
            (100, 101.5, 99.5, 101),  # the base
            (101, 106, 100.5, 105.5),  # body 4.5 >= 2 x mean body 1, closes above the base high
            (105.5, 107, 104, 106),
            (106, 106, 101, 103),  # low reaches the zone top 101.5, close holds: touch
            (103, 104, 100, 101),  # touched already: no second signal
            (101, 101, 98, 99),  # closes below the zone bottom 99.5: zone broken
        ]
    )
    outputs = factory.compute("SUPPLY_DEMAND_ZONES", candles, {"period": 3, "factor": 2})
    assert math.isnan(outputs["demand_top"][2])
    assert (outputs["demand_top"][3], outputs["demand_bottom"][3]) == (101.5, 99.5)
    assert outputs["touch"].tolist() == [0, 0, 0, 0, 0, 1, 0, 0]
    assert math.isnan(outputs["demand_top"][7])
    assert np.isnan(outputs["supply_top"]).all()


def test_supply_zone_mirrors(factory: IndicatorFactory) -> None:
    candles = candles_from_rows(
        [
            (100, 101, 99, 99),
            (99, 100, 98, 100),
            (100, 100.5, 98.5, 99),  # the base
            (99, 99.5, 94, 94.5),  # down impulse closing below the base low
            (94.5, 99, 94, 98),  # high reaches the zone bottom 98.5, closes below its top: touch
        ]
    )
    outputs = factory.compute("SUPPLY_DEMAND_ZONES", candles, {"period": 3, "factor": 2})
    assert (outputs["supply_top"][3], outputs["supply_bottom"][3]) == (100.5, 98.5)
    assert outputs["touch"].tolist() == [0, 0, 0, 0, -1]
