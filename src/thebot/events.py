"""One typed event bus: services say what happened; whoever cares subscribes by event type.

Events are plain frozen dataclasses (numbers, strings, enums; no callables), so the same bus could later
run over an external broker when collectors and web workers become separate processes.

Every subscription owns a bounded queue and its own delivery worker, so:
- `publish` never blocks and never runs a handler on the publisher's thread (the socket's hot loop
  publishes here);
- one subscriber sees its events in publish order;
- a slow subscriber loses its own newest events (counted as drops, shown in `/api/health`) and never
  delays the publisher or the other subscribers;
- a handler that raises is logged and counted; the next event is delivered as usual.
Sync handlers run in the subscription's daemon thread; async handlers run as one task per subscription
on the event loop given at subscribe time.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import queue
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

logger = logging.getLogger(__name__)

DEFAULT_QUEUE_SIZE = 1000


@dataclass(frozen=True, slots=True)
class Event:
    """Base of every event: a frozen dataclass of plain values."""


@dataclass(frozen=True, slots=True)
class CandleClosed(Event):
    """A candle of a stream closed (from the socket or a backfill that extended the live edge)."""

    symbol: str
    timeframe: str
    open_time: int
    open: float
    high: float
    low: float
    close: float
    volume: float


@dataclass(frozen=True, slots=True)
class SignalRaised(Event):
    """The aggregator accepted a signal (provisional ones may later be withdrawn)."""

    symbol: str
    timeframe: str
    time: int
    side: str
    rule: str
    strength: float
    price: float
    reason: str
    provisional: bool


@dataclass(frozen=True, slots=True)
class SignalWithdrawn(Event):
    """A provisional signal did not survive its candle's close."""

    symbol: str
    timeframe: str
    time: int
    rule: str


@dataclass(frozen=True, slots=True)
class ConnectionChanged(Event):
    """The market-data socket connected or lost its connection."""

    connected: bool
    reconnects: int
    reason: str = ""


@dataclass(frozen=True, slots=True)
class StreamStale(Event):
    """No update for longer than the stream's staleness limit although it should be moving."""

    symbol: str
    timeframe: str
    age_ms: int


@dataclass(frozen=True, slots=True)
class StreamFresh(Event):
    """A stream that was stale receives updates again."""

    symbol: str
    timeframe: str


@dataclass(frozen=True, slots=True)
class BackfillProgress(Event):
    """History is being fetched (or finished, or failed)."""

    running: bool
    current: str
    candles: int
    queued: int
    failed: int = 0
    error: str = ""


@dataclass(frozen=True, slots=True)
class SettingsChanged(Event):
    """The SettingsStore applied a change; `keys` are dotted paths such as `signals.rsi_period`."""

    keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class OrderUpdated(Event):
    """An order of the trading journal changed: written, acknowledged, filled, canceled or rejected."""

    client_order_id: str
    symbol: str
    side: str
    type: str
    status: str
    quantity: float
    filled: float
    price: float
    average_price: float
    role: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class TradingWarning(Event):
    """Trading needs a person's attention: a daily-loss warning level, the breaker, pause or kill."""

    level: str  # "warning" | "critical" | "info"
    check: str
    message: str


@dataclass(frozen=True, slots=True)
class BacktestProgress(Event):
    """A backtest job moved: `status` queued, running, done or failed; `progress` 0..1."""

    job_id: str
    status: str
    progress: float
    phase: str
    error: str = ""


@dataclass(frozen=True, slots=True)
class NewsItem(Event):
    """A news item seen for the first time (deduplicated across feeds); `published` in UTC ms."""

    id: str
    title: str
    link: str
    source: str
    published: int
    score: float
    label: str
    symbols: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CalendarEventSoon(Event):
    """An important economic-calendar event starts within `minutes_before` minutes (published once)."""

    id: str
    title: str
    start: int
    country: str
    importance: str
    minutes_before: float


@dataclass(frozen=True, slots=True)
class NewsFeedChanged(Event):
    """A news feed or calendar turned ok, failed, or failed differently (not on every refresh)."""

    url: str
    status: str
    error: str
    items: int


@dataclass(frozen=True, slots=True)
class AlertFired(Event):
    """The AlertManager wrote an alert to its history (before any notifier ran); `id` is its row id."""

    id: int
    time: int
    type: str
    symbol: str
    timeframe: str
    title: str
    message: str
    rule_id: str


E = TypeVar("E", bound=Event)
Handler = Callable[[Any], None] | Callable[[Any], Awaitable[None]]


