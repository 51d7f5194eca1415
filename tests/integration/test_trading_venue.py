"""The execution layer against the simulated venue through ccxt: fills, timeouts, kill -9, reconciliation.

Exactly one order on the venue per ticket, whatever fails in between, and the app knows it afterwards.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from thebot.events import ConnectionChanged, EventBus
from thebot.execution.broker import OrderRole, OrderStatus
from thebot.execution.ccxt_broker import CcxtBroker, make_binance
from thebot.execution.journal import Journal
from thebot.execution.service import TradingService
from thebot.execution.settings import TradingSettings
from thebot.venue import RunningVenue, VenueConfig, run_venue_in_thread

ROOT = Path(__file__).resolve().parents[2]
SYMBOLS = ("BTCUSDT", "ETHUSDT")


@pytest.fixture(scope="module")
def venue() -> Iterator[RunningVenue]:
    running = run_venue_in_thread(VenueConfig(speed=1.0, history_days=0.05, symbols=SYMBOLS, seed=11))
    try:
        yield running
    finally:
        running.stop()


def latency(venue: RunningVenue, milliseconds: int) -> None:
    requests.post(
        f"{venue.http_url}/admin/latency", params={"ms": milliseconds}, timeout=5
    ).raise_for_status()


def venue_orders(venue: RunningVenue, client_order_id: str) -> list[object]:
    return venue.call(
        lambda v: [o for o in v.exchange.orders.values() if o.client_order_id == client_order_id]
    )


def build(venue: RunningVenue, journal_path: Path, timeout: float = 1.0) -> TradingService:
    settings = dataclasses.replace(TradingSettings(), mode="venue", request_timeout_seconds=timeout)
    broker = CcxtBroker(venue.http_url, "sim-key", "sim-secret", timeout_seconds=timeout)
    service = TradingService(settings, broker, Journal(journal_path), EventBus(), symbols=SYMBOLS)
    return service.start(subscribe=False)


@pytest.fixture
def service(venue: RunningVenue, tmp_path: Path) -> Iterator[TradingService]:
    built = build(venue, tmp_path / "journal.sqlite")
    yield built
    built.stop()


def test_market_buy_records_the_venues_fill_price_and_fee(
    service: TradingService, venue: RunningVenue
) -> None:
    order = service.place({"symbol": "ETHUSDT", "side": "BUY", "type": "MARKET", "quantity": 0.01})
    assert order.status is OrderStatus.FILLED and order.exchange_id
    [fill] = [fill for fill in service.fills() if fill.client_order_id == order.client_order_id]
    [trade] = venue.call(lambda v: [f for f in v.exchange.fills if str(f.order_id) == order.exchange_id])
    assert fill.price == pytest.approx(trade.price / 1e8)
    assert fill.base_fee == pytest.approx(0.00001)  # 0.1 % of 0.01 ETH, in ETH as Binance charges it
    assert fill.fee == pytest.approx(0.00001 * fill.price)
    assert service.positions()["ETHUSDT"].quantity == pytest.approx(0.00999)


def test_a_timeout_is_looked_up_never_resent(service: TradingService, venue: RunningVenue) -> None:
    price = service.price("BTCUSDT")  # the app hears it from the stream; here asked before the fault
    assert price is not None
    service.on_price("BTCUSDT", price, price, price)
    latency(venue, 1_500)  # the venue places the order, then answers after ccxt gave up (1 s)
    threading.Timer(1.1, latency, (venue, 0)).start()
    started = time.monotonic()
    order = service.place({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": 0.0002})
    assert time.monotonic() - started < 5
    assert order.status is OrderStatus.FILLED and order.exchange_id, order.reason
    assert len(venue_orders(venue, order.client_order_id)) == 1
    assert [f.client_order_id for f in service.fills()].count(order.client_order_id) == 1


def test_reconciliation_adopts_orders_placed_directly_with_ccxt(
    service: TradingService, venue: RunningVenue
) -> None:
    client = make_binance(venue.http_url, "sim-key", "sim-secret", 5.0)
    price = client.fetch_ticker("ETH/USDT")["last"]
    resting = client.create_order("ETH/USDT", "limit", "buy", 0.01, round(price * 0.5, 2))
    taken = client.create_order("ETH/USDT", "market", "buy", 0.01)
    client.session.close()
    assert service.reconcile()
    adopted = {order.exchange_id: order for order in service.orders()}
    assert (
        adopted[resting["id"]].status is OrderStatus.NEW and adopted[resting["id"]].role is OrderRole.ADOPTED
    )
    assert any(
        fill.exchange_order_id == taken["id"] or fill.client_order_id.endswith(taken["id"])
        for fill in service.fills()
    )
    canceled = service.cancel(adopted[resting["id"]].client_order_id)
    assert canceled.status is OrderStatus.CANCELED
    assert venue.call(lambda v: v.exchange.orders[int(resting["id"])].status.value) == "CANCELED"


CHILD = """
import sys
from pathlib import Path
from thebot.events import EventBus
from thebot.execution.ccxt_broker import CcxtBroker
from thebot.execution.journal import Journal
from thebot.execution.service import TradingService
from thebot.execution.settings import TradingSettings
url, journal_path = sys.argv[1], sys.argv[2]
broker = CcxtBroker(url, "sim-key", "sim-secret", timeout_seconds=30.0)
price = broker.last_price("BTCUSDT")
settings = TradingSettings(mode="venue", request_timeout_seconds=30.0)
service = TradingService(settings, broker, Journal(journal_path), EventBus(), symbols=("BTCUSDT",),
                         price_lookup=lambda symbol: price)
