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
from dataclasses import dataclass, replace

from thebot.indicators.custom.base import NAN, CustomIndicator, CustomState, Values
from thebot.indicators.metadata import ParameterInfo, ParameterKind, ParameterValue, Placement
from thebot.market.models import Candle


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
        return demand, supply, (*_describe(demand), *_describe(supply), float(touch))

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
