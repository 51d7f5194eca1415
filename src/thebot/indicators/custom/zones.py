"""Supply and demand zones: the base candle before an impulsive move, and later touches of it.

Rule:
- Candle t is an impulse when its body |close − open| is at least `factor` × the mean body of the
  `period` candles before it. The candle before it (t−1) is the base.
- An up impulse that closes above the base's high makes a demand zone base.low..base.high; a down impulse
  that closes below the base's low makes a supply zone base.low..base.high.
- A demand zone is broken (dropped) by a close below its bottom, a supply zone by a close above its top.
- From candle t+1 on, the first candle whose low reaches a demand zone's top and that closes at or above
  its bottom is a touch (+1): price tested the zone and it held. Mirror for supply (−1). Each zone is
  touched once; at most `max_zones` per side are kept (oldest dropped).
- `demand_top`/`demand_bottom` describe the most recent live demand zone, `supply_*` likewise; NaN when
  none. Nothing is reported until `period` candles have passed.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from thebot.indicators.custom.base import NAN, CustomIndicator, CustomState, FloatState, Values
from thebot.indicators.metadata import ParameterInfo, ParameterKind, ParameterValue, Placement
from thebot.market.models import Candle


@dataclass(frozen=True, slots=True)
class Zone:
    demand: bool
    top: float
    bottom: float
    open_time: int
    touched: bool = False


class _ZoneState(FloatState):
    inputs = ("open_time", "open", "high", "low", "close")

    def __init__(self, period: int, factor: float, max_zones: int) -> None:
        self.period = period
        self.factor = factor
        self.max_zones = max_zones
        self.bodies: deque[float] = deque(maxlen=period)
        self.base: tuple[float, float] | None = None  # high and low of the previous candle
        self.demand: list[Zone] = []
        self.supply: list[Zone] = []
        # The values while no zone breaks, is touched or forms, and the levels a candle must cross for
        # any of that to happen: most candles cross none, and then only the bodies and the base change.
        self._quiet: Values = (NAN, NAN, NAN, NAN, 0.0)
        self._demand_break = -math.inf  # a close below the highest demand bottom breaks a zone
        self._demand_touch = -math.inf  # a low at or below the highest untouched demand top touches one
        self._supply_break = math.inf
        self._supply_touch = math.inf

    def _step(
        self, open_time: int, open_: float, high: float, low: float, close: float
    ) -> tuple[list[Zone], list[Zone], Values] | None:
        """The zone lists and values after this candle; None when it changes no zone and forms none."""
        body = abs(close - open_)
        base = self.base
        impulse = (
            base is not None
            and len(self.bodies) == self.period
            and body > 0
            and body >= self.factor * (sum(self.bodies) / self.period)
        )
        demand_moves = not (close >= self._demand_break and low > self._demand_touch)
        supply_moves = not (close <= self._supply_break and high < self._supply_touch)
        if not (impulse or demand_moves or supply_moves):
            return None
        # A side that does not move keeps its list object: committed lists are never changed in place.
        touch = 0
        demand = self.demand
        if demand_moves:
            demand = []
            for zone in self.demand:
                if close < zone.bottom:
                    continue  # broken
                if not zone.touched and low <= zone.top:
                    demand.append(Zone(True, zone.top, zone.bottom, zone.open_time, touched=True))
                    touch = touch or 1
                else:
                    demand.append(zone)
        supply = self.supply
        if supply_moves:
            supply = []
            for zone in self.supply:
                if close > zone.top:
                    continue
                if not zone.touched and high >= zone.bottom:
                    supply.append(Zone(False, zone.top, zone.bottom, zone.open_time, touched=True))
                    touch = touch or -1
                else:
                    supply.append(zone)
        if impulse:
            assert base is not None
            base_high, base_low = base
            if close > open_ and close > base_high:
                demand = [*demand, Zone(True, base_high, base_low, open_time)][-self.max_zones :]
            elif close < open_ and close < base_low:
                supply = [*supply, Zone(False, base_high, base_low, open_time)][-self.max_zones :]
        return demand, supply, (*_describe(demand), *_describe(supply), float(touch))

    def advance(self, open_time: int, open_: float, high: float, low: float, close: float) -> Values:
        stepped = self._step(open_time, open_, high, low, close)
        if stepped is None:
            values = self._quiet
        else:
            demand, supply, values = stepped
            self._quiet = (*values[:4], 0.0)
            if demand is not self.demand:
                self.demand = demand
                self._demand_break = max([zone.bottom for zone in demand], default=-math.inf)
                self._demand_touch = max([zone.top for zone in demand if not zone.touched], default=-math.inf)
            if supply is not self.supply:
                self.supply = supply
                self._supply_break = min([zone.top for zone in supply], default=math.inf)
                self._supply_touch = min(
                    [zone.bottom for zone in supply if not zone.touched], default=math.inf
                )
        self.bodies.append(abs(close - open_))
        self.base = (high, low)
        return values

    def update(self, candle: Candle) -> Values:
        return self.advance(candle.open_time, candle.open, candle.high, candle.low, candle.close)

    def peek(self, candle: Candle) -> Values:
        """Most revisions of the forming candle change no zone: answer from the committed state then."""
        stepped = self._step(candle.open_time, candle.open, candle.high, candle.low, candle.close)
        return self._quiet if stepped is None else stepped[2]


def _describe(zones: list[Zone]) -> Values:
    if not zones:
        return (NAN, NAN)
    return (zones[-1].top, zones[-1].bottom)


class SupplyDemandZones(CustomIndicator):
    name = "SUPPLY_DEMAND_ZONES"
    display_name = "Supply and demand zones"
    group = "Custom Price Action"
    inputs = ("open_time", "open", "high", "low", "close")
    parameters = (
        ParameterInfo("period", ParameterKind.INTEGER, 20, "candles in the mean body"),
        ParameterInfo("factor", ParameterKind.REAL, 2.0, "impulse body as a multiple of the mean body"),
        ParameterInfo("max_zones", ParameterKind.INTEGER, 10, "live zones kept per side"),
    )
    outputs = ("demand_top", "demand_bottom", "supply_top", "supply_bottom", "touch")
    placement = Placement.OVERLAY
    chart_outputs = ("demand_top", "demand_bottom", "supply_top", "supply_bottom")

    def check(self, params: dict[str, ParameterValue]) -> None:
        self.require(1 <= params["period"] <= 10_000, "period", "must be between 1 and 10000")
        self.require(params["factor"] > 0, "factor", "must be positive")
        self.require(1 <= params["max_zones"] <= 1000, "max_zones", "must be between 1 and 1000")

    def start(self, params: dict[str, ParameterValue]) -> CustomState:
        return _ZoneState(int(params["period"]), float(params["factor"]), int(params["max_zones"]))
