"""Stored closed candles of one source as a `CandleSnapshot`, aggregated from 1m when the timeframe itself
was never stored (an imported 1m month still backtests on 1h).

Aggregation keeps whole buckets only: a bucket missing any of its 1m candles is dropped rather than
shown with a made-up range, so every aggregated candle is the one the exchange would have reported.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from thebot.backtest.models import BacktestInputError
from thebot.market.models import CandleSnapshot
from thebot.market.store import Columns, KlineStore
from thebot.market.timeframe import Timeframe


def snapshot_of(symbol: str, timeframe: Timeframe, columns: Columns) -> CandleSnapshot:
    count = int(columns["open_time"].shape[0])
    return CandleSnapshot(
        symbol=symbol,
        timeframe=timeframe,
        version=0,
        open_time=np.ascontiguousarray(columns["open_time"], dtype=np.int64),
        open=np.ascontiguousarray(columns["open"], dtype=np.float64),
        high=np.ascontiguousarray(columns["high"], dtype=np.float64),
        low=np.ascontiguousarray(columns["low"], dtype=np.float64),
        close=np.ascontiguousarray(columns["close"], dtype=np.float64),
        volume=np.ascontiguousarray(columns["volume"], dtype=np.float64),
        quote_volume=np.ascontiguousarray(columns["quote_volume"], dtype=np.float64),
        trades=np.ascontiguousarray(columns["trades"], dtype=np.int64),
        taker_buy_volume=np.ascontiguousarray(columns["taker_buy_volume"], dtype=np.float64),
        closed=np.ones(count, dtype=bool),
    )


def aggregate(columns: Columns, source: Timeframe, target: Timeframe) -> Columns:
    """Whole `target` buckets of contiguous `source` candles (open first, close last, sums, extremes)."""
    step = target.milliseconds
    per_bucket = step // source.milliseconds
    open_times = columns["open_time"]
    if open_times.size == 0:
        return {name: values[:0] for name, values in columns.items()}
    buckets = open_times - open_times % step
    starts = np.flatnonzero(np.concatenate([[True], buckets[1:] != buckets[:-1]]))
    counts = np.diff(np.concatenate([starts, [open_times.size]]))
    whole = counts == per_bucket
    first = starts[whole]
    last = first + per_bucket - 1
    result: dict[str, Any] = {
        "open_time": buckets[first],
        "open": columns["open"][first],
        "close": columns["close"][last],
        "high": np.maximum.reduceat(columns["high"], starts)[whole],
        "low": np.minimum.reduceat(columns["low"], starts)[whole],
    }
    for name in ("volume", "quote_volume", "trades", "taker_buy_volume"):
        result[name] = np.add.reduceat(columns[name], starts)[whole]
    return result


def load_candles(
    store: KlineStore,
    source: str,
    symbol: str,
    timeframe: Timeframe,
    *,
    start: int | None,
    end: int | None,
    limit: int,
) -> CandleSnapshot:
    """Raises `BacktestInputError` naming what is missing: the symbol, the timeframe or the range."""
    streams = [row for row in store.inventory() if row["source"] == source and row["symbol"] == symbol]
    if not streams:
        sources = sorted({row["source"] for row in store.inventory() if row["symbol"] == symbol})
        elsewhere = f" (stored from {', '.join(sources)})" if sources else ""
        raise BacktestInputError(
            "symbol",
            f"no stored candles of {symbol} from {source}{elsewhere}; import or fetch its history first "
            "(python -m thebot.history)",
        )
    stored = {row["timeframe"] for row in streams}
    base = timeframe if timeframe.value in stored else None
    if base is None:
        finer = [t for t in Timeframe if t.value in stored and timeframe.milliseconds % t.milliseconds == 0]
        finer = [t for t in finer if t.milliseconds < timeframe.milliseconds and t is not Timeframe.S1]
        if not finer:
            raise BacktestInputError(
                "timeframe",
                f"{symbol} has no {timeframe.value} candles from {source}, and none finer to build them from "
                f"(stored: {', '.join(sorted(stored))})",
            )
        base = max(finer, key=lambda t: t.milliseconds)
    # Whole target candles: from the one holding `start` to the last base candle of the one holding `end`.
    read_start = None if start is None else timeframe.open_time_of(start)
    read_end = (
        None if end is None else timeframe.open_time_of(end) + timeframe.milliseconds - base.milliseconds
    )
    per_candle = timeframe.milliseconds // base.milliseconds
    columns = store.read(
        symbol,
        base,
        start=read_start,
        end=read_end,
        source=source,
        limit=limit * per_candle + 1,
        newest=False,
    )
    if columns["open_time"].shape[0] > limit * per_candle:
        raise BacktestInputError(
            "end",
            f"the range holds more than {limit:,} {timeframe.value} candles (backtest.max_candles); "
            "shorten it",
        )
    if base is not timeframe:
        columns = aggregate(columns, base, timeframe)
    if columns["open_time"].shape[0] < 3:
        raise BacktestInputError(
            "start",
            f"the range holds {columns['open_time'].shape[0]} {timeframe.value} candle(s) of {symbol}; "
            "choose a range with stored candles",
        )
    return snapshot_of(symbol, timeframe, columns)
