"""The paper account through the whole service: fills and fees, held orders, exits, durability."""

from __future__ import annotations

import pytest

from tests.unit.execution.conftest import Clock, PaperFactory
from thebot.execution.broker import OrderRole, OrderStatus
from thebot.execution.risk import RiskRejected


def test_market_buy_fills_at_the_next_price_with_slippage_and_fee(paper: PaperFactory) -> None:
    service = paper(paper_slippage_bps=10.0)
    service.on_price("BTCUSDT", 50_000, 50_000, 50_000)
    order = service.place({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": 0.1})
    assert order.status is OrderStatus.NEW  # waits for the next price
    service.on_price("BTCUSDT", 50_100, 50_100, 50_100)
    filled = service.journal.order(order.client_order_id)
    assert filled is not None and filled.status is OrderStatus.FILLED
    assert filled.average_price == pytest.approx(50_100 * 1.001)  # 10 bp slippage on a buy
    assert filled.fee == pytest.approx(0.1 * 50_100 * 1.001 * 0.001)
    balances = service.balances()
    assert balances["BTC"].free == pytest.approx(0.1)
    assert balances["USDT"].free == pytest.approx(10_000 - 0.1 * 50_150.1 * 1.001)
    position = service.positions()["BTCUSDT"]
    assert position.quantity == pytest.approx(0.1) and position.average_price == pytest.approx(50_150.1)


def test_limit_waits_until_price_crosses_and_fills_at_its_limit(paper: PaperFactory) -> None:
    service = paper()
    service.on_price("BTCUSDT", 50_000, 50_000, 50_000)
    order = service.place(
        {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "quantity": 0.01, "price": 49_500}
    )
    service.on_price("BTCUSDT", 49_800, 49_600, 49_700)
    assert service.journal.order(order.client_order_id).status is OrderStatus.NEW  # type: ignore[union-attr]
    assert service.balances()["USDT"].locked == pytest.approx(0.01 * 49_500 * 1.001)
    service.on_price("BTCUSDT", 49_600, 49_400, 49_450)
    filled = service.journal.order(order.client_order_id)
    assert filled is not None and filled.status is OrderStatus.FILLED
    assert filled.average_price == 49_500 and filled.fee == pytest.approx(0.495)


def test_seed_004_trailing_stop_exits_at_plus_1_49_percent(paper: PaperFactory) -> None:
    service = paper(paper_fee_rate=0.0)
    service.on_price("BTCUSDT", 50_000, 50_000, 50_000)
    service.place(
        {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": 0.1, "trailing_pct": 0.5}
    )
    service.on_price("BTCUSDT", 50_000, 50_000, 50_000)  # the entry fills at 50,000
    trailing = next(o for o in service.orders("open") if o.role is OrderRole.TRAILING)
    assert trailing.stop_price == pytest.approx(49_750)
    service.on_price("BTCUSDT", 50_500, 50_500, 50_500)
    assert service.journal.order(trailing.client_order_id).stop_price == pytest.approx(50_247.50)  # type: ignore[union-attr]
    service.on_price("BTCUSDT", 51_000, 51_000, 51_000)
    assert service.journal.order(trailing.client_order_id).stop_price == pytest.approx(50_745)  # type: ignore[union-attr]
    service.on_price("BTCUSDT", 50_900, 50_900, 50_900)  # a lower high: the stop stays
    assert service.journal.order(trailing.client_order_id).stop_price == pytest.approx(50_745)  # type: ignore[union-attr]
    service.on_price("BTCUSDT", 50_745, 50_745, 50_745)  # touches the stop: market exit sent
    service.on_price("BTCUSDT", 50_745, 50_745, 50_745)  # filled at the next price
    assert not service.positions()["BTCUSDT"].is_open
    trade_return = service.performance().net_pnl / (0.1 * 50_000)
    assert trade_return * 100 == pytest.approx(1.49)


def test_bracket_take_profit_cancels_the_stop_loss(paper: PaperFactory) -> None:
    service = paper()
    service.on_price("BTCUSDT", 50_000, 50_000, 50_000)
    entry = service.place(
        {
            "symbol": "BTCUSDT",
            "side": "BUY",
            "type": "MARKET",
            "quantity": 0.02,
            "stop_loss": 49_000,
            "take_profit": 51_000,
        }
    )
    service.on_price("BTCUSDT", 50_000, 50_000, 50_000)
    legs = {o.role: o for o in service.orders() if o.group_id == entry.group_id}
    assert legs[OrderRole.STOP_LOSS].status is OrderStatus.WAITING
    service.on_price("BTCUSDT", 51_050, 50_900, 51_000)  # target reached
    service.on_price("BTCUSDT", 51_000, 51_000, 51_000)
    legs = {o.role: o for o in service.orders() if o.group_id == entry.group_id}
    assert legs[OrderRole.TAKE_PROFIT].status is OrderStatus.FILLED
    assert legs[OrderRole.STOP_LOSS].status is OrderStatus.CANCELED
    assert "one-cancels-the-other" in legs[OrderRole.STOP_LOSS].reason
    assert not service.positions()["BTCUSDT"].is_open


def test_stop_limit_is_held_until_its_stop_trades(paper: PaperFactory) -> None:
    service = paper()
    service.on_price("BTCUSDT", 50_000, 50_000, 50_000)
    order = service.place(
        {
            "symbol": "BTCUSDT",
            "side": "BUY",
            "type": "STOP_LIMIT",
            "quantity": 0.01,
            "stop_price": 50_500,
            "price": 50_600,
        }
    )
    assert order.status is OrderStatus.WAITING
    service.on_price("BTCUSDT", 50_400, 50_300, 50_400)
    assert service.journal.order(order.client_order_id).status is OrderStatus.WAITING  # type: ignore[union-attr]
    service.on_price("BTCUSDT", 50_550, 50_400, 50_550)  # triggers: sent as LIMIT 50,600
    service.on_price("BTCUSDT", 50_560, 50_540, 50_550)  # price below the limit: fills at it
    assert service.journal.order(order.client_order_id).status is OrderStatus.FILLED  # type: ignore[union-attr]


def test_paper_account_and_journal_survive_a_restart(paper: PaperFactory) -> None:
    service = paper()
    service.on_price("ETHUSDT", 2_000, 2_000, 2_000)
    service.place({"symbol": "ETHUSDT", "side": "BUY", "type": "MARKET", "quote_amount": 500})
    service.on_price("ETHUSDT", 2_000, 2_000, 2_000)
    service.pause()
    again = paper()
    assert again.balances()["ETH"].free == pytest.approx(0.25)
    assert again.positions()["ETHUSDT"].quantity == pytest.approx(0.25)
    assert len(again.fills()) == 1 and again.paused


def test_pause_blocks_entries_but_lets_exits_out(paper: PaperFactory) -> None:
    service = paper()
    service.on_price("BTCUSDT", 50_000, 50_000, 50_000)
    service.place({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": 0.01})
    service.on_price("BTCUSDT", 50_000, 50_000, 50_000)
    service.pause()
    with pytest.raises(RiskRejected) as refused:
        service.place({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": 0.01})
    assert refused.value.check == "paused"
    service.close_position("BTCUSDT")
    service.on_price("BTCUSDT", 50_000, 50_000, 50_000)
    assert not service.positions()["BTCUSDT"].is_open


def test_kill_cancels_every_open_order_and_flattens(paper: PaperFactory) -> None:
    service = paper()
    service.on_price("BTCUSDT", 50_000, 50_000, 50_000)
    service.place(
        {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": 0.01, "stop_loss": 45_000}
    )
    service.on_price("BTCUSDT", 50_000, 50_000, 50_000)
    service.place({"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "quantity": 0.01, "price": 40_000})
    result = service.kill(flatten=True)
    assert len(result["canceled"]) == 2 and result["closed"] == ["BTCUSDT"]
    service.on_price("BTCUSDT", 50_000, 50_000, 50_000)
    assert service.orders("open") == []
    assert not service.positions()["BTCUSDT"].is_open
    with pytest.raises(RiskRejected) as refused:
        service.place({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": 0.01})
    assert refused.value.check == "kill_switch"
    service.resume()
    service.place({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": 0.01})


def test_breaker_trips_persists_and_resets_at_utc_midnight(paper: PaperFactory) -> None:
    clock = Clock(1_700_000_000_000)  # 2023-11-14 22:13 UTC
    service = paper(clock, daily_loss_pct=5.0, max_order_notional=20_000.0)
    service.on_price("BTCUSDT", 50_000, 50_000, 50_000)
    service.place({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": 0.19})
    service.on_price("BTCUSDT", 50_000, 50_000, 50_000)
    start = service.breaker.start_equity
    assert start == pytest.approx(10_000)
    service.on_price("BTCUSDT", 47_000, 47_000, 47_000)  # 0.19 × 3,000 = 570 lost: 5.7 % + fees
    assert service.breaker.tripped
    with pytest.raises(RiskRejected) as refused:
        service.place({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": 0.001})
    assert refused.value.check == "daily_loss_breaker" and "5 %" in refused.value.message
    restarted = paper(clock)
    assert restarted.breaker.tripped  # durable
    clock.now += 2 * 3_600_000  # past 00:00 UTC
    restarted.on_price("BTCUSDT", 47_000, 47_000, 47_000)
    assert not restarted.breaker.tripped
    restarted.place({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": 0.001})


def test_a_market_preview_uses_the_streams_current_price(paper: PaperFactory) -> None:
    stream = {"ETHUSDT": 2_000.0}
    service = paper(price_lookup=stream.get)
    assert service.preview({"symbol": "ETHUSDT", "side": "BUY", "quantity": 1}).notional == 2_000.0
    stream["ETHUSDT"] = 2_100.0  # the stream moved; this service watches nothing yet
    assert service.preview({"symbol": "ETHUSDT", "side": "BUY", "quantity": 1}).notional == 2_100.0
