"""Value objects of the market data layer: candles, kline events and buffer snapshots."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from thebot.market.timeframe import Timeframe

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

# A candle's numeric columns in Binance's order; the buffers add `closed`, the store its key columns.
KLINE_COLUMNS = (
    "open_time",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "quote_volume",
    "trades",
    "taker_buy_volume",
)


@dataclass(frozen=True, slots=True)
class Candle:
    """One kline. `closed` is True once the venue said so, or once a newer candle arrived."""

    open_time: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    closed: bool
    quote_volume: float = 0.0
    trades: int = 0
    taker_buy_volume: float = 0.0

    def values(self) -> tuple[int, float, float, float, float, float, bool, float, int, float]:
        """The fields in declaration order: what `DataStream.update_values` takes after the stream key."""
        return (
            self.open_time,
            self.open,
            self.high,
            self.low,
            self.close,
            self.volume,
            self.closed,
            self.quote_volume,
            self.trades,
            self.taker_buy_volume,
        )

    def as_dict(self) -> dict[str, int | float | bool]:
        """The JSON API's candle: open time (ms, UTC), OHLCV and the closed flag."""
        return {
            "open_time": self.open_time,
            "open": self.open,
            "high": self.high,
            "low": self.low,
            "close": self.close,
            "volume": self.volume,
            "closed": self.closed,
        }


@dataclass(frozen=True, slots=True)
class KlineEvent:
    """A normalised kline message: which stream, when the venue sent it, and the candle."""

    symbol: str
    timeframe: Timeframe
    event_time: int
    candle: Candle


@dataclass(frozen=True, slots=True)
class StreamKey:
    symbol: str
    timeframe: Timeframe

    def __str__(self) -> str:
        return f"{self.symbol}@{self.timeframe.value}"


@dataclass(frozen=True, slots=True, eq=False)
class CandleSnapshot:
    """An immutable copy of one stream's buffer, oldest first, safe to read from any thread.

    The arrays are copies owned by the snapshot: the buffer keeps moving, the snapshot does not.
    `closed[-1]` is False while the newest candle is still forming.
    """

    symbol: str
    timeframe: Timeframe
    version: int
    open_time: IntArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray
    quote_volume: FloatArray
    trades: IntArray
    taker_buy_volume: FloatArray
    closed: BoolArray

    def __len__(self) -> int:
        return int(self.open_time.shape[0])

    def candle(self, index: int) -> Candle:
        return Candle(
            open_time=int(self.open_time[index]),
            open=float(self.open[index]),
            high=float(self.high[index]),
            low=float(self.low[index]),
            close=float(self.close[index]),
            volume=float(self.volume[index]),
            closed=bool(self.closed[index]),
            quote_volume=float(self.quote_volume[index]),
            trades=int(self.trades[index]),
            taker_buy_volume=float(self.taker_buy_volume[index]),
        )

    def head(self, count: int) -> CandleSnapshot:
        """The oldest `count` candles (views, not copies)."""
        return self._rows(slice(0, max(0, count)))

    def tail(self, count: int) -> CandleSnapshot:
        """The newest `count` candles (all of them when fewer exist)."""
        return self._rows(slice(max(0, len(self) - count), None))

    def _rows(self, rows: slice) -> CandleSnapshot:
        return CandleSnapshot(
            symbol=self.symbol,
            timeframe=self.timeframe,
            version=self.version,
            open_time=self.open_time[rows],
            open=self.open[rows],
            high=self.high[rows],
            low=self.low[rows],
            close=self.close[rows],
            volume=self.volume[rows],
            quote_volume=self.quote_volume[rows],
            trades=self.trades[rows],
            taker_buy_volume=self.taker_buy_volume[rows],
            closed=self.closed[rows],
        )
