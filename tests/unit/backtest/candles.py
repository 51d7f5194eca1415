from __future__ import annotations

import numpy as np

from thebot.market.models import CandleSnapshot
from thebot.market.timeframe import Timeframe

T0 = 1_677_628_800_000
MINUTE = 60_000


def snapshot(
    rows: list[tuple[float, float, float, float]], timeframe: Timeframe = Timeframe.M1
) -> CandleSnapshot:
    """Candles from (open, high, low, close) rows, one `timeframe` apart from T0."""
    table = np.asarray(rows, dtype=np.float64).reshape(-1, 4)
    count = table.shape[0]
    volume = np.full(count, 10.0)
    return CandleSnapshot(
        symbol="BTCUSDT",
        timeframe=timeframe,
        version=0,
        open_time=T0 + np.arange(count, dtype=np.int64) * timeframe.milliseconds,
        open=table[:, 0].copy(),
        high=table[:, 1].copy(),
        low=table[:, 2].copy(),
        close=table[:, 3].copy(),
        volume=volume,
        quote_volume=volume * table[:, 3],
        trades=np.zeros(count, dtype=np.int64),
        taker_buy_volume=volume / 2,
        closed=np.ones(count, dtype=bool),
    )


def random_walk(count: int, seed: int = 3) -> CandleSnapshot:
    rng = np.random.default_rng(seed)
    close = 20_000 * np.exp(np.cumsum(rng.normal(0, 0.002, count)))
    opens = np.concatenate([[close[0]], close[:-1]])
    high = np.maximum(opens, close) * (1 + rng.random(count) * 0.001)
    low = np.minimum(opens, close) * (1 - rng.random(count) * 0.001)
    candles = snapshot(list(zip(opens, high, low, close, strict=True)))
    candles.volume[:] = rng.gamma(2.0, 5.0, count)
    return candles
