"""Chart benchmark: the server's work for a chart of 5,000 candles with 6 indicators.

`python -m thebot.bench chart [--candles N] [--repeat N] [--signals-per-candle X]`

What is timed is what the page costs the server, through the functions the page's callback and the push
hub call, on a real DataStream and AnalyticsService (indicators computed by TA-Lib through the service's
cache, keyed by stream version):
- full figure: `dash_modules.chart.full_chart` (candles, EMA 20, EMA 50, BBANDS, RSI, MACD, ATR, the
  filtered signal markers) and its JSON encoding the way Dash encodes a callback's answer. Before each
  sample the forming candle moves, so the indicators are computed again (no cache hit: a full figure is
  asked for after a change of stream, picks or filter, or a resync).
- forming-candle update: `dash_modules.chart.chart_push` from the state of the previous update (what the
  hub does each round) and the SSE bytes; before each sample the forming candle moves.
The baselines, measured in the same run, are the bare candlestick figure (no indicators, no markers)
encoded the same way, and reading the newest row and encoding it. Signals: 0.4 per candle (what the
simulated market produced on the default rules), spread over the default rules' strengths.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import duckdb
import numpy as np
from plotly.io.json import to_json_plotly

from thebot.config import Settings
from thebot.market.clock import VenueClock
from thebot.market.datastream import DataStream
from thebot.market.models import Candle
from thebot.market.protocol import TickerEvent
from thebot.market.timeframe import Timeframe
from thebot.signals.models import Side, Signal
from thebot.signals.service import AnalyticsService

SYMBOL = "BTCUSDT"
PICKS = ["EMA?timeperiod=20", "EMA?timeperiod=50", "BBANDS", "RSI", "MACD", "ATR"]
RULES = ("rsi", "macd", "ema_cross", "bollinger", "stochastic", "fair_value_gap", "zone")
STRENGTHS = (0.5, 0.55, 0.6, 0.6, 0.6, 0.65, 0.75, 0.9)
NOW = 1_700_000_000_000


class BenchMarket:
    """What the chart reads from MarketData: the buffers, the 24 h ticker, the socket's health and the
    venue clock's lag estimate."""

    def __init__(self, datastream: DataStream) -> None:
        self.datastream = datastream
        self.clock = VenueClock()
        self.clock.add_sample(NOW, 0.0, 0.0)
        self.websocket = SimpleNamespace(connected=True)
        self._ticker = TickerEvent(SYMBOL, NOW, 101.0, 100.0, 103.0, 98.0, 1_000.0, 101_000.0, 1.0)

    def symbols(self) -> list[str]:
        return self.datastream.symbols()

    def ticker(self, symbol: str) -> TickerEvent | None:
        return self._ticker if symbol == SYMBOL else None

    def event_lag_ms(self, symbol: str, timeframe: Timeframe) -> int | None:
        return self.clock.lag_ms(NOW - 25, time.monotonic())


def build(candles: int, per_candle: float) -> tuple[Any, DataStream, AnalyticsService]:
    rng = np.random.default_rng(11)
    settings = Settings()
    settings = dataclasses.replace(settings, ui=dataclasses.replace(settings.ui, chart_candles=candles))
    datastream = DataStream([SYMBOL], [Timeframe.M1], capacity=candles)
    step = Timeframe.M1.milliseconds
    last = Timeframe.M1.open_time_of(NOW)
    times = last - step * np.arange(candles - 1, -1, -1, dtype=np.int64)
    close = 30_000.0 * np.exp(np.cumsum(rng.normal(0, 0.001, candles)))
    open_ = np.concatenate(([close[0]], close[:-1]))
    spread = np.abs(rng.normal(0, 0.0008, candles)) * close
    rows = [
        Candle(int(t), float(o), float(max(o, c) + s), float(min(o, c) - s), float(c), float(v), True)
        for t, o, c, s, v in zip(
            times.tolist(),
            open_.tolist(),
            close.tolist(),
            spread.tolist(),
            rng.uniform(1, 50, candles).tolist(),
            strict=True,
        )
    ]
    datastream.merge(SYMBOL, Timeframe.M1, rows[:-1])
    datastream.update(SYMBOL, Timeframe.M1, dataclasses.replace(rows[-1], closed=False))
    analytics = AnalyticsService(settings, datastream, duckdb.connect(":memory:"))  # not started: no replay
    picked = np.sort(rng.choice(candles - 1, size=int(candles * per_candle), replace=False))
    signals = [
        Signal(
            int(times[i]),
            SYMBOL,
            Timeframe.M1,
            Side.BUY if i % 2 else Side.SELL,
            RULES[i % len(RULES)],
            STRENGTHS[i % len(STRENGTHS)],
            float(close[i]),
            "bench",
        )
        for i in picked.tolist()
    ]
    analytics.aggregator.load_history(SYMBOL, Timeframe.M1, signals, int(times[-2]))
    services = SimpleNamespace(settings=settings, market=BenchMarket(datastream), analytics=analytics)
    return services, datastream, analytics


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * share))], 2)


