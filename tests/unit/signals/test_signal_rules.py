"""Each rule fires on the bar a trader would name, on the right side, and stays quiet otherwise."""

from __future__ import annotations

import dataclasses

import pytest

from thebot.indicators import IndicatorFactory, IndicatorSpec
from thebot.market.models import Candle
from thebot.signals.models import Side
from thebot.signals.rules import (
    Bar,
    BollingerRule,
    EmaCrossRule,
    FairValueGapRule,
    MacdRule,
    PatternRule,
    RsiRule,
    StochasticRule,
    ZoneRule,
)
from thebot.signals.settings import SignalSettings

NAN = float("nan")


@pytest.fixture(scope="module")
def factory() -> IndicatorFactory:
    return IndicatorFactory()


def candle(close: float = 100.0, volume: float = 10.0, open_: float | None = None) -> Candle:
    open_price = close if open_ is None else open_
    return Candle(
        open_time=60_000,
        open=open_price,
        high=max(close, open_price) + 1,
        low=min(close, open_price) - 1,
        close=close,
        volume=volume,
        closed=True,
    )


def bar(
    current: dict[IndicatorSpec, tuple[float, ...]],
    previous: dict[IndicatorSpec, tuple[float, ...]],
    now: Candle | None = None,
    before: Candle | None = None,
) -> Bar:
    return Bar(now or candle(), before or candle(), current, previous)


def sides(hits: list) -> list[Side]:  # type: ignore[type-arg]
    return [hit.side for hit in hits]


def test_rsi_fires_leaving_oversold_and_overbought_only(factory: IndicatorFactory) -> None:
    rule = RsiRule(factory, SignalSettings())
    spec = rule.spec
    assert sides(rule.evaluate(bar({spec: (31.0,)}, {spec: (28.0,)}))) == [Side.BUY]
    assert sides(rule.evaluate(bar({spec: (69.0,)}, {spec: (72.0,)}))) == [Side.SELL]
    assert rule.evaluate(bar({spec: (28.0,)}, {spec: (25.0,)})) == []  # still oversold
    assert rule.evaluate(bar({spec: (40.0,)}, {spec: (35.0,)})) == []
    assert rule.evaluate(bar({spec: (31.0,)}, {spec: (NAN,)})) == []  # warm-up
    custom = RsiRule(factory, SignalSettings(rsi_oversold=20.0, rsi_overbought=80.0))
    assert custom.evaluate(bar({custom.spec: (31.0,)}, {custom.spec: (28.0,)})) == []
    assert sides(custom.evaluate(bar({custom.spec: (21.0,)}, {custom.spec: (19.0,)}))) == [Side.BUY]


def test_rsi_strength_grows_with_the_move(factory: IndicatorFactory) -> None:
    rule = RsiRule(factory, SignalSettings())
    small = rule.evaluate(bar({rule.spec: (30.5,)}, {rule.spec: (29.5,)}))[0].strength
    large = rule.evaluate(bar({rule.spec: (38.0,)}, {rule.spec: (22.0,)}))[0].strength
    assert 0.5 <= small < large <= 1.0


def test_macd_cross_respects_the_minimum_histogram(factory: IndicatorFactory) -> None:
    rule = MacdRule(factory, SignalSettings())
    spec = rule.spec
    assert sides(rule.evaluate(bar({spec: (1.0, 0.9, 0.1)}, {spec: (0.8, 0.9, -0.1)}))) == [Side.BUY]
    assert sides(rule.evaluate(bar({spec: (0.8, 0.9, -0.1)}, {spec: (1.0, 0.9, 0.1)}))) == [Side.SELL]
    assert rule.evaluate(bar({spec: (1.0, 0.8, 0.2)}, {spec: (1.0, 0.9, 0.1)})) == []
    strict = MacdRule(factory, SignalSettings(macd_min_histogram=0.002))  # 0.2 on a close of 100
    assert strict.evaluate(bar({spec: (1.0, 0.9, 0.1)}, {spec: (0.8, 0.9, -0.1)})) == []
    assert sides(strict.evaluate(bar({spec: (1.0, 0.7, 0.3)}, {spec: (0.8, 0.9, -0.1)}))) == [Side.BUY]


def test_ema_cross(factory: IndicatorFactory) -> None:
    rule = EmaCrossRule(factory, SignalSettings())
    fast, slow = rule.fast, rule.slow
    assert sides(rule.evaluate(bar({fast: (101.0,), slow: (100.0,)}, {fast: (99.0,), slow: (100.0,)}))) == [
        Side.BUY
    ]
    assert sides(rule.evaluate(bar({fast: (99.0,), slow: (100.0,)}, {fast: (101.0,), slow: (100.0,)}))) == [
        Side.SELL
    ]
    assert rule.evaluate(bar({fast: (102.0,), slow: (100.0,)}, {fast: (101.0,), slow: (100.0,)})) == []


