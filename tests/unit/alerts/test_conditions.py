"""Every condition and trigger mode, hysteresis and cooldown, on the pure step function."""

from __future__ import annotations

import pytest

from thebot.alerts.conditions import RuleState, Sample, condition_met, rearmed, render, step, trigger_allows
from thebot.alerts.models import Condition, Trigger

C = Condition


@pytest.mark.parametrize(
    ("condition", "previous", "current", "expected"),
    [
        (C.CROSSING_UP, 99.0, 101.0, True),
        (C.CROSSING_UP, 100.0, 100.5, True),  # from exactly on the level
        (C.CROSSING_UP, 101.0, 102.0, False),  # already above
        (C.CROSSING_UP, 101.0, 99.0, False),  # wrong direction
        (C.CROSSING_UP, 99.0, 100.0, False),  # touching is not crossing
        (C.CROSSING_DOWN, 101.0, 99.0, True),
        (C.CROSSING_DOWN, 99.0, 101.0, False),
        (C.CROSSING_DOWN, 99.0, 98.0, False),
        (C.CROSSING, 99.0, 101.0, True),
        (C.CROSSING, 101.0, 99.0, True),
        (C.CROSSING, 101.0, 102.0, False),
        (C.CROSSING, None, 101.0, False),  # the first sample only records
        (C.ABOVE, None, 100.1, True),
        (C.ABOVE, None, 100.0, False),
        (C.BELOW, None, 99.9, True),
        (C.BELOW, None, 100.0, False),
    ],
)
def test_level_conditions(
    condition: Condition, previous: float | None, current: float, expected: bool
) -> None:
    assert condition_met(condition, previous, current, 100.0) is expected


@pytest.mark.parametrize(
    ("condition", "previous", "current", "expected"),
    [
        (C.ENTERING_CHANNEL, 85.0, 100.0, True),
        (C.ENTERING_CHANNEL, 115.0, 110.0, True),  # edges count as inside
        (C.ENTERING_CHANNEL, 100.0, 101.0, False),  # already inside
        (C.ENTERING_CHANNEL, 85.0, 120.0, False),  # jumped over
        (C.EXITING_CHANNEL, 100.0, 111.0, True),
        (C.EXITING_CHANNEL, 100.0, 89.0, True),
        (C.EXITING_CHANNEL, 85.0, 80.0, False),  # was outside
        (C.EXITING_CHANNEL, 100.0, 105.0, False),
    ],
)
def test_channel_conditions(condition: Condition, previous: float, current: float, expected: bool) -> None:
    # The channel's edges may be given in either order.
    assert condition_met(condition, previous, current, 110.0, level2=90.0) is expected
    assert condition_met(condition, previous, current, 90.0, level2=110.0) is expected


def test_channel_without_second_edge_never_fires() -> None:
    assert not condition_met(C.ENTERING_CHANNEL, 80.0, 100.0, 90.0)


@pytest.mark.parametrize(
    ("condition", "reference", "current", "expected"),
    [
        (C.MOVING_UP_PERCENT, 100.0, 102.0, True),
        (C.MOVING_UP_PERCENT, 100.0, 101.9, False),
        (C.MOVING_UP_PERCENT, 100.0, 97.0, False),
        (C.MOVING_DOWN_PERCENT, 100.0, 98.0, True),
        (C.MOVING_DOWN_PERCENT, 100.0, 98.1, False),
        (C.MOVING_DOWN_PERCENT, 100.0, 103.0, False),
        (C.MOVING_UP_PERCENT, None, 150.0, False),  # not enough history
    ],
)
def test_moving_percent(
    condition: Condition, reference: float | None, current: float, expected: bool
) -> None:
    assert condition_met(condition, None, current, 2.0, reference=reference) is expected


def test_crossing_a_moving_level_uses_the_previous_level() -> None:
    # MACD 1.0 under its signal 1.2, then 1.5 over a signal of 1.3: crossed up.
    assert condition_met(C.CROSSING_UP, 1.0, 1.5, 1.3, previous_level=1.2)
    # Both rose, MACD stayed below: no cross.
    assert not condition_met(C.CROSSING_UP, 1.0, 1.25, 1.3, previous_level=1.2)


def _run(
    condition: Condition,
    trigger: Trigger,
    samples: list[tuple[float, int, bool, int]],
    *,
    hysteresis: float = 0.0,
    cooldown_ms: int = 0,
    level: float = 100.0,
) -> list[int]:
    """Feed (price, bar, closed, now) samples; return the indexes that fired."""
    state = RuleState()
    fired = []
    for index, (price, bar, closed, now) in enumerate(samples):
        hit, state = step(
            condition,
            trigger,
            state,
            Sample(price, level, bar, closed, now),
            hysteresis=hysteresis,
            cooldown_ms=cooldown_ms,
        )
        if hit:
            fired.append(index)
    return fired


