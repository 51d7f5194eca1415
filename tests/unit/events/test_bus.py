"""The event bus: order per subscriber, isolation of failing and slow subscribers, sync and async."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from thebot.events import CandleClosed, ConnectionChanged, Event, EventBus, SignalRaised
from thebot.runtime import EventLoopThread


def candle(open_time: int) -> CandleClosed:
    return CandleClosed("BTCUSDT", "1m", open_time, 1.0, 2.0, 0.5, 1.5, 10.0)


def wait_for(condition, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.005)
    raise AssertionError("condition not met in time")


def test_each_subscriber_sees_its_types_in_publish_order() -> None:
    bus = EventBus()
    candles: list[Event] = []
    everything: list[Event] = []
    bus.subscribe(CandleClosed, candles.append, name="candles")
    bus.subscribe(Event, everything.append, name="all")
    published: list[Event] = []
    for number in range(500):
        event: Event = candle(number) if number % 5 else ConnectionChanged(True, number)
        published.append(event)
        bus.publish(event)
    wait_for(lambda: len(everything) == 500)
    assert everything == published
    assert candles == [event for event in published if isinstance(event, CandleClosed)]
    bus.close()


def test_a_failing_handler_is_counted_and_breaks_nobody() -> None:
    bus = EventBus()
    good: list[Event] = []
    calls: list[int] = []

    def broken(event: CandleClosed) -> None:
        calls.append(event.open_time)
        if event.open_time % 2:
            raise RuntimeError("handler bug")

    bus.subscribe(CandleClosed, broken, name="broken")
    bus.subscribe(CandleClosed, good.append, name="good")
    for number in range(10):
        bus.publish(candle(number))  # the publisher never sees the error
    wait_for(lambda: len(good) == 10 and len(calls) == 10)
    stats = {item["name"]: item for item in bus.stats()["subscribers"]}
    assert stats["broken"]["failed"] == 5
    assert stats["broken"]["delivered"] == 5
    assert "handler bug" in stats["broken"]["last_error"]
    assert stats["good"]["failed"] == 0
    assert calls == list(range(10))  # the broken subscriber kept receiving in order
    bus.close()


def test_a_slow_subscriber_drops_its_own_events_and_delays_nobody() -> None:
    bus = EventBus()
    release = threading.Event()
    busy = threading.Event()
    slow_seen: list[int] = []
    fast_seen: list[int] = []

    def slow(event: CandleClosed) -> None:
        busy.set()
        release.wait(5)
        slow_seen.append(event.open_time)

    bus.subscribe(CandleClosed, slow, name="slow", queue_size=10)
    bus.subscribe(CandleClosed, lambda event: fast_seen.append(event.open_time), name="fast")
    started = time.perf_counter()
    bus.publish(candle(0))
    assert busy.wait(5)
    for number in range(1, 100):
        bus.publish(candle(number))
    publish_seconds = time.perf_counter() - started
    wait_for(lambda: len(fast_seen) == 100)
    assert publish_seconds < 0.5  # never blocked on the stuck handler
    stats = {item["name"]: item for item in bus.stats()["subscribers"]}
    # One event is in the stuck handler, ten wait in its queue, the rest are dropped and counted.
    assert stats["slow"]["dropped"] == 89
    assert stats["fast"]["dropped"] == 0
    assert bus.stats()["dropped"] == 89
    release.set()
    wait_for(lambda: len(slow_seen) == 11)
    assert slow_seen == sorted(slow_seen) and slow_seen[0] == 0
    bus.close()


def test_async_handlers_run_on_their_loop_in_order() -> None:
    loop = EventLoopThread(name="test-bus-loop").start()
    bus = EventBus()
    seen: list[tuple[int, bool]] = []

    async def handler(event: SignalRaised) -> None:
        await asyncio.sleep(0)
        seen.append((event.time, threading.current_thread().name == "test-bus-loop"))

    bus.subscribe(SignalRaised, handler, name="async", loop=loop.loop)
    for number in range(50):
        bus.publish(SignalRaised("BTCUSDT", "1m", number, "BUY", "rsi", 0.5, 1.0, "test", False))
    bus.publish(candle(0))  # another type: not delivered
    wait_for(lambda: len(seen) == 50)
    assert [time_ for time_, _ in seen] == list(range(50))
    assert all(on_loop for _, on_loop in seen)
    bus.close()
    loop.stop()


def test_async_handler_needs_a_loop_and_unsubscribe_stops_delivery() -> None:
    bus = EventBus()

    async def handler(event: Event) -> None:
        return None

    with pytest.raises(ValueError, match="event loop"):
        bus.subscribe(Event, handler, name="no-loop")
    seen: list[Event] = []
    subscription = bus.subscribe(Event, seen.append, name="once")
    bus.publish(candle(1))
    wait_for(lambda: len(seen) == 1)
    bus.unsubscribe(subscription)
    bus.publish(candle(2))
    time.sleep(0.05)
    assert len(seen) == 1
    assert bus.stats()["subscribers"] == []
