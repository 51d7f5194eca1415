"""Live values on the forming and the closed candle equal a full batch computation on the same data."""

from __future__ import annotations

import numpy as np
import pytest

from tests.unit.indicators.candle_data import generated_candles, head, partial, with_forming
from thebot.indicators import DEFAULT_PATTERNS, IndicatorFactory
from thebot.indicators.defaults import DEFAULT_INDICATORS
from thebot.market.models import CandleSnapshot

EXTRA = [
    ("SAR", {}),
    ("ADX", {"timeperiod": 14}),
    ("OBV", {}),
    ("KAMA", {"timeperiod": 10}),
    ("MAMA", {}),
    ("VOLUME_DELTA", {}),
    ("FAIR_VALUE_GAPS", {}),
    ("SUPPLY_DEMAND_ZONES", {"period": 10, "factor": 1.5}),
    ("MARKET_PROFILE", {"window": 30, "buckets": 12}),
    ("MARKET_PROFILE", {"window": 20, "step": 25.0}),
]
CHOICES = [*DEFAULT_INDICATORS, *((name, {}) for name in DEFAULT_PATTERNS), *EXTRA]


@pytest.fixture(scope="module")
def factory() -> IndicatorFactory:
    return IndicatorFactory()


def _last_row(
    factory: IndicatorFactory, name: str, params: dict[str, object], candles: CandleSnapshot
) -> np.ndarray:
    if name == "MARKET_PROFILE":
        # The profile only looks at its window; batching the window alone keeps the test fast.
        candles = candles.tail(int(params["window"]))  # type: ignore[call-overload]
    outputs = factory.compute(name, candles, params)
    return np.array([float(series[-1]) for series in outputs.values()])


def _check(actual: tuple[float, ...], expected: np.ndarray, context: str) -> None:
    np.testing.assert_allclose(np.array(actual), expected, rtol=1e-9, atol=0, equal_nan=True, err_msg=context)


@pytest.mark.parametrize(("name", "params"), CHOICES, ids=[f"{n}{p or ''}" for n, p in CHOICES])
def test_stream_peek_and_update_equal_batch(
    factory: IndicatorFactory, name: str, params: dict[str, object]
) -> None:
    candles = generated_candles(260, seed=9)
    start = 120
    stream = factory.open_stream(name, head(candles, start), params)
    _check(stream.value, _last_row(factory, name, params, head(candles, start)), f"{name} at open")
    finite_seen = False
    for index in range(start, len(candles)):
        final = candles.candle(index)
        for fraction in (0.3, 0.8):
            forming = partial(final, fraction)
            expected = _last_row(factory, name, params, with_forming(candles, index, forming))
            _check(stream.peek(forming), expected, f"{name} peek at {index}")
        expected = _last_row(factory, name, params, head(candles, index + 1))
        _check(stream.update(final), expected, f"{name} update at {index}")
        finite_seen = finite_seen or bool(np.isfinite(expected).any())
    assert finite_seen, f"{name} never produced a value; the comparison proved nothing"


@pytest.mark.parametrize("name", ["RSI", "MACD", "BBANDS", "SESSION_VWAP", "FAIR_VALUE_GAPS"])
def test_stream_opened_before_warm_up_catches_up(factory: IndicatorFactory, name: str) -> None:
    candles = generated_candles(80, seed=4)
    stream = factory.open_stream(name, head(candles, 3))
    for index in range(3, len(candles)):
        forming = partial(candles.candle(index), 0.5)
        expected = _last_row(factory, name, {}, with_forming(candles, index, forming))
        _check(stream.peek(forming), expected, f"{name} peek at {index}")
        _check(
            stream.update(candles.candle(index)), _last_row(factory, name, {}, head(candles, index + 1)), name
        )
    assert np.isfinite(stream.value).any()


def test_stream_on_no_history_starts_empty_and_fills(factory: IndicatorFactory) -> None:
    candles = generated_candles(40, seed=2)
    stream = factory.open_stream("EMA", head(candles, 0), {"timeperiod": 5})
    assert np.isnan(stream.value).all()
    for index in range(len(candles)):
        stream.update(candles.candle(index))
    _check(stream.value, _last_row(factory, "EMA", {"timeperiod": 5}, candles), "EMA")
