"""The market-stream protocol as a Binance client sees it."""

from __future__ import annotations

import asyncio
import itertools
import time
from decimal import Decimal

import aiohttp
import orjson
import pytest
from aiohttp import WSMsgType
from websockets.exceptions import ConnectionClosed

from tests.unit.venue.venue_helpers import open_socket, receive_json, receive_until
from thebot.venue import RunningVenue, SimulatedVenue, VenueConfig, run_venue_in_thread
from thebot.venue.intervals import INTERVALS

KLINE_FIELDS = {"t", "T", "s", "i", "f", "L", "o", "c", "h", "l", "v", "n", "x", "q", "V", "Q", "B"}
STRING_FIELDS = {"o", "c", "h", "l", "v", "q", "V", "Q", "B"}


def test_raw_stream_path_sends_kline_events_with_binance_fields(fast_venue: RunningVenue) -> None:
    with open_socket(f"{fast_venue.ws_url}/ws/btcusdt@kline_1m") as socket:
        event = receive_json(socket)
    assert set(event) == {"e", "E", "s", "k"}
    assert event["e"] == "kline"
    assert event["s"] == "BTCUSDT"
    kline = event["k"]
    assert set(kline) == KLINE_FIELDS
    assert kline["s"] == "BTCUSDT" and kline["i"] == "1m"
    for name in STRING_FIELDS:
        assert isinstance(kline[name], str), name
        Decimal(kline[name])
    for name in ("t", "T", "f", "L", "n", "E"):
        value = event[name] if name == "E" else kline[name]
        assert isinstance(value, int) and not isinstance(value, bool), name
    assert isinstance(kline["x"], bool)
    assert kline["T"] - kline["t"] == 59_999
    assert kline["t"] % 60_000 == 0
    high, low = Decimal(kline["h"]), Decimal(kline["l"])
    assert low <= Decimal(kline["o"]) <= high and low <= Decimal(kline["c"]) <= high
    assert Decimal(kline["V"]) <= Decimal(kline["v"])


def test_subscribe_is_acknowledged_with_its_id_and_then_streams(fast_venue: RunningVenue) -> None:
    with open_socket(f"{fast_venue.ws_url}/ws") as socket:
        socket.send(orjson.dumps({"method": "SUBSCRIBE", "params": ["ethusdt@kline_5m"], "id": 17}).decode())
        assert receive_json(socket) == {"result": None, "id": 17}
        event = receive_until(socket, lambda message: message.get("e") == "kline")
        assert event["s"] == "ETHUSDT" and event["k"]["i"] == "5m"
        socket.send(orjson.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 18}).decode())
        reply = receive_until(socket, lambda message: message.get("id") == 18)
        assert reply == {"result": ["ethusdt@kline_5m"], "id": 18}


def test_unsubscribe_stops_the_stream(fast_venue: RunningVenue) -> None:
    with open_socket(f"{fast_venue.ws_url}/ws/btcusdt@kline_1m") as socket:
        receive_json(socket)
        socket.send(orjson.dumps({"method": "UNSUBSCRIBE", "params": ["btcusdt@kline_1m"], "id": 3}).decode())
        receive_until(socket, lambda message: message.get("id") == 3)
        with pytest.raises(TimeoutError):
            # At 600x a 1m candle closes every 0.1 s; nothing at all may arrive once unsubscribed.
            socket.recv(timeout=0.6)


def test_combined_stream_wraps_each_payload_with_its_stream_name(fast_venue: RunningVenue) -> None:
    url = f"{fast_venue.ws_url}/stream?streams=btcusdt@kline_1m/ethusdt@kline_15m"
    seen: dict[str, dict[str, object]] = {}
    with open_socket(url) as socket:
        deadline = time.monotonic() + 5
        while len(seen) < 2 and time.monotonic() < deadline:
            message = receive_json(socket)
            assert set(message) == {"stream", "data"}
            seen[message["stream"]] = message["data"]
    assert seen["btcusdt@kline_1m"]["s"] == "BTCUSDT"
    assert seen["ethusdt@kline_15m"]["k"]["i"] == "15m"  # type: ignore[index]


def test_unknown_streams_in_the_path_are_ignored(fast_venue: RunningVenue) -> None:
    with open_socket(f"{fast_venue.ws_url}/stream?streams=dogeusdt@kline_1m/btcusdt@kline_1m/x") as socket:
        for _ in range(5):
            assert receive_json(socket)["stream"] == "btcusdt@kline_1m"
        socket.send(orjson.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 1}).decode())
        reply = receive_until(socket, lambda message: message.get("id") == 1)
    assert reply["result"] == ["btcusdt@kline_1m"]


@pytest.mark.parametrize("interval", INTERVALS)
def test_every_binance_interval_streams(fast_venue: RunningVenue, interval: str) -> None:
    with open_socket(f"{fast_venue.ws_url}/ws/btcusdt@kline_{interval}") as socket:
        event = receive_json(socket)
    assert event["k"]["i"] == interval


