"""The paper broker: a simulated spot account filled against the live price stream.

A market order fills at the next price that arrives after it (plus slippage: a buy pays more, a sell
receives less), a limit order once price trades through its limit (at the limit), and every fill pays the
fee rate in quote currency. Balances and orders are saved to the journal after every change, so a restart
continues the same account.
"""

from __future__ import annotations

import itertools
import logging
import threading
from dataclasses import replace
from typing import Any

from thebot.execution.broker import (
    Balance,
    BrokerRejected,
    Fill,
    Order,
    OrderRequest,
    OrderRole,
    OrderStatus,
    OrderType,
    Side,
)
from thebot.execution.costs import fee, slipped_price
from thebot.execution.filters import SymbolFilters, default_filters
from thebot.execution.journal import Journal

logger = logging.getLogger(__name__)

STATE_KEY = "paper_account"


class PaperBroker:
    name = "paper"

    def __init__(
        self,
        journal: Journal,
        symbols: tuple[str, ...],
        *,
        starting_balance: float,
        quote_asset: str = "USDT",
        slippage_bps: float = 2.0,
        fee_rate: float = 0.001,
        now_ms: Any = None,
    ) -> None:
        self._journal = journal
        self._filters = {symbol: default_filters(symbol, quote_asset) for symbol in symbols}
        self._slippage = slippage_bps / 10_000
        self.fee_rate = fee_rate
        self._lock = threading.RLock()
        self._prices: dict[str, float] = {}
        self._now_ms = now_ms
        state = journal.get_state(STATE_KEY)
        if state is None:
            self._balances: dict[str, list[float]] = {quote_asset: [starting_balance, 0.0]}
            self._orders: dict[str, Order] = {}
            self._fills: list[Fill] = []
            self._sequence = itertools.count(1)
            self._save()
        else:
            self._load(state)

    # -- persistence -----------------------------------------------------------------------------------

    def _save(self) -> None:
        self._journal.set_state(
            STATE_KEY,
            {
                "balances": self._balances,
                "orders": [order.to_dict() for order in self._orders.values() if order.status.is_open],
                "fills": [fill.to_dict() for fill in self._fills[-5_000:]],
                "sequence": next(self._sequence),
            },
        )

    def _load(self, state: dict[str, Any]) -> None:
        self._balances = {asset: [float(v[0]), float(v[1])] for asset, v in state["balances"].items()}
        self._orders = {}
        for raw in state.get("orders", []):
            order = Order(
                client_order_id=raw["client_order_id"],
                symbol=raw["symbol"],
                side=Side(raw["side"]),
                type=OrderType(raw["type"]),
                quantity=raw["quantity"],
                status=OrderStatus(raw["status"]),
                price=raw["price"],
                exchange_id=raw["exchange_id"],
                created_ms=raw["created_ms"],
                updated_ms=raw["updated_ms"],
            )
            self._orders[order.client_order_id] = order
        self._fills = [
            Fill(
                trade_id=raw["trade_id"],
                client_order_id=raw["order_id"],
                symbol=raw["symbol"],
                side=Side(raw["side"]),
                price=raw["price"],
                quantity=raw["quantity"],
                fee=raw["fee"],
                time_ms=raw["time_ms"],
            )
            for raw in state.get("fills", [])
        ]
        self._sequence = itertools.count(int(state.get("sequence", 1)))

    # -- the Broker protocol ---------------------------------------------------------------------------

    def markets(self) -> dict[str, SymbolFilters]:
        return dict(self._filters)

    def last_price(self, symbol: str) -> float | None:
        return self._prices.get(symbol)

    def _time(self) -> int:
        if self._now_ms is not None:
            return int(self._now_ms())
        from thebot.events import now_ms

        return now_ms()

    def _balance(self, asset: str) -> list[float]:
        return self._balances.setdefault(asset, [0.0, 0.0])

    def place(self, request: OrderRequest) -> tuple[Order, list[Fill]]:
        with self._lock:
            filters = self._filters.get(request.symbol)
            if filters is None:
                raise BrokerRejected(f"unknown symbol {request.symbol}")
            now = self._time()
            order = Order(
                client_order_id=request.client_order_id,
                symbol=request.symbol,
                side=request.side,
                type=request.type,
                quantity=request.quantity,
                status=OrderStatus.NEW,
                price=request.price,
                exchange_id=f"paper-{next(self._sequence)}",
                created_ms=now,
                updated_ms=now,
            )
            if request.type is OrderType.LIMIT:
                assert request.price is not None
                if request.side is Side.BUY:
                    reserve = request.quantity * request.price * (1 + self.fee_rate)
                    balance = self._balance(filters.quote_asset)
                else:
                    reserve = request.quantity
                    balance = self._balance(filters.base_asset)
                if balance[0] + 1e-9 < reserve:
                    raise BrokerRejected("insufficient balance for this order")
                balance[0] -= reserve
                balance[1] += reserve
            self._orders[order.client_order_id] = order
            self._save()
            return order, []

    def fetch_order(self, symbol: str, client_order_id: str) -> Order | None:
        with self._lock:
            return self._orders.get(client_order_id)

    def open_orders(self) -> list[Order]:
        with self._lock:
            return [order for order in self._orders.values() if order.status.is_open]

    def cancel(self, symbol: str, client_order_id: str) -> Order:
        with self._lock:
            order = self._orders.get(client_order_id)
            if order is None or not order.status.is_open:
                raise BrokerRejected(f"order {client_order_id} is not open")
            self._release(order)
            canceled = replace(order, status=OrderStatus.CANCELED, updated_ms=self._time())
            self._orders[client_order_id] = canceled
            self._save()
            return canceled

    def fills(self, symbol: str, since_ms: int | None = None) -> list[Fill]:
        with self._lock:
            return [
                fill
                for fill in self._fills
                if fill.symbol == symbol and (since_ms is None or fill.time_ms >= since_ms)
            ]

    def balances(self) -> dict[str, Balance]:
        with self._lock:
            return {asset: Balance(asset, free, locked) for asset, (free, locked) in self._balances.items()}

    def close(self) -> None:
        pass

    # -- prices ----------------------------------------------------------------------------------------

    def _release(self, order: Order) -> None:
        if order.type is not OrderType.LIMIT or order.price is None:
            return
        filters = self._filters[order.symbol]
        if order.side is Side.BUY:
            reserve = order.quantity * order.price * (1 + self.fee_rate)
            balance = self._balance(filters.quote_asset)
        else:
            reserve = order.quantity
            balance = self._balance(filters.base_asset)
        balance[1] -= reserve
        balance[0] += reserve

    def on_price(self, symbol: str, high: float, low: float, last: float) -> list[tuple[Order, list[Fill]]]:
        """Fill what this price reaches; returns the orders that changed with their new fills."""
        with self._lock:
            self._prices[symbol] = last
            changed: list[tuple[Order, list[Fill]]] = []
            for order in list(self._orders.values()):
                if order.symbol != symbol or not order.status.is_open:
                    continue
                if order.type is OrderType.MARKET:
                    result = self._fill(order, slipped_price(last, order.side, self._slippage))
                elif order.price is not None and (
                    (order.side is Side.BUY and low <= order.price)
                    or (order.side is Side.SELL and high >= order.price)
                ):
                    self._release(order)
                    result = self._fill(order, order.price)
                else:
                    continue
                changed.append(result)
            if changed:
                self._save()
            return changed

    def _fill(self, order: Order, price: float) -> tuple[Order, list[Fill]]:
        filters = self._filters[order.symbol]
        quote = self._balance(filters.quote_asset)
        base = self._balance(filters.base_asset)
        notional = order.quantity * price
        cost = fee(notional, self.fee_rate)
        now = self._time()
        if order.side is Side.BUY:
            if quote[0] + 1e-9 < notional + cost:
                rejected = replace(
                    order, status=OrderStatus.EXPIRED, updated_ms=now, reason="insufficient balance at fill"
                )
                self._orders[order.client_order_id] = rejected
                return rejected, []
            quote[0] -= notional + cost
            base[0] += order.quantity
        else:
            if base[0] + 1e-12 < order.quantity:
                rejected = replace(
                    order, status=OrderStatus.EXPIRED, updated_ms=now, reason="insufficient balance at fill"
                )
                self._orders[order.client_order_id] = rejected
                return rejected, []
            base[0] -= order.quantity
            quote[0] += notional - cost
        fill = Fill(
            trade_id=f"paper-t{next(self._sequence)}",
            client_order_id=order.client_order_id,
            symbol=order.symbol,
            side=order.side,
            price=price,
            quantity=order.quantity,
            fee=cost,
            time_ms=now,
        )
        self._fills.append(fill)
        filled = replace(
            order,
            status=OrderStatus.FILLED,
            filled=order.quantity,
            average_price=price,
            fee=cost,
            updated_ms=now,
        )
        self._orders[order.client_order_id] = filled
        return filled, [fill]


__all__ = ["OrderRole", "PaperBroker"]