def timed(function: Callable[[], int], cpu: list[float] | None = None) -> tuple[float, int]:
    """Wall milliseconds and the answer's size; the thread's CPU milliseconds go to `cpu` (on a shared
    machine the wall time also counts waiting for a core)."""
    started, cpu_started = time.perf_counter(), time.thread_time()
    size = function()
    if cpu is not None:
        cpu.append((time.thread_time() - cpu_started) * 1000)
    return (time.perf_counter() - started) * 1000, size


def run(argv: list[str]) -> dict[str, object]:
    # Imported here: the web layer is what is measured, and `thebot.bench` must not need Dash to list.
    from dash_modules.chart import chart_push, full_chart
    from dash_modules.chart_data import MarkerFilter
    from dash_modules.figures import ChartState, candlestick_figure
    from dash_modules.push import encode, sse

    parser = argparse.ArgumentParser(prog="python -m thebot.bench chart")
    parser.add_argument("--candles", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=60)
    parser.add_argument("--signals-per-candle", type=float, default=0.4)
    arguments = parser.parse_args(argv)

    services, datastream, _ = build(arguments.candles, arguments.signals_per_candle)
    markers = MarkerFilter()  # the page's default filter
    rng = np.random.default_rng(3)

    def move_forming() -> None:
        last = datastream.last_candle(SYMBOL, Timeframe.M1)
        assert last is not None
        price = last.close * (1 + float(rng.normal(0, 0.0003)))
        datastream.update(
            SYMBOL,
            Timeframe.M1,
            dataclasses.replace(
                last,
                close=price,
                high=max(last.high, price),
                low=min(last.low, price),
                volume=last.volume + 0.5,
            ),
        )

    full_bytes = 0

    def full() -> int:
        figure, state = full_chart(services, SYMBOL, "1m", PICKS, markers=markers)
        return len(to_json_plotly({"figure": figure, "state": state}))

    def bare() -> int:
        shown = datastream.snapshot(SYMBOL, Timeframe.M1, limit=arguments.candles)
        return len(to_json_plotly({"figure": candlestick_figure(shown)}))

    figure, raw_state = full_chart(services, SYMBOL, "1m", PICKS, markers=markers)
    trace_count = len(figure["data"])
    state = ChartState.from_dict(raw_state)
    assert state is not None and state.count == arguments.candles

    def update() -> int:
        nonlocal state
        assert state is not None
        result = chart_push(services, state)
        assert result.message is not None and "rows" in result.message, "the update sent nothing"
        state = result.state
        return len(sse(encode({"chart": result.message})))

    def newest_row() -> int:
        snapshot = datastream.snapshot(SYMBOL, Timeframe.M1, limit=1)
        return len(encode({"row": [int(snapshot.open_time[-1]), float(snapshot.close[-1])]}))

    full_ms: list[float] = []
    full_cpu: list[float] = []
    update_cpu: list[float] = []
    bare_ms: list[float] = []
    update_ms: list[float] = []
    row_ms: list[float] = []
    update_bytes: list[int] = []
    full()  # warm imports and TA-Lib
    # Interleaved, so a burst of load on a shared machine hits each measurement alike.
    for _ in range(arguments.repeat):
        move_forming()
        elapsed, full_bytes = timed(full, full_cpu)
        full_ms.append(elapsed)
        bare_ms.append(timed(bare)[0])
        # The full figure's state moved on; the update follows the page's own state.
        move_forming()
        elapsed, size = timed(update, update_cpu)
        update_ms.append(elapsed)
        update_bytes.append(size)
        row_ms.append(timed(newest_row)[0])
    load = os.getloadavg()
    return {
        "machine": f"{platform.machine()} {os.cpu_count()} cpus, python {platform.python_version()}",
        "load_average_1m": round(load[0], 2),
        "candles": arguments.candles,
        "indicators": PICKS,
        "traces": trace_count,
        "signals": int(arguments.candles * arguments.signals_per_candle),
        "markers_drawn": sum(
            len(trace["x"]) for trace in figure["data"] if trace["name"] in ("BUY signals", "SELL signals")
        ),
        "full_ms_p50": percentile(full_ms, 0.5),
        "full_ms_p95": percentile(full_ms, 0.95),
        "full_cpu_ms_p50": percentile(full_cpu, 0.5),
        "full_cpu_ms_p95": percentile(full_cpu, 0.95),
        "full_bytes": full_bytes,
        "bare_candles_ms_p50": percentile(bare_ms, 0.5),
        "update_ms_p50": percentile(update_ms, 0.5),
        "update_ms_p95": percentile(update_ms, 0.95),
        "update_cpu_ms_p50": percentile(update_cpu, 0.5),
        "update_cpu_ms_p95": percentile(update_cpu, 0.95),
        "update_bytes_p50": int(percentile([float(size) for size in update_bytes], 0.5)),
        "newest_row_ms_p50": percentile(row_ms, 0.5),
        "target_full_ms_p95": 150,
        "target_update_ms_p95": 20,
    }
