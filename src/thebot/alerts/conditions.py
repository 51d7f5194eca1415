"""Pure evaluation: whether a condition holds on a sample, whether a trigger mode lets it fire, and the
one step function both the live manager and the evidence replay use, so the count shown before saving a
rule is the count the live code would have produced.

Crossing compares with the previous sample of the same rule (TradingView's `crossover`: before at or
below the level, now above it). A rule's first sample only records the value, so a rule created when
the price is already past its level does not fire.
"""

from __future__ import annotations

from dataclasses import dataclass

from thebot.alerts.models import Condition, Trigger

MINUTE_MS = 60_000


@dataclass(frozen=True, slots=True)
class RuleState:
    """What a rule remembers between samples. `previous*` live in memory only; the fired fields are
    written with the alert in one transaction, so a restart never fires the same bar twice."""

    last_fired_bar: int | None = None
    last_fired_ms: int | None = None
    fired_count: int = 0
    armed: bool = True
    done: bool = False
    previous: float | None = None
    previous_level: float | None = None


@dataclass(frozen=True, slots=True)
class Sample:
    """One observation: the rule's value now (`current`, a price or an indicator output) and its level
    now (`level`; an indicator's other output moves). `reference` is the value `bars` candles ago."""

    current: float
    level: float
    bar_open_time: int
    closed: bool
    now_ms: int
    level2: float | None = None
    reference: float | None = None


def _inside(value: float, low: float, high: float) -> bool:
    return low <= value <= high


def condition_met(
    condition: Condition,
    previous: float | None,
    current: float,
    level: float,
    *,
    level2: float | None = None,
    previous_level: float | None = None,
    reference: float | None = None,
) -> bool:
    before = level if previous_level is None else previous_level
    if condition is Condition.ABOVE:
        return current > level
    if condition is Condition.BELOW:
        return current < level
    if condition in (Condition.MOVING_UP_PERCENT, Condition.MOVING_DOWN_PERCENT):
        if reference is None or reference <= 0:
            return False
        change = (current - reference) / reference * 100.0
        return change >= level if condition is Condition.MOVING_UP_PERCENT else -change >= level
    if previous is None:
        return False
    up = previous <= before and current > level
    down = previous >= before and current < level
    if condition is Condition.CROSSING_UP:
        return up
    if condition is Condition.CROSSING_DOWN:
        return down
    if condition is Condition.CROSSING:
        return up or down
    if level2 is None:
        return False
    low, high = min(level, level2), max(level, level2)
    if condition is Condition.ENTERING_CHANNEL:
        return not _inside(previous, low, high) and _inside(current, low, high)
    if condition is Condition.EXITING_CHANNEL:
        return _inside(previous, low, high) and not _inside(current, low, high)
    raise ValueError(f"unknown condition {condition!r}")


def rearmed(condition: Condition, current: float, level: float, level2: float | None, margin: float) -> bool:
    """Hysteresis: after firing, a rule is armed again only once the value has left the level by `margin`
    on the side it has to come from (so noise around a level fires once, not on every wiggle)."""
    if margin <= 0:
        return True
    if condition in (Condition.CROSSING_UP, Condition.ABOVE):
        return current <= level - margin
    if condition in (Condition.CROSSING_DOWN, Condition.BELOW):
        return current >= level + margin
    if condition in (Condition.ENTERING_CHANNEL, Condition.EXITING_CHANNEL) and level2 is not None:
        low, high = min(level, level2), max(level, level2)
        distance = min(abs(current - low), abs(current - high))
        return distance >= margin
    if condition in (Condition.MOVING_UP_PERCENT, Condition.MOVING_DOWN_PERCENT):
        return True
    return abs(current - level) >= margin


def trigger_allows(
    trigger: Trigger, state: RuleState, *, bar_open_time: int, closed: bool, now_ms: int, cooldown_ms: int = 0
) -> bool:
    """TradingView's trigger modes, plus a cooldown after any firing."""
    if state.done:
        return False
    if trigger is Trigger.ONCE_PER_BAR_CLOSE and not closed:
        return False
    if cooldown_ms > 0 and state.last_fired_ms is not None and now_ms - state.last_fired_ms < cooldown_ms:
        return False
    if trigger is Trigger.ONCE:
        return state.fired_count == 0
    if trigger is Trigger.ONCE_PER_MINUTE:
        return state.last_fired_ms is None or now_ms - state.last_fired_ms >= MINUTE_MS
    return state.last_fired_bar is None or bar_open_time > state.last_fired_bar


def step(
    condition: Condition,
    trigger: Trigger,
    state: RuleState,
    sample: Sample,
    *,
    hysteresis: float = 0.0,
    cooldown_ms: int = 0,
) -> tuple[bool, RuleState]:
    """Evaluate one sample: (fired, the state after it)."""
    armed = state.armed or rearmed(condition, sample.current, sample.level, sample.level2, hysteresis)
    met = condition_met(
        condition,
        state.previous,
        sample.current,
        sample.level,
        level2=sample.level2,
        previous_level=state.previous_level,
        reference=sample.reference,
    )
    fire = (
        met
        and armed
        and trigger_allows(
            trigger,
            state,
            bar_open_time=sample.bar_open_time,
            closed=sample.closed,
            now_ms=sample.now_ms,
            cooldown_ms=cooldown_ms,
        )
    )
    if fire:
        # Built directly, not with `dataclasses.replace`: this runs for every rule on every close.
        return True, RuleState(
            last_fired_bar=sample.bar_open_time,
            last_fired_ms=sample.now_ms,
            fired_count=state.fired_count + 1,
            armed=hysteresis <= 0,
            done=trigger is Trigger.ONCE,
            previous=sample.current,
            previous_level=sample.level,
        )
    return False, RuleState(
        state.last_fired_bar,
        state.last_fired_ms,
        state.fired_count,
        armed,
        state.done,
        sample.current,
        sample.level,
    )


def render(template: str, values: dict[str, str]) -> str:
    """Fill `{{name}}` placeholders; unknown ones stay as written so a typo is visible, not silent."""
    text = template
    for name, value in values.items():
        text = text.replace("{{" + name + "}}", value).replace("{{ " + name + " }}", value)
    return text
