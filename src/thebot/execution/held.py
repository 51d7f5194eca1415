"""Orders the app holds until price reaches them: what one price does to one held order.

A stop-limit entry, a stop-loss, a take-profit and a trailing stop live in the journal as WAITING; the
exchange sees them only once they fire (as LIMIT for a stop-limit, MARKET for an exit), because the venue
has no stop orders and a resting take-profit would lock the coins the stop-loss needs to sell. The
decision is this module's plain function; the service sends and journals what it returns.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from thebot.execution.broker import Order, OrderRole, OrderType, Side
from thebot.execution.trailing import RatchetTrailingStop

EXIT_ROLES = (OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT, OrderRole.TRAILING)
ARMED = "armed"  # an exit's reason once its entry filled: only armed exits fire


@dataclass(frozen=True, slots=True)
class Decision:
    send_as: OrderType | None = None  # fire now, sent as this type
    moved: Order | None = None  # a trailing stop that ratcheted: the order to journal


NOTHING = Decision()


def on_price(order: Order, high: float, low: float) -> Decision:
    """One price (high = low = last for a tick) against one held order."""
    if order.role is OrderRole.ENTRY and order.type is OrderType.STOP_LIMIT and order.stop_price is not None:
        reached = high >= order.stop_price if order.side is Side.BUY else low <= order.stop_price
        return Decision(send_as=OrderType.LIMIT) if reached else NOTHING
    if order.role not in EXIT_ROLES or order.reason != ARMED:
        return NOTHING
    if order.role is OrderRole.STOP_LOSS and order.stop_price is not None:
        return Decision(send_as=OrderType.MARKET) if low <= order.stop_price else NOTHING
    if order.role is OrderRole.TAKE_PROFIT and order.price is not None:
        return Decision(send_as=OrderType.MARKET) if high >= order.price else NOTHING
    if (
        order.role is OrderRole.TRAILING
        and order.trailing_fraction is not None
        and order.stop_price is not None
    ):
        # The journal keeps the stop in stop_price and the best price so far in price.
        trailing = RatchetTrailingStop(
            Side.BUY, order.trailing_fraction, order.price or high, order.stop_price
        )
        if trailing.hit(high, low):
            return Decision(send_as=OrderType.MARKET)
        before = trailing.stop
        trailing.update(high, low)
        if trailing.stop != before:
            return Decision(moved=replace(order, stop_price=trailing.stop, price=trailing.best))
    return NOTHING


def arm(leg: Order, entry: Order, quantity: float) -> Order:
    """An exit of a filled entry: it now protects `quantity`; a trailing stop starts at the fill price."""
    armed = replace(leg, quantity=quantity, reason=ARMED)
    if leg.role is OrderRole.TRAILING and leg.trailing_fraction is not None:
        stop = RatchetTrailingStop.start(Side.BUY, entry.average_price, leg.trailing_fraction)
        armed = replace(armed, stop_price=stop.stop, price=stop.best)
    return armed
