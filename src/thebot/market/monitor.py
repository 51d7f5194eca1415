"""Turns market-data state into events: connection lost or back, streams stale or fresh, backfill progress.

Connection loss and staleness are absences (nothing arrives), so something has to look; this monitor
looks twice a second on the market loop and publishes only changes. The socket's hot path stays free of
it, and the 700-line WebSocketManager gains no new job.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from thebot.events import BackfillProgress, ConnectionChanged, Event, StreamFresh, StreamStale

if TYPE_CHECKING:
    from thebot.market.service import MarketData

logger = logging.getLogger(__name__)

MONITOR_PERIOD_SECONDS = 0.5


class MarketMonitor:
    def __init__(self, market: MarketData, publish: Callable[[Event], None]) -> None:
        self._market = market
        self._publish = publish
        self._connected: bool | None = None
        self._stale: set[tuple[str, str]] = set()
        self._backfill: tuple[object, ...] | None = None

    async def run(self, period: float = MONITOR_PERIOD_SECONDS) -> None:
        while True:
            try:
                self.check()
            except Exception:
                logger.exception("market monitor check failed; trying again")
            await asyncio.sleep(period)

    def check(self) -> None:
        """Publish what changed since the last look."""
        market = self._market
        status = market.websocket.status()
        if status.connected != self._connected:
            if self._connected is not None or status.connected:
                self._publish(
                    ConnectionChanged(
                        connected=status.connected,
                        reconnects=status.reconnects,
                        reason="" if status.connected else (status.last_error or "connection lost"),
                    )
                )
            self._connected = status.connected
        for stream in market.datastream.status():
            key = (stream.key.symbol, stream.key.timeframe.value)
            # A stream that has never received anything is "waiting", not stale news.
            if stream.stale and stream.last_update_age_ms >= 0 and key not in self._stale:
                self._stale.add(key)
                self._publish(StreamStale(symbol=key[0], timeframe=key[1], age_ms=stream.last_update_age_ms))
            elif not stream.stale and key in self._stale:
                self._stale.discard(key)
                self._publish(StreamFresh(symbol=key[0], timeframe=key[1]))
        progress = market.backfiller.progress()
        snapshot = (progress.running, progress.current, progress.queued, progress.jobs_failed)
        if snapshot != self._backfill:
            self._backfill = snapshot
            self._publish(
                BackfillProgress(
                    running=progress.running,
                    current=progress.current or "",
                    candles=progress.candles,
                    queued=progress.queued,
                    failed=progress.jobs_failed,
                    error=progress.last_error or "",
                )
            )
