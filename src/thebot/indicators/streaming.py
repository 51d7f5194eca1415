"""Live indicator values: O(1) work per forming-candle update, equal to the batch series.

TA-Lib 0.8's stream handles are opened on the closed history, `peek` answers for the forming candle
without committing and `update` commits a closed one; their values are bit-identical to the batch
functions. Until a handle can be opened (not enough history) the stream keeps the candles and retries.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from operator import attrgetter
from typing import Any

import numpy as np
import talib as _talib_module
from talib import stream as _stream_module

from thebot.indicators.custom.base import CustomState
from thebot.indicators.metadata import IndicatorSpec
from thebot.market.models import Candle, CandleSnapshot

logger = logging.getLogger(__name__)

talib: Any = _talib_module
talib_stream: Any = _stream_module

Values = tuple[float, ...]


class IndicatorStream(ABC):
    """One indicator on one stream of candles."""

    def __init__(self, spec: IndicatorSpec, outputs: tuple[str, ...]) -> None:
        self.spec = spec
        self.outputs = outputs
        self.value: Values = tuple(float("nan") for _ in outputs)

    @abstractmethod
    def peek(self, candle: Candle) -> Values:
        """Values at the forming `candle`; commits nothing, so call it on every revision."""

    @abstractmethod
    def update(self, candle: Candle) -> Values:
        """Commit the closed `candle` (the one after the last committed) and return its values."""


def _as_values(result: Any) -> Values:
    if isinstance(result, tuple):
        return tuple(float(item) for item in result)
    return (float(result),)


class TalibStream(IndicatorStream):
    def __init__(
        self, spec: IndicatorSpec, outputs: tuple[str, ...], inputs: tuple[str, ...], candles: CandleSnapshot
    ) -> None:
        super().__init__(spec, outputs)
        self._inputs = inputs
        self._factory: Callable[..., Any] = getattr(talib_stream, spec.name)
        self._parameters = spec.parameters
        self._arguments: Callable[[Candle], Any] = attrgetter(*inputs)
        self._single_input = len(inputs) == 1
        self._single_output = len(outputs) == 1
        self._handle: Any = None
        self._pending: list[list[float]] = [
            getattr(candles, name).astype(np.float64).tolist() for name in inputs
        ]
        self._try_open()

    def _try_open(self, extra: Candle | None = None) -> Any:
        columns = self._pending
        if extra is not None:
            row = self._row(extra)
            columns = [[*column, value] for column, value in zip(columns, row, strict=True)]
        if not columns[0]:
            return None
        arrays = [np.asarray(column, dtype=np.float64) for column in columns]
        try:
            handle = self._factory(*arrays, **self._parameters)
        except talib.InsufficientHistory:
            return None
        if extra is None:
            self._handle = handle
            self._pending = []
            self.value = _as_values(handle.value)
        return handle

    def _row(self, candle: Candle) -> tuple[float, ...]:
        arguments = self._arguments(candle)
        return (float(arguments),) if self._single_input else tuple(float(item) for item in arguments)

    def peek(self, candle: Candle) -> Values:
        handle = self._handle
        if handle is not None:
            # The hot path of every forming update: no generic conversion for the common shapes.
            if self._single_input:
                result = handle.peek(self._arguments(candle))
            else:
                result = handle.peek(*self._arguments(candle))
            if self._single_output:
                return (float(result),)
            return tuple(map(float, result))
        opened = self._try_open(candle)
        return self.value if opened is None else _as_values(opened.value)

    def update(self, candle: Candle) -> Values:
        if self._handle is not None:
            if self._single_input:
                self.value = _as_values(self._handle.update(self._arguments(candle)))
            else:
                self.value = _as_values(self._handle.update(*self._arguments(candle)))
            return self.value
        for column, value in zip(self._pending, self._row(candle), strict=True):
            column.append(value)
        self._try_open()
        return self.value


class CustomStream(IndicatorStream):
    def __init__(
        self, spec: IndicatorSpec, outputs: tuple[str, ...], state: CustomState, value: Values
    ) -> None:
        super().__init__(spec, outputs)
        self._state = state
        self.value = value

    def peek(self, candle: Candle) -> Values:
        return self._state.peek(candle)

    def update(self, candle: Candle) -> Values:
        self.value = self._state.update(candle)
        return self.value
