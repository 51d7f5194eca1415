"""A resting exchange order that fills later is found by the poll, with its fill, and arms its exits."""

from __future__ import annotations

from pathlib import Path

import pytest

from thebot.events import EventBus, OrderUpdated
from thebot.execution.broker import (
    Balance,
    BrokerRejected,
    Fill,
    Order,
    OrderRequest,
    OrderRole,
    OrderStatus,
    Side,
)
from thebot.execution.filters import SymbolFilters, default_filters
from thebot.execution.journal import Journal
from thebot.execution.service import TradingService
from thebot.execution.settings import TradingSettings


class RestingExchange:
    """Accepts a LIMIT order as NEW; `fill_all()` fills it at its price, as the venue's matcher would."""

    name = "stub"

    def __init__(self) -> None:
        self.orders: dict[str, Order] = {}
        self.trades: list[Fill] = []

    def markets(self) -> dict[str, SymbolFilters]:
        return {"BTCUSDT": default_filters("BTCUSDT")}

    def last_price(self, symbol: str) -> float | None:
        return 50_000.0

    def place(self, request: OrderRequest) -> tuple[Order, list[Fill]]:
        order = Order(
            request.client_order_id,
            request.symbol,
            request.side,
            request.type,
            request.quantity,
            OrderStatus.NEW,
            price=request.price,
            exchange_id=str(len(self.orders) + 1),
        )
        self.orders[order.client_order_id] = order
        return order, []

    def fill_all(self) -> None:
        for client_id, order in list(self.orders.items()):
            assert order.price is not None
            self.orders[client_id] = order.with_(
                status=OrderStatus.FILLED, filled=order.quantity, average_price=order.price
            )
            fee = order.quantity * 0.001
            self.trades.append(
                Fill(
                    f"t{order.exchange_id}",
                    "",
                    order.symbol,
                    order.side,
                    order.price,
                    order.quantity,
                    fee * order.price,
                    5,
                    base_fee=fee,
                    exchange_order_id=order.exchange_id or "",
                )
            )

    def fetch_order(self, symbol: str, client_order_id: str) -> Order | None:
        return self.orders.get(client_order_id)

    def open_orders(self) -> list[Order]:
        return [order for order in self.orders.values() if order.status.is_open]

    def cancel(self, symbol: str, client_order_id: str) -> Order:
        raise BrokerRejected("not in this test")

    def fills(self, symbol: str, since_ms: int | None = None) -> list[Fill]:
        return list(self.trades)

    def balances(self) -> dict[str, Balance]:
        return {"USDT": Balance("USDT", 10_000.0, 0.0)}

    def close(self) -> None:
        pass


def test_poll_finds_the_fill_of_a_resting_order_and_arms_its_stop(tmp_path: Path) -> None:
    exchange = RestingExchange()
    bus = EventBus()
    updates: list[OrderUpdated] = []
    bus.subscribe(OrderUpdated, updates.append, name="test")
    settings = TradingSettings(mode="venue")
    service = TradingService(
        settings, exchange, Journal(tmp_path / "j.sqlite"), bus, symbols=("BTCUSDT",)
    ).start(subscribe=False)
    entry = service.place(
        {
            "symbol": "BTCUSDT",
            "side": "BUY",
            "type": "LIMIT",
            "quantity": 0.01,
            "price": 49_000,
            "stop_loss": 48_000,
        }
    )
    assert entry.status is OrderStatus.NEW
    service.poll_exchange_orders()
    assert service.fills() == []
    exchange.fill_all()
    service.poll_exchange_orders()
    filled = service.journal.order(entry.client_order_id)
    assert filled is not None and filled.status is OrderStatus.FILLED and filled.fee == pytest.approx(0.49)
    [fill] = service.fills()
    assert fill.client_order_id == entry.client_order_id and fill.price == 49_000
    [stop] = [order for order in service.orders("open") if order.role is OrderRole.STOP_LOSS]
    assert stop.reason == "armed" and stop.quantity == pytest.approx(0.00999) and stop.side is Side.SELL
    bus.wait_idle()
    assert [update.status for update in updates if update.client_order_id == entry.client_order_id] == [
        "PENDING_NEW",
        "NEW",
        "FILLED",
    ]
    service.stop()
    bus.close()
