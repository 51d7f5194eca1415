"""Binance's error replies and JSON bodies, shared by the market and trading endpoints."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web


class BinanceError(Exception):
    """An error answered with Binance's body, e.g. HTTP 400 `{"code": -1121, "msg": "Invalid symbol."}`."""

    def __init__(self, code: int, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def missing_parameter(name: str) -> BinanceError:
    return BinanceError(-1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")


def json_response(body: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")
