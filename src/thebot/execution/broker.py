"""What every broker speaks: order requests, orders, fills and the `Broker` protocol.

The trading service talks to the paper broker and to an exchange (the simulated venue or Binance, via
ccxt) through the same five calls, so risk checks, the journal and reconciliation run one code path for
all three modes. Brokers are synchronous and called under the service's lock; a call that cannot tell
whether the exchange acted raises `OutcomeUnknown`, never silently retries.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Protocol

from thebot.execution.costs import Side
from thebot.execution.filters import SymbolFilters

__all__ = [
    "Balance",
    "Broker",
    "BrokerError",
    "BrokerRejected",
    "Fill",
    "Order",
    "OrderRequest",
    "OrderRole",
    "OrderStatus",
    "OrderType",
    "OutcomeUnknown",
    "Side",
]


class OrderType(StrEnum):
    MARKET = "MARKET"
    LIMIT = "LIMIT"
    STOP_LIMIT = "STOP_LIMIT"  # held by the service until the stop price trades, then sent as LIMIT
    STOP_MARKET = "STOP_MARKET"  # protective exits (stop-loss, trailing): held, then sent as MARKET
    TAKE_PROFIT = "TAKE_PROFIT"  # held until price reaches it, then sent as MARKET


class OrderStatus(StrEnum):
    PENDING_NEW = "PENDING_NEW"  # written to the journal; the exchange has not acknowledged it yet
    WAITING = "WAITING"  # held by the app until its trigger (stop, take-profit, trailing)
    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"

    @property
    def is_open(self) -> bool:
        return self in _OPEN


_OPEN = frozenset(
    {OrderStatus.PENDING_NEW, OrderStatus.WAITING, OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED}
)


class OrderRole(StrEnum):
    ENTRY = "entry"
    STOP_LOSS = "stop_loss"
    TAKE_PROFIT = "take_profit"
    TRAILING = "trailing"
    CLOSE = "close"
    ADOPTED = "adopted"  # found on the exchange, not placed by this app


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """What goes to the exchange: already quantized, risk-checked and journaled."""

    client_order_id: str
    symbol: str
    side: Side
    type: OrderType  # MARKET or LIMIT by the time it is sent
    quantity: float
    price: float | None = None


@dataclass(frozen=True, slots=True)
class Order:
    client_order_id: str
    symbol: str
    side: Side
    type: OrderType
    quantity: float
    status: OrderStatus
    price: float | None = None
    stop_price: float | None = None
    exchange_id: str | None = None
    filled: float = 0.0
    average_price: float = 0.0
    fee: float = 0.0  # in quote currency
    role: OrderRole = OrderRole.ENTRY
    group_id: str = ""  # an entry and its protective exits share one group (one-cancels-the-other)
    trailing_fraction: float | None = None
    created_ms: int = 0
    updated_ms: int = 0
    reason: str = ""

    def with_(self, **changes: object) -> Order:
        return replace(self, **changes)  # type: ignore[arg-type]

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.client_order_id,
            "client_order_id": self.client_order_id,
            "exchange_id": self.exchange_id,
            "symbol": self.symbol,
            "side": self.side.value,
            "type": self.type.value,
            "quantity": self.quantity,
            "price": self.price,
            "stop_price": self.stop_price,
            "status": self.status.value,
            "filled": self.filled,
            "average_price": self.average_price,
            "fee": self.fee,
            "role": self.role.value,
            "group_id": self.group_id,
            "trailing_pct": None if self.trailing_fraction is None else self.trailing_fraction * 100,
            "created_ms": self.created_ms,
            "updated_ms": self.updated_ms,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution. `fee` is in quote currency; `base_fee` is the part paid in the base asset
    (Binance charges a buy's commission in what was bought), so the position holds quantity - base_fee."""

    trade_id: str
    client_order_id: str
    symbol: str
    side: Side
    price: float
    quantity: float
    fee: float
    time_ms: int
    base_fee: float = 0.0
    exchange_order_id: str = ""  # the exchange's id, until the service maps it to a client order id

    def to_dict(self) -> dict[str, object]:
        return {
            "trade_id": self.trade_id,
            "order_id": self.client_order_id,
            "symbol": self.symbol,
            "side": self.side.value,
            "price": self.price,
            "quantity": self.quantity,
            "fee": self.fee,
            "base_fee": self.base_fee,
            "time_ms": self.time_ms,
        }


@dataclass(frozen=True, slots=True)
class Balance:
    asset: str
    free: float
    locked: float

    @property
    def total(self) -> float:
        return self.free + self.locked


class BrokerError(Exception):
    """Base of broker failures; the message is safe to show (it never carries keys)."""


class BrokerRejected(BrokerError):
    """The exchange answered and said no: nothing was placed."""


class OutcomeUnknown(BrokerError):
    """A timeout or a network error: the request may or may not have reached the exchange."""


class Broker(Protocol):
    name: str

    def markets(self) -> dict[str, SymbolFilters]: ...

    def last_price(self, symbol: str) -> float | None: ...

    def place(self, request: OrderRequest) -> tuple[Order, list[Fill]]:
        """Send; the answer as the exchange has it. Raises BrokerRejected or OutcomeUnknown."""
        ...

    def fetch_order(self, symbol: str, client_order_id: str) -> Order | None:
        """The exchange's view of one order, None when it has never seen that id."""
        ...

    def open_orders(self) -> list[Order]: ...

    def cancel(self, symbol: str, client_order_id: str) -> Order: ...

    def fills(self, symbol: str, since_ms: int | None = None) -> list[Fill]: ...

    def balances(self) -> dict[str, Balance]: ...

    def close(self) -> None: ...


def with_status(order: Order, status: OrderStatus, now_ms: int, reason: str = "") -> Order:
    return replace(order, status=status, updated_ms=now_ms, reason=reason or order.reason)