def test_closed_candles_arrive_with_x_true_and_in_order(fast_venue: RunningVenue) -> None:
    closed: list[dict[str, object]] = []
    with open_socket(f"{fast_venue.ws_url}/ws/btcusdt@kline_1m") as socket:
        deadline = time.monotonic() + 5
        while len(closed) < 3 and time.monotonic() < deadline:
            kline = receive_json(socket)["k"]
            if kline["x"]:
                closed.append(kline)
    assert len(closed) == 3
    opens = [kline["t"] for kline in closed]
    assert opens == sorted(opens) and opens[1] - opens[0] == 60_000
    # Candles chain: each opens at the previous close.
    assert closed[1]["o"] == closed[0]["c"]


def test_forming_candle_updates_every_two_simulated_seconds() -> None:
    config = VenueConfig(speed=20.0, history_days=0.1, symbols=("BTCUSDT",))
    with run_venue_in_thread(config) as venue, open_socket(f"{venue.ws_url}/ws/btcusdt@kline_1h") as socket:
        times = [receive_json(socket)["E"] for _ in range(6)]
    gaps = sorted(later - earlier for earlier, later in itertools.pairwise(times))
    assert 1_900 <= gaps[len(gaps) // 2] <= 2_600, gaps  # the median: a busy machine may push one late


def test_mini_ticker_and_ticker_streams(fast_venue: RunningVenue) -> None:
    with open_socket(f"{fast_venue.ws_url}/stream?streams=btcusdt@miniTicker/ethusdt@ticker") as socket:
        events = {}
        for _ in range(20):
            message = receive_json(socket)
            events[message["stream"]] = message["data"]
            if len(events) == 2:
                break
    mini = events["btcusdt@miniTicker"]
    assert mini["e"] == "24hrMiniTicker" and set(mini) == {"e", "E", "s", "c", "o", "h", "l", "v", "q"}
    full = events["ethusdt@ticker"]
    assert full["e"] == "24hrTicker" and full["s"] == "ETHUSDT"
    assert Decimal(full["l"]) <= Decimal(full["c"]) <= Decimal(full["h"])
    assert full["O"] < full["C"] and full["n"] > 0


@pytest.mark.parametrize(
    ("request_text", "code"),
    [
        ('{"method": "SUBSCRIBE", "params": ["btcusdt@kline_1m"], "id": 1', 3),
        ('{"method": "SUBSCRIBE", "params": "btcusdt@kline_1m", "id": 1}', 1),
        ('{"method": "FLY", "params": [], "id": 1}', 2),
        ('{"method": "SUBSCRIBE", "params": [], "id": -4}', 2),
        ('{"method": "SUBSCRIBE", "params": [], "id": 1, "colour": "red"}', 0),
    ],
)
def test_bad_requests_get_binance_error_replies(
    fast_venue: RunningVenue, request_text: str, code: int
) -> None:
    with open_socket(f"{fast_venue.ws_url}/ws") as socket:
        socket.send(request_text)
        reply = receive_json(socket)
    assert set(reply) == {"error", "id"}
    assert reply["error"]["code"] == code and reply["error"]["msg"]


def test_more_than_five_messages_a_second_disconnects(fast_venue: RunningVenue) -> None:
    with open_socket(f"{fast_venue.ws_url}/ws") as socket:
        for request_id in range(8):
            try:
                socket.send(orjson.dumps({"method": "LIST_SUBSCRIPTIONS", "id": request_id}).decode())
            except ConnectionClosed:
                break  # the venue may close before the last sends leave: the replies still count
        replies = []
        with pytest.raises(ConnectionClosed):
            for _ in range(20):
                replies.append(receive_json(socket))
    assert len(replies) == 5


def test_five_messages_a_second_are_fine(fast_venue: RunningVenue) -> None:
    with open_socket(f"{fast_venue.ws_url}/ws") as socket:
        for request_id in range(10):
            socket.send(orjson.dumps({"method": "LIST_SUBSCRIPTIONS", "id": request_id}).decode())
            assert receive_json(socket)["id"] == request_id
            time.sleep(0.25)


def test_a_connection_holds_at_most_1024_streams(fast_venue: RunningVenue) -> None:
    names = [f"btcusdt@kline_{index}x" for index in range(1024)]
    with open_socket(f"{fast_venue.ws_url}/ws") as socket:
        socket.send(orjson.dumps({"method": "SUBSCRIBE", "params": names, "id": 1}).decode())
        assert receive_json(socket) == {"result": None, "id": 1}
        socket.send(orjson.dumps({"method": "SUBSCRIBE", "params": ["btcusdt@kline_1m"], "id": 2}).decode())
        reply = receive_json(socket)
    assert reply["id"] == 2 and reply["error"]["code"] == 2


def test_server_pings_and_drops_a_client_that_never_answers() -> None:
    async def scenario() -> tuple[list[WSMsgType], float]:
        venue = SimulatedVenue(VenueConfig(history_days=0.1, symbols=("BTCUSDT",)), ping_interval=0.3)
        await venue.start()
        try:
            async with (
                aiohttp.ClientSession() as session,
                session.ws_connect(f"{venue.ws_url}/ws", autoping=False) as socket,
            ):
                started = time.monotonic()
                kinds = []
                async for message in socket:
                    kinds.append(message.type)
                    if time.monotonic() - started > 5:
                        break
                return kinds, time.monotonic() - started
        finally:
            await venue.stop()

    kinds, elapsed = asyncio.run(scenario())
    assert WSMsgType.PING in kinds
    assert elapsed < 5  # closed by the server for want of a pong
