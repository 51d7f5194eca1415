"""Session VWAP: the volume-weighted typical price since 00:00 UTC of the candle's day.

Resets at the UTC day boundary because that is where crypto desks anchor the session; typical price is
(high + low + close) / 3. Undefined (NaN) until the session has traded any volume.
"""

from __future__ import annotations

import itertools

import numpy as np

from thebot.indicators.custom.base import NAN, CustomIndicator, CustomState, FloatArray, Values
from thebot.indicators.metadata import ParameterValue, Placement
from thebot.market.models import Candle, CandleSnapshot

DAY_MS = 86_400_000


class _SessionVwapState(CustomState):
    def __init__(self) -> None:
        self.day = -1
        self.price_volume = 0.0
        self.volume = 0.0

    def _sums(self, candle: Candle) -> tuple[int, float, float]:
        day = candle.open_time // DAY_MS
        typical = (candle.high + candle.low + candle.close) / 3.0
        if day != self.day:
            return day, typical * candle.volume, candle.volume
        return day, self.price_volume + typical * candle.volume, self.volume + candle.volume

    def update(self, candle: Candle) -> Values:
        self.day, self.price_volume, self.volume = self._sums(candle)
        return (self.price_volume / self.volume if self.volume > 0 else NAN,)

    def peek(self, candle: Candle) -> Values:
        _, price_volume, volume = self._sums(candle)
        return (price_volume / volume if volume > 0 else NAN,)


class SessionVwap(CustomIndicator):
    name = "SESSION_VWAP"
    display_name = "Session VWAP (UTC day)"
    group = "Custom Volume"
    inputs = ("open_time", "high", "low", "close", "volume")
    outputs = ("vwap",)
    placement = Placement.OVERLAY

    def start(self, params: dict[str, ParameterValue]) -> CustomState:
        return _SessionVwapState()

    def open(self, candles: CandleSnapshot, params: dict[str, ParameterValue]) -> CustomState:
        state = _SessionVwapState()
        count = len(candles)
        if count == 0:
            return state
        day = int(candles.open_time[-1]) // DAY_MS
        first = int(np.searchsorted(candles.open_time, day * DAY_MS, side="left"))
        # Sequential sums, as `update` would make them, so the live value equals the batch value exactly.
        typical = (candles.high[first:] + candles.low[first:] + candles.close[first:]) / 3.0
        price_volume = np.cumsum(typical * candles.volume[first:])
        volume = np.cumsum(candles.volume[first:])
        state.day = day
        state.price_volume = float(price_volume[-1])
        state.volume = float(volume[-1])
        return state

    def batch(self, candles: CandleSnapshot, params: dict[str, ParameterValue]) -> dict[str, FloatArray]:
        day = candles.open_time // DAY_MS
        typical = (candles.high + candles.low + candles.close) / 3.0
        weighted = typical * candles.volume
        result = np.full(len(candles), np.nan, dtype=np.float64)
        boundaries = [0, *(np.flatnonzero(np.diff(day)) + 1).tolist(), len(candles)]
        for start, end in itertools.pairwise(boundaries):
            volume = np.cumsum(candles.volume[start:end])
            price_volume = np.cumsum(weighted[start:end])
            with np.errstate(divide="ignore", invalid="ignore"):
                result[start:end] = np.where(volume > 0, price_volume / volume, np.nan)
        return {"vwap": result}
