"""The exchange broker: ccxt's `binance` class, for the simulated venue (demo key) and for Binance alike.

One code path: only the base URL and the keys differ, so what the venue tests is what runs live. ccxt's
errors split in two: `NetworkError` (timeouts included) means the outcome is unknown and becomes
`OutcomeUnknown`, never a resend; any other `ExchangeError` means the exchange answered "no" and becomes
`BrokerRejected`. Messages never include the keys (ccxt does not put them in its errors; we do not either).
"""

from __future__ import annotations

import logging
from typing import Any

import ccxt

from thebot.execution.broker import (
    Balance,
    BrokerError,
    BrokerRejected,
    Fill,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    OutcomeUnknown,
    Side,
)
from thebot.execution.filters import SymbolFilters, filters_from_exchange_info
from thebot.market.ccxt_client import BINANCE_REST_URL

logger = logging.getLogger(__name__)

_STATUSES = {status.value: status for status in OrderStatus}
_CCXT_STATUSES = {
    "open": OrderStatus.NEW,
    "closed": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELED,
    "expired": OrderStatus.EXPIRED,
    "rejected": OrderStatus.REJECTED,
}


class RedactSecrets(logging.Filter):
    """ccxt logs every request's headers at DEBUG, the API key among them: blank the key and secret out
    of each record of its logger before any handler sees it."""

    def __init__(self, *secrets: str) -> None:
        super().__init__()
        self.secrets = tuple(secret for secret in secrets if secret)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(secret in message for secret in self.secrets):
            for secret in self.secrets:
                message = message.replace(secret, "***")
            record.msg, record.args = message, ()
        return True


CCXT_LOGGERS = ("ccxt", "ccxt.base.exchange")


def make_binance(rest_url: str, api_key: str, secret: str, timeout_seconds: float) -> Any:
    """A synchronous ccxt binance client limited to spot, talking to `rest_url`."""
    client = ccxt.binance(
        {
            "apiKey": api_key,
            "secret": secret,
            # ccxt spaces Binance's weighted calls (an all-symbol openOrders waits ~0.8 s); loopback does
            # not need that, Binance does.
            "enableRateLimit": rest_url.rstrip("/") == BINANCE_REST_URL,
            "timeout": int(timeout_seconds * 1000),
            "options": {
                "defaultType": "spot",
                "fetchMarkets": {"types": ["spot"]},
                "fetchMargins": False,
                "fetchCurrencies": False,
                "adjustForTimeDifference": False,
                "warnOnFetchOpenOrdersWithoutSymbol": False,
            },
        }
    )
    client.has["fetchCurrencies"] = False
    client.thebot_redact = RedactSecrets(api_key, secret)
    for name in CCXT_LOGGERS:
        logging.getLogger(name).addFilter(client.thebot_redact)
    base = rest_url.rstrip("/")
    if base != BINANCE_REST_URL:
        client.urls["api"] = {name: f"{base}/api/v3" for name in client.urls["api"]}
        client.session.trust_env = False  # loopback never goes through an environment proxy
    return client


