"""The journal's count of open orders (read by the risk chain on every ticket) follows every committed
write, survives a restart, and does not move when a transaction rolls back."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from thebot.execution.broker import Fill, Order, OrderRole, OrderStatus, OrderType, Side
from thebot.execution.journal import Journal

ENTRY = Order(
    client_order_id="a",
    symbol="BTCUSDT",
    side=Side.BUY,
    type=OrderType.LIMIT,
    quantity=0.01,
    price=30_000.0,
    status=OrderStatus.PENDING_NEW,
    role=OrderRole.ENTRY,
    created_ms=1,
    updated_ms=1,
)


def fill(trade_id: str, client_order_id: str) -> Fill:
    return Fill(trade_id, client_order_id, "BTCUSDT", Side.BUY, 30_000.0, 0.01, 0.3, 2)


def test_open_count_follows_writes_and_survives_a_restart(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite")
    journal.write_order(ENTRY)
    journal.write_order(replace(ENTRY, client_order_id="b", status=OrderStatus.NEW))
    journal.write_order(replace(ENTRY, client_order_id="c", status=OrderStatus.WAITING, group_id="g"))
    assert journal.count_open() == 3
    journal.record([fill("t1", "a")], lambda new: replace(ENTRY, status=OrderStatus.FILLED, filled=0.01))
    journal.write_order(replace(ENTRY, client_order_id="b", status=OrderStatus.CANCELED))
    assert journal.count_open() == 1
    assert [order.client_order_id for order in journal.orders(open_only=True)] == ["c"]
    assert [order.client_order_id for order in journal.group("g")] == ["c"]
    assert journal.group("") == []  # orders without exits are no group
    journal.close()

    reopened = Journal(tmp_path / "journal.sqlite")
    assert reopened.count_open() == 1
    assert reopened.order("b") is not None and reopened.order("b").status is OrderStatus.CANCELED  # type: ignore[union-attr]


def test_a_rolled_back_answer_leaves_the_count_alone(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite")
    journal.write_order(ENTRY)

    def broken(new_fills: list[Fill]) -> Order:
        raise RuntimeError("merge failed")

    with pytest.raises(RuntimeError):
        journal.record([fill("t1", "a")], broken)
    assert journal.count_open() == 1
    assert journal.fills() == []  # the fill rolled back with it
    assert journal.order("a") == ENTRY
