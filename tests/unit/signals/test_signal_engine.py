"""Live evaluation finds exactly the signals a history replay finds, and no signal looks ahead."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.indicators.candle_data import generated_candles, head, partial, real_candles
from thebot.indicators import IndicatorFactory
from thebot.signals.engine import StreamEvaluator, evaluate_history
from thebot.signals.rules import build_rules
from thebot.signals.settings import SignalSettings

FACTORY = IndicatorFactory()
RULES = build_rules(FACTORY, SignalSettings())


def test_live_closes_give_the_history_replay_signals_on_real_data() -> None:
    candles = real_candles(2500)
    replay = evaluate_history(FACTORY, RULES, candles)
    evaluator = StreamEvaluator(FACTORY, RULES, head(candles, 1000))
    live = []
    for index in range(1000, len(candles)):
        live.extend((index, hit) for hit in evaluator.close(candles.candle(index)))
    expected = [(index, hit) for index, hit in replay if index >= 1000]
    assert live == expected
    families = Counter(hit.rule.split(":")[0] for _, hit in expected)
    # The real month exercises every rule family, so the equality above covers them all.
    assert set(families) == {
        "rsi",
        "macd",
        "ema_cross",
        "bollinger",
        "stochastic",
        "pattern",
        "fair_value_gap",
        "zone",
    }


def test_forming_candle_evaluation_equals_the_closed_evaluation_of_the_same_values() -> None:
    candles = generated_candles(400, seed=21)
    evaluator = StreamEvaluator(FACTORY, RULES, head(candles, 200))
    for index in range(200, 400):
        final = candles.candle(index)
        early = evaluator.forming(partial(final, 0.5))
        assert all(0.0 <= hit.strength <= 1.0 for hit in early)
        as_forming = evaluator.forming(final)
        assert as_forming == evaluator.close(final)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 5_000), cut=st.integers(30, 399))
def test_signals_at_t_are_the_same_on_data_up_to_t_or_on_all_data(seed: int, cut: int) -> None:
    candles = generated_candles(400, seed=seed)
    everything = [(index, hit) for index, hit in evaluate_history(FACTORY, RULES, candles) if index <= cut]
    truncated = evaluate_history(FACTORY, RULES, head(candles, cut + 1))
    assert truncated == everything


@pytest.mark.parametrize("count", [0, 1, 5])
def test_evaluator_opens_on_little_history_and_catches_up(count: int) -> None:
    candles = generated_candles(300, seed=8)
    evaluator = StreamEvaluator(FACTORY, RULES, head(candles, count))
    live = []
    for index in range(count, len(candles)):
        live.extend((index, hit) for hit in evaluator.close(candles.candle(index)))
    replay = [(index, hit) for index, hit in evaluate_history(FACTORY, RULES, candles) if index >= count]
    assert live == replay
    assert live, "no signal in 300 candles; the comparison proved nothing"
