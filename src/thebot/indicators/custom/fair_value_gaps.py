"""Fair value gaps: three-candle imbalances and whether price has come back to fill them.

Rule:
- Bullish gap at candle t when low[t] > high[t−2]: the zone high[t−2]..low[t] was never traded.
  Bearish gap when high[t] < low[t−2]: the zone high[t]..low[t−2]. Gaps smaller than `min_size` × close
  are ignored.
- From candle t+1 on, a bullish gap is PARTIALLY filled once a low reaches below its top and FILLED once a
  low reaches its bottom (mirrored for bearish gaps with highs). Filled gaps are dropped; at most
  `max_gaps` of each direction are tracked (oldest dropped).
- `fill` is +1 on the candle that first touches an open bullish gap and closes at or above its bottom
  (the gap held as support), −1 for the mirror case on a bearish gap, otherwise 0.
- `bull_top`/`bull_bottom`/`bull_state` describe the most recent unfilled bullish gap (state 0 open,
  1 partially filled), NaN when none; `bear_*` likewise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import IntEnum

from thebot.indicators.custom.base import NAN, CustomIndicator, CustomState, Values
from thebot.indicators.metadata import ParameterInfo, ParameterKind, ParameterValue, Placement
from thebot.market.models import Candle


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


class FairValueGaps(CustomIndicator):
    name = "FAIR_VALUE_GAPS"
    display_name = "Fair value gaps"
    group = "Custom Price Action"
    inputs = ("open_time", "high", "low", "close")
    parameters = (
        ParameterInfo("min_size", ParameterKind.REAL, 0.0, "smallest gap as a fraction of the close"),
        ParameterInfo("max_gaps", ParameterKind.INTEGER, 10, "unfilled gaps tracked per direction"),
    )
    outputs = ("bull_top", "bull_bottom", "bull_state", "bear_top", "bear_bottom", "bear_state", "fill")
    placement = Placement.OVERLAY
    chart_outputs = ("bull_top", "bull_bottom", "bear_top", "bear_bottom")

    def check(self, params: dict[str, ParameterValue]) -> None:
        self.require(0 <= params["min_size"] < 1, "min_size", "must be at least 0 and below 1")
        self.require(1 <= params["max_gaps"] <= 1000, "max_gaps", "must be between 1 and 1000")

    def start(self, params: dict[str, ParameterValue]) -> CustomState:
        return _GapState(float(params["min_size"]), int(params["max_gaps"]))
