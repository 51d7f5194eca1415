"""The factory gives exactly what TA-Lib gives, with metadata a picker can use and errors a user can fix."""

from __future__ import annotations

import numpy as np
import pytest
import talib

from tests.unit.indicators.candle_data import generated_candles, real_candles
from thebot.indicators import DEFAULT_PATTERNS, IndicatorError, IndicatorFactory, Placement
from thebot.indicators.defaults import DEFAULT_INDICATORS
from thebot.market.models import CandleSnapshot


@pytest.fixture(scope="module")
def factory() -> IndicatorFactory:
    return IndicatorFactory()


def _direct(name: str, params: dict[str, float], candles: CandleSnapshot) -> list[np.ndarray]:
    """The TA-Lib call an analyst would write by hand, inputs spelled out per function."""
    ohlc = (candles.open, candles.high, candles.low, candles.close)
    if name == "EMA":
        return [talib.EMA(candles.close, timeperiod=params["timeperiod"])]
    if name == "RSI":
        return [talib.RSI(candles.close, timeperiod=params["timeperiod"])]
    if name == "MACD":
        return list(talib.MACD(candles.close, 12, 26, 9))
    if name == "BBANDS":
        return list(talib.BBANDS(candles.close, 20, 2.0, 2.0))
    if name == "ATR":
        return [talib.ATR(candles.high, candles.low, candles.close, timeperiod=params["timeperiod"])]
    if name == "STOCH":
        return list(talib.STOCH(candles.high, candles.low, candles.close))
    if name.startswith("CDL"):
        return [getattr(talib, name)(*ohlc)]
    raise AssertionError(f"no direct call written for {name}")


TALIB_DEFAULTS = [choice for choice in DEFAULT_INDICATORS if choice[0] != "SESSION_VWAP"] + [
    (name, {}) for name in DEFAULT_PATTERNS
]


@pytest.mark.parametrize("source", ["real", "generated"])
def test_default_indicators_equal_direct_talib_calls(factory: IndicatorFactory, source: str) -> None:
    candles = real_candles() if source == "real" else generated_candles(5_000, seed=3)
    for name, params in TALIB_DEFAULTS:
        outputs = factory.compute(name, candles, params)
        expected = _direct(name, params, candles)
        assert len(outputs) == len(expected), name
        for actual, wanted in zip(outputs.values(), expected, strict=True):
            assert actual.shape == (len(candles),)
            np.testing.assert_array_equal(actual, wanted, err_msg=f"{name} {params}")
        # Not vacuous: past the warm-up the series has numbers (patterns may be all zero on quiet data).
        first = next(iter(outputs.values()))
        assert np.isfinite(first[100:]).all(), name


def test_every_offered_talib_function_runs_and_matches(factory: IndicatorFactory) -> None:
    candles = generated_candles(600, seed=5)
    talib_names = [info.name for info in factory.catalog() if not info.custom]
    assert len(talib_names) >= 199
    for name in talib_names:
        info = factory.info(name)
        outputs = factory.compute(name, candles)
        direct = getattr(talib, name)(*(getattr(candles, item) for item in info.inputs))
        direct_list = list(direct) if isinstance(direct, tuple) else [direct]
        assert list(outputs) == list(info.outputs)
        for actual, wanted in zip(outputs.values(), direct_list, strict=True):
            np.testing.assert_array_equal(actual, wanted, err_msg=name)


def test_catalog_describes_inputs_parameters_outputs_and_placement(factory: IndicatorFactory) -> None:
    catalog = {info.name: info for info in factory.catalog()}
    rsi = catalog["RSI"]
    assert rsi.group == "Momentum Indicators"
    assert rsi.inputs == ("close",)
    assert [(p.name, p.default, p.kind.value) for p in rsi.parameters] == [("timeperiod", 14, "integer")]
    assert rsi.outputs == ("real",)
    assert rsi.placement is Placement.PANEL
    assert catalog["BBANDS"].outputs == ("upperband", "middleband", "lowerband")
    assert catalog["BBANDS"].overlay and catalog["EMA"].overlay and catalog["SESSION_VWAP"].overlay
    assert catalog["MACD"].placement is Placement.PANEL
    assert catalog["VOLUME_DELTA"].placement is Placement.PANEL
    patterns = [info for info in catalog.values() if info.name.startswith("CDL")]
    assert len(patterns) == 61
    assert all(info.placement is Placement.MARKERS for info in patterns)
    for name in ("SESSION_VWAP", "VOLUME_DELTA", "MARKET_PROFILE", "FAIR_VALUE_GAPS", "SUPPLY_DEMAND_ZONES"):
        assert catalog[name].custom
    # MAVP needs a per-bar periods series a candle cannot supply, so it is not offered.
    assert "MAVP" not in catalog
    described = rsi.as_dict()
    assert {key: described["parameters"][0][key] for key in ("name", "type", "default")} == {
        "name": "timeperiod",
        "type": "integer",
        "default": 14,
    }
    assert described["overlay"] is False and described["placement"] == "panel"


def test_spec_fills_defaults_and_accepts_query_string_numbers(factory: IndicatorFactory) -> None:
    spec = factory.spec("bbands", {"timeperiod": "30", "nbdevup": "2.5"})
    assert spec.name == "BBANDS"
    assert spec.parameters == {"timeperiod": 30, "nbdevup": 2.5, "nbdevdn": 2.0, "matype": 0}
    assert spec == factory.spec("BBANDS", {"timeperiod": 30, "nbdevup": 2.5, "nbdevdn": 2, "matype": 0})


@pytest.mark.parametrize(
    ("name", "params", "named"),
    [
        ("RSX", {}, "RSX"),
        ("RSI", {"period": 14}, "period"),
        ("RSI", {"timeperiod": 1}, "timeperiod"),
        ("RSI", {"timeperiod": "fourteen"}, "timeperiod"),
        ("RSI", {"timeperiod": 14.5}, "timeperiod"),
        ("BBANDS", {"matype": 9}, "matype"),
        ("BBANDS", {"nbdevup": "nan"}, "nbdevup"),
        ("MARKET_PROFILE", {"value_area": 1.5}, "value_area"),
        ("FAIR_VALUE_GAPS", {"max_gaps": 0}, "max_gaps"),
    ],
)
def test_bad_names_and_parameters_raise_errors_that_name_them(
    factory: IndicatorFactory, name: str, params: dict[str, object], named: str
) -> None:
    with pytest.raises(IndicatorError) as caught:
        factory.spec(name, params)
    assert named in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_unknown_name_suggests_the_close_one(factory: IndicatorFactory) -> None:
    with pytest.raises(IndicatorError, match="did you mean RSI"):
        factory.spec("RSX")
