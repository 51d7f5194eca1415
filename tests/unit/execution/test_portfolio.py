"""P&L and performance against cases worked out by hand."""

from __future__ import annotations

import pytest

from thebot.execution.broker import Fill, Side
from thebot.execution.portfolio import (
    mark,
    max_drawdown,
    performance,
    period_returns,
    replay,
    sharpe,
    sortino,
)


def fill(side: Side, price: float, quantity: float, fee: float, time_ms: int, base_fee: float = 0.0) -> Fill:
    return Fill(str(time_ms), "c", "BTCUSDT", side, price, quantity, fee, time_ms, base_fee)


def test_average_price_fees_and_realized_pnl() -> None:
    # Buy 1 @ 100 (fee 0.1), buy 1 @ 110 (fee 0.11): avg 105, entry fees 0.21.
    # Sell 1 @ 120 (fee 0.12): realized = (120 - 105) * 1 - 0.12 - 0.21 / 2 = 14.775.
    fills = [
        fill(Side.BUY, 100, 1, 0.1, 1),
        fill(Side.BUY, 110, 1, 0.11, 2),
        fill(Side.SELL, 120, 1, 0.12, 3),
    ]
    positions, trades = replay(fills)
    position = positions["BTCUSDT"]
    assert position.quantity == pytest.approx(1)
    assert position.average_price == pytest.approx(105)
    assert position.entry_fees == pytest.approx(0.105)
    assert position.realized_pnl == pytest.approx(14.775)
    assert trades == []  # still open
    # Unrealized at 100: (100 - 105) * 1 - 0.105 = -5.105.
    assert mark(position, 100).unrealized_pnl == pytest.approx(-5.105)


def test_round_trip_becomes_a_trade_with_all_fees() -> None:
    fills = [fill(Side.BUY, 100, 2, 0.2, 1), fill(Side.SELL, 90, 2, 0.18, 5)]
    positions, trades = replay(fills)
    assert not positions["BTCUSDT"].is_open
    assert len(trades) == 1
    # (90 - 100) * 2 - 0.2 - 0.18 = -20.38 on a cost of 200.
    assert trades[0].pnl == pytest.approx(-20.38)
    assert trades[0].return_fraction == pytest.approx(-0.1019)
    assert (trades[0].opened_ms, trades[0].closed_ms) == (1, 5)


def test_fee_paid_in_base_asset_reduces_the_position() -> None:
    # Binance: buy 0.05 @ 2000, fee 0.00005 ETH (= 0.1 USDT): hold 0.04995.
    positions, _ = replay([fill(Side.BUY, 2000, 0.05, 0.1, 1, base_fee=0.00005)])
    position = positions["BTCUSDT"]
    assert position.quantity == pytest.approx(0.04995)
    # Spent 100, hold 0.04995 worth 2100 each = 104.895 → P&L 4.895.
    assert mark(position, 2100).unrealized_pnl == pytest.approx(4.895)


def test_dust_below_the_lot_step_closes_the_trade() -> None:
    fills = [
        fill(Side.BUY, 100, 0.01234, 0.001234, 1, base_fee=0.00001234),
        fill(Side.SELL, 110, 0.01232, 0.0013552, 2),
    ]
    positions, trades = replay(fills, dust={"BTCUSDT": 0.00001})
    assert len(trades) == 1 and not positions["BTCUSDT"].is_open


def test_performance_metrics_by_hand() -> None:
    fills = [
        fill(Side.BUY, 100, 1, 0, 1),
        fill(Side.SELL, 110, 1, 0, 2),  # +10
        fill(Side.BUY, 100, 1, 0, 3),
        fill(Side.SELL, 95, 1, 0, 4),  # -5
        fill(Side.BUY, 100, 1, 0, 5),
        fill(Side.SELL, 120, 1, 0, 6),  # +20
    ]
    _, trades = replay(fills)
    equity = [100.0, 110.0, 99.0, 121.0]
    result = performance(trades, equity)
    assert result.trades == 3 and result.wins == 2
    assert result.win_rate == pytest.approx(2 / 3)
    assert result.profit_factor == pytest.approx(30 / 5)
    assert result.expectancy == pytest.approx(25 / 3)
    assert result.net_pnl == pytest.approx(25)
    # Returns: +10 %, -10 %, +22.222 %; drawdown 110 → 99 = 10 %.
    returns = period_returns(equity)
    assert returns == pytest.approx([0.1, -0.1, 22 / 99])
    mean = (0.1 - 0.1 + 22 / 99) / 3
    std = ((0.1 - mean) ** 2 + (-0.1 - mean) ** 2 + (22 / 99 - mean) ** 2) ** 0.5 / 2**0.5
    assert sharpe(returns) == pytest.approx(mean / std)
    assert sortino(returns) == pytest.approx(mean / (0.01 / 3) ** 0.5)
    assert result.max_drawdown == pytest.approx(0.1)
    assert max_drawdown([100, 120, 90, 130, 65]) == pytest.approx(0.5)


def test_no_losing_trade_has_no_profit_factor() -> None:
    _, trades = replay([fill(Side.BUY, 100, 1, 0, 1), fill(Side.SELL, 101, 1, 0, 2)])
    result = performance(trades, [100, 101])
    assert result.profit_factor is None and result.win_rate == 1.0 and result.sharpe is None
