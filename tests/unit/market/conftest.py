"""Fixtures for the market data unit tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from market_fakes import FakeStreamServer

from thebot.runtime import EventLoopThread


@pytest.fixture
def fake_server() -> Iterator[FakeStreamServer]:
    server = FakeStreamServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def loop_thread() -> Iterator[EventLoopThread]:
    thread = EventLoopThread("test-market").start()
    try:
        yield thread
    finally:
        thread.stop()
