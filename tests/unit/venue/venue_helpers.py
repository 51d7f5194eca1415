"""Small WebSocket helpers for the venue tests."""

from __future__ import annotations

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
