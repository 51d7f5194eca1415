"""Small WebSocket helpers for the venue tests."""

from __future__ import annotations

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


def http(base_url: str, path: str, method: str = "GET", **params: Any) -> tuple[int, Any]:
    """(status, decoded JSON body) of one request; error statuses are returned, not raised."""
    query = urllib.parse.urlencode(params)
    request = urllib.request.Request(
        f"{base_url}{path}?{query}", method=method, data=b"" if method != "GET" else None
    )
    try:
        with _OPENER.open(request, timeout=10) as response:
            return response.status, orjson.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, orjson.loads(error.read())