class CcxtBroker:
    def __init__(
        self, rest_url: str, api_key: str, secret: str, *, timeout_seconds: float, name: str = "venue"
    ) -> None:
        self.name = name
        self.client = make_binance(rest_url, api_key, secret, timeout_seconds)
        self._markets: dict[str, SymbolFilters] = {}
        self._ccxt_symbols: dict[str, str] = {}
        self._ids: dict[str, str] = {}

    def _call(self, what: str, function: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except ccxt.NetworkError as error:
            raise OutcomeUnknown(f"{what}: no answer from the exchange ({type(error).__name__})") from error
        except ccxt.OrderNotFound:
            raise
        except ccxt.ExchangeError as error:
            raise BrokerRejected(f"{what}: the exchange refused: {_short(error)}") from error

    # -- markets and prices ----------------------------------------------------------------------------

    def markets(self) -> dict[str, SymbolFilters]:
        if not self._markets:
            loaded = self._call("load markets", self.client.load_markets)
            for market in loaded.values():
                if not market.get("spot"):
                    continue
                filters = filters_from_exchange_info(market["info"])
                self._markets[filters.symbol] = filters
                self._ccxt_symbols[filters.symbol] = market["symbol"]
                self._ids[market["symbol"]] = filters.symbol
        return dict(self._markets)

    def _symbol(self, symbol: str) -> str:
        if not self._ccxt_symbols:
            self.markets()
        try:
            return self._ccxt_symbols[symbol]
        except KeyError:
            raise BrokerRejected(f"unknown symbol {symbol}") from None

    def last_price(self, symbol: str) -> float | None:
        ticker = self._call("ticker", self.client.fetch_ticker, self._symbol(symbol))
        last = ticker.get("last")
        return None if last is None else float(last)

    # -- orders ----------------------------------------------------------------------------------------

    def place(self, request: OrderRequest) -> tuple[Order, list[Fill]]:
        params: dict[str, Any] = {"newClientOrderId": request.client_order_id}
        if request.type is OrderType.LIMIT:
            params["timeInForce"] = "GTC"
        elif request.type is not OrderType.MARKET:
            raise BrokerRejected(f"{request.type} is held by the app and sent as MARKET or LIMIT")
        raw = self._call(
            "place order",
            self.client.create_order,
            self._symbol(request.symbol),
            request.type.value.lower(),
            request.side.value.lower(),
            request.quantity,
            request.price,
            params,
        )
        order = self._order(raw)
        fills = [
            self._fill_from_response(order, item, index)
            for index, item in enumerate(raw["info"].get("fills") or [])
        ]
        return order, fills

    def fetch_order(self, symbol: str, client_order_id: str) -> Order | None:
        try:
            raw = self._call(
                "query order",
                self.client.fetch_order,
                None,
                self._symbol(symbol),
                {"origClientOrderId": client_order_id},
            )
        except ccxt.OrderNotFound:
            return None
        return self._order(raw)

    def open_orders(self) -> list[Order]:
        if not self._ccxt_symbols:
            self.markets()
        raw = self._call("open orders", self.client.fetch_open_orders)
        return [self._order(item) for item in raw]

    def cancel(self, symbol: str, client_order_id: str) -> Order:
        try:
            raw = self._call(
                "cancel order",
                self.client.cancel_order,
                None,
                self._symbol(symbol),
                {"origClientOrderId": client_order_id},
            )
        except ccxt.OrderNotFound as error:
            raise BrokerRejected(f"order {client_order_id} is not open on the exchange") from error
        return self._order(raw)

    def fills(self, symbol: str, since_ms: int | None = None) -> list[Fill]:
        raw = self._call("trades", self.client.fetch_my_trades, self._symbol(symbol), since_ms, 1000)
        return [self._fill(symbol, item) for item in raw]

    def balances(self) -> dict[str, Balance]:
        raw = self._call("balances", self.client.fetch_balance)
        balances: dict[str, Balance] = {}
        for item in raw.get("info", {}).get("balances", []):
            free, locked = float(item["free"]), float(item["locked"])
            if free or locked:
                balances[item["asset"]] = Balance(item["asset"], free, locked)
        return balances

    def close(self) -> None:
        for name in CCXT_LOGGERS:
            logging.getLogger(name).removeFilter(self.client.thebot_redact)
        try:
            self.client.session.close()
        except Exception as error:  # closing must not hide the reason the caller is stopping
            logger.debug("closing the ccxt session failed: %s", error)

    # -- parsing ---------------------------------------------------------------------------------------

    def _order(self, raw: dict[str, Any]) -> Order:
        info = raw.get("info") or {}
        status = _STATUSES.get(str(info.get("status", ""))) or _CCXT_STATUSES.get(
            str(raw.get("status")), OrderStatus.NEW
        )
        symbol = self._ids.get(str(raw.get("symbol")), str(info.get("symbol", "")))
        raw_type = str(info.get("type") or raw.get("type") or "MARKET").upper()
        order_type = OrderType.LIMIT if raw_type.startswith("LIMIT") else OrderType.MARKET
        filled = float(raw.get("filled") or 0.0)
        average = float(raw.get("average") or 0.0)
        if not average and filled:
            average = float(raw.get("cost") or 0.0) / filled
        price = raw.get("price")
        timestamp = int(raw.get("timestamp") or info.get("transactTime") or info.get("time") or 0)
        return Order(
            client_order_id=str(raw.get("clientOrderId") or info.get("clientOrderId") or ""),
            symbol=symbol,
            side=Side(str(raw.get("side") or info.get("side")).upper()),
            type=order_type,
            quantity=float(raw.get("amount") or info.get("origQty") or 0.0),
            status=status,
            price=float(price) if price and order_type is OrderType.LIMIT else None,
            exchange_id=str(raw.get("id") or info.get("orderId")),
            filled=filled,
            average_price=average,
            created_ms=timestamp,
            updated_ms=int(info.get("updateTime") or timestamp),
        )

    def _fee(self, symbol: str, price: float, cost: float, asset: str) -> tuple[float, float]:
        """(fee in quote, part paid in base)."""
        filters = self._markets.get(symbol)
        if filters is not None and asset == filters.base_asset:
            return cost * price, cost
        return cost, 0.0

    def _fill_from_response(self, order: Order, item: dict[str, Any], index: int) -> Fill:
        price, quantity = float(item["price"]), float(item["qty"])
        fee, base_fee = self._fee(
            order.symbol, price, float(item["commission"]), str(item["commissionAsset"])
        )
        return Fill(
            trade_id=str(item.get("tradeId", f"{order.exchange_id}-{index}")),
            client_order_id=order.client_order_id,
            symbol=order.symbol,
            side=order.side,
            price=price,
            quantity=quantity,
            fee=fee,
            base_fee=base_fee,
            time_ms=order.created_ms,
            exchange_order_id=order.exchange_id or "",
        )

    def _fill(self, symbol: str, raw: dict[str, Any]) -> Fill:
        price, quantity = float(raw["price"]), float(raw["amount"])
        fee_info = raw.get("fee") or {}
        fee, base_fee = self._fee(
            symbol, price, float(fee_info.get("cost") or 0.0), str(fee_info.get("currency"))
        )
        return Fill(
            trade_id=str(raw["id"]),
            client_order_id="",
            symbol=symbol,
            side=Side(str(raw["side"]).upper()),
            price=price,
            quantity=quantity,
            fee=fee,
            base_fee=base_fee,
            time_ms=int(raw.get("timestamp") or 0),
            exchange_order_id=str(raw.get("order") or ""),
        )


def _short(error: Exception) -> str:
    """ccxt prefixes the exchange's JSON with the class name; keep the message a person can read."""
    text = str(error)
    if "{" in text and '"msg"' in text:
        try:
            import json

            return str(json.loads(text[text.index("{") :]).get("msg", text))
        except ValueError:
            return text
    return text


__all__ = ["BrokerError", "CcxtBroker", "make_binance"]
