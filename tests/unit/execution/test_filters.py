"""Quantities and prices fixed to the exchange's LOT_SIZE and PRICE_FILTER before anything is sent."""

from __future__ import annotations

import pytest

from thebot.execution.filters import filters_from_exchange_info

BTC = {
    "symbol": "BTCUSDT",
    "baseAsset": "BTC",
    "quoteAsset": "USDT",
    "filters": [
        {"filterType": "PRICE_FILTER", "minPrice": "0.01", "maxPrice": "1000000.00", "tickSize": "0.01"},
        {"filterType": "LOT_SIZE", "minQty": "0.00001", "maxQty": "9000.0", "stepSize": "0.00001"},
        {"filterType": "MIN_NOTIONAL", "minNotional": "10.0"},
    ],
}


def test_reads_binance_filters_including_the_old_min_notional() -> None:
    filters = filters_from_exchange_info(BTC)
    assert (filters.base_asset, filters.quote_asset) == ("BTC", "USDT")
    assert (filters.tick_size, filters.step_size, filters.min_qty) == (0.01, 0.00001, 0.00001)
    assert filters.min_notional == 10.0


def test_quantity_floors_to_the_step_without_float_noise() -> None:
    filters = filters_from_exchange_info(BTC)
    assert filters.floor_quantity(0.123456789) == 0.12345
    assert filters.floor_quantity(0.1 + 0.2) == pytest.approx(0.3)
    assert filters.floor_quantity(0.3) == 0.3  # exactly on the step stays
    assert filters.floor_quantity(0.000009) == 0.0


def test_prices_round_to_the_tick_and_off_tick_prices_are_detected() -> None:
    filters = filters_from_exchange_info(BTC)
    assert filters.round_price(50_247.504) == 50_247.50
    assert filters.round_price(50_247.505) == 50_247.51
    assert filters.on_tick(50_000.01)
    assert not filters.on_tick(50_000.015)
