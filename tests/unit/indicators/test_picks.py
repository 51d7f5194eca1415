"""Picks as text: what the chart reads from the picker and the URL."""

from __future__ import annotations

import pytest

from thebot.indicators import IndicatorError, IndicatorFactory
from thebot.indicators.picks import canonical_pick, format_pick, parse_pick, pick_label, validate_pick


@pytest.fixture(scope="module")
def factory() -> IndicatorFactory:
    return IndicatorFactory()


def test_parse_name_alone_and_with_parameters() -> None:
    assert parse_pick("EMA") == ("EMA", {})
    assert parse_pick("ema?timeperiod=50") == ("EMA", {"timeperiod": 50})
    name, params = parse_pick("BBANDS?timeperiod=20&nbdevup=2.5")
    assert name == "BBANDS" and params == {"timeperiod": 20, "nbdevup": 2.5}
    assert isinstance(params["timeperiod"], int) and isinstance(params["nbdevup"], float)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "expected a name"),
        ("EMA?timeperiod", "is not parameter=value"),
        ("EMA?timeperiod=fifty", "'timeperiod' must be a number"),
        ("EMA?timeperiod=5&timeperiod=6", "given twice"),
        ("EMA?timeperiod=nan", "must be a number"),
    ],
)
def test_parse_refuses_malformed_text_and_says_why(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_pick(text)


def test_format_round_trips_and_writes_whole_numbers_plainly() -> None:
    assert format_pick("ema", {"timeperiod": 50}) == "EMA?timeperiod=50"
    assert format_pick("EMA") == "EMA"
    assert format_pick("BBANDS", {"nbdevup": 2.0, "nbdevdn": 1.5}) == "BBANDS?nbdevup=2&nbdevdn=1.5"
    for text in ("EMA?timeperiod=50", "BBANDS?timeperiod=20&nbdevup=2.5", "RSI"):
        assert format_pick(*parse_pick(text)) == text
    with pytest.raises(ValueError):
        format_pick("EMA", {"timeperiod": float("inf")})


def test_canonical_pick_keeps_only_changed_parameters(factory: IndicatorFactory) -> None:
    assert canonical_pick(factory, "EMA", {"timeperiod": "50"}) == "EMA?timeperiod=50"
    assert canonical_pick(factory, "EMA", {"timeperiod": 30}) == "EMA"  # TA-Lib's default
    assert canonical_pick(factory, "rsi", {}) == "RSI"
    # EMA 20 and EMA 50 are two different picks.
    assert canonical_pick(factory, "EMA", {"timeperiod": 20}) != canonical_pick(
        factory, "EMA", {"timeperiod": 50}
    )


def test_invalid_values_raise_the_factorys_message(factory: IndicatorFactory) -> None:
    with pytest.raises(IndicatorError, match="timeperiod"):
        canonical_pick(factory, "EMA", {"timeperiod": 0})
    with pytest.raises(IndicatorError, match="whole number"):
        canonical_pick(factory, "EMA", {"timeperiod": 2.5})
    with pytest.raises(IndicatorError, match="unknown parameter"):
        validate_pick(factory, "EMA?period=5")
    with pytest.raises(IndicatorError, match="expected a name"):
        validate_pick(factory, "?x=1")
    assert validate_pick(factory, "ema?timeperiod=50") == "EMA?timeperiod=50"


def test_label_names_the_changed_parameters() -> None:
    assert pick_label("EMA?timeperiod=50") == "EMA · timeperiod=50"
    assert pick_label("RSI") == "RSI"
