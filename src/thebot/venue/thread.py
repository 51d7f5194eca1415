"""Run a venue on its own event loop in a daemon thread, for tests and for callers without a loop."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import TypeVar

from thebot.venue.server import SimulatedVenue
from thebot.venue.settings import VenueConfig

logger = logging.getLogger(__name__)

T = TypeVar("T")

START_TIMEOUT_SECONDS = 30.0


class RunningVenue:
    """A started venue; `stop()` shuts it down and joins the thread."""

    def __init__(
        self, venue: SimulatedVenue, loop: asyncio.AbstractEventLoop, thread: threading.Thread
    ) -> None:
        self.venue = venue
        self._loop = loop
        self._thread = thread

    @property
    def port(self) -> int:
        return self.venue.port

    @property
    def http_url(self) -> str:
        return self.venue.http_url

    @property
    def ws_url(self) -> str:
        return self.venue.ws_url

    def call(self, function: Callable[[SimulatedVenue], T], timeout: float = 10.0) -> T:
        """Run `function(venue)` on the venue's own loop thread (its state is not thread-safe)."""

        async def run() -> T:
            return function(self.venue)

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        if not self._thread.is_alive():
            return
        future = asyncio.run_coroutine_threadsafe(self.venue.stop(), self._loop)
        try:
            future.result(timeout)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout)

    def __enter__(self) -> RunningVenue:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def run_venue_in_thread(config: VenueConfig) -> RunningVenue:
    """Start a venue in a daemon thread and return once it listens; raises what `start()` raised."""
    loop = asyncio.new_event_loop()
    venue = SimulatedVenue(config)
    started = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(venue.start())
        except BaseException as error:  # handed to the caller below
            failure.append(error)
            started.set()
            loop.close()
            return
        started.set()
        try:
            loop.run_forever()
        finally:
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    thread = threading.Thread(target=run, name=f"venue-{config.port}", daemon=True)
    thread.start()
    if not started.wait(START_TIMEOUT_SECONDS):
        raise TimeoutError(f"the simulated venue did not start within {START_TIMEOUT_SECONDS:g} s")
    if failure:
        thread.join(5.0)
        raise failure[0]
    return RunningVenue(venue, loop, thread)
