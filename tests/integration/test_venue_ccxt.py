"""A third-party Binance client (ccxt) cannot tell the venue from Binance for the subset it serves."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import ccxt
import pytest

from thebot.venue import RunningVenue, VenueConfig, run_venue_in_thread


def make_ccxt_binance(http_url: str, api_key: str | None = None, secret: str | None = None) -> ccxt.binance:
    """ccxt's binance pointed at the venue: every API base URL goes to loopback, spot markets only, no
    currency or margin look-ups (those live on Binance's sapi, which the venue does not serve)."""
    exchange = ccxt.binance(
        {
            "apiKey": api_key,
            "secret": secret,
            "enableRateLimit": False,
            "timeout": 10_000,
            "options": {
                "fetchMarkets": {"types": ["spot"]},
                "fetchMargins": False,
                "defaultType": "spot",
                "adjustForTimeDifference": False,
            },
        }
    )
    exchange.has["fetchCurrencies"] = False
    exchange.urls["api"] = {name: f"{http_url}/api/v3" for name in exchange.urls["api"]}
    exchange.session.trust_env = False  # never route loopback through an environment proxy
    return exchange


@pytest.fixture(scope="module")
def venue() -> Iterator[RunningVenue]:
    running = run_venue_in_thread(
        VenueConfig(speed=30.0, history_days=3.0, symbols=("BTCUSDT", "ETHUSDT"), seed=5)
    )
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def client(venue: RunningVenue) -> Iterator[ccxt.binance]:
    exchange = make_ccxt_binance(venue.http_url, "sim-key", "sim-secret")
    exchange.load_markets()
    yield exchange
    exchange.session.close()


def test_load_markets_reads_symbols_and_filters(client: ccxt.binance) -> None:
    assert set(client.symbols) == {"BTC/USDT", "ETH/USDT"}
    market = client.market("BTC/USDT")
    assert market["spot"] and market["active"]
    assert market["precision"]["price"] == 0.01 and market["precision"]["amount"] == 0.00001
    assert market["limits"]["cost"]["min"] == 5.0


def test_fetch_ohlcv_paginates_3000_contiguous_candles(client: ccxt.binance, venue: RunningVenue) -> None:
    now = client.fetch_time()
    since = now - 3000 * 60_000 - 5 * 60_000
    candles: list[list[float]] = []
    cursor = since
    while len(candles) < 3000:
        page = client.fetch_ohlcv("BTC/USDT", "1m", since=cursor, limit=1000)
        assert page, "the venue stopped serving history early"
        candles.extend(page)
        cursor = int(page[-1][0]) + 60_000
    candles = candles[:3000]
    opens = [int(candle[0]) for candle in candles]
    assert opens[0] == since - since % 60_000 + (60_000 if since % 60_000 else 0)
    assert all(later - earlier == 60_000 for earlier, later in itertools.pairwise(opens))
    assert all(
        candle[3] <= min(candle[1], candle[4]) <= max(candle[1], candle[4]) <= candle[2] for candle in candles
    )
    hourly = client.fetch_ohlcv("BTC/USDT", "1h", since=opens[60 - opens[0] % 3_600_000 // 60_000], limit=2)
    first_hour = [candle for candle in candles if hourly[0][0] <= candle[0] < hourly[0][0] + 3_600_000]
    assert len(first_hour) == 60
    assert hourly[0][2] == max(candle[2] for candle in first_hour)
    assert hourly[0][4] == first_hour[-1][4]


def test_fetch_ticker(client: ccxt.binance) -> None:
    ticker = client.fetch_ticker("ETH/USDT")
    assert ticker["symbol"] == "ETH/USDT"
    assert ticker["low"] <= ticker["last"] <= ticker["high"]
    assert ticker["bid"] < ticker["ask"] and ticker["baseVolume"] > 0


def test_orders_balances_and_trades_round_trip(client: ccxt.binance) -> None:
    balance = client.fetch_balance()
    quote_before = balance["USDT"]["free"]
    assert quote_before > 0

    bought = client.create_order("ETH/USDT", "market", "buy", 0.05)
    assert bought["status"] == "closed" and bought["filled"] == pytest.approx(0.05)
    assert bought["fee"]["currency"] == "ETH" and bought["fee"]["cost"] == pytest.approx(0.00005)

    price = client.fetch_ticker("ETH/USDT")["last"]
    resting = client.create_order("ETH/USDT", "limit", "buy", 0.01, round(price * 0.7, 2))
    assert resting["status"] == "open"
    open_ids = [order["id"] for order in client.fetch_open_orders("ETH/USDT")]
    assert resting["id"] in open_ids
    locked = client.fetch_balance()["USDT"]["used"]
    assert locked == pytest.approx(0.01 * round(price * 0.7, 2))

    canceled = client.cancel_order(resting["id"], "ETH/USDT")
    assert canceled["status"] == "canceled"
    assert resting["id"] not in [order["id"] for order in client.fetch_open_orders("ETH/USDT")]

    trades = client.fetch_my_trades("ETH/USDT")
    assert [trade["order"] for trade in trades][-1] == bought["id"]
    assert trades[-1]["side"] == "buy" and trades[-1]["amount"] == pytest.approx(0.05)

    after = client.fetch_balance()
    assert after["ETH"]["free"] == pytest.approx(0.05 - 0.00005)
    assert after["USDT"]["used"] == 0
    assert after["USDT"]["free"] == pytest.approx(quote_before - bought["cost"])

    sold = client.create_order("ETH/USDT", "market", "sell", 0.04)
    assert sold["status"] == "closed" and sold["fee"]["currency"] == "USDT"


def test_errors_raise_ccxt_classes(client: ccxt.binance, venue: RunningVenue) -> None:
    with pytest.raises(ccxt.BadSymbol):
        client.public_get_klines({"symbol": "NOPEUSDT", "interval": "1m"})
    with pytest.raises(ccxt.InsufficientFunds):
        client.create_order("BTC/USDT", "market", "buy", 50)
    price = client.fetch_ticker("BTC/USDT")["last"]
    with pytest.raises(ccxt.InvalidOrder):  # a post-only buy above the market would take liquidity
        client.create_order("BTC/USDT", "limit", "buy", 0.001, round(price * 1.05, 2), {"postOnly": True})
    with pytest.raises(ccxt.InvalidOrder):  # quantity off the LOT_SIZE step, sent raw past ccxt's rounding
        client.private_post_order(
            {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.0100001"}
        )
    with pytest.raises(ccxt.BadRequest):  # as on Binance, NOTIONAL failures are a plain -1013
        client.create_order("BTC/USDT", "market", "buy", 0.00001)
    with pytest.raises(ccxt.OrderNotFound):
        client.cancel_order("99999", "BTC/USDT")
    impostor = make_ccxt_binance(venue.http_url, "sim-key", "not-the-secret")
    impostor.load_markets()
    with pytest.raises(ccxt.AuthenticationError):
        impostor.fetch_balance()
    stranger = make_ccxt_binance(venue.http_url, "unknown-key", "whatever")
    stranger.load_markets()
    with pytest.raises(ccxt.AuthenticationError):
        stranger.fetch_balance()
