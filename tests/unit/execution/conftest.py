from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from thebot.events import EventBus
from thebot.execution.journal import Journal
from thebot.execution.paper import PaperBroker
from thebot.execution.service import TradingService
from thebot.execution.settings import TradingSettings

SYMBOLS = ("BTCUSDT", "ETHUSDT")


class Clock:
    def __init__(self, start_ms: int = 1_700_000_000_000) -> None:
        self.now = start_ms

    def __call__(self) -> int:
        return self.now


PaperFactory = Callable[..., TradingService]


@pytest.fixture
def paper(tmp_path: Path) -> Iterator[PaperFactory]:
    """Build (and later stop) a paper trading service on a journal in tmp_path; same path = restart."""
    built: list[TradingService] = []
    bus = EventBus()

    def build(
        clock: Clock | None = None,
        price_lookup: Callable[[str], float | None] | None = None,
        **overrides: object,
    ) -> TradingService:
        settings = dataclasses.replace(
            TradingSettings(paper_slippage_bps=0.0, paper_fee_rate=0.001), **overrides
        )
        journal = Journal(tmp_path / "trading.sqlite")
        clock = clock or Clock()
        broker = PaperBroker(
            journal,
            SYMBOLS,
            starting_balance=settings.paper_starting_balance,
            slippage_bps=settings.paper_slippage_bps,
            fee_rate=settings.paper_fee_rate,
            now_ms=clock,
        )
        service = TradingService(
            settings, broker, journal, bus, symbols=SYMBOLS, clock=clock, price_lookup=price_lookup
        )
        service.start(subscribe=False)
        built.append(service)
        return service

    yield build
    for service in built:
        service.stop()
    bus.close()
