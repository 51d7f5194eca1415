"""A market service for web-layer tests: a real DataStream, a real VenueClock, and what the socket and
the ticker stream would report (set by the test)."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import duckdb

from tests.unit.indicators.candle_data import generated_candles
from thebot.config import Settings
from thebot.market.clock import VenueClock
from thebot.market.datastream import DataStream
from thebot.market.protocol import TickerEvent
from thebot.market.timeframe import Timeframe
from thebot.signals.service import AnalyticsService
from thebot.signals.settings import SignalSettings


@dataclass
class MarketStub:
    datastream: DataStream
    tickers: dict[str, TickerEvent] = field(default_factory=dict)
    arrivals: dict[tuple[str, Timeframe], tuple[int, float]] = field(default_factory=dict)
    clock: VenueClock = field(default_factory=VenueClock)
    websocket: SimpleNamespace = field(default_factory=lambda: SimpleNamespace(connected=True))

    def ticker(self, symbol: str) -> TickerEvent | None:
        return self.tickers.get(symbol)

    def symbols(self) -> list[str]:
        return self.datastream.symbols()

    def event_lag_ms(self, symbol: str, timeframe: Timeframe) -> int | None:
        arrival = self.arrivals.get((symbol, timeframe))
        return None if arrival is None else self.clock.lag_ms(*arrival)


@contextlib.contextmanager
def live_services(window: int, capacity: int) -> Iterator[tuple[DataStream, AnalyticsService, Any]]:
    """A BTCUSDT 1m stream of 300 stored and 99 live closed candles plus a forming one, its analytics
    caught up, and the services the chart callbacks read (a chart window of `window` candles)."""
    stream = DataStream(["BTCUSDT"], [Timeframe.M1], capacity=capacity)
    settings = dataclasses.replace(
        Settings(),
        signals=SignalSettings(cooldown_bars=0),
        ui=dataclasses.replace(Settings().ui, chart_candles=window),
    )
    analytics = AnalyticsService(settings, stream, duckdb.connect(":memory:")).start()
    candles = generated_candles(400, seed=12)
    stream.merge("BTCUSDT", Timeframe.M1, [candles.candle(index) for index in range(300)])
    for index in range(300, 399):
        stream.update("BTCUSDT", Timeframe.M1, dataclasses.replace(candles.candle(index), closed=True))
    stream.update("BTCUSDT", Timeframe.M1, dataclasses.replace(candles.candle(399), closed=False))
    assert analytics.wait_idle()
    services = SimpleNamespace(settings=settings, market=MarketStub(stream), analytics=analytics)
    try:
        yield stream, analytics, services
    finally:
        analytics.stop()