@dataclass
class Subscription:
    """One subscriber: its filter, its queue and its counters."""

    name: str
    event_types: tuple[type[Event], ...]
    handler: Handler
    queue_size: int
    delivered: int = 0
    dropped: int = 0
    failed: int = 0
    last_error: str = ""
    _queue: queue.Queue[Event | None] | None = field(default=None, repr=False)
    _aqueue: asyncio.Queue[Event | None] | None = field(default=None, repr=False)
    _loop: asyncio.AbstractEventLoop | None = field(default=None, repr=False)
    _worker: threading.Thread | None = field(default=None, repr=False)
    _task: asyncio.Task[None] | None = field(default=None, repr=False)
    _closed: bool = field(default=False, repr=False)

    def wants(self, event: Event) -> bool:
        return isinstance(event, self.event_types)

    def stats(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "events": [event_type.__name__ for event_type in self.event_types],
            "queued": self.pending(),
            "queue_size": self.queue_size,
            "delivered": self.delivered,
            "dropped": self.dropped,
            "failed": self.failed,
            "last_error": self.last_error,
        }

    def pending(self) -> int:
        if self._queue is not None:
            return self._queue.qsize()
        if self._aqueue is not None:
            return self._aqueue.qsize()
        return 0

    # -- delivery --------------------------------------------------------------------------------------

    def _offer(self, event: Event) -> None:
        if self._closed:
            return
        if self._queue is not None:
            try:
                self._queue.put_nowait(event)
            except queue.Full:
                self.dropped += 1
        elif self._loop is not None:
            try:
                self._loop.call_soon_threadsafe(self._offer_async, event)
            except RuntimeError:  # the loop is closed: the subscriber is gone
                self.dropped += 1

    def _offer_async(self, event: Event) -> None:
        assert self._aqueue is not None
        try:
            self._aqueue.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped += 1

    def _record_failure(self, event: Event, error: BaseException) -> None:
        self.failed += 1
        self.last_error = f"{type(error).__name__}: {error}"
        logger.error(
            "event handler %s failed on %s; it keeps receiving",
            self.name,
            type(event).__name__,
            exc_info=error,
        )

    def _run_sync(self) -> None:
        assert self._queue is not None
        while True:
            event = self._queue.get()
            if event is None:
                return
            try:
                self.handler(event)
                self.delivered += 1
            except Exception as error:
                self._record_failure(event, error)

    async def _run_async(self) -> None:
        assert self._aqueue is not None
        while True:
            event = await self._aqueue.get()
            if event is None:
                return
            try:
                result = self.handler(event)
                if inspect.isawaitable(result):
                    await result
                self.delivered += 1
            except Exception as error:
                self._record_failure(event, error)

    def close(self, timeout: float = 2.0) -> None:
        if self._closed:
            return
        self._closed = True
        if self._queue is not None:
            # Unblock the worker even when the queue is full: drop what is left.
            while True:
                try:
                    self._queue.put_nowait(None)
                    break
                except queue.Full:
                    with contextlib.suppress(queue.Empty):
                        self._queue.get_nowait()
            if self._worker is not None and self._worker is not threading.current_thread():
                self._worker.join(timeout)
        elif self._task is not None and self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._task.cancel)


class EventBus:
    """Publish from any thread; subscribe by event type with a sync or an async handler."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscriptions: list[Subscription] = []
        self._published = 0

    def subscribe(
        self,
        event_types: type[E] | tuple[type[Event], ...],
        handler: Callable[[E], None] | Callable[[E], Awaitable[None]],
        *,
        name: str,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> Subscription:
        """Deliver every published event of `event_types` (subclasses included) to `handler`, in order.

        An async handler needs `loop` (where its task runs); a sync one gets a daemon thread."""
        types = event_types if isinstance(event_types, tuple) else (event_types,)
        if queue_size < 1:
            raise ValueError("queue_size must be at least 1")
        subscription = Subscription(name=name, event_types=types, handler=handler, queue_size=queue_size)
        if inspect.iscoroutinefunction(handler):
            if loop is None:
                raise ValueError(f"async handler {name!r} needs the event loop it runs on")
            subscription._loop = loop
            ready = threading.Event()

            def _start() -> None:
                subscription._aqueue = asyncio.Queue(queue_size)
                subscription._task = loop.create_task(subscription._run_async(), name=f"bus:{name}")
                ready.set()

            if _running_loop() is loop:
                _start()
            else:
                loop.call_soon_threadsafe(_start)
                if not ready.wait(5.0):
                    raise RuntimeError(f"event loop for {name!r} is not running")
        else:
            subscription._queue = queue.Queue(queue_size)
            subscription._worker = threading.Thread(
                target=subscription._run_sync, name=f"bus:{name}", daemon=True
            )
            subscription._worker.start()
        with self._lock:  # copy on write: `publish` iterates a list nobody mutates
            self._subscriptions = [*self._subscriptions, subscription]
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            self._subscriptions = [item for item in self._subscriptions if item is not subscription]
        subscription.close()

    def publish(self, event: Event) -> None:
        """Never blocks; a subscriber whose queue is full drops this event and counts it."""
        self._published += 1
        for subscription in self._subscriptions:
            if subscription.wants(event):
                subscription._offer(event)

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """True once every queue is empty (tests and orderly shutdown)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(subscription.pending() == 0 for subscription in list(self._subscriptions)):
                return True
            time.sleep(0.01)
        return False

    def stats(self) -> dict[str, Any]:
        subscriptions = [subscription.stats() for subscription in list(self._subscriptions)]
        return {
            "published": self._published,
            "dropped": sum(item["dropped"] for item in subscriptions),
            "failed": sum(item["failed"] for item in subscriptions),
            "subscribers": subscriptions,
        }

    def close(self) -> None:
        with self._lock:
            subscriptions, self._subscriptions = self._subscriptions, []
        for subscription in subscriptions:
            subscription.close()


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def now_ms() -> int:
    return int(time.time() * 1000)
