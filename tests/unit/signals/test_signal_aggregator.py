"""Aggregator math by hand: confidence, direction, confluence and grades; dedup, cooldown, withdrawal."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import duckdb
import pytest

from thebot.market.timeframe import Timeframe
from thebot.signals.aggregator import SignalAggregator
from thebot.signals.history import SignalHistory
from thebot.signals.models import Grade, Side, Signal, SignalEvent, SignalEventKind, grade_of
from thebot.signals.settings import RuleWeights, SignalSettings, TimeframeWeights

MINUTE = 60_000
T0 = 1_700_000_000_000 - 1_700_000_000_000 % (4 * 3_600_000)


def signal(
    rule: str,
    side: Side,
    strength: float = 1.0,
    bar: int = 0,
    timeframe: Timeframe = Timeframe.M1,
    provisional: bool = False,
) -> Signal:
    return Signal(
        time=T0 + bar * timeframe.milliseconds,
        symbol="BTCUSDT",
        timeframe=timeframe,
        side=side,
        rule=rule,
        strength=strength,
        price=100.0,
        reason="test",
        provisional=provisional,
    )


def make(
    settings: SignalSettings | None = None,
    timeframes: tuple[Timeframe, ...] = (Timeframe.M1,),
    publish: Callable[[SignalEvent], object] | None = None,
) -> SignalAggregator:
    return SignalAggregator(settings or SignalSettings(cooldown_bars=0), timeframes, publish=publish)


def close(
    aggregator: SignalAggregator, bar: int, *signals: Signal, timeframe: Timeframe = Timeframe.M1
) -> list[SignalEvent]:
    return aggregator.close_bar("BTCUSDT", timeframe, T0 + bar * timeframe.milliseconds, list(signals))


def test_agreeing_rules_raise_confidence_and_conflict_lowers_it() -> None:
    aggregator = make()
    close(aggregator, 0, signal("rsi", Side.BUY, 0.5))
    one = aggregator.assess("BTCUSDT", Timeframe.M1)
    assert (one.direction, one.confidence) == (1, pytest.approx(0.6 * 0.5))
    close(aggregator, 1, signal("macd", Side.BUY, 0.5))
    two = aggregator.assess("BTCUSDT", Timeframe.M1)
    # 1 - (1 - 0.3)(1 - 0.3) = 0.51
    assert (two.direction, two.confidence) == (1, pytest.approx(0.51))
    close(aggregator, 2, signal("ema_cross", Side.SELL, 1.0))
    three = aggregator.assess("BTCUSDT", Timeframe.M1)
    # sell side 0.5 x 1.0 = 0.5; 0.51 - 0.5
    assert three.direction == 1
    assert three.confidence == pytest.approx(0.01)
    assert (three.buy_score, three.sell_score) == (pytest.approx(0.51), pytest.approx(0.5))


def test_only_the_last_lookback_bars_count() -> None:
    aggregator = make(SignalSettings(cooldown_bars=0, lookback_bars=3))
    close(aggregator, 0, signal("rsi", Side.SELL))
    close(aggregator, 1)
    close(aggregator, 2)
    assert aggregator.assess("BTCUSDT", Timeframe.M1).direction == -1  # bars 0..2
    close(aggregator, 3)
    assessment = aggregator.assess("BTCUSDT", Timeframe.M1)
    assert (assessment.direction, assessment.confidence) == (0, 0.0)


def test_rule_weights_scale_contributions_and_zero_silences() -> None:
    weights = RuleWeights(rsi=0.0, pattern=1.0)
    aggregator = make(SignalSettings(cooldown_bars=0, rule_weights=weights))
    close(aggregator, 0, signal("rsi", Side.SELL), signal("pattern:CDLHAMMER", Side.BUY, 0.5))
    assessment = aggregator.assess("BTCUSDT", Timeframe.M1)
    assert (assessment.direction, assessment.confidence) == (1, pytest.approx(0.5))


def test_confluence_is_the_weighted_mean_of_signed_confidence_and_is_graded() -> None:
    timeframes = (Timeframe.M1, Timeframe.M5, Timeframe.H1)
    weights = TimeframeWeights(m1=1.0, m5=1.0, h1=2.0)
    full = RuleWeights(rsi=1.0, macd=1.0)
    aggregator = make(
        SignalSettings(cooldown_bars=0, rule_weights=full, timeframe_weights=weights), timeframes
    )
    close(aggregator, 0, signal("rsi", Side.BUY, 1.0, timeframe=Timeframe.H1), timeframe=Timeframe.H1)
    close(aggregator, 0, signal("rsi", Side.SELL, 0.5, timeframe=Timeframe.M5), timeframe=Timeframe.M5)
    confluence = aggregator.confluence("BTCUSDT")
    # (2 x 1.0 + 1 x (-0.5) + 1 x 0) / 4 = 0.375
    assert confluence.score == pytest.approx(0.375)
    assert confluence.grade is Grade.BUY
    by_timeframe = {item.timeframe: item for item in confluence.timeframes}
    assert by_timeframe[Timeframe.M1].direction == 0
    assert by_timeframe[Timeframe.M5].signed == pytest.approx(-0.5)
    described = confluence.as_dict()
    assert described["grade"] == "BUY" and len(described["timeframes"]) == 3
    close(aggregator, 0, signal("macd", Side.BUY, 1.0, timeframe=Timeframe.M1), timeframe=Timeframe.M1)
    assert aggregator.confluence("BTCUSDT").score == pytest.approx(0.625)


@pytest.mark.parametrize(
    ("score", "grade"),
    [
        (-1.0, Grade.STRONG_SELL),
        (-0.7, Grade.STRONG_SELL),
        (-0.69, Grade.SELL),
        (-0.3, Grade.SELL),
        (-0.29, Grade.NEUTRAL),
        (0.0, Grade.NEUTRAL),
        (0.29, Grade.NEUTRAL),
        (0.3, Grade.BUY),
        (0.69, Grade.BUY),
        (0.7, Grade.STRONG_BUY),
        (1.0, Grade.STRONG_BUY),
    ],
)
def test_grades_at_plus_minus_0_3_and_0_7(score: float, grade: Grade) -> None:
    assert grade_of(score) is grade


def test_duplicates_are_dropped_and_cooldown_silences_a_rule_for_n_bars() -> None:
    aggregator = make(SignalSettings(cooldown_bars=3))
    events = close(aggregator, 0, signal("rsi", Side.BUY), signal("rsi", Side.BUY))
    assert [event.kind for event in events] == [SignalEventKind.NEW]
    for bar in (1, 2, 3):
        assert close(aggregator, bar, signal("rsi", Side.SELL, bar=bar)) == []
    assert close(aggregator, 2, signal("macd", Side.BUY, bar=2))  # another rule is not cooling
    events = close(aggregator, 4, signal("rsi", Side.SELL, bar=4))
    assert [(event.kind, event.signal.side) for event in events] == [(SignalEventKind.NEW, Side.SELL)]
    assert [s.rule for s in aggregator.signals("BTCUSDT")] == ["rsi", "macd", "rsi"]


def test_provisional_signal_is_withdrawn_when_it_does_not_survive_the_close() -> None:
    seen: list[SignalEvent] = []
    aggregator = make(publish=seen.append)
    forming = signal("rsi", Side.BUY, bar=5, provisional=True)
    version = aggregator.version
    aggregator.provisional_bar("BTCUSDT", Timeframe.M1, forming.time, [forming])
    assert aggregator.version > version
    assert [s.provisional for s in aggregator.signals("BTCUSDT")] == [True]
    assert aggregator.assess("BTCUSDT", Timeframe.M1).direction == 0  # provisional ones do not count
    aggregator.provisional_bar("BTCUSDT", Timeframe.M1, forming.time, [forming])  # same again: no event
    close(aggregator, 5)  # the closed candle no longer gives the signal
    assert [(event.kind, event.signal.rule) for event in seen] == [
        (SignalEventKind.PROVISIONAL, "rsi"),
        (SignalEventKind.WITHDRAWN, "rsi"),
    ]
    assert aggregator.signals("BTCUSDT") == []


def test_provisional_signal_that_survives_becomes_final_without_a_withdrawal() -> None:
    seen: list[SignalEvent] = []
    aggregator = make(publish=seen.append)
    forming = signal("macd", Side.SELL, bar=7, provisional=True)
    aggregator.provisional_bar("BTCUSDT", Timeframe.M1, forming.time, [forming])
    close(aggregator, 7, dataclasses.replace(forming, provisional=False))
    assert [event.kind for event in seen] == [SignalEventKind.PROVISIONAL, SignalEventKind.NEW]
    (final,) = aggregator.signals("BTCUSDT")
    assert not final.provisional
    assert aggregator.assess("BTCUSDT", Timeframe.M1).direction == -1


def test_provisional_signal_withdrawn_as_soon_as_the_forming_candle_turns() -> None:
    seen: list[SignalEvent] = []
    aggregator = make(publish=seen.append)
    forming = signal("rsi", Side.BUY, bar=3, provisional=True)
    aggregator.provisional_bar("BTCUSDT", Timeframe.M1, forming.time, [forming])
    aggregator.provisional_bar("BTCUSDT", Timeframe.M1, forming.time, [])
    assert [event.kind for event in seen] == [SignalEventKind.PROVISIONAL, SignalEventKind.WITHDRAWN]


def test_history_replay_does_not_notify_and_is_stored_once() -> None:
    connection = duckdb.connect(":memory:")
    history = SignalHistory(connection)
    seen: list[SignalEvent] = []
    aggregator = SignalAggregator(
        SignalSettings(cooldown_bars=0), (Timeframe.M1,), history, publish=seen.append
    )
    replay = [signal("rsi", Side.BUY, bar=0), signal("macd", Side.SELL, bar=1)]
    assert aggregator.load_history("BTCUSDT", Timeframe.M1, replay, T0 + MINUTE) == 2
    assert aggregator.load_history("BTCUSDT", Timeframe.M1, replay, T0 + MINUTE) == 0
    assert seen == []
    close(aggregator, 2, signal("ema_cross", Side.BUY, bar=2))
    assert [event.kind for event in seen] == [SignalEventKind.NEW]
    assert history.count() == 3
    stored = history.query("BTCUSDT", Timeframe.M1)
    assert [s.rule for s in stored] == ["ema_cross", "macd", "rsi"]
    assert stored[-1] == replay[0]
