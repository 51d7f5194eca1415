"""Indicator benchmark: factory overhead on 1,000,000 candles and the cost of one forming-candle update.

`python -m thebot.bench indicators [--candles N] [--updates N] [--repeat N]`

1. The default set (EMA 12 and 26, RSI 14, MACD, BBANDS 20/2, ATR 14, STOCH, session VWAP, five
   patterns) through `IndicatorFactory.compute` by name, against the same TA-Lib calls (and the VWAP
   function) made directly, in the same run on the same arrays; best of `repeat`. Target ratio ≤ 1.2.
2. One forming-candle update of one stream: peek every default-set stream handle and evaluate every
   enabled signal rule on the forming candle (rules peek what they read; patterns only when the volume
   confirms). Target ≤ 100 µs per stream. The closed-candle update (every handle committed, every rule
   evaluated) is reported too.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import talib as _talib_module

from thebot.indicators import IndicatorFactory
from thebot.indicators.custom.vwap import SessionVwap
from thebot.indicators.defaults import BENCHMARK_PATTERNS, DEFAULT_INDICATORS
from thebot.market.models import Candle, CandleSnapshot
from thebot.market.timeframe import Timeframe
from thebot.signals.engine import StreamEvaluator
from thebot.signals.rules import build_rules
from thebot.signals.settings import SignalSettings

logger = logging.getLogger(__name__)

talib: Any = _talib_module


def synthetic_candles(count: int, seed: int = 42) -> CandleSnapshot:
    rng = np.random.default_rng(seed)
    close = 20_000.0 * np.exp(np.cumsum(rng.normal(0, 0.001, count)))
    open_ = np.concatenate([[20_000.0], close[:-1]])
    high = np.maximum(open_, close) * (1 + np.abs(rng.normal(0, 0.0005, count)))
    low = np.minimum(open_, close) * (1 - np.abs(rng.normal(0, 0.0005, count)))
    volume = rng.gamma(2.0, 5.0, count)
    return CandleSnapshot(
        symbol="BTCUSDT",
        timeframe=Timeframe.M1,
        version=1,
        open_time=1_677_628_800_000 + 60_000 * np.arange(count, dtype=np.int64),
        open=open_,
        high=high,
        low=low,
        close=close,
        volume=volume,
        quote_volume=volume * close,
        trades=np.full(count, 10, dtype=np.int64),
        taker_buy_volume=volume * rng.uniform(0.2, 0.8, count),
        closed=np.ones(count, dtype=np.bool_),
    )


def direct_calls(candles: CandleSnapshot) -> None:
    """The default set written by hand against TA-Lib."""
    o, h, l, c = candles.open, candles.high, candles.low, candles.close  # noqa: E741
    talib.EMA(c, timeperiod=12)
    talib.EMA(c, timeperiod=26)
    talib.RSI(c, timeperiod=14)
    talib.MACD(c, fastperiod=12, slowperiod=26, signalperiod=9)
    talib.BBANDS(c, timeperiod=20, nbdevup=2.0, nbdevdn=2.0)
    talib.ATR(h, l, c, timeperiod=14)
    talib.STOCH(h, l, c)
    SessionVwap().batch(candles, {})
    for name in BENCHMARK_PATTERNS:
        getattr(talib, name)(o, h, l, c)


def factory_calls(factory: IndicatorFactory, candles: CandleSnapshot) -> None:
    for name, params in DEFAULT_INDICATORS:
        factory.compute(name, candles, params)


def best_of(repeat: int, action: Callable[[], None]) -> float:
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        timings.append(time.perf_counter() - started)
    return min(timings)


def forming_variants(candle: Candle, count: int, seed: int = 5) -> list[Candle]:
    """Revisions of one forming candle, as a live feed sends them."""
    rng = np.random.default_rng(seed)
    variants = []
    for step in range(count):
        close = candle.open * (1 + rng.normal(0, 0.001))
        variants.append(
            Candle(
                open_time=candle.open_time,
                open=candle.open,
                high=max(candle.open, close) * 1.0002,
                low=min(candle.open, close) * 0.9998,
                close=close,
                volume=1.0 + step * 0.01,
                closed=False,
                taker_buy_volume=0.5 + step * 0.005,
            )
        )
    return variants


def run(argv: list[str]) -> dict[str, object]:
    parser = argparse.ArgumentParser(prog="python -m thebot.bench indicators")
    parser.add_argument("--candles", type=int, default=1_000_000)
    parser.add_argument("--updates", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=7)
    arguments = parser.parse_args(argv)

    factory = IndicatorFactory()
    candles = synthetic_candles(arguments.candles)
    direct_calls(candles)  # warm caches and lazy imports on both sides
    factory_calls(factory, candles)
    # Interleaved rounds, best of each: on a shared machine a burst of load hits both sides alike.
    direct_seconds = factory_seconds = math.inf
    for _ in range(arguments.repeat):
        direct_seconds = min(direct_seconds, best_of(1, lambda: direct_calls(candles)))
        factory_seconds = min(factory_seconds, best_of(1, lambda: factory_calls(factory, candles)))

    history = candles.head(1_000)
    next_candle = candles.candle(1_000)
    # One stream handle per distinct indicator: the default set (kept live for the chart) and what the
    # rules read share handles where they coincide (EMA 12/26, RSI 14, MACD, BBANDS, five patterns).
    default_specs = [factory.spec(name, params) for name, params in DEFAULT_INDICATORS]
    evaluator = StreamEvaluator(factory, build_rules(factory, SignalSettings()), history, extra=default_specs)
    variants = forming_variants(next_candle, arguments.updates)
    samples = []
    cpu_started = time.thread_time_ns()
    for variant in variants:
        started = time.perf_counter_ns()
        evaluator.forming(variant)
        samples.append(time.perf_counter_ns() - started)
    # CPU time of this thread: what the update costs when the machine is shared and the wall clock
    # includes waiting for a core.
    cpu_per_update = (time.thread_time_ns() - cpu_started) / len(variants) / 1_000
    samples.sort()
    close_samples = []
    for index in range(1_000, 3_000):
        candle = candles.candle(index)
        started = time.perf_counter_ns()
        evaluator.close(candle)
        close_samples.append(time.perf_counter_ns() - started)
    close_samples.sort()

    ratio = factory_seconds / direct_seconds
    update_mean = statistics.fmean(samples) / 1_000
    return {
        "machine": f"{platform.machine()} {os.cpu_count()} cpus, python {platform.python_version()}",
        "candles": arguments.candles,
        "indicators": len(DEFAULT_INDICATORS),
        "direct_seconds": round(direct_seconds, 4),
        "factory_seconds": round(factory_seconds, 4),
        "overhead_ratio": round(ratio, 3),
        "overhead_target": 1.2,
        "overhead_met": ratio <= 1.2,
        "stream_handles": len(evaluator.specs),
        "forming_update_us_mean": round(update_mean, 1),
        "forming_update_us_p50": round(samples[len(samples) // 2] / 1_000, 1),
        "forming_update_us_p99": round(samples[int(len(samples) * 0.99)] / 1_000, 1),
        "forming_update_cpu_us_mean": round(cpu_per_update, 1),
        "forming_update_target_us": 100,
        "forming_update_met": update_mean <= 100,
        "closed_update_us_p50": round(close_samples[len(close_samples) // 2] / 1_000, 1),
        "closed_update_us_mean": round(statistics.fmean(close_samples) / 1_000, 1),
    }