def test_bollinger_fires_on_the_close_back_inside(factory: IndicatorFactory) -> None:
    rule = BollingerRule(factory, SignalSettings())
    bands = {rule.bands: (110.0, 100.0, 90.0)}
    assert sides(rule.evaluate(bar(bands, bands, now=candle(91.0), before=candle(89.0)))) == [Side.BUY]
    assert sides(rule.evaluate(bar(bands, bands, now=candle(109.0), before=candle(111.0)))) == [Side.SELL]
    assert rule.evaluate(bar(bands, bands, now=candle(88.0), before=candle(89.0))) == []  # still outside
    assert rule.evaluate(bar(bands, bands, now=candle(95.0), before=candle(94.0))) == []


def test_stochastic_cross_only_in_the_extreme_zones(factory: IndicatorFactory) -> None:
    rule = StochasticRule(factory, SignalSettings())
    spec = rule.spec
    assert sides(rule.evaluate(bar({spec: (15.0, 12.0)}, {spec: (10.0, 11.0)}))) == [Side.BUY]
    assert sides(rule.evaluate(bar({spec: (85.0, 88.0)}, {spec: (90.0, 89.0)}))) == [Side.SELL]
    assert rule.evaluate(bar({spec: (55.0, 52.0)}, {spec: (50.0, 51.0)})) == []  # cross in the middle


def test_patterns_need_volume_confirmation(factory: IndicatorFactory) -> None:
    rule = PatternRule(factory, SignalSettings(patterns=("CDLENGULFING", "CDLHANGINGMAN")))
    engulfing, hanging = rule.patterns
    values = {engulfing: (100.0,), hanging: (-100.0,), rule.mean: (10.0,), rule.trend: (100.0,)}
    confirmed = rule.evaluate(bar(values, {rule.mean: (10.0,)}, now=candle(volume=15.0)))
    assert sorted((hit.rule, hit.side.value, hit.strength) for hit in confirmed) == [
        ("pattern:CDLENGULFING", "BUY", 0.5),
        ("pattern:CDLHANGINGMAN", "SELL", 0.5),
    ]
    assert rule.evaluate(bar(values, {rule.mean: (10.0,)}, now=candle(volume=14.9))) == []
    strong = {**values, engulfing: (200.0,)}
    hits = rule.evaluate(bar(strong, {rule.mean: (10.0,)}, now=candle(volume=20.0)))
    assert [hit.strength for hit in hits if hit.rule == "pattern:CDLENGULFING"] == [1.0]


def test_indecision_patterns_take_their_side_from_the_trend(factory: IndicatorFactory) -> None:
    rule = PatternRule(factory, SignalSettings(patterns=("CDLDOJI",)))
    (doji,) = rule.patterns
    below = {doji: (100.0,), rule.mean: (10.0,), rule.trend: (105.0,)}
    above = {doji: (100.0,), rule.mean: (10.0,), rule.trend: (95.0,)}
    previous = {rule.mean: (10.0,)}
    assert sides(rule.evaluate(bar(below, previous, now=candle(100.0, volume=20.0)))) == [Side.BUY]
    assert sides(rule.evaluate(bar(above, previous, now=candle(100.0, volume=20.0)))) == [Side.SELL]
    assert rule.evaluate(bar(below, previous, now=candle(100.0, volume=20.0)))[0].strength == 0.25


def test_gap_and_zone_rules_follow_their_indicators(factory: IndicatorFactory) -> None:
    gaps = FairValueGapRule(factory, SignalSettings())
    row = (NAN,) * 6
    assert sides(gaps.evaluate(bar({gaps.spec: (*row, 1.0)}, {}))) == [Side.BUY]
    assert sides(gaps.evaluate(bar({gaps.spec: (*row, -1.0)}, {}))) == [Side.SELL]
    assert gaps.evaluate(bar({gaps.spec: (*row, 0.0)}, {})) == []
    zones = ZoneRule(factory, SignalSettings())
    assert sides(zones.evaluate(bar({zones.spec: (NAN,) * 4 + (1.0,)}, {}))) == [Side.BUY]
    assert sides(zones.evaluate(bar({zones.spec: (NAN,) * 4 + (-1.0,)}, {}))) == [Side.SELL]


def test_rule_settings_reach_the_indicator_specs(factory: IndicatorFactory) -> None:
    settings = dataclasses.replace(
        SignalSettings(), rsi_period=9, ema_fast=5, ema_slow=50, bollinger_period=30
    )
    assert RsiRule(factory, settings).spec.parameters["timeperiod"] == 9
    ema = EmaCrossRule(factory, settings)
    assert (ema.fast.parameters["timeperiod"], ema.slow.parameters["timeperiod"]) == (5, 50)
    assert BollingerRule(factory, settings).bands.parameters["timeperiod"] == 30


def test_settings_refuse_a_pattern_talib_does_not_have() -> None:
    from thebot.config import ConfigError

    with pytest.raises(ConfigError, match="CDLUNICORN"):
        SignalSettings(patterns=("CDLHAMMER", "CDLUNICORN"))
