"""Accounts, signed endpoints and matching, as a Binance REST client sees them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.unit.venue.venue_helpers import http, signed
from thebot.venue import RunningVenue, SimulatedVenue, VenueConfig, run_venue_in_thread
from thebot.venue.market import traded_range


@pytest.fixture
def venue() -> Iterator[RunningVenue]:
    running = run_venue_in_thread(VenueConfig(speed=60.0, history_days=0.2, symbols=("BTCUSDT", "ETHUSDT")))
    try:
        yield running
    finally:
        running.stop()


def balances(venue: RunningVenue, **credentials: Any) -> dict[str, tuple[Decimal, Decimal]]:
    status, body = signed(venue.http_url, "/api/v3/account", **credentials)
    assert status == 200, body
    return {row["asset"]: (Decimal(row["free"]), Decimal(row["locked"])) for row in body["balances"]}


def last_price(venue: RunningVenue, symbol: str = "BTCUSDT") -> Decimal:
    return Decimal(http(venue.http_url, "/api/v3/ticker/price", symbol=symbol)[1]["price"])


def test_demo_account_starts_with_ten_thousand_usdt(venue: RunningVenue) -> None:
    assert balances(venue) == {"USDT": (Decimal(10_000), Decimal(0))}


def test_market_buy_fills_near_the_last_price_and_charges_the_fee_in_base(venue: RunningVenue) -> None:
    before = last_price(venue)
    status, order = signed(
        venue.http_url, "/api/v3/order", "POST", symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.01"
    )
    assert status == 200, order
    assert order["status"] == "FILLED" and order["executedQty"] == "0.01000000"
    fill = order["fills"][0]
    price = Decimal(fill["price"])
    assert abs(price - before) / before < Decimal("0.01")
    assert fill["commissionAsset"] == "BTC" and Decimal(fill["commission"]) == Decimal("0.00001")
    after = balances(venue)
    cost = Decimal(order["cummulativeQuoteQty"])
    assert cost == (price * Decimal("0.01")).quantize(Decimal("0.00000001"), rounding="ROUND_DOWN")
    assert after["USDT"] == (Decimal(10_000) - cost, Decimal(0))
    assert after["BTC"] == (Decimal("0.00999"), Decimal(0))
    status, trades = signed(venue.http_url, "/api/v3/myTrades", symbol="BTCUSDT")
    assert status == 200 and len(trades) == 1
    assert trades[0]["orderId"] == order["orderId"] and trades[0]["isBuyer"] and not trades[0]["isMaker"]


def plan_limit(venue: SimulatedVenue) -> tuple[str, int]:
    """A side and limit price the market will not reach for a simulated minute, then will reach soon.

    The venue's future is already determined by its seed, so the test looks ahead instead of hoping.
    """
    path = venue.path("BTCUSDT")
    tick = venue.rules("BTCUSDT").tick_units
    now = venue.now_ms()
    guard = traded_range(path, now - 1_000, now + 60_000)
    assert guard is not None
    sell_limit, buy_limit = guard[1] + tick, guard[0] - tick
    for minute in range(1, 16):
        reached = traded_range(path, now + 60_000, now + 60_000 + minute * 60_000)
        assert reached is not None
        if reached[1] >= sell_limit:
            return "SELL", sell_limit
        if reached[0] <= buy_limit:
            return "BUY", buy_limit
    raise AssertionError("the simulated price stayed inside its first minute's range for 15 minutes")


def test_resting_limit_locks_funds_and_fills_when_the_price_crosses(venue: RunningVenue) -> None:
    signed(
        venue.http_url, "/api/v3/order", "POST", symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.02"
    )
    before = balances(venue)
    side, limit_units = venue.call(plan_limit)
    limit = Decimal(limit_units) / 100_000_000
    status, order = signed(
        venue.http_url,
        "/api/v3/order",
        "POST",
        symbol="BTCUSDT",
        side=side,
        type="LIMIT",
        timeInForce="GTC",
        quantity="0.01",
        price=str(limit),
    )
    assert status == 200, order
    assert order["status"] == "NEW" and order["fills"] == []
    locked = balances(venue)
    if side == "SELL":
        assert locked["BTC"] == (before["BTC"][0] - Decimal("0.01"), Decimal("0.01"))
    else:
        assert locked["USDT"] == (before["USDT"][0] - limit * Decimal("0.01"), limit * Decimal("0.01"))
    status, open_orders = signed(venue.http_url, "/api/v3/openOrders", symbol="BTCUSDT")
    assert [row["orderId"] for row in open_orders] == [order["orderId"]]
    deadline = time.monotonic() + 25
    state = order
    while state["status"] == "NEW" and time.monotonic() < deadline:
        time.sleep(0.2)
        state = signed(venue.http_url, "/api/v3/order", symbol="BTCUSDT", orderId=order["orderId"])[1]
    assert state["status"] == "FILLED"
    trades = signed(venue.http_url, "/api/v3/myTrades", symbol="BTCUSDT", orderId=order["orderId"])[1]
    assert Decimal(trades[0]["price"]) == limit and trades[0]["isMaker"]
    assert trades[0]["commissionAsset"] == ("USDT" if side == "SELL" else "BTC")
    after = balances(venue)
    assert after["BTC"][1] == 0 and after["USDT"][1] == 0


def test_cancel_releases_locked_funds(venue: RunningVenue) -> None:
    far = (last_price(venue) * Decimal("0.5")).quantize(Decimal("0.01"))
    status, order = signed(
        venue.http_url,
        "/api/v3/order",
        "POST",
        symbol="BTCUSDT",
        side="BUY",
        type="LIMIT",
        timeInForce="GTC",
        quantity="0.01",
        price=str(far),
    )
    assert status == 200, order
    assert balances(venue)["USDT"][1] == far * Decimal("0.01")
    status, canceled = signed(
        venue.http_url, "/api/v3/order", "DELETE", symbol="BTCUSDT", orderId=order["orderId"]
    )
    assert status == 200 and canceled["status"] == "CANCELED"
    assert balances(venue)["USDT"] == (Decimal(10_000), Decimal(0))
    status, again = signed(
        venue.http_url, "/api/v3/order", "DELETE", symbol="BTCUSDT", orderId=order["orderId"]
    )
    assert (status, again["code"]) == (400, -2011)


@pytest.mark.parametrize(
    ("parameters", "status", "code"),
    [
        ({"symbol": "NOPEUSDT", "side": "BUY", "type": "MARKET", "quantity": "1"}, 400, -1121),
        ({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "5"}, 400, -2010),
        ({"symbol": "BTCUSDT", "side": "SELL", "type": "MARKET", "quantity": "0.01"}, 400, -2010),
        ({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.000001"}, 400, -1013),
        ({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.00001"}, 400, -1013),
        (
            {
                "symbol": "BTCUSDT",
                "side": "BUY",
                "type": "LIMIT",
                "quantity": "0.01",
                "price": "100.001",
                "timeInForce": "GTC",
            },
            400,
            -1013,
        ),
        ({"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "quantity": "0.01"}, 400, -1102),
        ({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "abc"}, 400, -1100),
        ({"symbol": "BTCUSDT", "side": "UP", "type": "MARKET", "quantity": "0.01"}, 400, -1117),
    ],
)
def test_order_errors_use_binance_codes(
    venue: RunningVenue, parameters: dict[str, str], status: int, code: int
) -> None:
    got_status, body = signed(venue.http_url, "/api/v3/order", "POST", **parameters)
    assert (got_status, body["code"]) == (status, code), body
    assert body["msg"]
    assert balances(venue) == {"USDT": (Decimal(10_000), Decimal(0))}


def test_signed_requests_check_key_signature_and_timestamp(venue: RunningVenue) -> None:
    assert signed(venue.http_url, "/api/v3/account", api_key="")[1]["code"] == -2014
    status, body = signed(venue.http_url, "/api/v3/account", api_key="stranger")
    assert (status, body["code"]) == (401, -2015)
    status, body = signed(venue.http_url, "/api/v3/account", secret="wrong")
    assert (status, body["code"]) == (400, -1022)
    status, body = signed(
        venue.http_url,
        "/api/v3/order",
        "POST",
        tamper=True,
        symbol="BTCUSDT",
        side="BUY",
        type="MARKET",
        quantity="0.01",
    )
    assert body["code"] == -1022 and balances(venue)["USDT"][0] == 10_000
    status, body = signed(venue.http_url, "/api/v3/account", timestamp=int(time.time() * 1000) - 10_000)
    assert (status, body["code"]) == (400, -1021)
    status, body = signed(
        venue.http_url, "/api/v3/account", timestamp=int(time.time() * 1000) - 10_000, recvWindow=20_000
    )
    assert status == 200


def test_signatures_cover_escaped_characters(venue: RunningVenue) -> None:
    far = (last_price(venue) * Decimal("0.5")).quantize(Decimal("0.01"))
    for method in ("POST", "GET"):
        path = "/api/v3/order" if method == "POST" else "/api/v3/allOrders"
        parameters = {"symbol": "BTCUSDT"}
        if method == "POST":
            parameters.update(
                side="BUY",
                type="LIMIT",
                timeInForce="GTC",
                quantity="0.01",
                price=str(far),
                newClientOrderId="my order/1+2=3&x",
            )
        status, body = signed(venue.http_url, path, method, **parameters)
        assert status == 200, body
    assert body[0]["clientOrderId"] == "my order/1+2=3&x"
    status, order = signed(
        venue.http_url, "/api/v3/order", symbol="BTCUSDT", origClientOrderId="my order/1+2=3&x"
    )
    assert status == 200 and order["orderId"] == body[0]["orderId"]


def test_unknown_order_query(venue: RunningVenue) -> None:
    status, body = signed(venue.http_url, "/api/v3/order", symbol="BTCUSDT", orderId=987654)
    assert (status, body["code"]) == (400, -2013)


def test_state_file_keeps_orders_and_balances_across_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "venue-state.json"
    config = VenueConfig(
        speed=1.0, history_days=0.1, symbols=("ETHUSDT",), state=state, accounts=(("alice", "alice-secret"),)
    )
    credentials = {"api_key": "alice", "secret": "alice-secret"}
    with run_venue_in_thread(config) as first:
        signed(
            first.http_url,
            "/api/v3/order",
            "POST",
            symbol="ETHUSDT",
            side="BUY",
            type="MARKET",
            quantity="0.5",
            **credentials,
        )
        resting = signed(
            first.http_url,
            "/api/v3/order",
            "POST",
            symbol="ETHUSDT",
            side="BUY",
            type="LIMIT",
            timeInForce="GTC",
            quantity="1",
            price="100.00",
            **credentials,
        )[1]
        before = balances(first, **credentials)
    assert state.exists()
    with run_venue_in_thread(config) as second:
        assert balances(second, **credentials) == before
        open_orders = signed(second.http_url, "/api/v3/openOrders", symbol="ETHUSDT", **credentials)[1]
        assert [row["orderId"] for row in open_orders] == [resting["orderId"]]
        trades = signed(second.http_url, "/api/v3/myTrades", symbol="ETHUSDT", **credentials)[1]
        assert len(trades) == 1


def test_public_market_endpoints(venue: RunningVenue) -> None:
    status, info = http(venue.http_url, "/api/v3/exchangeInfo")
    assert status == 200
    symbols = {row["symbol"]: row for row in info["symbols"]}
    assert set(symbols) == {"BTCUSDT", "ETHUSDT"}
    filters = {row["filterType"] for row in symbols["BTCUSDT"]["filters"]}
    assert {"PRICE_FILTER", "LOT_SIZE", "NOTIONAL"} <= filters
    assert symbols["ETHUSDT"]["baseAsset"] == "ETH" and symbols["ETHUSDT"]["quoteAsset"] == "USDT"
    assert http(venue.http_url, "/api/v3/ping") == (200, {})
    status, ticker = http(venue.http_url, "/api/v3/ticker/24hr", symbol="ETHUSDT")
    assert Decimal(ticker["lowPrice"]) <= Decimal(ticker["lastPrice"]) <= Decimal(ticker["highPrice"])
    status, tickers = http(venue.http_url, "/api/v3/ticker/price")
    assert {row["symbol"] for row in tickers} == {"BTCUSDT", "ETHUSDT"}
    assert http(venue.http_url, "/api/v3/klines", symbol="BTCUSDT", interval="7m")[1]["code"] == -1120
    assert http(venue.http_url, "/api/v3/klines", symbol="BTCUSDT")[1]["code"] == -1102
    # At speed 60 a simulated minute passes every real second: bracket the request with the clock.
    before = http(venue.http_url, "/api/v3/time")[1]["serverTime"]
    status, rows = http(venue.http_url, "/api/v3/klines", symbol="BTCUSDT", interval="1m")
    after = http(venue.http_url, "/api/v3/time")[1]["serverTime"]
    assert len(rows) == 500  # Binance's default limit
    # Ending with the candle that was forming while the request was served.
    assert rows[-1][0] <= after and before <= rows[-1][6]
