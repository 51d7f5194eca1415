"""Small WebSocket helpers for the venue tests."""

from __future__ import annotations

import hashlib
import hmac
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import orjson
from websockets.sync.client import ClientConnection, connect


def open_socket(url: str) -> ClientConnection:
    return connect(url, proxy=None, open_timeout=5, close_timeout=2)


def receive_json(socket: ClientConnection, timeout: float = 5.0) -> Any:
    return orjson.loads(socket.recv(timeout=timeout))


def receive_until(socket: ClientConnection, predicate: Any, timeout: float = 5.0, limit: int = 10_000) -> Any:
    """The first decoded frame for which `predicate` is true (frames before it are discarded)."""
    for _ in range(limit):
        message = receive_json(socket, timeout)
        if predicate(message):
            return message
    raise AssertionError("no matching frame")


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http(base_url: str, path: str, method: str = "GET", **parameters: Any) -> tuple[int, Any]:
    """(status, decoded JSON body) of one request; error statuses are returned, not raised."""
    query = urllib.parse.urlencode(parameters)
    request = urllib.request.Request(
        f"{base_url}{path}?{query}", method=method, data=b"" if method != "GET" else None
    )
    try:
        with _OPENER.open(request, timeout=10) as response:
            return response.status, orjson.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, orjson.loads(error.read())


def signed(
    base_url: str,
    path: str,
    method: str = "GET",
    api_key: str = "sim-key",
    secret: str = "sim-secret",
    timestamp: int | None = None,
    tamper: bool = False,
    **parameters: Any,
) -> tuple[int, Any]:
    """A Binance SIGNED request: HMAC-SHA256 of the urlencoded parameters, sent as Binance clients do
    (query string for GET and DELETE, form body for POST)."""
    parameters["timestamp"] = timestamp if timestamp is not None else int(time.time() * 1000)
    payload = urllib.parse.urlencode(parameters)
    signature = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
    if tamper:
        payload = payload.replace("quantity=", "quantity=9")
    payload += f"&signature={signature}"
    headers = {"X-MBX-APIKEY": api_key} if api_key else {}
    if method in ("GET", "DELETE"):
        request = urllib.request.Request(f"{base_url}{path}?{payload}", method=method, headers=headers)
    else:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        request = urllib.request.Request(
            f"{base_url}{path}", method=method, headers=headers, data=payload.encode()
        )
    try:
        with _OPENER.open(request, timeout=10) as response:
            return response.status, orjson.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, orjson.loads(error.read())
