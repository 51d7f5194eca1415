"""A market service for web-layer tests: a real DataStream, a real VenueClock, and what the socket and
the ticker stream would report (set by the test)."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

from thebot.market.clock import VenueClock
from thebot.market.datastream import DataStream
from thebot.market.protocol import TickerEvent
from thebot.market.timeframe import Timeframe


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
