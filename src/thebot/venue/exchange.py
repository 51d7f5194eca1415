"""Accounts, signed requests and order matching of the simulated venue, answered as Binance answers.

Prices and quantities are integer 1e-8 units, like the market data, so balances never drift by float
noise. Every state change goes through one synchronous method, so on the single event loop a fill moves
the order, the trade and both balances together or not at all. Resting limit orders are matched against
the trade path between the last check and now: a buy fills at its limit once the path trades at or
below it, a sell at or above it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import logging
import os
import time
import urllib.parse
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from aiohttp import web

from thebot.venue.errors import BinanceError, json_response
from thebot.venue.market import UNITS, SymbolRules, format_units, parse_units, traded_range

if TYPE_CHECKING:
    from thebot.venue.server import SimulatedVenue

logger = logging.getLogger(__name__)

EnumT = TypeVar("EnumT", bound=StrEnum)

DEFAULT_RECV_WINDOW_MS = 5_000
MAX_RECV_WINDOW_MS = 60_000
FUTURE_TOLERANCE_MS = 1_000
MIN_NOTIONAL_UNITS = 5 * UNITS
INITIAL_QUOTE_UNITS = 10_000 * UNITS
DEFAULT_TRADES_LIMIT = 500
MAX_TRADES_LIMIT = 1000


class Side(StrEnum):
    BUY = "BUY"
    SELL = "SELL"


class OrderType(StrEnum):
    MARKET = "MARKET"
    LIMIT = "LIMIT"
    LIMIT_MAKER = "LIMIT_MAKER"


class TimeInForce(StrEnum):
    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"


class OrderStatus(StrEnum):
    NEW = "NEW"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    EXPIRED = "EXPIRED"


@dataclass(frozen=True, slots=True)
class Order:
    account: str
    symbol: str
    order_id: int
    client_order_id: str
    side: Side
    type: OrderType
    time_in_force: TimeInForce
    price: int
    quantity: int
    quote_order_quantity: int
    executed: int
    cumulative_quote: int
    status: OrderStatus
    time: int
    update_time: int
    reserved: int  # funds locked while it rests: quote for a buy, base for a sell
    checked_until: int  # simulated time up to which the market was compared with its price

    @property
    def is_open(self) -> bool:
        return self.status is OrderStatus.NEW


@dataclass(frozen=True, slots=True)
class Fill:
    trade_id: int
    account: str
    symbol: str
    order_id: int
    price: int
    quantity: int
    quote_quantity: int
    commission: int
    commission_asset: str
    time: int
    is_buyer: bool
    is_maker: bool


@dataclass(slots=True)
class Account:
    api_key: str
    secret: str
    balances: dict[str, list[int]]  # asset -> [free, locked]

    def balance(self, asset: str) -> list[int]:
        return self.balances.setdefault(asset, [0, 0])

    def free(self, asset: str) -> int:
        return self.balances.get(asset, [0, 0])[0]


def binance_error(code: int, message: str, status: int = 400) -> BinanceError:
    return BinanceError(code, message, status)


def _insufficient_balance() -> BinanceError:
    return binance_error(-2010, "Account has insufficient balance for requested action.")


class Exchange:
    """The trading side of the venue; routes are registered on the venue before it starts."""

    def __init__(self, venue: SimulatedVenue) -> None:
        self._venue = venue
        config = venue.config
        self._fee_rate = config.fee_rate
        self._slippage = config.slippage_bps / 10_000
        self._state_path = config.state
        self.accounts: dict[str, Account] = {
            key: Account(key, secret, {"USDT": [INITIAL_QUOTE_UNITS, 0]})
            for key, secret in config.credentials
        }
        self.orders: dict[int, Order] = {}
        self.fills: list[Fill] = []
        self._next_order_id = 1
        self._next_trade_id = 1
        self._dirty = False
        if self._state_path is not None and self._state_path.exists():
            self._load(self._state_path)
        venue.add_route("GET", "/api/v3/account", self._account)
        venue.add_route("POST", "/api/v3/order", self._new_order)
        venue.add_route("POST", "/api/v3/order/test", self._test_order)
        venue.add_route("GET", "/api/v3/order", self._query_order)
        venue.add_route("DELETE", "/api/v3/order", self._cancel_order)
        venue.add_route("GET", "/api/v3/openOrders", self._open_orders)
        venue.add_route("DELETE", "/api/v3/openOrders", self._cancel_open_orders)
        venue.add_route("GET", "/api/v3/allOrders", self._all_orders)
        venue.add_route("GET", "/api/v3/myTrades", self._my_trades)

    # -- persistence -------------------------------------------------------------------------------------

    def _load(self, path: Path) -> None:
        data = json.loads(path.read_text(encoding="utf-8"))
        for key, balances in data.get("balances", {}).items():
            if key in self.accounts:
                self.accounts[key].balances = {
                    asset: [int(free), int(locked)] for asset, (free, locked) in balances.items()
                }
        for raw in data.get("orders", []):
            order = Order(
                **{
                    **raw,
                    "side": Side(raw["side"]),
                    "type": OrderType(raw["type"]),
                    "time_in_force": TimeInForce(raw["time_in_force"]),
                    "status": OrderStatus(raw["status"]),
                }
            )
            self.orders[order.order_id] = order
        self.fills = [Fill(**raw) for raw in data.get("fills", [])]
        self._next_order_id = int(data.get("next_order_id", 1))
        self._next_trade_id = int(data.get("next_trade_id", 1))
        logger.info(
            "venue state restored from %s: %d orders, %d fills", path, len(self.orders), len(self.fills)
        )

    def save(self) -> None:
        """Write the state atomically (temporary file, then rename) so a crash never leaves half a file."""
        if self._state_path is None or not self._dirty:
            return
        data = {
            "balances": {key: account.balances for key, account in self.accounts.items()},
            "orders": [dataclasses.asdict(order) for order in self.orders.values()],
            "fills": [dataclasses.asdict(fill) for fill in self.fills],
            "next_order_id": self._next_order_id,
            "next_trade_id": self._next_trade_id,
        }
        temporary = self._state_path.with_suffix(self._state_path.suffix + ".tmp")
        temporary.write_text(json.dumps(data), encoding="utf-8")
        os.replace(temporary, self._state_path)
        self._dirty = False

    def _changed(self) -> None:
        self._dirty = True
        self.save()

    # -- authentication ------------------------------------------------------------------------------------

    async def _authenticate(self, request: web.Request) -> tuple[Account, dict[str, str]]:
        """Check key, HMAC-SHA256 signature, timestamp and recvWindow; return the account and the parameters.

        Binance signs `totalParams`, the query string followed directly by the request body, e.g. the
        body `symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.01&timestamp=1700000000000&signature=<hex>`
        with header `X-MBX-APIKEY: sim-key`. The signature is checked before any parameter is trusted.
        """
        api_key = request.headers.get("X-MBX-APIKEY", "")
        if not api_key:
            raise binance_error(-2014, "API-key format invalid.", 401)
        account = self.accounts.get(api_key)
        if account is None:
            raise binance_error(-2015, "Invalid API-key, IP, or permissions for action.", 401)
        query = request.raw_path.partition("?")[2]  # exactly as sent: the signature covers these bytes
        body = (await request.text()) if request.can_read_body else ""
        signature = None
        parts = []
        for part in (query, body):
            pieces = [piece for piece in part.split("&") if piece]
            kept = []
            for piece in pieces:
                if piece.startswith("signature="):
                    signature = urllib.parse.unquote(piece.removeprefix("signature="))
                else:
                    kept.append(piece)
            parts.append("&".join(kept))
        if signature is None:
            raise binance_error(
                -1102, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed."
            )
        total = parts[0] + parts[1]
        expected = hmac.new(account.secret.encode(), total.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature.lower()):
            raise binance_error(-1022, "Signature for this request is not valid.")
        parameters: dict[str, str] = {}
        for part in parts:
            parameters.update(urllib.parse.parse_qsl(part, keep_blank_values=True))
        timestamp = _integer(parameters, "timestamp", required=True)
        assert timestamp is not None
        recv_window = _integer(parameters, "recvWindow") or DEFAULT_RECV_WINDOW_MS
        if not 0 < recv_window <= MAX_RECV_WINDOW_MS:
            raise binance_error(-1131, "recvWindow must be less than 60000")
        # Request signing follows the client's wall clock, not the (possibly accelerated) market clock.
        wall_now = int(time.time() * 1000)
        if timestamp >= wall_now + FUTURE_TOLERANCE_MS or wall_now - timestamp > recv_window:
            raise binance_error(-1021, "Timestamp for this request is outside of the recvWindow.")
        return account, parameters

    def _symbol(self, parameters: dict[str, str], required: bool = True) -> str | None:
        symbol = parameters.get("symbol")
        if not symbol:
            if required:
                raise binance_error(
                    -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed."
                )
            return None
        if symbol not in self._venue.symbols:
            raise binance_error(-1121, "Invalid symbol.")
        return symbol

    # -- matching ------------------------------------------------------------------------------------------

    def match_if_needed(self) -> None:
        if any(order.is_open for order in self.orders.values()):
            self.match()

    def match(self) -> None:
        """Fill resting limit orders the market has reached since they were last checked."""
        now = self._venue.now_ms()
        changed = False
        for order in list(self.orders.values()):
            if not order.is_open:
                continue
            reached = traded_range(self._venue.path(order.symbol), order.checked_until, now)
            if reached is None:
                continue
            low, high = reached
            crossed = low <= order.price if order.side is Side.BUY else high >= order.price
            if crossed:
                self._fill(order, order.price, maker=True, now=now)
            else:
                self.orders[order.order_id] = dataclasses.replace(order, checked_until=now)
            changed = changed or crossed
        if changed:
            self._changed()

    def _fill(self, order: Order, price: int, maker: bool, now: int) -> Order:
        """Execute the whole order at `price`; moves the reserved funds, fee and proceeds together."""
        rules = self._venue.rules(order.symbol)
        account = self.accounts[order.account]
        quantity = order.quantity
        quote = quantity * price // UNITS
        base_balance = account.balance(rules.base_asset)
        quote_balance = account.balance(rules.quote_asset)
        if order.side is Side.BUY:
            commission = round(quantity * self._fee_rate)
            commission_asset = rules.base_asset
            if order.reserved:
                quote_balance[1] -= order.reserved
                quote_balance[0] += order.reserved - quote
            else:
                quote_balance[0] -= quote
            base_balance[0] += quantity - commission
        else:
            commission = round(quote * self._fee_rate)
            commission_asset = rules.quote_asset
            if order.reserved:
                base_balance[1] -= order.reserved
            else:
                base_balance[0] -= quantity
            quote_balance[0] += quote - commission
        fill = Fill(
            trade_id=self._next_trade_id,
            account=order.account,
            symbol=order.symbol,
            order_id=order.order_id,
            price=price,
            quantity=quantity,
            quote_quantity=quote,
            commission=commission,
            commission_asset=commission_asset,
            time=now,
            is_buyer=order.side is Side.BUY,
            is_maker=maker,
        )
        self._next_trade_id += 1
        self.fills.append(fill)
        filled = dataclasses.replace(
            order,
            executed=quantity,
            cumulative_quote=quote,
            status=OrderStatus.FILLED,
            update_time=now,
            reserved=0,
            checked_until=now,
        )
        self.orders[order.order_id] = filled
        return filled

    def _market_price(self, symbol: str, side: Side) -> int:
        rules = self._venue.rules(symbol)
        last = self._venue.last_price(symbol)
        tick = rules.tick_units
        if side is Side.BUY:
            return -(-round(last * (1 + self._slippage)) // tick) * tick
        return max(tick, round(last * (1 - self._slippage)) // tick * tick)

    def place(
        self, account: Account, parameters: dict[str, str], test: bool = False
    ) -> tuple[Order, list[Fill]]:
        symbol = self._symbol(parameters)
        assert symbol is not None
        rules = self._venue.rules(symbol)
        side = _enum(Side, parameters, "side", -1117, "Invalid side.")
        order_type = _enum(OrderType, parameters, "type", -1116, "Invalid orderType.")
        now = self._venue.now_ms()
        market = self._market_price(symbol, side)
        quantity = _units(parameters, "quantity")
        quote_order_quantity = _units(parameters, "quoteOrderQty")
        price = 0
        time_in_force = TimeInForce.GTC
        if order_type is OrderType.MARKET:
            if "price" in parameters:
                raise binance_error(-1106, "Parameter 'price' sent when not required.")
            if quantity is None and quote_order_quantity is None:
                raise binance_error(
                    -1102, "Mandatory parameter 'quantity' was not sent, was empty/null, or malformed."
                )
            if quantity is None:
                assert quote_order_quantity is not None
                quantity = quote_order_quantity * UNITS // market // rules.lot_units * rules.lot_units
            price_for_checks = market
        else:
            if quantity is None:
                raise binance_error(
                    -1102, "Mandatory parameter 'quantity' was not sent, was empty/null, or malformed."
                )
            limit_price = _units(parameters, "price")
            if limit_price is None:
                raise binance_error(
                    -1102, "Mandatory parameter 'price' was not sent, was empty/null, or malformed."
                )
            price = limit_price
            if order_type is OrderType.LIMIT:
                if "timeInForce" not in parameters:
                    raise binance_error(
                        -1102, "Mandatory parameter 'timeInForce' was not sent, was empty/null, or malformed."
                    )
                time_in_force = _enum(TimeInForce, parameters, "timeInForce", -1115, "Invalid timeInForce.")
            if price <= 0 or price % rules.tick_units:
                raise binance_error(-1013, "Filter failure: PRICE_FILTER")
            price_for_checks = price
        _check_lot(rules, quantity)
        if quantity * price_for_checks // UNITS < MIN_NOTIONAL_UNITS:
            raise binance_error(-1013, "Filter failure: NOTIONAL")
        marketable = order_type is OrderType.MARKET or (
            price >= market if side is Side.BUY else price <= market
        )
        if order_type is OrderType.LIMIT_MAKER and marketable:
            raise binance_error(-2010, "Order would immediately match and take.")
        fill_price = (
            market
            if order_type is OrderType.MARKET
            else (min(price, market) if side is Side.BUY else max(price, market))
        )
        needed_quote = quantity * (fill_price if marketable else price) // UNITS
        if side is Side.BUY and account.free(rules.quote_asset) < needed_quote:
            raise _insufficient_balance()
        if side is Side.SELL and account.free(rules.base_asset) < quantity:
            raise _insufficient_balance()
        client_order_id = parameters.get("newClientOrderId") or f"sim{self._next_order_id:012d}"
        order = Order(
            account=account.api_key,
            symbol=symbol,
            order_id=self._next_order_id,
            client_order_id=client_order_id,
            side=side,
            type=order_type,
            time_in_force=time_in_force,
            price=price,
            quantity=quantity,
            quote_order_quantity=quote_order_quantity or 0,
            executed=0,
            cumulative_quote=0,
            status=OrderStatus.NEW,
            time=now,
            update_time=now,
            reserved=0,
            checked_until=now,
        )
        if test:
            return order, []
        self._next_order_id += 1
        if marketable:
            order = self._fill(order, fill_price, maker=False, now=now)
            fills = [self.fills[-1]]
        elif time_in_force is not TimeInForce.GTC:
            order = dataclasses.replace(order, status=OrderStatus.EXPIRED)
            self.orders[order.order_id] = order
            fills = []
        else:
            reserved = needed_quote if side is Side.BUY else quantity
            balance = account.balance(rules.quote_asset if side is Side.BUY else rules.base_asset)
            balance[0] -= reserved
            balance[1] += reserved
            order = dataclasses.replace(order, reserved=reserved)
            self.orders[order.order_id] = order
            fills = []
        self._changed()
        logger.info(
            "venue order %d %s %s %s %s -> %s",
            order.order_id,
            symbol,
            side,
            order_type,
            format_units(quantity),
            order.status,
        )
        return order, fills

    def cancel(self, order: Order) -> Order:
        rules = self._venue.rules(order.symbol)
        account = self.accounts[order.account]
        if order.reserved:
            balance = account.balance(rules.quote_asset if order.side is Side.BUY else rules.base_asset)
            balance[1] -= order.reserved
            balance[0] += order.reserved
        canceled = dataclasses.replace(
            order, status=OrderStatus.CANCELED, reserved=0, update_time=self._venue.now_ms()
        )
        self.orders[order.order_id] = canceled
        self._changed()
        return canceled

    # -- handlers -------------------------------------------------------------------------------------------

    async def _account(self, request: web.Request) -> web.Response:
        account, parameters = await self._authenticate(request)
        self.match()
        omit_zero = parameters.get("omitZeroBalances", "false").lower() == "true"
        balances = [
            {"asset": asset, "free": format_units(free), "locked": format_units(locked)}
            for asset, (free, locked) in sorted(account.balances.items())
            if not (omit_zero and free == 0 and locked == 0)
        ]
        maker = round(self._fee_rate * 10_000)
        rate = format_units(round(self._fee_rate * UNITS))
        return _json(
            {
                "makerCommission": maker,
                "takerCommission": maker,
                "buyerCommission": 0,
                "sellerCommission": 0,
                "commissionRates": {
                    "maker": rate,
                    "taker": rate,
                    "buyer": "0.00000000",
                    "seller": "0.00000000",
                },
                "canTrade": True,
                "canWithdraw": False,
                "canDeposit": False,
                "brokered": False,
                "requireSelfTradePrevention": False,
                "preventSor": False,
                "updateTime": self._venue.now_ms(),
                "accountType": "SPOT",
                "balances": balances,
                "permissions": ["SPOT"],
                "uid": abs(hash(account.api_key)) % 1_000_000_000,
            }
        )

    async def _new_order(self, request: web.Request) -> web.Response:
        account, parameters = await self._authenticate(request)
        self.match()
        order, fills = self.place(account, parameters)
        response_type = parameters.get("newOrderRespType", "FULL")
        body: dict[str, Any] = {
            "symbol": order.symbol,
            "orderId": order.order_id,
            "orderListId": -1,
            "clientOrderId": order.client_order_id,
            "transactTime": order.time,
        }
        if response_type == "ACK":
            return _json(body)
        body.update(_order_fields(order))
        body["workingTime"] = order.time
        if response_type == "FULL":
            body["fills"] = [
                {
                    "price": format_units(fill.price),
                    "qty": format_units(fill.quantity),
                    "commission": format_units(fill.commission),
                    "commissionAsset": fill.commission_asset,
                    "tradeId": fill.trade_id,
                }
                for fill in fills
            ]
        return _json(body)

    async def _test_order(self, request: web.Request) -> web.Response:
        account, parameters = await self._authenticate(request)
        self.place(account, parameters, test=True)
        return _json({})

    def _find(self, account: Account, parameters: dict[str, str]) -> Order:
        symbol = self._symbol(parameters)
        order_id = _integer(parameters, "orderId")
        client_id = parameters.get("origClientOrderId")
        if order_id is None and not client_id:
            raise binance_error(
                -1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!"
            )
        for order in self.orders.values():
            if order.account != account.api_key or order.symbol != symbol:
                continue
            if (order_id is not None and order.order_id == order_id) or (
                order_id is None and order.client_order_id == client_id
            ):
                return order
        raise binance_error(-2013, "Order does not exist.")

    async def _query_order(self, request: web.Request) -> web.Response:
        account, parameters = await self._authenticate(request)
        self.match()
        return _json(_order_query_body(self._find(account, parameters)))

    async def _cancel_order(self, request: web.Request) -> web.Response:
        account, parameters = await self._authenticate(request)
        self.match()
        try:
            order = self._find(account, parameters)
        except BinanceError as error:
            if error.code == -2013:
                raise binance_error(-2011, "Unknown order sent.") from None
            raise
        if not order.is_open:
            raise binance_error(-2011, "Unknown order sent.")
        return _json(_cancel_body(self.cancel(order)))

    async def _cancel_open_orders(self, request: web.Request) -> web.Response:
        account, parameters = await self._authenticate(request)
        symbol = self._symbol(parameters)
        self.match()
        open_orders = [
            order
            for order in self.orders.values()
            if order.is_open and order.account == account.api_key and order.symbol == symbol
        ]
        if not open_orders:
            raise binance_error(-2011, "Unknown order sent.")
        return _json([_cancel_body(self.cancel(order)) for order in open_orders])

    async def _open_orders(self, request: web.Request) -> web.Response:
        account, parameters = await self._authenticate(request)
        symbol = self._symbol(parameters, required=False)
        self.match()
        return _json(
            [
                _order_query_body(order)
                for order in self.orders.values()
                if order.is_open
                and order.account == account.api_key
                and (symbol is None or order.symbol == symbol)
            ]
        )

    async def _all_orders(self, request: web.Request) -> web.Response:
        account, parameters = await self._authenticate(request)
        symbol = self._symbol(parameters)
        self.match()
        start, end = _integer(parameters, "startTime"), _integer(parameters, "endTime")
        from_id = _integer(parameters, "orderId")
        limit = min(_integer(parameters, "limit") or DEFAULT_TRADES_LIMIT, MAX_TRADES_LIMIT)
        orders = [
            order
            for order in self.orders.values()
            if order.account == account.api_key
            and order.symbol == symbol
            and (from_id is None or order.order_id >= from_id)
            and (start is None or order.time >= start)
            and (end is None or order.time <= end)
        ]
        return _json([_order_query_body(order) for order in orders[:limit]])

    async def _my_trades(self, request: web.Request) -> web.Response:
        account, parameters = await self._authenticate(request)
        symbol = self._symbol(parameters)
        self.match()
        start, end = _integer(parameters, "startTime"), _integer(parameters, "endTime")
        from_id, order_id = _integer(parameters, "fromId"), _integer(parameters, "orderId")
        limit = _integer(parameters, "limit") or DEFAULT_TRADES_LIMIT
        if not 0 < limit <= MAX_TRADES_LIMIT:
            raise binance_error(
                -1100, "Illegal characters found in parameter 'limit'; legal range is '1-1000'."
            )
        fills = [
            fill
            for fill in self.fills
            if fill.account == account.api_key
            and fill.symbol == symbol
            and (from_id is None or fill.trade_id >= from_id)
            and (order_id is None or fill.order_id == order_id)
            and (start is None or fill.time >= start)
            and (end is None or fill.time <= end)
        ]
        fills = fills[:limit] if from_id is not None or start is not None else fills[-limit:]
        return _json(
            [
                {
                    "symbol": fill.symbol,
                    "id": fill.trade_id,
                    "orderId": fill.order_id,
                    "orderListId": -1,
                    "price": format_units(fill.price),
                    "qty": format_units(fill.quantity),
                    "quoteQty": format_units(fill.quote_quantity),
                    "commission": format_units(fill.commission),
                    "commissionAsset": fill.commission_asset,
                    "time": fill.time,
                    "isBuyer": fill.is_buyer,
                    "isMaker": fill.is_maker,
                    "isBestMatch": True,
                }
                for fill in fills
            ]
        )


def _order_fields(order: Order) -> dict[str, Any]:
    return {
        "price": format_units(order.price),
        "origQty": format_units(order.quantity),
        "executedQty": format_units(order.executed),
        "origQuoteOrderQty": format_units(order.quote_order_quantity),
        "cummulativeQuoteQty": format_units(order.cumulative_quote),
        "status": order.status.value,
        "timeInForce": order.time_in_force.value,
        "type": order.type.value,
        "side": order.side.value,
        "selfTradePreventionMode": "NONE",
    }


def _order_query_body(order: Order) -> dict[str, Any]:
    return {
        "symbol": order.symbol,
        "orderId": order.order_id,
        "orderListId": -1,
        "clientOrderId": order.client_order_id,
        **_order_fields(order),
        "stopPrice": "0.00000000",
        "icebergQty": "0.00000000",
        "time": order.time,
        "updateTime": order.update_time,
        "isWorking": order.is_open,
        "workingTime": order.time,
    }


def _cancel_body(order: Order) -> dict[str, Any]:
    return {
        "symbol": order.symbol,
        "origClientOrderId": order.client_order_id,
        "orderId": order.order_id,
        "orderListId": -1,
        "clientOrderId": order.client_order_id,
        "transactTime": order.update_time,
        **_order_fields(order),
    }


def _check_lot(rules: SymbolRules, quantity: int) -> None:
    if quantity < rules.lot_units or quantity % rules.lot_units:
        raise binance_error(-1013, "Filter failure: LOT_SIZE")


def _units(parameters: dict[str, str], name: str) -> int | None:
    raw = parameters.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = parse_units(raw)
    except ValueError:
        raise binance_error(
            -1100, f"Illegal characters found in parameter '{name}'; legal range is '{raw}'."
        ) from None
    if value <= 0:
        raise binance_error(
            -1013, "Filter failure: LOT_SIZE" if name == "quantity" else "Filter failure: PRICE_FILTER"
        )
    return value


def _integer(parameters: dict[str, str], name: str, required: bool = False) -> int | None:
    raw = parameters.get(name)
    if raw is None or raw == "":
        if required:
            raise binance_error(
                -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
            )
        return None
    try:
        return int(raw)
    except ValueError:
        raise binance_error(
            -1100, f"Illegal characters found in parameter '{name}'; legal range is '{raw}'."
        ) from None


def _enum(kind: type[EnumT], parameters: dict[str, str], name: str, code: int, message: str) -> EnumT:
    raw = parameters.get(name)
    if not raw:
        raise binance_error(
            -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
        )
    try:
        return kind(raw.upper())
    except ValueError:
        raise binance_error(code, message) from None


def _json(body: Any) -> web.Response:
    return json_response(body)
