"""What a trade costs and how big it should be: pure functions shared by live trading and backtests.

Seed 001's sizing rule: size = capital × risk / |entry − stop|, so a stop hit loses `risk` of capital
(before fees and slippage).
"""

from __future__ import annotations

from enum import StrEnum


class Side(StrEnum):
    BUY = "BUY"
    SELL = "SELL"


def size_by_risk(equity: float, risk_fraction: float, entry: float, stop: float) -> float:
    """Base-asset quantity that loses `risk_fraction` of `equity` if price goes from entry to stop."""
    if equity <= 0:
        raise ValueError(f"equity must be positive, got {equity}")
    if not 0 < risk_fraction <= 1:
        raise ValueError(f"risk must be above 0 and at most 100 %, got {risk_fraction * 100:g} %")
    distance = abs(entry - stop)
    if distance == 0:
        raise ValueError("the stop equals the entry price; a risk-based size needs a stop distance")
    return equity * risk_fraction / distance


def slipped_price(price: float, side: Side, slippage_fraction: float) -> float:
    """The fill price after slippage: a buy pays more, a sell receives less."""
    if slippage_fraction < 0:
        raise ValueError(f"slippage cannot be negative, got {slippage_fraction}")
    return price * (1 + slippage_fraction) if side is Side.BUY else price * (1 - slippage_fraction)


def fee(notional: float, fee_rate: float) -> float:
    """The venue's fee on a fill, in quote currency (Binance spot and the simulated venue: 0.1 %)."""
    return abs(notional) * fee_rate
