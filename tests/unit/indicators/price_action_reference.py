"""The fair value gap and zone state machines exactly as they were before they ran on plain floats
(commit 4a98231), kept as the oracle the faster code must equal bit for bit."""

# ruff: noqa
# mypy: ignore-errors

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, replace
from enum import IntEnum

import numpy as np

from thebot.indicators.custom.base import NAN, CustomState, Values, iterate_candles
from thebot.market.models import Candle, CandleSnapshot


def reference_batch(state: CustomState, candles: CandleSnapshot) -> np.ndarray:
    """Rows of values, one per candle, from the old per-Candle `update`."""
    return np.array([state.update(candle) for candle in iterate_candles(candles)], dtype=np.float64)


class GapState(IntEnum):
    OPEN = 0
    PARTIALLY_FILLED = 1
    FILLED = 2


@dataclass(frozen=True, slots=True)
class Gap:
    bullish: bool
    top: float
    bottom: float
    open_time: int
    state: GapState = GapState.OPEN


def _advance(gap: Gap, candle: Candle) -> tuple[Gap, int]:
    """The gap after `candle`, and the fill event it caused."""
    if gap.bullish:
        if candle.low >= gap.top:
            return gap, 0
        state = GapState.FILLED if candle.low <= gap.bottom else GapState.PARTIALLY_FILLED
        event = 1 if gap.state is GapState.OPEN and candle.close >= gap.bottom else 0
    else:
        if candle.high <= gap.bottom:
            return gap, 0
        state = GapState.FILLED if candle.high >= gap.top else GapState.PARTIALLY_FILLED
        event = -1 if gap.state is GapState.OPEN and candle.close <= gap.top else 0
    return (replace(gap, state=max(state, gap.state)), event)


class _GapState(CustomState):
    def __init__(self, min_size: float, max_gaps: int) -> None:
        self.min_size = min_size
        self.max_gaps = max_gaps
        self.previous: tuple[Candle, ...] = ()
        self.bullish: list[Gap] = []
        self.bearish: list[Gap] = []
        # For `peek`'s fast path: the values while no gap is touched or formed, and how far price must
        # reach (down into the highest bullish top, up into the lowest bearish bottom) to touch one.
        self._quiet: Values = (NAN, NAN, NAN, NAN, NAN, NAN)
        self._bull_reach = -math.inf
        self._bear_reach = math.inf

    def _step(self, candle: Candle) -> tuple[list[Gap], list[Gap], Values]:
        fill = 0
        bullish: list[Gap] = []
        low = candle.low
        for gap in self.bullish:
            if low >= gap.top:  # untouched: the common case, no new object
                bullish.append(gap)
                continue
            advanced, event = _advance(gap, candle)
            fill = fill or event
            if advanced.state is not GapState.FILLED:
                bullish.append(advanced)
        bearish: list[Gap] = []
        high = candle.high
        for gap in self.bearish:
            if high <= gap.bottom:
                bearish.append(gap)
                continue
            advanced, event = _advance(gap, candle)
            fill = fill or event
            if advanced.state is not GapState.FILLED:
                bearish.append(advanced)
        if len(self.previous) == 2:
            first = self.previous[0]
            threshold = self.min_size * candle.close
            if low > first.high and low - first.high > threshold:
                bullish.append(Gap(True, low, first.high, candle.open_time))
                del bullish[: -self.max_gaps]
            elif high < first.low and first.low - high > threshold:
                bearish.append(Gap(False, first.low, high, candle.open_time))
                del bearish[: -self.max_gaps]
        return bullish, bearish, (*_describe(bullish), *_describe(bearish), float(fill))

    def update(self, candle: Candle) -> Values:
        self.bullish, self.bearish, values = self._step(candle)
        self.previous = (*self.previous, candle)[-2:]
        self._quiet = values[:6]
        self._bull_reach = max((gap.top for gap in self.bullish), default=-math.inf)
        self._bear_reach = min((gap.bottom for gap in self.bearish), default=math.inf)
        return values

    def peek(self, candle: Candle) -> Values:
        """The forming candle is revised many times per candle; most revisions touch no gap and form
        none, and then the answer is the committed state's, without rebuilding the gap lists."""
        if candle.low >= self._bull_reach and candle.high <= self._bear_reach:
            if len(self.previous) < 2:
                return (*self._quiet, 0.0)
            first = self.previous[0]
            threshold = self.min_size * candle.close
            forms = (candle.low > first.high and candle.low - first.high > threshold) or (
                candle.high < first.low and first.low - candle.high > threshold
            )
            if not forms:
                return (*self._quiet, 0.0)
        return self._step(candle)[2]


