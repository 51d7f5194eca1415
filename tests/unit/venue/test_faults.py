"""Each admin fault does what it says to a connected client."""

from __future__ import annotations

import math
import time

import orjson
import pytest
from websockets.exceptions import ConnectionClosed

from tests.unit.venue.venue_helpers import http, open_socket, receive_json, receive_until
from thebot.venue import RunningVenue


def test_drop_closes_every_socket_without_a_close_handshake(fast_venue: RunningVenue) -> None:
    with (
        open_socket(f"{fast_venue.ws_url}/ws/btcusdt@kline_1m") as first,
        open_socket(f"{fast_venue.ws_url}/stream?streams=ethusdt@kline_1m") as second,
    ):
        receive_json(first)
        receive_json(second)
        status, body = http(fast_venue.http_url, "/admin/drop", method="POST")
        assert status == 200 and body["dropped"] >= 2
        for socket in (first, second):
            with pytest.raises(ConnectionClosed) as closed:
                for _ in range(10_000):
                    socket.recv(timeout=5)
            assert closed.value.rcvd is None  # abrupt: no close frame from the server
    # The venue still accepts new connections afterwards.
    with open_socket(f"{fast_venue.ws_url}/ws/btcusdt@kline_1m") as socket:
        assert receive_json(socket)["e"] == "kline"


def test_stall_keeps_the_socket_open_and_silent_then_resumes(fast_venue: RunningVenue) -> None:
    with open_socket(f"{fast_venue.ws_url}/ws/btcusdt@kline_1m") as socket:
        receive_json(socket)
        http(fast_venue.http_url, "/admin/stall", method="POST", seconds=1.0)
        time.sleep(0.1)
        while True:  # drain frames queued before the stall began
            try:
                socket.recv(timeout=0.05)
            except TimeoutError:
                break
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            socket.recv(timeout=0.6)
        socket.ping().wait(2)  # still connected: control frames pass, data does not
        event = receive_json(socket, timeout=3)
        assert event["e"] == "kline"
        assert time.monotonic() - started >= 0.7


def test_garbage_sends_each_kind_of_malformed_frame(fast_venue: RunningVenue) -> None:
    with open_socket(f"{fast_venue.ws_url}/ws") as socket:  # no subscriptions: only garbage arrives
        socket.send(orjson.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 1}).decode())
        assert receive_json(socket) == {"result": [], "id": 1}
        status, body = http(fast_venue.http_url, "/admin/garbage", method="POST", count=7)
        assert status == 200 and body["sent"] == 7
        frames = [socket.recv(timeout=5) for _ in range(7)]
    problems = set()
    for frame in frames:
        try:
            payload = orjson.loads(frame)
        except orjson.JSONDecodeError:
            problems.add("invalid json")
            continue
        if not isinstance(payload, dict):
            problems.add("not an object")
            continue
        kline = payload.get("k")
        if kline is None:
            problems.add("missing field")
            continue
        if not isinstance(kline["o"], str) or not isinstance(kline["x"], bool):
            problems.add("wrong type")
            continue
        prices = {name: float(kline[name]) for name in "ohlc"}
        if any(math.isnan(value) for value in prices.values()):
            problems.add("nan")
        elif min(prices.values()) < 0:
            problems.add("negative price")
        elif prices["h"] < prices["l"]:
            problems.add("high below low")
    assert problems == {
        "invalid json",
        "not an object",
        "missing field",
        "wrong type",
        "nan",
        "negative price",
        "high below low",
    }


def test_shutdown_notice_sends_binance_server_shutdown_event(fast_venue: RunningVenue) -> None:
    with open_socket(f"{fast_venue.ws_url}/ws/btcusdt@kline_1m") as socket:
        receive_json(socket)
        http(fast_venue.http_url, "/admin/shutdown-notice", method="POST")
        event = receive_until(socket, lambda message: message.get("e") != "kline")
    assert event["e"] == "serverShutdown" and isinstance(event["E"], int)


def test_latency_delays_every_frame(fast_venue: RunningVenue) -> None:
    def reply_seconds(socket: object, request_id: int) -> float:
        started = time.monotonic()
        socket.send(orjson.dumps({"method": "LIST_SUBSCRIPTIONS", "id": request_id}).decode())  # type: ignore[attr-defined]
        receive_until(socket, lambda message: message.get("id") == request_id)
        return time.monotonic() - started

    with open_socket(f"{fast_venue.ws_url}/ws") as socket:
        try:
            http(fast_venue.http_url, "/admin/latency", method="POST", ms=400)
            assert reply_seconds(socket, 1) >= 0.39
        finally:
            http(fast_venue.http_url, "/admin/latency", method="POST", ms=0)
        assert reply_seconds(socket, 2) < 0.3


def test_admin_rejects_out_of_range_values(fast_venue: RunningVenue) -> None:
    status, body = http(fast_venue.http_url, "/admin/stall", method="POST", seconds=-1)
    assert status == 400 and body["code"] == -1100
    status, body = http(fast_venue.http_url, "/admin/garbage", method="POST", count="many")
    assert status == 400 and "count" in body["msg"]


def test_stall_holds_back_replies_too(fast_venue: RunningVenue) -> None:
    with open_socket(f"{fast_venue.ws_url}/ws") as socket:
        http(fast_venue.http_url, "/admin/stall", method="POST", seconds=0.8)
        started = time.monotonic()
        socket.send(orjson.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 5}).decode())
        assert receive_json(socket, timeout=3) == {"result": [], "id": 5}
        assert time.monotonic() - started >= 0.6


def test_status_reports_connections_streams_and_faults(fast_venue: RunningVenue) -> None:
    with open_socket(f"{fast_venue.ws_url}/ws/ethusdt@kline_4h") as socket:
        receive_json(socket)
        http(fast_venue.http_url, "/admin/latency", method="POST", ms=25)
        try:
            status, body = http(fast_venue.http_url, "/admin/status")
        finally:
            http(fast_venue.http_url, "/admin/latency", method="POST", ms=0)
    assert status == 200
    assert body["connections"] >= 1 and "ethusdt@kline_4h" in body["streams"]
    assert body["latency_ms"] == 25 and body["speed"] == 600 and body["replay"] is False