# A price that oscillates around 100 inside bar 0, then bar 1.
WIGGLE = [
    (99.0, 0, False, 0),
    (101.0, 0, False, 1_000),  # cross up, forming bar 0
    (99.0, 0, False, 2_000),  # cross down, same bar
    (101.0, 0, True, 3_000),  # cross up, bar 0 closes
    (99.0, 1, False, 61_000),  # cross down, bar 1
    (101.0, 1, False, 62_000),  # cross up, bar 1
]


def test_once_fires_only_the_first_time() -> None:
    assert _run(C.CROSSING, Trigger.ONCE, WIGGLE) == [1]


def test_once_per_bar_fires_once_in_each_bar() -> None:
    assert _run(C.CROSSING, Trigger.ONCE_PER_BAR, WIGGLE) == [1, 4]


def test_once_per_bar_close_ignores_the_forming_candle() -> None:
    # Only the closing sample may fire; the previous sample for it is the last one seen.
    assert _run(C.CROSSING, Trigger.ONCE_PER_BAR_CLOSE, WIGGLE) == [3]


def test_once_per_minute_waits_a_minute_between_firings() -> None:
    # Sample 4 is exactly 60 s after the first firing.
    assert _run(C.CROSSING, Trigger.ONCE_PER_MINUTE, WIGGLE) == [1, 4]
    assert _run(C.CROSSING, Trigger.ONCE_PER_MINUTE, [*WIGGLE[:4], (99.0, 1, False, 60_999), WIGGLE[5]]) == [
        1,
        5,
    ]


def test_cooldown_silences_after_a_firing() -> None:
    samples = [(99.0 if i % 2 == 0 else 101.0, i, True, i * 10_000) for i in range(10)]
    assert _run(C.CROSSING_UP, Trigger.ONCE_PER_BAR_CLOSE, samples) == [1, 3, 5, 7, 9]
    assert _run(C.CROSSING_UP, Trigger.ONCE_PER_BAR_CLOSE, samples, cooldown_ms=30_000) == [1, 5, 9]


def test_hysteresis_rearms_only_after_leaving_the_level() -> None:
    # Noise around 100 (99.5 / 100.5) after the first cross must not fire again with a margin of 2;
    # a real excursion to 97 re-arms and the next cross up fires.
    prices = [99.0, 101.0, 99.5, 100.5, 99.5, 100.5, 97.0, 101.0]
    samples = [(price, i, True, i * 60_000) for i, price in enumerate(prices)]
    assert _run(C.CROSSING_UP, Trigger.ONCE_PER_BAR_CLOSE, samples) == [1, 3, 5, 7]
    assert _run(C.CROSSING_UP, Trigger.ONCE_PER_BAR_CLOSE, samples, hysteresis=2.0) == [1, 7]


def test_above_with_hysteresis_fires_once_per_excursion() -> None:
    prices = [101.0, 102.0, 100.5, 101.0, 97.0, 102.0]
    samples = [(price, i, True, i * 60_000) for i, price in enumerate(prices)]
    assert _run(C.ABOVE, Trigger.ONCE_PER_BAR_CLOSE, samples) == [0, 1, 2, 3, 5]
    assert _run(C.ABOVE, Trigger.ONCE_PER_BAR_CLOSE, samples, hysteresis=2.0) == [0, 5]


@pytest.mark.parametrize(
    ("condition", "price", "expected"),
    [
        (C.CROSSING_UP, 98.5, False),
        (C.CROSSING_UP, 98.0, True),
        (C.CROSSING_DOWN, 101.0, False),
        (C.CROSSING_DOWN, 102.0, True),
        (C.CROSSING, 101.5, False),
        (C.CROSSING, 97.9, True),
    ],
)
def test_rearm_margin_side(condition: Condition, price: float, expected: bool) -> None:
    assert rearmed(condition, price, 100.0, None, 2.0) is expected


def test_trigger_respects_done_and_older_bars() -> None:
    assert not trigger_allows(
        Trigger.ONCE_PER_BAR, RuleState(done=True), bar_open_time=5, closed=True, now_ms=0
    )
    fired_bar_5 = RuleState(last_fired_bar=5, fired_count=1, last_fired_ms=0)
    assert not trigger_allows(Trigger.ONCE_PER_BAR, fired_bar_5, bar_open_time=4, closed=True, now_ms=0)
    assert trigger_allows(Trigger.ONCE_PER_BAR, fired_bar_5, bar_open_time=6, closed=False, now_ms=0)


def test_render_placeholders() -> None:
    text = render(
        "{{symbol}} {{timeframe}} at {{close}} ({{ value }}) {{unknown}}",
        {"symbol": "BTCUSDT", "timeframe": "1m", "close": "65,000", "value": "1"},
    )
    assert text == "BTCUSDT 1m at 65,000 (1) {{unknown}}"
