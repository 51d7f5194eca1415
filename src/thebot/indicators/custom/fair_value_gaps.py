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
from dataclasses import dataclass
from enum import IntEnum

from thebot.indicators.custom.base import NAN, CustomIndicator, CustomState, FloatState, Values
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


def _advance(gap: Gap, high: float, low: float, close: float) -> tuple[Gap, int]:
    """The gap after a candle that reached into it, and the fill event it caused."""
    if gap.bullish:
        state = GapState.FILLED if low <= gap.bottom else GapState.PARTIALLY_FILLED
        event = 1 if gap.state is GapState.OPEN and close >= gap.bottom else 0
    else:
        state = GapState.FILLED if high >= gap.top else GapState.PARTIALLY_FILLED
        event = -1 if gap.state is GapState.OPEN and close <= gap.top else 0
    state = max(state, gap.state)
    if state is gap.state:
        return gap, event
    return Gap(gap.bullish, gap.top, gap.bottom, gap.open_time, state), event


class _GapState(FloatState):
    inputs = ("open_time", "high", "low", "close")

    def __init__(self, min_size: float, max_gaps: int) -> None:
        self.min_size = min_size
        self.max_gaps = max_gaps
        # high and low of the candle two back and of the one before (NaN until seen)
        self._older = (NAN, NAN)
        self._newer = (NAN, NAN)
        self._seen = 0
        self.bullish: list[Gap] = []
        self.bearish: list[Gap] = []
        # The values while no gap is touched or formed, and how far price must reach (down into the
        # highest bullish top, up into the lowest bearish bottom) to touch one: most candles do neither,
        # and then nothing but the two previous candles changes.
        self._quiet: Values = (NAN, NAN, NAN, NAN, NAN, NAN, 0.0)
        self._bull_reach = -math.inf
        self._bear_reach = math.inf

    def _step(
        self, open_time: int, high: float, low: float, close: float
    ) -> tuple[list[Gap], list[Gap], Values] | None:
        """The gap lists and values after this candle; None when it touches no gap and forms none.

        A side the candle does not reach keeps its list object: committed lists are never changed in
        place, so `peek` may share them."""
        forms_bullish = forms_bearish = False
        if self._seen >= 2:
            first_high, first_low = self._older
            threshold = self.min_size * close
            forms_bullish = low > first_high and low - first_high > threshold
            forms_bearish = not forms_bullish and high < first_low and first_low - high > threshold
        touches_bullish = not low >= self._bull_reach  # (a NaN low reaches every gap, as in `_advance`)
        touches_bearish = not high <= self._bear_reach
        if not (forms_bullish or forms_bearish or touches_bullish or touches_bearish):
            return None
        fill = 0
        bullish = self.bullish
        if touches_bullish:
            bullish = []
            for gap in self.bullish:
                if low >= gap.top:  # untouched
                    bullish.append(gap)
                    continue
                advanced, event = _advance(gap, high, low, close)
                fill = fill or event
                if advanced.state is not GapState.FILLED:
                    bullish.append(advanced)
        bearish = self.bearish
        if touches_bearish:
            bearish = []
            for gap in self.bearish:
                if high <= gap.bottom:
                    bearish.append(gap)
                    continue
                advanced, event = _advance(gap, high, low, close)
                fill = fill or event
                if advanced.state is not GapState.FILLED:
                    bearish.append(advanced)
        if forms_bullish:
            bullish = [*bullish, Gap(True, low, self._older[0], open_time)][-self.max_gaps :]
        elif forms_bearish:
            bearish = [*bearish, Gap(False, self._older[1], high, open_time)][-self.max_gaps :]
        return bullish, bearish, (*_describe(bullish), *_describe(bearish), float(fill))

    def advance(self, open_time: int, high: float, low: float, close: float) -> Values:
        stepped = self._step(open_time, high, low, close)
        if stepped is None:
            values = self._quiet
        else:
            bullish, bearish, values = stepped
            self._quiet = (*values[:6], 0.0)
            if bullish is not self.bullish:
                self.bullish = bullish
                self._bull_reach = max([gap.top for gap in bullish], default=-math.inf)
            if bearish is not self.bearish:
                self.bearish = bearish
                self._bear_reach = min([gap.bottom for gap in bearish], default=math.inf)
        self._older, self._newer = self._newer, (high, low)
        self._seen += 1
        return values

    def update(self, candle: Candle) -> Values:
        return self.advance(candle.open_time, candle.high, candle.low, candle.close)

    def peek(self, candle: Candle) -> Values:
        stepped = self._step(candle.open_time, candle.high, candle.low, candle.close)
        return self._quiet if stepped is None else stepped[2]


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
