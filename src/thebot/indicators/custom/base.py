"""The small base class every custom indicator implements (one indicator per module, as in talipp).

A custom indicator is a state machine fed one closed candle at a time: `update` commits a closed candle,
`peek` answers for the forming candle without committing. The batch series is the same machine run over
the history (or a vectorised equivalent that a test proves equal), so live values never disagree with the
chart.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from itertools import chain
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from thebot.indicators.errors import IndicatorError
from thebot.indicators.metadata import IndicatorInfo, ParameterInfo, ParameterValue, Placement
from thebot.market.models import Candle, CandleSnapshot

FloatArray = npt.NDArray[np.float64]
Values = tuple[float, ...]
NAN = float("nan")


class CustomState(ABC):
    """The running state of one custom indicator on one stream."""

    @abstractmethod
    def update(self, candle: Candle) -> Values:
        """Commit one closed candle and return the values at it."""

    @abstractmethod
    def peek(self, candle: Candle) -> Values:
        """Values the forming `candle` would produce; changes nothing."""


class FloatState(CustomState):
    """A state machine over plain floats: `advance` takes the indicator's `inputs` in order.

    Building a `Candle` per bar cost more than the work of the gap and zone machines themselves over a
    year of minutes; a batch feeds the columns as floats instead, live feeds the candle's fields, and both
    run the same `advance`.
    """

    inputs: ClassVar[tuple[str, ...]]

    @abstractmethod
    def advance(self, *values: Any) -> Values:
        """Commit one closed candle given as its `inputs` and return the values at it."""

    def update(self, candle: Candle) -> Values:
        return self.advance(*(getattr(candle, name) for name in self.inputs))


class CustomIndicator(ABC):
    name: ClassVar[str]
    display_name: ClassVar[str]
    inputs: ClassVar[tuple[str, ...]]
    parameters: ClassVar[tuple[ParameterInfo, ...]] = ()
    outputs: ClassVar[tuple[str, ...]]
    placement: ClassVar[Placement]
    chart_outputs: ClassVar[tuple[str, ...]] = ()
    group: ClassVar[str] = "Custom"

    def info(self) -> IndicatorInfo:
        return IndicatorInfo(
            name=self.name,
            display_name=self.display_name,
            group=self.group,
            inputs=self.inputs,
            parameters=self.parameters,
            outputs=self.outputs,
            placement=self.placement,
            custom=True,
            chart_outputs=self.chart_outputs,
        )

    def check(self, params: dict[str, ParameterValue]) -> None:  # noqa: B027 - most have no ranges
        """Range checks beyond the type check; raise `IndicatorError` naming the parameter."""

    def require(self, condition: bool, parameter: str, reason: str) -> None:
        if not condition:
            raise IndicatorError(f"{self.name}: parameter '{parameter}' {reason}", self.name, parameter)

    @abstractmethod
    def start(self, params: dict[str, ParameterValue]) -> CustomState:
        """A fresh state before any candle."""

    def open(self, candles: CandleSnapshot, params: dict[str, ParameterValue]) -> CustomState:
        """A state that has consumed every candle of `candles` (all treated as closed)."""
        state = self.start(params)
        if isinstance(state, FloatState):
            advance = state.advance
            for row in zip(*(getattr(candles, name).tolist() for name in state.inputs), strict=True):
                advance(*row)
            return state
        for index in range(len(candles)):
            state.update(candles.candle(index))
        return state

    def batch(self, candles: CandleSnapshot, params: dict[str, ParameterValue]) -> dict[str, FloatArray]:
        """The series at every candle; the default runs the state machine."""
        state = self.start(params)
        if isinstance(state, FloatState):
            return self._batch_floats(state, candles)
        rows = np.full((len(candles), len(self.outputs)), np.nan, dtype=np.float64)
        for index, candle in enumerate(iterate_candles(candles)):
            rows[index] = state.update(candle)
        return {name: np.ascontiguousarray(rows[:, column]) for column, name in enumerate(self.outputs)}

    def _batch_floats(self, state: FloatState, candles: CandleSnapshot) -> dict[str, FloatArray]:
        count, width = len(candles), len(self.outputs)
        columns = [getattr(candles, name).tolist() for name in state.inputs]
        advance = state.advance
        flat = np.fromiter(
            chain.from_iterable(advance(*row) for row in zip(*columns, strict=True)),
            dtype=np.float64,
            count=count * width,
        )
        rows = flat.reshape(count, width)
        return {name: np.ascontiguousarray(rows[:, column]) for column, name in enumerate(self.outputs)}


def iterate_candles(candles: CandleSnapshot, start: int = 0, stop: int | None = None) -> Iterator[Candle]:
    """Candles `start`..`stop` of a snapshot, faster than `snapshot.candle(i)` in a loop (one tolist per
    column); all treated as closed."""
    part = slice(start, stop)
    columns = [
        candles.open_time[part].tolist(),
        candles.open[part].tolist(),
        candles.high[part].tolist(),
        candles.low[part].tolist(),
        candles.close[part].tolist(),
        candles.volume[part].tolist(),
        candles.quote_volume[part].tolist(),
        candles.trades[part].tolist(),
        candles.taker_buy_volume[part].tolist(),
    ]
    for open_time, open_, high, low, close, volume, quote_volume, trades, taker_buy in zip(
        *columns, strict=True
    ):
        yield Candle(
            open_time=open_time,
            open=open_,
            high=high,
            low=low,
            close=close,
            volume=volume,
            closed=True,
            quote_volume=quote_volume,
            trades=trades,
            taker_buy_volume=taker_buy,
        )
