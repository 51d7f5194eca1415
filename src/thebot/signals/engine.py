"""Rule evaluation on one stream, live (stream handles) or over history (batch series).

Both paths build the same `Bar` for the same candle, so a signal seen live is the signal the history
replay would find; the tests hold them equal.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence

import numpy as np

from thebot.indicators import IndicatorFactory, IndicatorSpec, IndicatorStream
from thebot.indicators.custom.base import iterate_candles
from thebot.market.models import Candle, CandleSnapshot
from thebot.market.timeframe import Timeframe
from thebot.signals.models import RuleHit, Signal
from thebot.signals.rules import Bar, Rule, Values

logger = logging.getLogger(__name__)


def requirements_of(rules: Sequence[Rule]) -> tuple[IndicatorSpec, ...]:
    seen: dict[IndicatorSpec, None] = {}
    for rule in rules:
        for spec in rule.requirements():
            seen.setdefault(spec)
    return tuple(seen)


def evaluate_bar(rules: Sequence[Rule], bar: Bar) -> list[RuleHit]:
    hits: list[RuleHit] = []
    for rule in rules:
        found = rule.evaluate(bar)
        if found:  # most rules find nothing on most bars
            hits.extend(found)
    return hits


def to_signal(hit: RuleHit, symbol: str, timeframe: Timeframe, candle: Candle, provisional: bool) -> Signal:
    return Signal(
        time=candle.open_time,
        symbol=symbol,
        timeframe=timeframe,
        side=hit.side,
        rule=hit.rule,
        strength=hit.strength,
        price=candle.close,
        reason=hit.reason,
        provisional=provisional,
    )


# Bars converted to Python values at a time in `evaluate_history`: big enough that the conversions run
# in C, small enough that a year of minutes never exists as Python floats all at once.
HISTORY_CHUNK = 4_096


def evaluate_history(
    factory: IndicatorFactory, rules: Sequence[Rule], candles: CandleSnapshot
) -> list[tuple[int, RuleHit]]:
    """(candle index, hit) for every bar of `candles` (all treated as closed), oldest first."""
    return [(index, hit) for index, _, hits in replay_history(factory, rules, candles) for hit in hits]


def replay_history(
    factory: IndicatorFactory, rules: Sequence[Rule], candles: CandleSnapshot
) -> Iterator[tuple[int, Candle, list[RuleHit]]]:
    """(candle index, candle, hits) for every bar of `candles` where a rule fired, oldest first."""
    specs = requirements_of(rules)
    series = {
        spec: [np.asarray(column, dtype=np.float64) for column in factory.compute(spec, candles).values()]
        for spec in specs
    }
    previous_candle: Candle | None = None
    previous: Mapping[IndicatorSpec, Values] = {
        spec: tuple(float("nan") for _ in series[spec]) for spec in specs
    }
    for start in range(0, len(candles), HISTORY_CHUNK):
        stop = min(start + HISTORY_CHUNK, len(candles))
        # Per spec, the values tuple of every bar of the chunk (zip builds them in C); then per bar one
        # dict of every spec, also built in C: cheaper than building only the values a rule reads.
        per_spec = [
            list(zip(*(column[start:stop].tolist() for column in series[spec]), strict=True))
            for spec in specs
        ]
        bars = zip(iterate_candles(candles, start, stop), zip(*per_spec, strict=True), strict=True)
        for index, (candle, values) in enumerate(bars, start):
            current = dict(zip(specs, values, strict=True))
            hits = evaluate_bar(rules, Bar(candle, previous_candle, current, previous))
            if hits:
                yield index, candle, hits
            previous, previous_candle = current, candle


class _Peeked(dict[IndicatorSpec, Values]):
    """Indicator values at the forming candle, peeked only when a rule asks: a pattern rule whose volume
    check fails never costs the pattern peeks. A dict with `__missing__`, so repeated reads are C-speed."""

    __slots__ = ("_candle", "_streams")

    def __init__(self, streams: dict[IndicatorSpec, IndicatorStream], candle: Candle) -> None:
        super().__init__()
        self._streams = streams
        self._candle = candle

    def __missing__(self, spec: IndicatorSpec) -> Values:
        value = self[spec] = self._streams[spec].peek(self._candle)
        return value


class StreamEvaluator:
    """Live rule evaluation on one stream: `close` commits a closed candle, `forming` peeks at one.

    `extra` specs (the indicators a chart shows live) are kept in step and peeked on every forming
    candle even when no rule needs them; `forming_values` returns them.
    """

    def __init__(
        self,
        factory: IndicatorFactory,
        rules: Sequence[Rule],
        history: CandleSnapshot,
        extra: Sequence[IndicatorSpec] = (),
    ) -> None:
        """`history` is the closed candles already known (may be empty); `close` feeds the next ones."""
        self.rules = tuple(rules)
        self.extra = tuple(extra)
        self.specs = tuple(dict.fromkeys((*requirements_of(self.rules), *self.extra)))
        self.last_forming: Mapping[IndicatorSpec, Values] = {}
        self.streams: dict[IndicatorSpec, IndicatorStream] = {
            spec: factory.open_stream(spec, history) for spec in self.specs
        }
        self.previous: dict[IndicatorSpec, Values] = {
            spec: stream.value for spec, stream in self.streams.items()
        }
        self.last_candle: Candle | None = history.candle(len(history) - 1) if len(history) else None
        self.count = len(history)  # closed candles seen, history included

    @property
    def last_open_time(self) -> int | None:
        return None if self.last_candle is None else self.last_candle.open_time

    def close(self, candle: Candle) -> list[RuleHit]:
        current = {spec: stream.update(candle) for spec, stream in self.streams.items()}
        hits = evaluate_bar(self.rules, Bar(candle, self.last_candle, current, self.previous))
        self.previous, self.last_candle = current, candle
        self.count += 1
        return hits

    def forming(self, candle: Candle) -> list[RuleHit]:
        current = _Peeked(self.streams, candle)
        for spec in self.extra:
            current[spec]
        self.last_forming = current
        return evaluate_bar(self.rules, Bar(candle, self.last_candle, current, self.previous))

    def forming_values(self) -> dict[IndicatorSpec, Values]:
        """The extra specs' values at the last forming candle passed to `forming`."""
        return {spec: self.last_forming[spec] for spec in self.extra if self.last_forming}
