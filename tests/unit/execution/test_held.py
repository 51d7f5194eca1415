"""What one price does to one held order: fire, ratchet, or nothing."""

from __future__ import annotations

import pytest

from thebot.execution import held
from thebot.execution.broker import Order, OrderRole, OrderStatus, OrderType, Side


def leg(role: OrderRole, **fields: object) -> Order:
    base = Order("c", "BTCUSDT", Side.SELL, OrderType.STOP_MARKET, 0.1, OrderStatus.WAITING, role=role)
    return base.with_(**fields)


def test_unarmed_exits_never_fire() -> None:
    stop = leg(OrderRole.STOP_LOSS, stop_price=49_000.0)
    assert held.on_price(stop, 48_000, 48_000) == held.NOTHING
    assert held.on_price(stop.with_(reason=held.ARMED), 48_000, 48_000).send_as is OrderType.MARKET


def test_take_profit_fires_on_the_high_and_stop_loss_on_the_low() -> None:
    target = leg(OrderRole.TAKE_PROFIT, price=51_000.0, reason=held.ARMED)
    assert held.on_price(target, 50_999, 50_000) == held.NOTHING
    assert held.on_price(target, 51_000, 50_000).send_as is OrderType.MARKET
    stop = leg(OrderRole.STOP_LOSS, stop_price=49_000.0, reason=held.ARMED)
    assert held.on_price(stop, 51_000, 49_001) == held.NOTHING


def test_trailing_arms_at_the_fill_then_ratchets_and_fires() -> None:
    entry = Order("e", "BTCUSDT", Side.BUY, OrderType.MARKET, 0.1, OrderStatus.FILLED, average_price=50_000.0)
    trailing = held.arm(leg(OrderRole.TRAILING, trailing_fraction=0.005), entry, 0.0999)
    assert (trailing.stop_price, trailing.price, trailing.quantity) == (pytest.approx(49_750), 50_000, 0.0999)
    moved = held.on_price(trailing, 50_500, 50_500).moved
    assert moved is not None and moved.stop_price == pytest.approx(50_247.5) and moved.price == 50_500
    assert held.on_price(moved, 50_400, 50_400) == held.NOTHING  # a lower price never pulls it back
    assert held.on_price(moved, 50_247.5, 50_247.5).send_as is OrderType.MARKET


def test_stop_limit_entry_fires_as_limit_when_its_stop_trades() -> None:
    entry = Order(
        "s",
        "BTCUSDT",
        Side.BUY,
        OrderType.STOP_LIMIT,
        0.1,
        OrderStatus.WAITING,
        price=50_600.0,
        stop_price=50_500.0,
    )
    assert held.on_price(entry, 50_499, 50_400) == held.NOTHING
    assert held.on_price(entry, 50_500, 50_400).send_as is OrderType.LIMIT
