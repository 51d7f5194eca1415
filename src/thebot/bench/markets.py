"""Markets (watchlist) benchmark: one refresh of the Markets page's rows for 100 symbols.

`python -m thebot.bench markets [--symbols N] [--candles N] [--signals-per-candle X] [--repeat N]`

Every symbol streams six timeframes (1m 5m 15m 1h 4h 1d) with `candles` candles each and 0.4 signals per
candle (what the simulated market produced on the default rules: 419 signals over 982 1m candles). One
refresh is `market_rows` plus encoding the rows as JSON (what the callback sends). The baseline, measured
in the same run, is the least any watchlist must read per symbol: its ticker and the sparkline's closes;
the difference is the grade and the signal count. `server_core_share_per_tab` is the refresh's CPU time
divided by 2 s: what each Markets tab cost when it polled every 2 s. The rows are now pushed, built at most
once a second for all open Markets tabs together (`python -m thebot.bench tabs --page markets`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable

import numpy as np

from thebot.analysis.markets import SPARKLINE_POINTS, market_rows, sparkline_timeframe
from thebot.market.datastream import DataStream
from thebot.market.models import Candle
from thebot.market.protocol import TickerEvent
from thebot.market.timeframe import Timeframe
from thebot.signals.aggregator import SignalAggregator
from thebot.signals.models import Side, Signal
from thebot.signals.settings import SignalSettings

TIMEFRAMES = (Timeframe.M1, Timeframe.M5, Timeframe.M15, Timeframe.H1, Timeframe.H4, Timeframe.D1)
REFRESH_SECONDS = 2.0
RULES = ("rsi", "macd", "ema_cross", "bollinger", "stochastic", "fair_value_gap", "zone")


class BenchMarket:
    """The two reads the rows need from MarketData: the buffers and the latest 24 h tickers."""

    def __init__(self, datastream: DataStream, tickers: dict[str, TickerEvent]) -> None:
        self.datastream = datastream
        self._tickers = tickers

    def symbols(self) -> list[str]:
        return list(self._tickers)

    def ticker(self, symbol: str) -> TickerEvent | None:
        return self._tickers.get(symbol)


class BenchAnalytics:
    """AnalyticsService's page reads over a filled aggregator (the service itself would replay rules)."""

    def __init__(self, aggregator: SignalAggregator) -> None:
        self.aggregator = aggregator

    def confluence(self, symbol: str) -> dict[str, object]:
        return self.aggregator.confluence(symbol).as_dict()

    def signal_count(self, symbol: str, since: int) -> int:
        return self.aggregator.count_since(symbol, since)


def build(symbols: int, candles: int, per_candle: float, now: int) -> tuple[BenchMarket, BenchAnalytics]:
    rng = np.random.default_rng(7)
    names = [f"SYM{index:03d}USDT" for index in range(symbols)]
    datastream = DataStream(names, TIMEFRAMES, capacity=candles)
    aggregator = SignalAggregator(SignalSettings(cooldown_bars=0), TIMEFRAMES, capacity=100_000)
    tickers = {}
    for name in names:
        for timeframe in TIMEFRAMES:
            step = timeframe.milliseconds
            last = timeframe.open_time_of(now)
            times = last - step * np.arange(candles - 1, -1, -1, dtype=np.int64)
            close = 100.0 * np.exp(np.cumsum(rng.normal(0, 0.002, candles)))
            rows = [
                Candle(int(t), float(c), float(c) * 1.001, float(c) * 0.999, float(c), 10.0, True)
                for t, c in zip(times.tolist(), close.tolist(), strict=True)
            ]
            datastream.merge(name, timeframe, rows)
            datastream.update(
                name,
                timeframe,
                Candle(int(last), rows[-1].close, rows[-1].close, rows[-1].close, rows[-1].close, 1.0, False),
            )
            count = int(candles * per_candle)
            picked = np.sort(rng.choice(candles, size=count, replace=False))
            signals = [
                Signal(
                    int(times[i]),
                    name,
                    timeframe,
                    Side.BUY if i % 2 else Side.SELL,
                    RULES[i % len(RULES)],
                    0.6,
                    float(close[i]),
                    "bench",
                )
                for i in picked.tolist()
            ]
            aggregator.load_history(name, timeframe, signals, int(times[-1]))
        tickers[name] = TickerEvent(name, now, 101.0, 100.0, 103.0, 98.0, 1_000.0, 101_000.0, 1.0)
    return BenchMarket(datastream, tickers), BenchAnalytics(aggregator)


