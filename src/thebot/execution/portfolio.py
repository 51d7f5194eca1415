"""Positions, P&L and performance as pure functions of the fills and the equity curve.

Spot positions are long only (you sell what you hold). Fees count in P&L in quote currency: a buy's fee
is carried with the open quantity (`entry_fees`) and charged to realized P&L in proportion as it is sold,
a sell's fee is charged at once. Binance takes a buy's fee in the base asset, so such a buy adds
`quantity - base_fee` to the position at the fill price, and the fee's quote value joins `entry_fees`:
spending price × q and holding q − f worth mark each means P&L = (mark − price)(q − f) − f·price.

Sharpe and Sortino are per period of the equity curve (no annualisation: the curve's periods are fills
and closed candles, not days), Sortino's downside deviation is sqrt(mean(min(r, 0)²)) over all periods.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from thebot.execution.broker import Fill, Side

FLAT_EPSILON = 1e-12


@dataclass(frozen=True, slots=True)
class Position:
    symbol: str
    quantity: float = 0.0
    average_price: float = 0.0
    entry_fees: float = 0.0  # quote fees paid for the quantity still held
    realized_pnl: float = 0.0  # net of fees, over the symbol's whole history
    mark_price: float = 0.0
    unrealized_pnl: float = 0.0

    @property
    def is_open(self) -> bool:
        return self.quantity > FLAT_EPSILON

    @property
    def notional(self) -> float:
        return self.quantity * (self.mark_price or self.average_price)

    def to_dict(self) -> dict[str, object]:
        return {
            "symbol": self.symbol,
            "quantity": self.quantity,
            "average_price": self.average_price,
            "mark_price": self.mark_price,
            "notional": self.notional,
            "entry_fees": self.entry_fees,
            "realized_pnl": self.realized_pnl,
            "unrealized_pnl": self.unrealized_pnl,
        }


@dataclass(frozen=True, slots=True)
class Trade:
    """One round trip: from flat to flat again."""

    symbol: str
    opened_ms: int
    closed_ms: int
    pnl: float  # net of every fee of the round trip
    cost: float  # quote spent on the entries (for the return)

    @property
    def return_fraction(self) -> float:
        return self.pnl / self.cost if self.cost else 0.0


@dataclass(frozen=True, slots=True)
class Performance:
    trades: int
    wins: int
    win_rate: float
    profit_factor: float | None  # None when there is no losing trade to divide by
    expectancy: float  # mean P&L per trade, quote
    sharpe: float | None
    sortino: float | None
    max_drawdown: float  # fraction of the peak, 0.1 = 10 %
    net_pnl: float

    def to_dict(self) -> dict[str, object]:
        return {
            "trades": self.trades,
            "wins": self.wins,
            "win_rate": self.win_rate,
            "profit_factor": self.profit_factor,
            "expectancy": self.expectancy,
            "sharpe": self.sharpe,
            "sortino": self.sortino,
            "max_drawdown": self.max_drawdown,
            "net_pnl": self.net_pnl,
        }


@dataclass(slots=True)
class _Open:
    opened_ms: int = 0
    pnl: float = 0.0
    cost: float = 0.0


class Book:
    """Positions and closed round trips, fed one fill at a time (oldest first). A remainder below
    `dust[symbol]` (the lot step: what can no longer be sold) counts as flat."""

    def __init__(self, dust: Mapping[str, float] | None = None) -> None:
        self.positions: dict[str, Position] = {}
        self.trades: list[Trade] = []
        self._rounds: dict[str, _Open] = {}
        self._dust = dict(dust or {})

    def apply(self, fill: Fill) -> None:
        position = self.positions.get(fill.symbol) or Position(fill.symbol)
        current = self._rounds.setdefault(fill.symbol, _Open())
        if fill.side is Side.BUY:
            if not position.is_open:
                current = self._rounds[fill.symbol] = _Open(opened_ms=fill.time_ms)
            net = fill.quantity - fill.base_fee
            quantity = position.quantity + net
            average = (position.average_price * position.quantity + fill.price * net) / quantity
            current.cost += fill.price * fill.quantity
            self.positions[fill.symbol] = replace(
                position, quantity=quantity, average_price=average, entry_fees=position.entry_fees + fill.fee
            )
            return
        sold = min(fill.quantity, position.quantity)
        if sold <= FLAT_EPSILON:
            return  # selling what this journal never bought (held before): no position to reduce
        share = sold / position.quantity
        fees_released = position.entry_fees * share
        pnl = (fill.price - position.average_price) * sold - fill.fee * (sold / fill.quantity) - fees_released
        quantity = position.quantity - sold
        current.pnl += pnl
        if quantity <= max(FLAT_EPSILON, self._dust.get(fill.symbol, 0.0) * (1 - 1e-9)):
            self.trades.append(Trade(fill.symbol, current.opened_ms, fill.time_ms, current.pnl, current.cost))
            self._rounds[fill.symbol] = _Open()
            quantity = 0.0
        self.positions[fill.symbol] = replace(
            position,
            quantity=quantity,
            average_price=position.average_price if quantity else 0.0,
            entry_fees=position.entry_fees - fees_released if quantity else 0.0,
            realized_pnl=position.realized_pnl + pnl,
        )


def replay(
    fills: Iterable[Fill], dust: Mapping[str, float] | None = None
) -> tuple[dict[str, Position], list[Trade]]:
    """Positions and closed round trips after `fills` (oldest first)."""
    book = Book(dust)
    for fill in fills:
        book.apply(fill)
    return book.positions, book.trades


def mark(position: Position, price: float | None) -> Position:
    """Unrealized P&L at `price` (the last trade), entry fees of the held quantity included."""
    if price is None or not position.is_open:
        return replace(position, mark_price=price or 0.0, unrealized_pnl=0.0)
    unrealized = (price - position.average_price) * position.quantity - position.entry_fees
    return replace(position, mark_price=price, unrealized_pnl=unrealized)


def period_returns(equity: Sequence[float]) -> list[float]:
    return [later / earlier - 1 for earlier, later in itertools.pairwise(equity) if earlier > 0]


def sharpe(returns: Sequence[float]) -> float | None:
    if len(returns) < 2:
        return None
    mean = sum(returns) / len(returns)
    variance = sum((value - mean) ** 2 for value in returns) / (len(returns) - 1)
    return mean / math.sqrt(variance) if variance > 0 else None


def sortino(returns: Sequence[float]) -> float | None:
    if len(returns) < 2:
        return None
    mean = sum(returns) / len(returns)
    downside = math.sqrt(sum(min(value, 0.0) ** 2 for value in returns) / len(returns))
    return mean / downside if downside > 0 else None


def max_drawdown(equity: Sequence[float]) -> float:
    peak = 0.0
    worst = 0.0
    for value in equity:
        peak = max(peak, value)
        if peak > 0:
            worst = max(worst, (peak - value) / peak)
    return worst


def performance(trades: Sequence[Trade], equity: Sequence[float]) -> Performance:
    pnls = [trade.pnl for trade in trades]
    wins = [pnl for pnl in pnls if pnl > 0]
    losses = [pnl for pnl in pnls if pnl < 0]
    gross_loss = -sum(losses)
    returns = period_returns(equity)
    return Performance(
        trades=len(pnls),
        wins=len(wins),
        win_rate=len(wins) / len(pnls) if pnls else 0.0,
        profit_factor=sum(wins) / gross_loss if gross_loss > 0 else None,
        expectancy=sum(pnls) / len(pnls) if pnls else 0.0,
        sharpe=sharpe(returns),
        sortino=sortino(returns),
        max_drawdown=max_drawdown(equity),
        net_pnl=sum(pnls),
    )
