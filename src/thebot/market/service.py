"""`MarketData`: the one object the composition root builds for the market data layer.

It owns the DataStream, the WebSocketManager, the REST backfiller and the candle store, and wires them:
closed candles flow to the store, gaps and reconnects to the backfiller, and reads that reach beyond the
in-memory buffer go to the store.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from thebot.market.datastream import DataStream
from thebot.market.models import Candle, StreamKey
from thebot.market.protocol import TickerEvent
from thebot.market.timeframe import Timeframe
from thebot.market.websocket import WebSocketManager
from thebot.runtime import EventLoopThread

if TYPE_CHECKING:
    from thebot.config import Settings

logger = logging.getLogger(__name__)


class MarketData:
    def __init__(
        self,
        settings: Settings,
        *,
        ws_url: str,
        rest_url: str,
        exchange: str,
        store_path: str,
        loop: EventLoopThread,
    ) -> None:
        self._settings = settings
        self._market_settings = settings.market_data
        self._exchange = exchange
        self._rest_url = rest_url
        self._store_path = store_path
        self._loop = loop
        symbols = settings.market.symbols
        timeframes = settings.market.timeframes
        self.datastream = DataStream(symbols, timeframes, capacity=settings.market.buffer_size)
        self.datastream.set_event_loop(loop.loop)
        self.websocket = WebSocketManager(
            settings.market_data,
            self.datastream,
            ws_url,
            loop,
            symbols=symbols,
            timeframes=timeframes,
            on_connected=self._on_connected,
        )
        self._started = False

    @property
    def exchange(self) -> str:
        return self._exchange

    # -- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> None:
        """Returns at once; the sockets connect in the background."""
        if self._started:
            return
        self._started = True
        if not self._loop.running:
            self._loop.start()
        self.websocket.start()

    def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        self.websocket.stop()

    # -- symbols ---------------------------------------------------------------------------------------

    def symbols(self) -> list[str]:
        return self.websocket.symbols

    def add_symbol(self, symbol: str) -> None:
        """Start streaming `symbol` on every timeframe; the other streams are not interrupted."""
        if not (symbol.isalnum() and symbol.isupper()):
            raise ValueError(f"'{symbol}' is not an upper-case Binance symbol such as BTCUSDT")
        self.datastream.add_symbol(symbol)
        self.websocket.add_symbol(symbol)

    def remove_symbol(self, symbol: str) -> None:
        self.websocket.remove_symbol(symbol)
        self.datastream.remove_symbol(symbol)

    def ticker(self, symbol: str) -> TickerEvent | None:
        return self.websocket.ticker(symbol)

    # -- reads -----------------------------------------------------------------------------------------

    def klines(
        self,
        symbol: str,
        timeframe: Timeframe,
        *,
        limit: int,
        start: int | None = None,
        end: int | None = None,
    ) -> list[Candle]:
        """Up to `limit` candles, oldest first, with open times in [start, end] when given.

        Without `start` the newest `limit` candles are returned.
        """
        if limit <= 0:
            return []
        snapshot = self.datastream.snapshot(symbol, timeframe)
        candles = [snapshot.candle(index) for index in range(len(snapshot))]
        if start is not None:
            candles = [candle for candle in candles if candle.open_time >= start]
        if end is not None:
            candles = [candle for candle in candles if candle.open_time <= end]
        return candles[:limit] if start is not None else candles[-limit:]

    def health(self) -> dict[str, Any]:
        status = self.websocket.status()
        streams = [
            {
                "symbol": stream.key.symbol,
                "timeframe": stream.key.timeframe.value,
                "candles": stream.candles,
                "last_open_time": stream.last_open_time,
                "last_update_age_ms": stream.last_update_age_ms,
                "stale": stream.stale,
                "gaps": stream.gaps,
                "ignored_older": stream.ignored_older,
            }
            for stream in self.datastream.status()
        ]
        return {"websocket": status.as_dict(), "streams": streams, "checked_at_ms": int(time.time() * 1000)}

    # -- wiring ----------------------------------------------------------------------------------------

    def _on_connected(self, keys: list[StreamKey], reconnect: bool) -> None:
        logger.debug("connected %d streams (reconnect=%s)", len(keys), reconnect)