def timed(function: Callable[[], object], repeat: int) -> tuple[list[float], list[float]]:
    """Wall and thread-CPU milliseconds of each call."""
    wall: list[float] = []
    cpu: list[float] = []
    for _ in range(repeat):
        started, cpu_started = time.perf_counter(), time.thread_time()
        function()
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.thread_time() - cpu_started) * 1000)
    return sorted(wall), sorted(cpu)


def run(argv: list[str]) -> dict[str, object]:
    parser = argparse.ArgumentParser(prog="python -m thebot.bench markets")
    parser.add_argument("--symbols", type=int, default=100)
    parser.add_argument("--candles", type=int, default=1_000)
    parser.add_argument("--signals-per-candle", type=float, default=0.4)
    parser.add_argument("--repeat", type=int, default=30)
    arguments = parser.parse_args(argv)

    now = 1_700_000_000_000
    market, analytics = build(arguments.symbols, arguments.candles, arguments.signals_per_candle, now)
    spark = sparkline_timeframe(TIMEFRAMES)
    payload_bytes = 0

    def refresh() -> None:
        nonlocal payload_bytes
        payload_bytes = len(json.dumps([row.as_dict() for row in market_rows(market, analytics)]))

    def baseline() -> None:
        rows = []
        for symbol in market.symbols():
            ticker = market.ticker(symbol)
            closes = market.datastream.snapshot(symbol, spark, limit=SPARKLINE_POINTS).close.tolist()
            rows.append(
                {"symbol": symbol, "price": ticker.last_price if ticker else None, "sparkline": closes}
            )
        json.dumps(rows)

    refresh()
    baseline()
    # Interleaved, so a burst of load on a shared machine hits both alike.
    refresh_wall: list[float] = []
    refresh_cpu: list[float] = []
    base_wall: list[float] = []
    for _ in range(arguments.repeat):
        wall, cpu = timed(refresh, 1)
        refresh_wall += wall
        refresh_cpu += cpu
        base_wall += timed(baseline, 1)[0]
    refresh_wall.sort()
    refresh_cpu.sort()
    base_wall.sort()

    def p(values: list[float], share: float) -> float:
        return round(values[min(len(values) - 1, int(len(values) * share))], 2)

    cpu_share = p(refresh_cpu, 0.5) / (REFRESH_SECONDS * 1000)
    return {
        "machine": f"{platform.machine()} {os.cpu_count()} cpus, python {platform.python_version()}",
        "symbols": arguments.symbols,
        "streams": arguments.symbols * len(TIMEFRAMES),
        "signals": arguments.symbols
        * len(TIMEFRAMES)
        * int(arguments.candles * arguments.signals_per_candle),
        "refresh_ms_p50": p(refresh_wall, 0.5),
        "refresh_ms_p95": p(refresh_wall, 0.95),
        "refresh_cpu_ms_p50": p(refresh_cpu, 0.5),
        "baseline_ms_p50": p(base_wall, 0.5),
        "ratio_to_baseline": round(p(refresh_wall, 0.5) / max(p(base_wall, 0.5), 1e-6), 2),
        "payload_bytes": payload_bytes,
        "refresh_interval_s": REFRESH_SECONDS,
        "server_core_share_per_tab": round(cpu_share, 4),
    }
