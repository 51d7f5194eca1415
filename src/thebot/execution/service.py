"""The trading service: ticket → risk chain → quantize → journal → send, and everything after a fill.

Order of work for every order (under one lock, so two tickets never both pass a limit they share):
1. parse and size the ticket, round the quantity to the step, run every risk check;
2. write the order with a fresh client order id to the journal (PENDING_NEW), committed;
3. send it. An answer updates the journal. A timeout or a network error is never answered by a resend:
   the order is looked up on the exchange by its client order id and whatever is there is adopted; if even
   the look-up fails, the order stays PENDING_NEW and the next reconciliation settles it.

Stop-limit entries, stop-losses, take-profits and trailing stops are held by the service (status WAITING)
and sent as LIMIT or MARKET when price reaches them; the exits of one entry form a group in which the
first to fill cancels the others (one-cancels-the-other). Reconciliation at start and after every
reconnect treats the exchange as the truth: it adopts orders the journal does not know, closes those that
are gone, and adds missed fills.

Prices arrive two ways: closed candles from the bus (`CandleClosed`) and forming prices from a DataStream
observer that only queues, for symbols with something open, to this service's own worker thread.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from thebot.events import (
    CandleClosed,
    ConnectionChanged,
    EventBus,
    OrderUpdated,
    TradingWarning,
    now_ms,
)
from thebot.execution import held
from thebot.execution.broker import (
    Balance,
    Broker,
    BrokerRejected,
    Fill,
    Order,
    OrderRequest,
    OrderRole,
    OrderStatus,
    OrderType,
    OutcomeUnknown,
    Side,
)
from thebot.execution.costs import fee, size_by_risk
from thebot.execution.filters import SymbolFilters
from thebot.execution.held import EXIT_ROLES
from thebot.execution.journal import Journal
from thebot.execution.paper import PaperBroker
from thebot.execution.portfolio import Book, Performance, Position, mark, performance
from thebot.execution.risk import (
    CheckResult,
    DailyLossBreaker,
    RiskInput,
    RiskRejected,
    evaluate,
    first_failure,
)
from thebot.execution.settings import TradingSettings
from thebot.execution.ticket import Ticket, check_exit_levels, parse_ticket

logger = logging.getLogger(__name__)

RESOLVE_DELAYS_SECONDS = (0.2, 0.5, 1.0)
EQUITY_POINT_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class Preview:
    ticket: Ticket
    quantity: float
    reference_price: float
    notional: float
    fee: float
    risk_quote: float | None
    risk_pct_of_equity: float | None
    checks: list[CheckResult]
    is_exit: bool
    filters: SymbolFilters

    @property
    def failure(self) -> CheckResult | None:
        return first_failure(self.checks)

    def to_dict(self) -> dict[str, Any]:
        failure = self.failure
        return {
            "symbol": self.ticket.symbol,
            "side": self.ticket.side.value,
            "type": self.ticket.type.value,
            "quantity": self.quantity,
            "reference_price": self.reference_price,
            "notional": self.notional,
            "fee": self.fee,
            "risk_quote": self.risk_quote,
            "risk_pct_of_equity": self.risk_pct_of_equity,
            "is_exit": self.is_exit,
            "checks": [check.to_dict() for check in self.checks],
            "ok": failure is None,
            "check": None if failure is None else failure.name,
            "error": None if failure is None else f"{failure.name}: {failure.detail}",
        }


@dataclass
class _Cache:
    balances: dict[str, Balance] = field(default_factory=dict)
    book: Book | None = None
    last_equity_point: float = 0.0
    last_poll: float = 0.0
    breaker_state: dict[str, Any] = field(default_factory=dict)


def new_client_order_id() -> str:
    """Binance allows 36 characters of [.A-Z:/a-z0-9_-]; the prefix tells our orders from others."""
    return "tb-" + uuid.uuid4().hex[:24]


class TradingService:
    def __init__(
        self,
        settings: TradingSettings,
        broker: Broker,
        journal: Journal,
        bus: EventBus,
        *,
        symbols: tuple[str, ...],
        price_lookup: Callable[[str], float | None] | None = None,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self.settings = settings
        self.broker = broker
        self.journal = journal
        self.bus = bus
        self.symbols = symbols
        self._price_lookup = price_lookup
        self._clock = clock
        self._lock = threading.RLock()
        self._prices: dict[str, float] = {}
        self._filters: dict[str, SymbolFilters] = {}
        self._cache = _Cache()
        self._watched: frozenset[str] = frozenset()
        self._queue: queue.Queue[tuple[Any, ...]] = queue.Queue(maxsize=2_000)
        self._worker: threading.Thread | None = None
        self._subscriptions: list[Any] = []
        self._stopping = threading.Event()
        self.breaker = DailyLossBreaker(settings.daily_loss_pct, settings.daily_loss_warnings_pct)
        self.breaker.load(journal.get_state("breaker"))
        self.paused = bool(journal.get_state("paused") or False)
        self.killed = bool(journal.get_state("killed") or False)

    # -- life cycle ------------------------------------------------------------------------------------

    @property
    def mode(self) -> str:
        return self.settings.mode

    def start(self, *, subscribe: bool = True) -> TradingService:
        try:
            self._filters = self.broker.markets()
            self._cache.book = None  # the lot steps decide what counts as dust
        except (OutcomeUnknown, BrokerRejected) as error:
            logger.error("trading: cannot load the exchange's symbol rules (%s); orders wait for them", error)
        self.reconcile()
        if subscribe:
            self._subscriptions = [
                self.bus.subscribe(CandleClosed, self._on_candle_closed, name="trading-candles"),
                self.bus.subscribe(ConnectionChanged, self._on_connection, name="trading-reconnect"),
            ]
            self._worker = threading.Thread(target=self._run, name="trading-worker", daemon=True)
            self._worker.start()
        logger.info("trading service started in %s mode", self.mode)
        return self

    def stop(self) -> None:
        self._stopping.set()
        for subscription in self._subscriptions:
            self.bus.unsubscribe(subscription)
        self._subscriptions = []
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(("stop",))
        if self._worker is not None:
            self._worker.join(5.0)
        self.broker.close()
        self.journal.close()

    # -- price inputs ----------------------------------------------------------------------------------

    def observe_update(self, key: Any, candle: Any) -> None:
        """A DataStream update observer: runs on the socket's thread, so it only filters and queues."""
        if key.symbol in self._watched:
            with contextlib.suppress(queue.Full):
                self._queue.put_nowait(("price", key.symbol, candle.close, candle.close, candle.close))

    def _on_candle_closed(self, event: CandleClosed) -> None:
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(("price", event.symbol, event.close, event.close, event.close))

    def _on_connection(self, event: ConnectionChanged) -> None:
        if event.connected and event.reconnects > 0:
            with contextlib.suppress(queue.Full):
                self._queue.put_nowait(("reconcile",))

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                item = self._queue.get(timeout=self.settings.order_poll_seconds)
            except queue.Empty:
                item = ("poll",)
            try:
                if item[0] == "stop":
                    return
                if item[0] == "price":
                    self.on_price(item[1], item[2], item[3], item[4])
                elif item[0] == "reconcile":
                    self.reconcile()
                elif item[0] == "balances":
                    with self._lock:
                        self._refresh_balances()
                if time.monotonic() - self._cache.last_poll >= self.settings.order_poll_seconds:
                    self.poll_exchange_orders()
            except Exception:  # a bad price or a broker hiccup must not end the worker
                logger.exception("trading worker: %s failed; it keeps running", item[0])

    def price(self, symbol: str) -> float | None:
        """The stream's last price; else the last one this service saw (it only hears watched symbols);
        else the exchange's ticker (one REST call)."""
        price = self._price_lookup(symbol) if self._price_lookup is not None else None
        if price is None:
            price = self._prices.get(symbol)
        if price is None:
            try:
                price = self.broker.last_price(symbol)
            except (OutcomeUnknown, BrokerRejected):
                price = None
        return price

    def on_price(self, symbol: str, high: float, low: float, last: float) -> None:
        """Fill paper orders, trigger held orders and move trailing stops for one price (or candle)."""
        with self._lock:
            self._prices[symbol] = last
            if isinstance(self.broker, PaperBroker):
                for order, fills in self.broker.on_price(symbol, high, low, last):
                    self._apply(order, fills)
            for order in self.journal.orders(open_only=True):
                if order.symbol == symbol and order.status is OrderStatus.WAITING:
                    self._check_trigger(order, high, low)
            self._observe_equity()  # a point on the equity curve at most every EQUITY_POINT_SECONDS

    # -- preview and placement -------------------------------------------------------------------------

    def filters(self, symbol: str) -> SymbolFilters:
        if not self._filters:
            with contextlib.suppress(OutcomeUnknown, BrokerRejected):
                self._filters = self.broker.markets()
        filters = self._filters.get(symbol)
        if filters is None or symbol not in self.symbols:
            tradable = ", ".join(sorted(set(self._filters) & set(self.symbols))) or "none yet"
            raise RiskRejected("symbol", f"unknown symbol '{symbol}'; tradable symbols: {tradable}")
        return filters

    def preview(self, data: Any) -> Preview:
        with self._lock:
            return self._preview(parse_ticket(data))

    def _preview(self, ticket: Ticket) -> Preview:
        filters = self.filters(ticket.symbol)
        if ticket.type is OrderType.MARKET:
            reference = self.price(ticket.symbol)
            if reference is None:
                raise RiskRejected(
                    "price", f"no price for {ticket.symbol} yet; wait for the stream and retry"
                )
        else:
            assert ticket.price is not None
            reference = ticket.price
        check_exit_levels(ticket, reference)
        equity = self.equity()
        if ticket.quantity is not None:
            raw_quantity = ticket.quantity
        elif ticket.quote_amount is not None:
            raw_quantity = ticket.quote_amount / reference
        else:
            assert ticket.risk_pct is not None and ticket.stop_loss is not None
            try:
                raw_quantity = size_by_risk(equity, ticket.risk_pct / 100, reference, ticket.stop_loss)
            except ValueError as error:
                raise RiskRejected("risk_pct", str(error)) from None
        quantity = filters.floor_quantity(raw_quantity)
        notional = quantity * reference
        fee_rate = self.settings.paper_fee_rate
        entry_fee = fee(notional, fee_rate)
        risk_quote: float | None = None
        stops = [ticket.stop_loss] if ticket.stop_loss is not None else []
        if ticket.trailing_pct is not None:
            stops.append(reference * (1 - ticket.trailing_pct / 100))
        if stops and ticket.side is Side.BUY:
            worst = min(stops)
            risk_quote = quantity * (reference - worst) + entry_fee + fee(quantity * worst, fee_rate)
        positions = self._book().positions  # quantities only: the checks mark at `reference`
        position = positions.get(ticket.symbol)
        holding = position.quantity if position is not None else 0.0
        is_exit = ticket.side is Side.SELL and quantity <= holding * (1 + 1e-9) and holding > 0
        open_orders = self.journal.count_open()
        balances = self.balances()
        legs = sum(value is not None for value in (ticket.stop_loss, ticket.take_profit, ticket.trailing_pct))
        prices = tuple(
            (name, value)
            for name, value in (
                ("price", ticket.price),
                ("stop_price", ticket.stop_price),
                ("stop_loss", ticket.stop_loss),
                ("take_profit", ticket.take_profit),
            )
            if value is not None
        )
        open_positions = sum(1 for item in positions.values() if item.is_open and not self._is_dust(item))
        item = RiskInput(
            symbol=ticket.symbol,
            side=ticket.side,
            quantity=quantity,
            reference_price=reference,
            prices_to_check=prices,
            filters=filters,
            is_exit=is_exit,
            opens_position=ticket.side is Side.BUY and (position is None or not position.is_open),
            position_notional=holding * reference,
            open_positions=open_positions,
            open_orders=open_orders,
            new_resting_orders=(0 if ticket.type is OrderType.MARKET else 1) + legs,
            free_quote=balances.get(filters.quote_asset, Balance(filters.quote_asset, 0, 0)).free,
            free_base=balances.get(filters.base_asset, Balance(filters.base_asset, 0, 0)).free,
            fee_rate=fee_rate,
            paused=self.paused,
            killed=self.killed,
            breaker_tripped=self.breaker.tripped,
            day_loss_pct=self.breaker.loss_pct(equity),
        )
        return Preview(
            ticket=ticket,
            quantity=quantity,
            reference_price=reference,
            notional=notional,
            fee=entry_fee,
            risk_quote=risk_quote,
            risk_pct_of_equity=None if risk_quote is None or equity <= 0 else risk_quote / equity * 100,
            checks=evaluate(item, self.settings),
            is_exit=is_exit,
            filters=filters,
        )

    def place(self, data: Any) -> Order:
        """Check, journal and send one ticket; raises RiskRejected naming the field or check."""
        with self._lock:
            ticket = parse_ticket(data)
            preview = self._preview(ticket)
            failure = preview.failure
            if failure is not None:
                logger.info("order refused by %s: %s", failure.name, failure.detail)
                raise RiskRejected(failure.name, f"{failure.name}: {failure.detail}")
            now = self._clock()
            group = uuid.uuid4().hex[:12] if ticket.has_exits else ""
            entry = Order(
                client_order_id=new_client_order_id(),
                symbol=ticket.symbol,
                side=ticket.side,
                type=ticket.type,
                quantity=preview.quantity,
                status=OrderStatus.WAITING
                if ticket.type is OrderType.STOP_LIMIT
                else OrderStatus.PENDING_NEW,
                price=ticket.price,
                stop_price=ticket.stop_price,
                role=OrderRole.CLOSE if preview.is_exit else OrderRole.ENTRY,
                group_id=group,
                created_ms=now,
                updated_ms=now,
            )
            # The exits are written first, WAITING, so an entry that fills at once arms them.
            for role, order_type, price in (
                (OrderRole.STOP_LOSS, OrderType.STOP_MARKET, ticket.stop_loss),
                (OrderRole.TAKE_PROFIT, OrderType.TAKE_PROFIT, ticket.take_profit),
            ):
                if price is not None:
                    self._write(
                        replace(
                            entry,
                            client_order_id=new_client_order_id(),
                            side=Side.SELL,
                            type=order_type,
                            status=OrderStatus.WAITING,
                            price=price if role is OrderRole.TAKE_PROFIT else None,
                            stop_price=price if role is OrderRole.STOP_LOSS else None,
                            role=role,
                            reason="waits for the entry to fill",
                        )
                    )
            if ticket.trailing_pct is not None:
                self._write(
                    replace(
                        entry,
                        client_order_id=new_client_order_id(),
                        side=Side.SELL,
                        type=OrderType.STOP_MARKET,
                        status=OrderStatus.WAITING,
                        price=None,
                        stop_price=None,
                        role=OrderRole.TRAILING,
                        trailing_fraction=ticket.trailing_pct / 100,
                        reason="waits for the entry to fill",
                    )
                )
            if entry.status is OrderStatus.WAITING:
                self._write(entry)
                self._refresh_watched()
                return entry
            return self._send(entry)

    def _send(self, order: Order, *, as_type: OrderType | None = None) -> Order:
        """Journal as PENDING_NEW (committed), then send once."""
        pending = order  # a ticket's entry is built PENDING_NEW a moment ago
        if order.status is not OrderStatus.PENDING_NEW:
            pending = replace(order, status=OrderStatus.PENDING_NEW, updated_ms=self._clock())
        self._write(pending)
        request = OrderRequest(
            client_order_id=order.client_order_id,
            symbol=order.symbol,
            side=order.side,
            type=as_type or order.type,
            quantity=order.quantity,
            price=order.price if (as_type or order.type) is OrderType.LIMIT else None,
        )
        try:
            answer, fills = self.broker.place(request)
        except BrokerRejected as error:
            self._write(
                replace(pending, status=OrderStatus.REJECTED, reason=str(error), updated_ms=self._clock())
            )
            if pending.role is OrderRole.ENTRY:  # a refused exit must not take its siblings' protection
                self._cancel_group(pending, f"the entry was rejected: {error}")
            raise RiskRejected("exchange", str(error)) from None
        except OutcomeUnknown as error:
            logger.warning("order %s: %s; looking it up instead of resending", order.client_order_id, error)
            return self._resolve(pending)
        return self._apply(answer, fills, pending)

    def _resolve(self, pending: Order) -> Order:
        """After a timeout: ask the exchange for the order by client id, a few times, and adopt the answer."""
        for delay in RESOLVE_DELAYS_SECONDS:
            time.sleep(delay)
            try:
                found = self.broker.fetch_order(pending.symbol, pending.client_order_id)
            except OutcomeUnknown:
                continue
            if found is None:
                # Still possible that the request arrives later: reconciliation would adopt it by this id.
                rejected = replace(
                    pending,
                    status=OrderStatus.REJECTED,
                    reason="the exchange never received it (looked up by client order id after a timeout)",
                    updated_ms=self._clock(),
                )
                self._write(rejected)
                if rejected.role is OrderRole.ENTRY:
                    self._cancel_group(rejected, "the entry never reached the exchange")
                return rejected
            logger.info("order %s found on the exchange after a timeout: adopted", pending.client_order_id)
            return self._apply(found, self._fills_of(found))
        unknown = replace(
            pending,
            reason="no answer from the exchange; it is settled by the next reconciliation, never resent",
            updated_ms=self._clock(),
        )
        self._write(unknown)
        return unknown

    def _fills_of(self, order: Order) -> list[Fill]:
        if order.filled <= 0 or isinstance(self.broker, PaperBroker):
            return []
        try:
            fills = self.broker.fills(order.symbol, order.created_ms - 60_000 if order.created_ms else None)
        except (OutcomeUnknown, BrokerRejected) as error:
            logger.warning(
                "fills of %s not fetched (%s); the next reconciliation adds them",
                order.client_order_id,
                error,
            )
            return []
        return [
            replace(fill, client_order_id=order.client_order_id)
            for fill in fills
            if fill.exchange_order_id and fill.exchange_order_id == order.exchange_id
        ]

    # -- applying the exchange's answers ---------------------------------------------------------------

    def _write(self, order: Order) -> None:
        self.journal.write_order(order)
        self._publish(order)

    def _publish(self, order: Order) -> None:
        self.bus.publish(
            OrderUpdated(
                client_order_id=order.client_order_id,
                symbol=order.symbol,
                side=order.side.value,
                type=order.type.value,
                status=order.status.value,
                quantity=order.quantity,
                filled=order.filled,
                price=order.price or 0.0,
                average_price=order.average_price,
                role=order.role.value,
                reason=order.reason,
            )
        )

    def _apply(self, answer: Order, fills: list[Fill], known: Order | None = None) -> Order:
        """Merge the exchange's view of an order into the journal, add its fills, and react to a fill.
        `known`: the journal's row when the caller holds it (saves a read on the order's path)."""
        if known is None:
            known = self.journal.order(answer.client_order_id)

        def merge(new_fills: list[Fill]) -> Order:
            fee_total = (known.fee if known is not None else 0.0) + sum(fill.fee for fill in new_fills)
            if known is None:
                return replace(answer, role=OrderRole.ADOPTED, reason="found on the exchange", fee=fee_total)
            return replace(
                known,
                status=answer.status,
                exchange_id=answer.exchange_id or known.exchange_id,
                filled=answer.filled,
                average_price=answer.average_price or known.average_price,
                fee=fee_total,
                updated_ms=self._clock(),
                reason=""
                if answer.status in (OrderStatus.NEW, OrderStatus.FILLED)
                else answer.reason or known.reason,
            )

        owned = [
            fill
            if fill.client_order_id == answer.client_order_id
            else replace(fill, client_order_id=answer.client_order_id)
            for fill in fills
        ]
        merged, new_fills = self.journal.record(owned, merge)
        self._publish(merged)
        if new_fills:
            if self._cache.book is not None:
                for fill in new_fills:
                    self._cache.book.apply(fill)
            self._book_fills(new_fills)
        if isinstance(self.broker, PaperBroker):
            self._refresh_balances()  # in memory: exact and free
        elif new_fills or merged.status is not (known.status if known else None):
            with contextlib.suppress(queue.Full):
                self._queue.put_nowait(("balances",))
        if merged.status is OrderStatus.FILLED and (known is None or known.status is not OrderStatus.FILLED):
            self._after_fill(merged)
        elif merged.status in (
            OrderStatus.CANCELED,
            OrderStatus.REJECTED,
            OrderStatus.EXPIRED,
        ) and merged.role in (OrderRole.ENTRY,):
            self._cancel_group(merged, f"the entry ended {merged.status.value.lower()}")
        if merged.status.is_open or new_fills:
            self._watched = self._watched | {merged.symbol}  # a full recount waits for the next poll
        if new_fills and self._flat(merged.symbol):
            # A round trip ended: a point on the equity curve (ticks add the others).
            self._observe_equity(force_point=True)
        return merged

    def _book_fills(self, fills: list[Fill]) -> None:
        """Move the cached balances by the fills now; the worker fetches the exchange's exact ones next
        (a second round trip on the order's path would double its latency)."""
        if isinstance(self.broker, PaperBroker):
            return
        balances = dict(self._cache.balances)
        for fill in fills:
            filters = self._filters.get(fill.symbol)
            if filters is None:
                continue
            quote = balances.get(filters.quote_asset, Balance(filters.quote_asset, 0.0, 0.0))
            base = balances.get(filters.base_asset, Balance(filters.base_asset, 0.0, 0.0))
            notional = fill.price * fill.quantity
            quote_fee = fill.fee if not fill.base_fee else 0.0
            if fill.side is Side.BUY:
                quote = replace(quote, free=quote.free - notional - quote_fee)
                base = replace(base, free=base.free + fill.quantity - fill.base_fee)
            else:
                quote = replace(quote, free=quote.free + notional - quote_fee)
                base = replace(base, free=base.free - fill.quantity)
            balances[quote.asset], balances[base.asset] = quote, base
        self._cache.balances = balances

    def _after_fill(self, order: Order) -> None:
        if order.role is OrderRole.ENTRY and order.group_id:
            bought = self._book().positions.get(order.symbol)
            filters = self._filters.get(order.symbol)
            quantity = order.filled
            if bought is not None and filters is not None:
                quantity = filters.floor_quantity(min(order.filled, bought.quantity))
            for leg in self._group(order.group_id):
                if leg.role not in EXIT_ROLES or leg.status is not OrderStatus.WAITING:
                    continue
                self._write(replace(held.arm(leg, order, quantity), updated_ms=self._clock()))
        elif order.role in EXIT_ROLES:
            self._cancel_group(
                order, f"one-cancels-the-other: the {order.role.value.replace('_', ' ')} filled"
            )
        position = self._book().positions.get(order.symbol)
        if position is None or not position.is_open or self._is_dust(position):
            for leg in self.journal.orders(open_only=True):
                if (
                    leg.symbol == order.symbol
                    and leg.role in EXIT_ROLES
                    and leg.status is OrderStatus.WAITING
                    and leg.reason == held.ARMED
                ):
                    self._write(
                        replace(
                            leg,
                            status=OrderStatus.CANCELED,
                            reason="the position is closed",
                            updated_ms=self._clock(),
                        )
                    )

    def _flat(self, symbol: str) -> bool:
        position = self._book().positions.get(symbol)
        return position is None or not position.is_open

    def _is_dust(self, position: Position) -> bool:
        filters = self._filters.get(position.symbol)
        return filters is not None and position.quantity < filters.min_qty

    def _group(self, group_id: str) -> list[Order]:
        return self.journal.group(group_id)

    def _cancel_group(self, order: Order, reason: str) -> None:
        if not order.group_id:
            return
        for leg in self._group(order.group_id):
            if leg.client_order_id != order.client_order_id and leg.status is OrderStatus.WAITING:
                self._write(
                    replace(leg, status=OrderStatus.CANCELED, reason=reason, updated_ms=self._clock())
                )

    def _check_trigger(self, order: Order, high: float, low: float) -> None:
        decision = held.on_price(order, high, low)
        if decision.moved is not None:
            self._write(replace(decision.moved, updated_ms=self._clock()))
        if decision.send_as is OrderType.LIMIT:
            self._send_held(order, OrderType.LIMIT)
        elif decision.send_as is OrderType.MARKET:
            self._send_exit(order)

    def _send_held(self, order: Order, as_type: OrderType) -> None:
        try:
            self._send(order, as_type=as_type)
        except RiskRejected as error:
            logger.warning("held order %s refused when triggered: %s", order.client_order_id, error.message)

    def _send_exit(self, order: Order) -> None:
        """An exit leg triggered: sell what is held (at most the leg's quantity) at market."""
        position = self._book().positions.get(order.symbol)
        filters = self._filters.get(order.symbol)
        holding = position.quantity if position is not None else 0.0
        quantity = min(order.quantity, holding)
        if filters is not None:
            quantity = filters.floor_quantity(quantity)
        if quantity <= 0 or (filters is not None and quantity < filters.min_qty):
            self._write(
                replace(
                    order,
                    status=OrderStatus.CANCELED,
                    reason="nothing left to sell",
                    updated_ms=self._clock(),
                )
            )
            return
        logger.info("%s of %s triggered: selling %g at market", order.role.value, order.symbol, quantity)
        self._send_held(replace(order, quantity=quantity, reason="triggered"), OrderType.MARKET)

    # -- user actions ----------------------------------------------------------------------------------

    def cancel(self, client_order_id: str) -> Order:
        with self._lock:
            order = self.journal.order(client_order_id)
            if order is None:
                raise RiskRejected("id", f"no order with id '{client_order_id}'")
            if not order.status.is_open:
                raise RiskRejected("status", f"order {client_order_id} is already {order.status.value}")
            if order.status is OrderStatus.WAITING:
                canceled = replace(
                    order,
                    status=OrderStatus.CANCELED,
                    reason="canceled by the user",
                    updated_ms=self._clock(),
                )
                self._write(canceled)
                if order.role is OrderRole.ENTRY:
                    self._cancel_group(order, "the entry was canceled")
                self._refresh_watched()
                return canceled
            try:
                answer = self.broker.cancel(order.symbol, client_order_id)
            except BrokerRejected as error:
                raise RiskRejected("exchange", str(error)) from None
            except OutcomeUnknown as error:
                raise RiskRejected(
                    "exchange", f"{error}; the order list is refreshed at the next check"
                ) from None
            return self._apply(replace(answer, reason="canceled by the user"), [])

    def close_position(self, symbol: str) -> Order:
        with self._lock:
            position = self.positions().get(symbol)
            filters = self.filters(symbol)
            if position is None or not position.is_open:
                raise RiskRejected("symbol", f"no open {symbol} position to close")
            quantity = filters.floor_quantity(position.quantity)
            if quantity < filters.min_qty:
                raise RiskRejected(
                    "LOT_SIZE", f"the {symbol} position ({position.quantity:g}) is below the lot size"
                )
            order = self.place({"symbol": symbol, "side": "SELL", "type": "MARKET", "quantity": quantity})
            for leg in self.journal.orders(open_only=True):
                if leg.symbol == symbol and leg.status is OrderStatus.WAITING and leg.role in EXIT_ROLES:
                    self._write(
                        replace(
                            leg,
                            status=OrderStatus.CANCELED,
                            reason="the position was closed",
                            updated_ms=self._clock(),
                        )
                    )
            return order

    def pause(self) -> None:
        with self._lock:
            self.paused = True
            self.journal.set_state("paused", True)
        self.bus.publish(TradingWarning("info", "paused", "trading paused: exits only"))

    def resume(self) -> None:
        with self._lock:
            self.paused = False
            self.killed = False
            self.journal.set_state("paused", False)
            self.journal.set_state("killed", False)
        self.bus.publish(TradingWarning("info", "paused", "trading resumed"))

    def kill(self, *, flatten: bool = False) -> dict[str, Any]:
        """Stop everything: cancel every open order, optionally sell every position, stay stopped."""
        with self._lock:
            self.killed = True
            self.paused = True
            self.journal.set_state("killed", True)
            self.journal.set_state("paused", True)
            canceled: list[str] = []
            errors: list[str] = []
            for order in self.journal.orders(open_only=True):
                try:
                    self.cancel(order.client_order_id)
                    canceled.append(order.client_order_id)
                except RiskRejected as error:
                    errors.append(f"{order.client_order_id}: {error.message}")
            closed: list[str] = []
            if flatten:
                for symbol, position in self.positions().items():
                    if position.is_open and not self._is_dust(position):
                        try:
                            self.close_position(symbol)
                            closed.append(symbol)
                        except RiskRejected as error:
                            errors.append(f"{symbol}: {error.message}")
        self.bus.publish(
            TradingWarning("critical", "kill_switch", "kill switch: open orders canceled, trading stopped")
        )
        return {"canceled": canceled, "closed": closed, "errors": errors}

    # -- reconciliation --------------------------------------------------------------------------------

    def reconcile(self) -> bool:
        """Make the journal agree with the exchange; False when the exchange could not be asked."""
        with self._lock:
            try:
                remote_open = {order.client_order_id: order for order in self.broker.open_orders()}
                for order in self.journal.orders(open_only=True):
                    if order.status is OrderStatus.WAITING:
                        continue
                    remote = remote_open.pop(order.client_order_id, None) or self.broker.fetch_order(
                        order.symbol, order.client_order_id
                    )
                    if remote is None:
                        gone = (
                            (OrderStatus.REJECTED, "never reached the exchange (checked at reconciliation)")
                            if order.status is OrderStatus.PENDING_NEW
                            else (OrderStatus.CANCELED, "gone from the exchange (checked at reconciliation)")
                        )
                        self._write(replace(order, status=gone[0], reason=gone[1], updated_ms=self._clock()))
                        if order.role is OrderRole.ENTRY:
                            self._cancel_group(order, gone[1])
                    else:
                        self._apply(remote, self._fills_of(remote))
                for remote in remote_open.values():
                    logger.info(
                        "reconciliation: adopting open order %s %s", remote.client_order_id, remote.symbol
                    )
                    self._apply(remote, [])
                self._adopt_fills()
                self._refresh_balances()
            except (OutcomeUnknown, BrokerRejected) as error:
                logger.warning("reconciliation incomplete: %s; retried at the next reconnect or start", error)
                return False
            self._refresh_watched()
            self._observe_equity(force_point=True)
            return True

    def _adopt_fills(self) -> None:
        if isinstance(self.broker, PaperBroker):
            return
        for symbol in self.symbols:
            if symbol not in self._filters:
                continue
            known = self.journal.fills(symbol)
            since = known[-1].time_ms - 60_000 if known else None
            for fill in self.broker.fills(symbol, since):
                owner = self.journal.order_by_exchange_id(symbol, fill.exchange_order_id)
                if owner is None:
                    owner = Order(
                        client_order_id=f"x-{symbol}-{fill.exchange_order_id}",
                        symbol=symbol,
                        side=fill.side,
                        type=OrderType.MARKET,
                        quantity=fill.quantity,
                        status=OrderStatus.FILLED,
                        exchange_id=fill.exchange_order_id,
                        filled=fill.quantity,
                        average_price=fill.price,
                        role=OrderRole.ADOPTED,
                        created_ms=fill.time_ms,
                        updated_ms=fill.time_ms,
                        reason="filled on the exchange outside this app",
                    )
                    self._write(owner)
                if self.journal.add_fill(replace(fill, client_order_id=owner.client_order_id)):
                    self._cache.book = None  # may be older than fills already booked: replay in order

    def poll_exchange_orders(self) -> None:
        """Resting exchange orders: ask for their state (the REST API has no push for them here)."""
        self._cache.last_poll = time.monotonic()
        with self._lock:
            self._refresh_watched()
        if isinstance(self.broker, PaperBroker):
            return
        with self._lock:
            for order in self.journal.orders(open_only=True):
                if order.status not in (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED):
                    continue
                try:
                    remote = self.broker.fetch_order(order.symbol, order.client_order_id)
                except (OutcomeUnknown, BrokerRejected) as error:
                    logger.info("order %s not checked: %s", order.client_order_id, error)
                    continue
                if remote is not None and (
                    remote.status is not order.status or remote.filled != order.filled
                ):
                    self._apply(remote, self._fills_of(remote))

    # -- reads -----------------------------------------------------------------------------------------

    def _refresh_balances(self) -> None:
        try:
            self._cache.balances = self.broker.balances()
        except (OutcomeUnknown, BrokerRejected) as error:
            logger.warning("balances not refreshed: %s", error)

    def balances(self) -> dict[str, Balance]:
        if not self._cache.balances:
            self._refresh_balances()
        return dict(self._cache.balances)

    def _book(self) -> Book:
        if self._cache.book is None:
            book = Book({symbol: filters.min_qty for symbol, filters in self._filters.items()})
            for fill in self.journal.fills():
                book.apply(fill)
            self._cache.book = book
        return self._cache.book

    def positions(self) -> dict[str, Position]:
        return {
            symbol: mark(position, self._prices.get(symbol))
            for symbol, position in self._book().positions.items()
        }

    def equity(self) -> float:
        """Every balance in quote currency at the last price (assets without a price count as 0)."""
        quote = self.settings.paper_quote_asset
        total = 0.0
        for asset, balance in self.balances().items():
            if asset == quote:
                total += balance.total
            elif balance.total > 0:
                symbol = f"{asset}{quote}"
                price = self._prices.get(symbol) if symbol in self._watched else None
                if price is None and symbol in self._filters:
                    price = self.price(symbol)
                total += balance.total * (price or 0.0)
        return total

    def _observe_equity(self, *, force_point: bool = False) -> None:
        equity = self.equity()
        now = self._clock()
        for level, message in self.breaker.observe(equity, now):
            logger.warning("trading: %s", message)
            self.bus.publish(TradingWarning(level, "daily_loss_breaker", message))
        state = self.breaker.to_dict()
        if state != self._cache.breaker_state:
            self._cache.breaker_state = state
            self.journal.set_state("breaker", state)
        if force_point or time.monotonic() - self._cache.last_equity_point >= EQUITY_POINT_SECONDS:
            self._cache.last_equity_point = time.monotonic()
            self.journal.add_equity(now, equity)

    def _refresh_watched(self) -> None:
        watched = {order.symbol for order in self.journal.orders(open_only=True)}
        watched |= {symbol for symbol, position in self._book().positions.items() if position.is_open}
        self._watched = frozenset(watched)

    def orders(self, status: str | None = None) -> list[Order]:
        open_only = None if status is None else status == "open"
        return self.journal.orders(open_only=open_only)

    def fills(self) -> list[Fill]:
        return list(reversed(self.journal.fills()))

    def performance(self) -> Performance:
        trades = self._book().trades
        return performance(trades, [equity for _, equity in self.journal.equity_curve()])

    def account(self) -> dict[str, Any]:
        equity = self.equity()
        return {
            "mode": self.mode,
            "live": self.mode == "live",
            "broker": self.broker.name,
            "quote_asset": self.settings.paper_quote_asset,
            "equity": equity,
            "balances": [
                {"asset": item.asset, "free": item.free, "locked": item.locked}
                for item in sorted(self.balances().values(), key=lambda item: item.asset)
            ],
            "day": self.breaker.day,
            "day_start_equity": self.breaker.start_equity,
            "day_loss_pct": self.breaker.loss_pct(equity),
            "breaker": {"tripped": self.breaker.tripped, "limit_pct": self.settings.daily_loss_pct},
            "paused": self.paused,
            "killed": self.killed,
        }