service.start(subscribe=False)
print("ready", flush=True)
sys.stdin.readline()
service.place({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": 0.0003})
print("acknowledged", flush=True)
"""


def test_kill_9_between_written_and_acknowledged(venue: RunningVenue, tmp_path: Path) -> None:
    journal_path = tmp_path / "journal.sqlite"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, venue.http_url, str(journal_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"},
    )
    try:
        assert child.stdout is not None and child.stdin is not None
        assert child.stdout.readline().strip() == "ready"
        latency(venue, 5_000)
        child.stdin.write("go\n")
        child.stdin.flush()
        deadline = time.monotonic() + 10
        written: str | None = None
        while time.monotonic() < deadline:
            with sqlite3.connect(journal_path) as db:
                row = db.execute("SELECT client_order_id FROM orders WHERE status = 'PENDING_NEW'").fetchone()
            if row is not None and venue_orders(venue, row[0]):  # written, sent, not acknowledged
                written = row[0]
                break
            time.sleep(0.05)
        assert written is not None, "the child never wrote and sent its order"
        os.kill(child.pid, signal.SIGKILL)
        child.wait(5)
    finally:
        latency(venue, 0)
        if child.poll() is None:
            child.kill()
    restarted = build(venue, journal_path)
    try:
        order = restarted.journal.order(written)
        assert order is not None and order.status is OrderStatus.FILLED and order.exchange_id
        assert len(venue_orders(venue, written)) == 1
        [fill] = [fill for fill in restarted.fills() if fill.client_order_id == written]
        assert fill.quantity == pytest.approx(0.0003) and fill.base_fee == pytest.approx(0.0000003)
    finally:
        restarted.stop()


def test_venue_restart_with_state_and_a_reconnect_reconcile(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = VenueConfig(port=port, state=tmp_path / "venue.json", history_days=0.05, symbols=SYMBOLS, seed=4)
    first = run_venue_in_thread(config)
    settings = dataclasses.replace(TradingSettings(), mode="venue", request_timeout_seconds=1.0)
    broker = CcxtBroker(first.http_url, "sim-key", "sim-secret", timeout_seconds=1.0)
    service = TradingService(settings, broker, Journal(tmp_path / "j.sqlite"), EventBus(), symbols=SYMBOLS)
    service.start()
    second: RunningVenue | None = None
    try:
        price = service.price("ETHUSDT")
        assert price is not None
        service.on_price("ETHUSDT", price, price, price)  # what the stream would have said
        resting = service.place(
            {
                "symbol": "ETHUSDT",
                "side": "BUY",
                "type": "LIMIT",
                "quantity": 0.01,
                "price": round(price * 0.6, 2),
            }
        )
        assert resting.status is OrderStatus.NEW
        first.stop()
        # The venue is down: the outcome is unknown, the order is not resent and stays pending.
        lost = service.place({"symbol": "ETHUSDT", "side": "BUY", "type": "MARKET", "quantity": 0.01})
        assert lost.status is OrderStatus.PENDING_NEW and "never resent" in lost.reason
        second = run_venue_in_thread(config)  # same port, same state file
        service.bus.publish(ConnectionChanged(connected=True, reconnects=1))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and service.journal.order(lost.client_order_id).status.is_open:  # type: ignore[union-attr]
            time.sleep(0.1)
        settled = service.journal.order(lost.client_order_id)
        assert settled is not None and settled.status is OrderStatus.REJECTED, settled
        assert service.journal.order(resting.client_order_id).status is OrderStatus.NEW  # type: ignore[union-attr]
        assert len(venue_orders(second, resting.client_order_id)) == 1
        assert venue_orders(second, lost.client_order_id) == []
    finally:
        service.stop()
        if second is not None:
            second.stop()