def _describe(gaps: list[Gap]) -> Values:
    if not gaps:
        return (NAN, NAN, NAN)
    newest = gaps[-1]
    return (newest.top, newest.bottom, float(newest.state))


@dataclass(frozen=True, slots=True)
class Zone:
    demand: bool
    top: float
    bottom: float
    open_time: int
    touched: bool = False


class _ZoneState(CustomState):
    def __init__(self, period: int, factor: float, max_zones: int) -> None:
        self.period = period
        self.factor = factor
        self.max_zones = max_zones
        self.bodies: deque[float] = deque(maxlen=period)
        self.previous: Candle | None = None
        self.demand: list[Zone] = []
        self.supply: list[Zone] = []
        # For `peek`'s fast path: the values while no zone breaks, is touched or forms, and the levels
        # a candle must cross for any of that to happen.
        self._quiet: Values = (NAN, NAN, NAN, NAN)
        self._demand_break = -math.inf  # a close below the highest demand bottom breaks a zone
        self._demand_touch = -math.inf  # a low at or below the highest untouched demand top touches one
        self._supply_break = math.inf
        self._supply_touch = math.inf

    def _step(self, candle: Candle) -> tuple[list[Zone], list[Zone], Values]:
        touch = 0
        close, low, high = candle.close, candle.low, candle.high
        demand: list[Zone] = []
        for zone in self.demand:
            if close < zone.bottom:
                continue  # broken
            if not zone.touched and low <= zone.top:
                demand.append(replace(zone, touched=True))
                touch = touch or 1
            else:
                demand.append(zone)
        supply: list[Zone] = []
        for zone in self.supply:
            if close > zone.top:
                continue
            if not zone.touched and high >= zone.bottom:
                supply.append(replace(zone, touched=True))
                touch = touch or -1
            else:
                supply.append(zone)
        body = abs(close - candle.open)
        base = self.previous
        if base is not None and len(self.bodies) == self.period and body > 0:
            mean_body = sum(self.bodies) / self.period
            if body >= self.factor * mean_body:
                if close > candle.open and close > base.high:
                    demand.append(Zone(True, base.high, base.low, candle.open_time))
                    del demand[: -self.max_zones]
                elif close < candle.open and close < base.low:
                    supply.append(Zone(False, base.high, base.low, candle.open_time))
                    del supply[: -self.max_zones]
        return demand, supply, (*_describe_zones(demand), *_describe_zones(supply), float(touch))

    def update(self, candle: Candle) -> Values:
        self.demand, self.supply, values = self._step(candle)
        self.bodies.append(abs(candle.close - candle.open))
        self.previous = candle
        self._quiet = values[:4]
        self._demand_break = max((zone.bottom for zone in self.demand), default=-math.inf)
        self._demand_touch = max((zone.top for zone in self.demand if not zone.touched), default=-math.inf)
        self._supply_break = min((zone.top for zone in self.supply), default=math.inf)
        self._supply_touch = min((zone.bottom for zone in self.supply if not zone.touched), default=math.inf)
        return values

    def peek(self, candle: Candle) -> Values:
        """Most revisions of the forming candle change no zone: answer from the committed state then."""
        close = candle.close
        if (
            close >= self._demand_break
            and candle.low > self._demand_touch
            and close <= self._supply_break
            and candle.high < self._supply_touch
        ):
            body = abs(close - candle.open)
            impulse = (
                self.previous is not None
                and len(self.bodies) == self.period
                and body > 0
                and body >= self.factor * (sum(self.bodies) / self.period)
            )
            if not impulse:
                return (*self._quiet, 0.0)
        return self._step(candle)[2]


def _describe_zones(zones: list[Zone]) -> Values:
    if not zones:
        return (NAN, NAN)
    return (zones[-1].top, zones[-1].bottom)
