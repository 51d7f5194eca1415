"""Market profile (volume at price) over a rolling window of candles: POC, value area high and low.

Rule, so that a hand calculation can check it:
- Buckets are `step` wide, anchored at multiples of `step` (price 0). With `step` = 0 the step is the
  window's high−low range divided by `buckets`, anchored at the window's lowest low.
- Each candle's volume is spread evenly over the buckets its low..high range touches.
- POC is the middle of the bucket with the most volume (the lowest such bucket on a tie).
- The value area starts at the POC bucket and repeatedly adds the larger of the next bucket above and the
  next bucket below (above on a tie) until it holds `value_area` (70%) of the window's volume. VAH is the
  top edge of its highest bucket, VAL the bottom edge of its lowest.
Values are NaN until `window` candles exist.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from thebot.indicators.custom.base import NAN, CustomIndicator, CustomState, FloatArray, Values
from thebot.indicators.metadata import ParameterInfo, ParameterKind, ParameterValue, Placement
from thebot.market.models import Candle, CandleSnapshot

_EMPTY: Values = (NAN, NAN, NAN)
MAX_BUCKETS = 10_000


def profile(
    high: FloatArray, low: FloatArray, volume: FloatArray, *, step: float, buckets: int, value_area: float
) -> Values:
    """(poc, vah, val) of one window."""
    if step > 0:
        origin = math.floor(float(low.min()) / step) * step
        width = step
    else:
        origin = float(low.min())
        span = float(high.max()) - origin
        width = span / buckets if span > 0 else 1.0
    first = np.floor((low - origin) / width).astype(np.int64)
    last = np.floor((high - origin) / width).astype(np.int64)
    count = int(last.max()) + 1
    if step <= 0:
        # The window's top sits exactly on the last edge; keep it in the top bucket.
        count = buckets
        first = np.minimum(first, buckets - 1)
        last = np.minimum(last, buckets - 1)
    if count > MAX_BUCKETS:
        return _EMPTY
    share = volume / (last - first + 1)
    edges = np.zeros(count + 1, dtype=np.float64)
    np.add.at(edges, first, share)
    np.add.at(edges, last + 1, -share)
    histogram = np.cumsum(edges[:-1])
    total = float(volume.sum())
    if total <= 0:
        return _EMPTY
    poc = int(np.argmax(histogram))
    low_index = high_index = poc
    inside = float(histogram[poc])
    target = value_area * total
    while inside < target * (1 - 1e-12):
        above = float(histogram[high_index + 1]) if high_index + 1 < count else -1.0
        below = float(histogram[low_index - 1]) if low_index > 0 else -1.0
        if above < 0 and below < 0:
            break
        if above >= below:
            high_index += 1
            inside += above
        else:
            low_index -= 1
            inside += below
    return (origin + (poc + 0.5) * width, origin + (high_index + 1) * width, origin + low_index * width)


class _MarketProfileState(CustomState):
    def __init__(self, window: int, step: float, buckets: int, value_area: float) -> None:
        self.window = window
        self.step = step
        self.buckets = buckets
        self.value_area = value_area
        self.rows: deque[tuple[float, float, float]] = deque(maxlen=window)

    def _compute(self, rows: list[tuple[float, float, float]]) -> Values:
        if len(rows) < self.window:
            return _EMPTY
        table = np.asarray(rows, dtype=np.float64)
        return profile(
            table[:, 0],
            table[:, 1],
            table[:, 2],
            step=self.step,
            buckets=self.buckets,
            value_area=self.value_area,
        )

    def update(self, candle: Candle) -> Values:
        self.rows.append((candle.high, candle.low, candle.volume))
        return self._compute(list(self.rows))

    def peek(self, candle: Candle) -> Values:
        rows = list(self.rows)[1:] if len(self.rows) == self.window else list(self.rows)
        return self._compute([*rows, (candle.high, candle.low, candle.volume)])


class MarketProfile(CustomIndicator):
    name = "MARKET_PROFILE"
    display_name = "Market profile (POC, value area)"
    group = "Custom Volume"
    inputs = ("high", "low", "volume")
    parameters = (
        ParameterInfo("window", ParameterKind.INTEGER, 100, "candles in the profile"),
        ParameterInfo("step", ParameterKind.REAL, 0.0, "bucket height in price; 0 = range / buckets"),
        ParameterInfo("buckets", ParameterKind.INTEGER, 30, "buckets when step is 0"),
        ParameterInfo("value_area", ParameterKind.REAL, 0.7, "share of volume in the value area"),
    )
    outputs = ("poc", "vah", "val")
    placement = Placement.OVERLAY

    def check(self, params: dict[str, ParameterValue]) -> None:
        self.require(1 <= params["window"] <= 100_000, "window", "must be between 1 and 100000")
        self.require(params["step"] >= 0, "step", "must be 0 (automatic) or a positive price step")
        self.require(2 <= params["buckets"] <= MAX_BUCKETS, "buckets", f"must be between 2 and {MAX_BUCKETS}")
        self.require(0 < params["value_area"] <= 1, "value_area", "must be above 0 and at most 1")

    def start(self, params: dict[str, ParameterValue]) -> CustomState:
        return _MarketProfileState(
            int(params["window"]), float(params["step"]), int(params["buckets"]), float(params["value_area"])
        )

    def open(self, candles: CandleSnapshot, params: dict[str, ParameterValue]) -> CustomState:
        state = self.start(params)
        assert isinstance(state, _MarketProfileState)
        tail = candles.tail(state.window)
        state.rows.extend(zip(tail.high.tolist(), tail.low.tolist(), tail.volume.tolist(), strict=True))
        return state

    def batch(self, candles: CandleSnapshot, params: dict[str, ParameterValue]) -> dict[str, FloatArray]:
        window = int(params["window"])
        count = len(candles)
        result = np.full((count, 3), np.nan, dtype=np.float64)
        for end in range(window, count + 1):
            start = end - window
            result[end - 1] = profile(
                candles.high[start:end],
                candles.low[start:end],
                candles.volume[start:end],
                step=float(params["step"]),
                buckets=int(params["buckets"]),
                value_area=float(params["value_area"]),
            )
        return {"poc": result[:, 0].copy(), "vah": result[:, 1].copy(), "val": result[:, 2].copy()}
