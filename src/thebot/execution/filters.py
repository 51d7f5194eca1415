"""Binance's symbol filters (LOT_SIZE, PRICE_FILTER, NOTIONAL / MIN_NOTIONAL) and quantization.

The exchange rejects a quantity off the step or a price off the tick, so both are fixed here before an
order is checked or sent. Decimal arithmetic: 0.1 + 0.2 style float noise would put a quantity just off
the step (0.30000000000000004 is not a multiple of 0.1). One raw sample of `exchangeInfo.symbols[].filters`:

    [{"filterType": "PRICE_FILTER", "minPrice": "0.01", "maxPrice": "1000000", "tickSize": "0.01"},
     {"filterType": "LOT_SIZE", "minQty": "0.00001", "maxQty": "9000", "stepSize": "0.00001"},
     {"filterType": "NOTIONAL", "minNotional": "5", "applyMinToMarket": true, "maxNotional": "9000000"}]
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any


@dataclass(frozen=True, slots=True)
class SymbolFilters:
    symbol: str
    base_asset: str
    quote_asset: str
    tick_size: float
    step_size: float
    min_qty: float
    max_qty: float
    min_price: float = 0.0
    max_price: float = 0.0  # 0 = no maximum (as Binance sends it)
    min_notional: float = 0.0
    max_notional: float = 0.0

    def floor_quantity(self, quantity: float) -> float:
        """Down to the step: never more than asked for, never more than the balance allows."""
        return _to_step(quantity, self.step_size, ROUND_DOWN)

    def round_price(self, price: float) -> float:
        """To the nearest tick (computed prices: stops, take-profits, trailing levels)."""
        return _to_step(price, self.tick_size, ROUND_HALF_UP)

    def on_tick(self, price: float) -> bool:
        return abs(self.round_price(price) - price) <= self.tick_size * 1e-6

    def to_dict(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "base_asset": self.base_asset,
            "quote_asset": self.quote_asset,
            "tick_size": self.tick_size,
            "step_size": self.step_size,
            "min_qty": self.min_qty,
            "max_qty": self.max_qty,
            "min_notional": self.min_notional,
        }


def _to_step(value: float, step: float, rounding: str) -> float:
    if step <= 0:
        return value
    step_decimal = Decimal(repr(step))
    units = (Decimal(repr(value)) / step_decimal).quantize(Decimal(1), rounding=rounding)
    return float(units * step_decimal)


def filters_from_exchange_info(entry: dict[str, Any]) -> SymbolFilters:
    """One `exchangeInfo.symbols[]` entry (ccxt keeps it as `market["info"]`)."""
    by_type = {item.get("filterType"): item for item in entry.get("filters", [])}
    price = by_type.get("PRICE_FILTER", {})
    lot = by_type.get("LOT_SIZE", {})
    notional = by_type.get("NOTIONAL") or by_type.get("MIN_NOTIONAL") or {}
    return SymbolFilters(
        symbol=str(entry["symbol"]),
        base_asset=str(entry.get("baseAsset", "")),
        quote_asset=str(entry.get("quoteAsset", "")),
        tick_size=float(price.get("tickSize", 0) or 0),
        step_size=float(lot.get("stepSize", 0) or 0),
        min_qty=float(lot.get("minQty", 0) or 0),
        max_qty=float(lot.get("maxQty", 0) or 0),
        min_price=float(price.get("minPrice", 0) or 0),
        max_price=float(price.get("maxPrice", 0) or 0),
        min_notional=float(notional.get("minNotional", 0) or 0),
        max_notional=float(notional.get("maxNotional", 0) or 0),
    )


def default_filters(symbol: str, quote_asset: str = "USDT") -> SymbolFilters:
    """The paper broker's filters when no exchange is asked: the venue's (and Binance's BTCUSDT) rules."""
    base = symbol.removesuffix(quote_asset) if symbol.endswith(quote_asset) else symbol[:-4]
    quote = quote_asset if symbol.endswith(quote_asset) else symbol[-4:]
    return SymbolFilters(
        symbol=symbol,
        base_asset=base,
        quote_asset=quote,
        tick_size=0.01,
        step_size=0.00001,
        min_qty=0.00001,
        max_qty=9000.0,
        min_price=0.01,
        max_price=1_000_000.0,
        min_notional=5.0,
        max_notional=9_000_000.0,
    )
