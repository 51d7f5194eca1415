"""An order ticket as a user fills it in (panel or `POST /api/orders`), checked field by field.

Bad input is refused before anything else happens, with the field's name: `RiskRejected(check="quantity",
"quantity must be a positive number, got -1")`. The shape:

    {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "risk_pct": 1, "stop_loss": 49500,
     "take_profit": 52000, "trailing_pct": 0.5}
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from thebot.execution.broker import OrderType, Side
from thebot.execution.risk import RiskRejected

TICKET_TYPES = (OrderType.MARKET, OrderType.LIMIT, OrderType.STOP_LIMIT)
_FIELDS = {
    "symbol",
    "side",
    "type",
    "quantity",
    "quote_amount",
    "risk_pct",
    "price",
    "stop_price",
    "stop_loss",
    "take_profit",
    "trailing_pct",
}


@dataclass(frozen=True, slots=True)
class Ticket:
    symbol: str
    side: Side
    type: OrderType
    quantity: float | None = None
    quote_amount: float | None = None
    risk_pct: float | None = None
    price: float | None = None
    stop_price: float | None = None
    stop_loss: float | None = None
    take_profit: float | None = None
    trailing_pct: float | None = None

    @property
    def has_exits(self) -> bool:
        return any(value is not None for value in (self.stop_loss, self.take_profit, self.trailing_pct))


def _number(data: dict[str, Any], name: str) -> float | None:
    value = data.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RiskRejected(name, f"{name} must be a number, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise RiskRejected(name, f"{name} must be a positive number, got {value!r}")
    return float(value)


def parse_ticket(data: Any) -> Ticket:
    if not isinstance(data, dict):
        raise RiskRejected("body", 'send a JSON object such as {"symbol": "BTCUSDT", ...}')
    unknown = sorted(set(data) - _FIELDS)
    if unknown:
        raise RiskRejected(
            unknown[0], f"unknown field '{unknown[0]}'; fields are: {', '.join(sorted(_FIELDS))}"
        )
    symbol = data.get("symbol")
    if not isinstance(symbol, str) or not symbol:
        raise RiskRejected("symbol", 'symbol is required, e.g. "BTCUSDT"')
    side_raw = data.get("side")
    try:
        side = Side(str(side_raw).upper()) if isinstance(side_raw, str) else None
    except ValueError:
        side = None
    if side is None:
        raise RiskRejected("side", f'side must be "BUY" or "SELL", got {side_raw!r}')
    type_raw = data.get("type", "MARKET")
    order_type = None
    if isinstance(type_raw, str):
        order_type = next((item for item in TICKET_TYPES if item.value == type_raw.upper()), None)
    if order_type is None:
        raise RiskRejected("type", f"type must be MARKET, LIMIT or STOP_LIMIT, got {type_raw!r}")
    ticket = Ticket(
        symbol=symbol.upper(),
        side=side,
        type=order_type,
        quantity=_number(data, "quantity"),
        quote_amount=_number(data, "quote_amount"),
        risk_pct=_number(data, "risk_pct"),
        price=_number(data, "price"),
        stop_price=_number(data, "stop_price"),
        stop_loss=_number(data, "stop_loss"),
        take_profit=_number(data, "take_profit"),
        trailing_pct=_number(data, "trailing_pct"),
    )
    sizes = [name for name in ("quantity", "quote_amount", "risk_pct") if getattr(ticket, name) is not None]
    if len(sizes) != 1:
        raise RiskRejected(
            "quantity",
            "give exactly one of quantity, quote_amount or risk_pct"
            + (f" (got {', '.join(sizes)})" if sizes else ""),
        )
    if ticket.risk_pct is not None and (ticket.risk_pct > 100 or ticket.stop_loss is None):
        raise RiskRejected(
            "risk_pct",
            "risk_pct sizes by the stop distance: give stop_loss as well, and at most 100"
            if ticket.stop_loss is None
            else f"risk_pct must be at most 100, got {ticket.risk_pct:g}",
        )
    if order_type is OrderType.MARKET and ticket.price is not None:
        raise RiskRejected("price", "a MARKET order takes no price; use LIMIT to set one")
    if order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT) and ticket.price is None:
        raise RiskRejected("price", f"a {order_type.value} order needs a price")
    if order_type is OrderType.STOP_LIMIT and ticket.stop_price is None:
        raise RiskRejected("stop_price", "a STOP_LIMIT order needs a stop_price (the trigger)")
    if order_type is not OrderType.STOP_LIMIT and ticket.stop_price is not None:
        raise RiskRejected(
            "stop_price", "stop_price is the trigger of a STOP_LIMIT order; use stop_loss to protect"
        )
    if ticket.trailing_pct is not None and ticket.trailing_pct >= 100:
        raise RiskRejected("trailing_pct", f"trailing_pct must be below 100, got {ticket.trailing_pct:g}")
    if ticket.has_exits and side is Side.SELL:
        raise RiskRejected(
            "stop_loss",
            "stop-loss, take-profit and trailing protect a long position: use them on BUY tickets",
        )
    return ticket


def check_exit_levels(ticket: Ticket, entry: float) -> None:
    """A long's stop below the entry and its target above (else it would exit at once)."""
    if ticket.stop_loss is not None and ticket.stop_loss >= entry:
        raise RiskRejected("stop_loss", f"stop_loss {ticket.stop_loss:g} must be below the entry {entry:g}")
    if ticket.take_profit is not None and ticket.take_profit <= entry:
        raise RiskRejected(
            "take_profit", f"take_profit {ticket.take_profit:g} must be above the entry {entry:g}"
        )


def ticket_from_signal(
    signal: dict[str, Any], atr: float, *, atr_multiple: float = 2.0, risk_pct: float = 1.0
) -> dict[str, Any]:
    """ "Trade this" on a signal row: the signal's side, a market entry sized by risk, an ATR-based stop.

    `signal` needs `symbol`, `side` ("BUY"/"SELL" or "buy"/"sell") and `price`. A BUY gets a stop
    `atr_multiple` ATRs below the price, a take-profit twice as far above (2:1), sized so the stop loses
    `risk_pct` of equity. A SELL (spot: an exit) becomes a plain market sell ticket without a size, for the
    user to fill in. Prices are rounded to cents; the ticket's preview rounds them to the tick.
    """
    side = str(signal.get("side", "")).upper()
    symbol = str(signal.get("symbol", ""))
    price = float(signal.get("price") or 0.0)
    if side not in ("BUY", "SELL") or not symbol or price <= 0:
        raise ValueError("a signal needs symbol, side BUY/SELL and a positive price")
    ticket: dict[str, Any] = {"symbol": symbol, "side": side, "type": "MARKET"}
    if side == "SELL" or atr <= 0:
        return ticket
    distance = atr * atr_multiple
    stop = round(price - distance, 2)
    if stop <= 0:
        return ticket
    ticket.update({"risk_pct": risk_pct, "stop_loss": stop, "take_profit": round(price + 2 * distance, 2)})
    return ticket
