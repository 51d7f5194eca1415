"""Mean volume of the last `timeperiod` candles.

TA-Lib's moving averages read the close; volume confirmation of patterns needs the same on volume.
NaN until `timeperiod` candles exist.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from thebot.indicators.custom.base import NAN, CustomIndicator, CustomState, FloatArray, Values
from thebot.indicators.metadata import ParameterInfo, ParameterKind, ParameterValue, Placement
from thebot.market.models import Candle, CandleSnapshot


class _VolumeMeanState(CustomState):
    def __init__(self, period: int) -> None:
        self.period = period
        self.volumes: deque[float] = deque(maxlen=period)

    def update(self, candle: Candle) -> Values:
        self.volumes.append(candle.volume)
        return (sum(self.volumes) / self.period if len(self.volumes) == self.period else NAN,)

    def peek(self, candle: Candle) -> Values:
        if len(self.volumes) + 1 < self.period:
            return (NAN,)
        window = list(self.volumes)[-(self.period - 1) :] if self.period > 1 else []
        return ((sum(window) + candle.volume) / self.period,)


class VolumeMean(CustomIndicator):
    name = "VOLUME_MEAN"
    display_name = "Mean volume"
    group = "Custom Volume"
    inputs = ("volume",)
    parameters = (ParameterInfo("timeperiod", ParameterKind.INTEGER, 20, "candles in the mean"),)
    outputs = ("mean",)
    placement = Placement.PANEL

    def check(self, params: dict[str, ParameterValue]) -> None:
        self.require(1 <= params["timeperiod"] <= 100_000, "timeperiod", "must be between 1 and 100000")

    def start(self, params: dict[str, ParameterValue]) -> CustomState:
        return _VolumeMeanState(int(params["timeperiod"]))

    def open(self, candles: CandleSnapshot, params: dict[str, ParameterValue]) -> CustomState:
        state = _VolumeMeanState(int(params["timeperiod"]))
        state.volumes.extend(candles.volume[-state.period :].tolist())
        return state

    def batch(self, candles: CandleSnapshot, params: dict[str, ParameterValue]) -> dict[str, FloatArray]:
        period = int(params["timeperiod"])
        result = np.full(len(candles), np.nan, dtype=np.float64)
        if len(candles) >= period:
            windows = np.lib.stride_tricks.sliding_window_view(candles.volume, period)
            result[period - 1 :] = windows.sum(axis=1) / period
        return {"mean": result}
