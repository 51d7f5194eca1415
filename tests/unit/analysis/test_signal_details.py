"""The details of one signal: its candle, the indicator values its rule saw, and the rule's record."""

from __future__ import annotations

import dataclasses

import duckdb
import numpy as np
import pytest

from tests.unit.indicators.candle_data import generated_candles
from thebot.analysis.signal_details import chart_link, rule_indicators, signal_details, signal_id, values_at
from thebot.config import Settings
from thebot.indicators import IndicatorFactory
from thebot.market.datastream import DataStream
from thebot.market.timeframe import Timeframe
from thebot.signals.service import AnalyticsService
from thebot.signals.settings import SignalSettings


@pytest.fixture(scope="module")
def factory() -> IndicatorFactory:
    return IndicatorFactory()


def test_rule_indicators_name_what_each_rule_reads(factory: IndicatorFactory) -> None:
    settings = SignalSettings()
    assert [spec.name for spec in rule_indicators(factory, settings, "rsi")] == ["RSI"]
    assert dict(rule_indicators(factory, settings, "rsi")[0].params)["timeperiod"] == settings.rsi_period
    pattern = settings.patterns[0]
    names = [spec.name for spec in rule_indicators(factory, settings, f"pattern:{pattern}")]
    assert pattern in names and "VOLUME_MEAN" in names
    assert not set(names) & (set(settings.patterns) - {pattern})  # not every other pattern
    assert rule_indicators(factory, settings, "no_such_rule") == ()


def test_values_are_those_at_the_signal_candle(factory: IndicatorFactory) -> None:
    candles = generated_candles(200, seed=5)
    spec = factory.spec("RSI", {"timeperiod": 14})
    time = int(candles.open_time[120])
    candle, values = values_at(factory, [spec], candles, time)
    assert candle is not None and candle.open_time == time and candle.close == candles.close[120]
    expected = factory.compute(spec, candles)["real"][120]
    assert values[0].name == "RSI(timeperiod=14)"
    assert values[0].values["real"] == pytest.approx(float(expected))
    assert values_at(factory, [spec], candles, time + 1) == (None, ())  # no such candle


def test_details_of_a_live_signal_carry_reason_values_quality_and_link() -> None:
    settings = dataclasses.replace(Settings(), signals=SignalSettings(cooldown_bars=0))
    stream = DataStream(["BTCUSDT"], [Timeframe.M1], capacity=1000)
    service = AnalyticsService(settings, stream, duckdb.connect(":memory:")).start()
    try:
        candles = generated_candles(400, seed=17)
        stream.merge("BTCUSDT", Timeframe.M1, [candles.candle(index) for index in range(400)])
        service.request_waiting_opens()
        assert service.wait_idle()
        signals = [s for s in service.signals("BTCUSDT", "1m", limit=1000) if s.rule == "rsi"]
        assert signals
        chosen = signals[-1]  # the oldest: its forward return is known
        snapshot = stream.snapshot("BTCUSDT", Timeframe.M1)
        qualities = service.quality("BTCUSDT", "1m")
        details = signal_details(service.factory, service.settings, snapshot, chosen, qualities)
    finally:
        service.stop()
    index = int(np.searchsorted(snapshot.open_time, chosen.time))
    assert details.candle is not None and details.candle.close == snapshot.close[index]
    rsi = details.indicators[0].values["real"]
    assert rsi is not None and 0 < rsi < 100
    assert details.quality is not None and details.quality.rule == "rsi" and details.quality.signals >= 1
    assert details.link == f"/?symbol=BTCUSDT&timeframe=1m&t={chosen.time}"
    payload = details.as_dict()
    assert payload["signal"]["reason"] == chosen.reason and payload["id"] == signal_id(chosen)


def test_chart_link_without_a_time_opens_the_stream() -> None:
    assert chart_link("ETHUSDT", "15m") == "/?symbol=ETHUSDT&timeframe=15m"
