"""Every risk check refuses with its name and its numbers; bad fields are named; nothing is sent."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.execution.conftest import PaperFactory
from thebot.execution.risk import CHECKS, RiskRejected
from thebot.execution.service import TradingService


def refused(service: TradingService, ticket: dict[str, Any]) -> RiskRejected:
    before = len(service.orders())
    with pytest.raises(RiskRejected) as error:
        service.place(ticket)
    assert len(service.orders()) == before, "a refused ticket must leave nothing in the journal"
    return error.value


def buy(quantity: float, symbol: str = "BTCUSDT", **extra: Any) -> dict[str, Any]:
    return {"symbol": symbol, "side": "BUY", "type": "MARKET", "quantity": quantity, **extra}


@pytest.fixture
def service(paper: PaperFactory) -> TradingService:
    built = paper(max_position_notional=1_000.0, max_concurrent_positions=1, max_open_orders=2)
    built.on_price("BTCUSDT", 50_000, 50_000, 50_000)
    built.on_price("ETHUSDT", 2_000, 2_000, 2_000)
    return built


def fill_pending(service: TradingService) -> None:
    service.on_price("BTCUSDT", 50_000, 50_000, 50_000)
    service.on_price("ETHUSDT", 2_000, 2_000, 2_000)


def test_exchange_filters(service: TradingService) -> None:
    error = refused(service, buy(0.000004))
    assert error.check == "LOT_SIZE" and "below the minimum 1e-05" in error.message
    error = refused(service, {**buy(0.001), "type": "LIMIT", "price": 49_999.995})
    assert error.check == "PRICE_FILTER" and "49999.995" in error.message and "0.01" in error.message
    error = refused(service, buy(0.00005))
    assert error.check == "NOTIONAL" and "2.50 USDT is below the minimum 5.00" in error.message


def test_quantity_is_rounded_down_to_the_step_in_the_preview(service: TradingService) -> None:
    preview = service.preview(buy(0.0123456))
    assert preview.quantity == 0.01234 and preview.notional == pytest.approx(617.0)
    assert preview.fee == pytest.approx(0.617)
    assert [check.name for check in preview.checks] == list(CHECKS)


def test_max_order_notional(paper: PaperFactory) -> None:
    service = paper()
    service.on_price("BTCUSDT", 50_000, 50_000, 50_000)
    error = refused(service, buy(0.12))
    assert error.check == "max_order_notional"
    assert "6,000.00 USDT is above the limit of 5,000.00" in error.message


def test_max_position_per_symbol(service: TradingService) -> None:
    service.place(buy(0.015))
    fill_pending(service)
    error = refused(service, buy(0.01))
    assert (
        error.check == "max_position_per_symbol"
        and "1,250.00" in error.message
        and "1,000.00" in error.message
    )


def test_max_concurrent_positions(service: TradingService) -> None:
    service.place(buy(0.01))
    fill_pending(service)
    error = refused(service, buy(0.1, "ETHUSDT"))
    assert error.check == "max_concurrent_positions" and "2 open position(s)" in error.message


def test_max_open_orders(service: TradingService) -> None:
    service.place({**buy(0.001), "type": "LIMIT", "price": 40_000})
    service.place({**buy(0.001), "type": "LIMIT", "price": 40_000})
    error = refused(service, {**buy(0.001), "type": "LIMIT", "price": 40_000})
    assert (
        error.check == "max_open_orders" and "3 open order(s)" in error.message and "limit 2" in error.message
    )


def test_balance(paper: PaperFactory) -> None:
    service = paper(max_order_notional=50_000.0, max_position_notional=50_000.0)
    service.on_price("BTCUSDT", 50_000, 50_000, 50_000)
    error = refused(service, buy(0.2))
    assert (
        error.check == "balance" and "10,010.00" in error.message and "10,000.00 USDT free" in error.message
    )
    error = refused(service, {"symbol": "BTCUSDT", "side": "SELL", "type": "MARKET", "quantity": 0.01})
    assert error.check == "balance" and "0 BTC held" in error.message


def test_paused_refuses_entries(service: TradingService) -> None:
    service.pause()
    error = refused(service, buy(0.001))
    assert error.check == "paused"


@pytest.mark.parametrize(
    ("ticket", "field"),
    [
        ({"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.1"}, "quantity"),
        ({"symbol": "BTCUSDT", "side": "BUY", "quantity": -1}, "quantity"),
        ({"symbol": "BTCUSDT", "side": "BUY", "quantity": 0}, "quantity"),
        ({"symbol": "BTCUSDT", "side": "HOLD", "quantity": 0.1}, "side"),
        ({"symbol": "BTCUSDT", "side": "BUY", "type": "ICEBERG", "quantity": 0.1}, "type"),
        ({"symbol": "DOGEUSDT", "side": "BUY", "quantity": 0.1}, "symbol"),
        ({"symbol": "BTCUSDT", "side": "BUY"}, "quantity"),
        ({"symbol": "BTCUSDT", "side": "BUY", "quantity": 0.1, "quote_amount": 10}, "quantity"),
        ({"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "quantity": 0.1}, "price"),
        ({"symbol": "BTCUSDT", "side": "BUY", "risk_pct": 1}, "risk_pct"),
        ({"symbol": "BTCUSDT", "side": "BUY", "quantity": 0.01, "stop_loss": 51_000}, "stop_loss"),
        ({"symbol": "BTCUSDT", "side": "BUY", "quantity": 0.01, "leverage": 10}, "leverage"),
        ([1, 2], "body"),
    ],
)
def test_bad_fields_are_named(service: TradingService, ticket: Any, field: str) -> None:
    assert refused(service, ticket).check == field


def test_risk_pct_sizes_by_the_stop_distance(service: TradingService) -> None:
    # Seed 001: 10,000 × 1 % / (50,000 − 49,500) = 0.2 BTC... capped here by the limits, so preview only.
    preview = service.preview(buy(None, risk_pct=1, stop_loss=49_500) | {"quantity": None})
    assert preview.quantity == pytest.approx(0.2)
    assert preview.risk_quote == pytest.approx(0.2 * 500 + 10 + 0.2 * 49_500 * 0.001)
    assert preview.failure is not None and preview.failure.name == "max_order_notional"


def test_breaker_warns_once_per_level_then_trips_and_resets_the_next_utc_day() -> None:
    from thebot.execution.risk import DailyLossBreaker

    breaker = DailyLossBreaker(5.0, (2.0, 3.0, 4.0))
    day = 1_700_006_400_000  # 2023-11-15 00:00 UTC
    assert breaker.observe(10_000, day) == []
    assert [level for level, _ in breaker.observe(9_790, day + 1)] == ["warning"]  # 2.1 %
    assert breaker.observe(9_790, day + 2) == []  # once per level
    events = breaker.observe(9_450, day + 3)  # 5.5 %: the 3 % and 4 % warnings, then the trip
    assert [level for level, _ in events] == ["warning", "warning", "critical"]
    assert breaker.tripped and "5.50 %" in events[-1][1]
    assert breaker.observe(10_500, day + 4) == [] and breaker.tripped  # a recovery does not reset it
    reset = breaker.observe(9_450, day + 86_400_000)
    assert [level for level, _ in reset] == ["info"] and not breaker.tripped
    assert breaker.start_equity == 9_450 and breaker.day == "2023-11-16"
