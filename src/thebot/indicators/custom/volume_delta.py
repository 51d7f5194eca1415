"""Volume delta and cumulative volume delta estimated from klines.

A kline carries the taker-buy base volume V next to the total v, so the aggressive sell volume is v − V
and the delta is V − (v − V) = 2V − v. CVD is the running sum from the first candle supplied (the chart
window or the stream's history), which is why it is drawn in its own panel rather than read as a level.
"""

from __future__ import annotations

import numpy as np

from thebot.indicators.custom.base import CustomIndicator, CustomState, FloatArray, Values
from thebot.indicators.metadata import ParameterValue, Placement
from thebot.market.models import Candle, CandleSnapshot


class _VolumeDeltaState(CustomState):
    def __init__(self, cumulative: float = 0.0) -> None:
        self.cumulative = cumulative

    def update(self, candle: Candle) -> Values:
        delta = 2.0 * candle.taker_buy_volume - candle.volume
        self.cumulative += delta
        return (delta, self.cumulative)

    def peek(self, candle: Candle) -> Values:
        delta = 2.0 * candle.taker_buy_volume - candle.volume
        return (delta, self.cumulative + delta)


class VolumeDelta(CustomIndicator):
    name = "VOLUME_DELTA"
    display_name = "Volume delta / CVD"
    group = "Custom Volume"
    inputs = ("volume", "taker_buy_volume")
    outputs = ("delta", "cvd")
    placement = Placement.PANEL

    def start(self, params: dict[str, ParameterValue]) -> CustomState:
        return _VolumeDeltaState()

    def open(self, candles: CandleSnapshot, params: dict[str, ParameterValue]) -> CustomState:
        series = self.batch(candles, params)["cvd"]
        return _VolumeDeltaState(float(series[-1]) if len(series) else 0.0)

    def batch(self, candles: CandleSnapshot, params: dict[str, ParameterValue]) -> dict[str, FloatArray]:
        delta = 2.0 * candles.taker_buy_volume - candles.volume
        return {"delta": delta, "cvd": np.cumsum(delta)}
