from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from thebot.alerts.manager import AlertManager
from thebot.alerts.settings import AlertSettings
from thebot.alerts.store import AlertStore
from thebot.events import CandleClosed


class Clock:
    def __init__(self, start: int = 1_700_000_000_000) -> None:
        self.now = start

    def __call__(self) -> int:
        return self.now


def close(price: float, bar: int, symbol: str = "BTCUSDT", timeframe: str = "1m") -> CandleClosed:
    open_time = 1_700_000_000_000 + bar * 60_000
    return CandleClosed(symbol, timeframe, open_time, price, price, price, price, 1.0)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_manager(tmp_path: Path, clock: Clock) -> Iterator[object]:
    made: list[AlertManager] = []

    def _make(settings: AlertSettings | None = None, **kwargs: object) -> AlertManager:
        store = AlertStore(tmp_path / "alerts.sqlite3")
        manager = AlertManager(
            settings or AlertSettings(),
            store,
            symbols=["BTCUSDT", "ETHUSDT"],
            timeframes=["1m", "5m"],
            clock=clock,
            **kwargs,  # type: ignore[arg-type]
        )
        made.append(manager)
        return manager

    yield _make
    for manager in made:
        manager.stop()
        manager.store.close()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
