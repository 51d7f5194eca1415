"""The bounded hand-off between a socket reader and the DataStream writer.

A burst from the venue (or a slow observer) must not grow memory without bound, yet losing a closed
candle would leave a wrong bar on the chart until the next backfill. So when the queue is full the oldest
*forming* update is dropped: a newer update of the same candle supersedes it anyway. Closed candles are
never dropped; if only closed candles fill the queue it grows past its bound and says so.
"""

from __future__ import annotations

import asyncio
from collections import deque

from thebot.market.protocol import KLINE_CLOSED_INDEX, KlineValues, TickerEvent

QueuedEvent = KlineValues | TickerEvent


def _droppable(event: QueuedEvent) -> bool:
    return not isinstance(event, tuple) or not event[KLINE_CLOSED_INDEX]


class EventQueue:
    """Single-producer, single-consumer queue living on one event loop (not thread-safe by design)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        # Public for the reader's per-message fullness check (a C-level len, no method call).
        self.items: deque[QueuedEvent] = deque()
        self._ready = asyncio.Event()
        self._waiting = False
        self.dropped = 0
        self.overflow = 0
        self.high_water = 0

    def __len__(self) -> int:
        return len(self.items)

    def put(self, event: QueuedEvent) -> None:
        items = self.items
        if len(items) >= self.capacity and not self._drop_oldest_forming():
            if _droppable(event):
                self.dropped += 1
                return
            self.overflow += 1
        items.append(event)
        if self._waiting:
            self._waiting = False
            self._ready.set()

    def _drop_oldest_forming(self) -> bool:
        for index, queued in enumerate(self.items):
            if _droppable(queued):
                del self.items[index]
                self.dropped += 1
                return True
        return False

    async def wait(self) -> None:
        """Return once at least one event is queued."""
        while not self.items:
            self._ready.clear()
            self._waiting = True
            await self._ready.wait()

    def pop_batch(self, limit: int) -> list[QueuedEvent]:
        items = self.items
        size = len(items)
        self.high_water = max(self.high_water, size)
        count = min(limit, size)
        return [items.popleft() for _ in range(count)]
