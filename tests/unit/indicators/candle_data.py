"""Candles for analytics tests: the real March 2023 BTCUSDT minutes, and seeded random walks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from thebot.market.models import Candle, CandleSnapshot
from thebot.market.timeframe import Timeframe

DATA_DIR = Path(__file__).resolve().parents[3] / ".." / "shared" / "data"
REAL_CSV = DATA_DIR / "BTCUSDT-1m-2023-03.csv"


def snapshot_from_columns(
    open_time: np.ndarray,
    open_: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    volume: np.ndarray,
    taker_buy_volume: np.ndarray | None = None,
    symbol: str = "BTCUSDT",
    timeframe: Timeframe = Timeframe.M1,
) -> CandleSnapshot:
    count = len(open_time)
    return CandleSnapshot(
        symbol=symbol,
        timeframe=timeframe,
        version=1,
        open_time=np.asarray(open_time, dtype=np.int64),
        open=np.asarray(open_, dtype=np.float64),
        high=np.asarray(high, dtype=np.float64),
        low=np.asarray(low, dtype=np.float64),
        close=np.asarray(close, dtype=np.float64),
        volume=np.asarray(volume, dtype=np.float64),
        quote_volume=np.asarray(volume, dtype=np.float64) * np.asarray(close, dtype=np.float64),
        trades=np.full(count, 10, dtype=np.int64),
        taker_buy_volume=(
            np.asarray(taker_buy_volume, dtype=np.float64)
            if taker_buy_volume is not None
            else np.asarray(volume, dtype=np.float64) * 0.5
        ),
        closed=np.ones(count, dtype=np.bool_),
    )


def real_candles(limit: int | None = None) -> CandleSnapshot:
    if not REAL_CSV.exists():
        pytest.skip(f"real kline data not found at {REAL_CSV}; the shared data folder is not mounted")
    import pandas as pd

    frame = pd.read_csv(REAL_CSV)
    if limit is not None:
        frame = frame.iloc[:limit]
    open_time = pd.to_datetime(frame["open_time"], utc=True).astype("int64").to_numpy() // 1_000_000
    rng = np.random.default_rng(11)
    volume = frame["volume"].to_numpy(dtype=np.float64)
    return snapshot_from_columns(
        open_time,
        frame["open"].to_numpy(),
        frame["high"].to_numpy(),
        frame["low"].to_numpy(),
        frame["close"].to_numpy(),
        volume,
        volume * rng.uniform(0.2, 0.8, len(volume)),
    )


def generated_candles(
    count: int, seed: int = 1, start_ms: int = 1_677_628_800_000 + 22 * 3_600_000, step_ms: int = 60_000
) -> CandleSnapshot:
    """A random walk with plausible candles; starts at 22:00 UTC so a session boundary falls inside."""
    rng = np.random.default_rng(seed)
    close = 20_000.0 * np.exp(np.cumsum(rng.normal(0, 0.002, count)))
    open_ = np.concatenate([[20_000.0], close[:-1]]) * (1 + rng.normal(0, 0.0003, count))
    high = np.maximum(open_, close) * (1 + np.abs(rng.normal(0, 0.001, count)))
    low = np.minimum(open_, close) * (1 - np.abs(rng.normal(0, 0.001, count)))
    volume = rng.gamma(2.0, 5.0, count)
    taker = volume * rng.uniform(0.1, 0.9, count)
    open_time = start_ms + step_ms * np.arange(count, dtype=np.int64)
    return snapshot_from_columns(open_time, open_, high, low, close, volume, taker)


def candles_from_rows(rows: list[tuple[float, float, float, float]], volume: float = 10.0) -> CandleSnapshot:
    """Hand-written (open, high, low, close) rows, one minute apart from 2023-03-01 00:00 UTC."""
    table = np.asarray(rows, dtype=np.float64)
    count = len(rows)
    return snapshot_from_columns(
        1_677_628_800_000 + 60_000 * np.arange(count, dtype=np.int64),
        table[:, 0],
        table[:, 1],
        table[:, 2],
        table[:, 3],
        np.full(count, volume),
    )


def head(candles: CandleSnapshot, count: int) -> CandleSnapshot:
    return candles.head(count)


def with_forming(candles: CandleSnapshot, count: int, forming: Candle) -> CandleSnapshot:
    """The first `count` candles plus `forming` as the newest, as the stream would hold them."""
    base = head(candles, count)
    return CandleSnapshot(
        symbol=base.symbol,
        timeframe=base.timeframe,
        version=base.version,
        open_time=np.append(base.open_time, forming.open_time),
        open=np.append(base.open, forming.open),
        high=np.append(base.high, forming.high),
        low=np.append(base.low, forming.low),
        close=np.append(base.close, forming.close),
        volume=np.append(base.volume, forming.volume),
        quote_volume=np.append(base.quote_volume, forming.quote_volume),
        trades=np.append(base.trades, forming.trades),
        taker_buy_volume=np.append(base.taker_buy_volume, forming.taker_buy_volume),
        closed=np.append(base.closed, False),
    )


def partial(candle: Candle, fraction: float) -> Candle:
    """The same candle caught `fraction` of the way through: close moved part way, less volume."""
    close = candle.open + (candle.close - candle.open) * fraction
    return Candle(
        open_time=candle.open_time,
        open=candle.open,
        high=max(candle.open, close, candle.open + (candle.high - candle.open) * fraction),
        low=min(candle.open, close, candle.open + (candle.low - candle.open) * fraction),
        close=close,
        volume=candle.volume * fraction,
        closed=False,
        quote_volume=candle.quote_volume * fraction,
        trades=candle.trades,
        taker_buy_volume=candle.taker_buy_volume * fraction,
    )
