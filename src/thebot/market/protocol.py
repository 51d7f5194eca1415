"""Parsing of Binance spot market-stream messages into typed events.

Every inbound frame goes through `parse_message`; anything malformed raises `InvalidMessage` with a
`reason` from `InvalidReason`, which the WebSocketManager counts and drops without stopping its loop.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson

from thebot.market.models import Candle, KlineEvent
from thebot.market.timeframe import Timeframe


class InvalidReason(StrEnum):
    BAD_JSON = "bad_json"
    NOT_AN_OBJECT = "not_an_object"
    MISSING_FIELD = "missing_field"
    WRONG_TYPE = "wrong_type"
    NON_FINITE = "non_finite"
    NEGATIVE_PRICE = "negative_price"
    HIGH_BELOW_LOW = "high_below_low"
    UNKNOWN_STREAM = "unknown_stream"
    UNKNOWN_EVENT = "unknown_event"


class InvalidMessage(ValueError):
    def __init__(self, reason: InvalidReason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class ControlReply:
    """The answer to SUBSCRIBE / UNSUBSCRIBE / LIST_SUBSCRIPTIONS: `{"result": null, "id": 1}`."""

    request_id: int | None
    result: Any
    error: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class TickerEvent:
    """A 24 h rolling ticker (`<symbol>@ticker`) or mini ticker (`<symbol>@miniTicker`)."""

    symbol: str
    event_time: int
    last_price: float
    open_price: float
    high_price: float
    low_price: float
    base_volume: float
    quote_volume: float
    price_change_percent: float


@dataclass(frozen=True, slots=True)
class ServerShutdown:
    """Binance's `{"e": "serverShutdown", "E": ...}`: the server is about to close the connection."""

    event_time: int


Message = KlineEvent | TickerEvent | ControlReply | ServerShutdown


def _number(payload: dict[str, Any], key: str) -> float:
    """Binance sends prices and volumes as decimal strings; accept numbers too, reject the rest."""
    try:
        raw = payload[key]
    except KeyError:
        raise InvalidMessage(InvalidReason.MISSING_FIELD, f"'{key}' missing") from None
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise InvalidMessage(InvalidReason.WRONG_TYPE, f"'{key}' is {type(raw).__name__}")
    try:
        value = float(raw)
    except ValueError:
        raise InvalidMessage(InvalidReason.WRONG_TYPE, f"'{key}'={raw!r} is not a number") from None
    if not math.isfinite(value):
        raise InvalidMessage(InvalidReason.NON_FINITE, f"'{key}'={raw!r}")
    return value


def _integer(payload: dict[str, Any], key: str) -> int:
    try:
        raw = payload[key]
    except KeyError:
        raise InvalidMessage(InvalidReason.MISSING_FIELD, f"'{key}' missing") from None
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise InvalidMessage(InvalidReason.WRONG_TYPE, f"'{key}' is {type(raw).__name__}, not an integer")
    return raw


def _text(payload: dict[str, Any], key: str) -> str:
    try:
        raw = payload[key]
    except KeyError:
        raise InvalidMessage(InvalidReason.MISSING_FIELD, f"'{key}' missing") from None
    if not isinstance(raw, str):
        raise InvalidMessage(InvalidReason.WRONG_TYPE, f"'{key}' is {type(raw).__name__}, not a string")
    return raw


def _parse_kline_strict(data: dict[str, Any]) -> KlineEvent:
    """Parse one kline event, naming the first thing that is wrong with it.

    Sample payload (Binance spot, `<symbol>@kline_<interval>`)::

        {"e": "kline", "E": 1672515782136, "s": "BNBBTC",
         "k": {"t": 1672515780000, "T": 1672515839999, "s": "BNBBTC", "i": "1m", "f": 100, "L": 200,
               "o": "0.0010", "c": "0.0020", "h": "0.0025", "l": "0.0015", "v": "1000", "n": 100,
               "x": false, "q": "1.0000", "V": "500", "Q": "0.500", "B": "123456"}}
    """
    kline = data.get("k")
    if not isinstance(kline, dict):
        raise InvalidMessage(InvalidReason.MISSING_FIELD, "'k' missing or not an object")
    symbol = _text(data, "s")
    interval = _text(kline, "i")
    try:
        timeframe = Timeframe(interval)
    except ValueError:
        raise InvalidMessage(InvalidReason.UNKNOWN_STREAM, f"interval {interval!r}") from None
    closed = kline.get("x")
    if not isinstance(closed, bool):
        raise InvalidMessage(InvalidReason.WRONG_TYPE, "'x' is not a boolean")
    open_price = _number(kline, "o")
    high = _number(kline, "h")
    low = _number(kline, "l")
    close = _number(kline, "c")
    volume = _number(kline, "v")
    if min(open_price, high, low, close) <= 0 or volume < 0:
        raise InvalidMessage(
            InvalidReason.NEGATIVE_PRICE, f"o={open_price} h={high} l={low} c={close} v={volume}"
        )
    if high < low or high < max(open_price, close) or low > min(open_price, close):
        raise InvalidMessage(InvalidReason.HIGH_BELOW_LOW, f"o={open_price} h={high} l={low} c={close}")
    candle = Candle(
        open_time=_integer(kline, "t"),
        open=open_price,
        high=high,
        low=low,
        close=close,
        volume=volume,
        closed=closed,
        quote_volume=_number(kline, "q"),
        trades=_integer(kline, "n"),
        taker_buy_volume=_number(kline, "V"),
    )
    return KlineEvent(symbol=symbol, timeframe=timeframe, event_time=_integer(data, "E"), candle=candle)


_TIMEFRAMES: dict[str, Timeframe] = {timeframe.value: timeframe for timeframe in Timeframe}


# symbol, timeframe, open_time, open, high, low, close, volume, closed, quote_volume, trades,
# taker_buy_volume: the argument order of `DataStream.update_values`.
KlineValues = tuple[str, Timeframe, int, float, float, float, float, float, bool, float, int, float]
KLINE_CLOSED_INDEX = 8


def kline_values(data: dict[str, Any]) -> tuple[int, KlineValues] | None:
    """The fast path for a well-formed kline event: `(event_time, values)`, or None to use the strict parser.

    Accepts exactly what `_parse_kline_strict` accepts when Binance's types are used (decimal strings for
    prices, integers for times and counts, a boolean `x`); anything else returns None, and the strict
    parser then accepts it or raises the precise `InvalidMessage`. Sample payload: see
    `_parse_kline_strict`.
    """
    try:
        kline = data["k"]
        symbol = data["s"]
        event_time = data["E"]
        raw_open, raw_high, raw_low, raw_close = kline["o"], kline["h"], kline["l"], kline["c"]
        raw_volume, raw_quote, raw_taker = kline["v"], kline["q"], kline["V"]
        open_time, trades, closed = kline["t"], kline["n"], kline["x"]
        timeframe = _TIMEFRAMES[kline["i"]]
        if (
            type(raw_open) is not str
            or type(raw_high) is not str
            or type(raw_low) is not str
            or type(raw_close) is not str
            or type(raw_volume) is not str
            or type(raw_quote) is not str
            or type(raw_taker) is not str
            or type(open_time) is not int
            or type(trades) is not int
            or type(event_time) is not int
            or type(closed) is not bool
            or type(symbol) is not str
        ):
            return None
        open_price = float(raw_open)
        high = float(raw_high)
        low = float(raw_low)
        close = float(raw_close)
        volume = float(raw_volume)
        quote_volume = float(raw_quote)
        taker_buy_volume = float(raw_taker)
    except (KeyError, TypeError, ValueError):
        return None
    total = open_price + high + low + close + volume + quote_volume + taker_buy_volume
    if (
        total - total != 0.0  # some value is infinite or NaN
        or low <= 0
        or volume < 0
        or high < low
        or high < open_price
        or high < close
        or low > open_price
        or low > close
    ):
        return None
    return event_time, (
        symbol,
        timeframe,
        open_time,
        open_price,
        high,
        low,
        close,
        volume,
        closed,
        quote_volume,
        trades,
        taker_buy_volume,
    )


def values_of(event: KlineEvent) -> KlineValues:
    return (event.symbol, event.timeframe, *event.candle.values())


def parse_kline(data: dict[str, Any]) -> KlineEvent:
    """Parse one kline event (fast path first, the strict parser for the reason when it fails)."""
    parsed = kline_values(data)
    if parsed is None:
        return _parse_kline_strict(data)
    event_time, values = parsed
    return KlineEvent(
        symbol=values[0], timeframe=values[1], event_time=event_time, candle=Candle(*values[2:])
    )


def parse_ticker(data: dict[str, Any]) -> TickerEvent:
    """Parse a 24 h ticker or mini ticker.

    Sample payload (`<symbol>@miniTicker`; `@ticker` adds "p", "P", "w", "x", "Q", "b", "B", "a", "A",
    "O", "C", "F", "L", "n")::

        {"e": "24hrMiniTicker", "E": 1672515782136, "s": "BNBBTC", "c": "0.0025", "o": "0.0010",
         "h": "0.0025", "l": "0.0010", "v": "10000", "q": "18"}
    """
    last = _number(data, "c")
    open_price = _number(data, "o")
    change_percent = (
        _number(data, "P")
        if "P" in data
        else ((last - open_price) / open_price * 100.0 if open_price else 0.0)
    )
    return TickerEvent(
        symbol=_text(data, "s"),
        event_time=_integer(data, "E"),
        last_price=last,
        open_price=open_price,
        high_price=_number(data, "h"),
        low_price=_number(data, "l"),
        base_volume=_number(data, "v"),
        quote_volume=_number(data, "q"),
        price_change_percent=change_percent,
    )


def parse_payload(data: Any) -> Message:
    """Dispatch one decoded frame; combined-stream frames arrive wrapped as {"stream": ..., "data": ...}."""
    if not isinstance(data, dict):
        raise InvalidMessage(InvalidReason.NOT_AN_OBJECT, f"frame is {type(data).__name__}")
    if "data" in data and "stream" in data:
        data = data["data"]
        if not isinstance(data, dict):
            raise InvalidMessage(InvalidReason.NOT_AN_OBJECT, "combined 'data' is not an object")
    event_type = data.get("e")
    if event_type == "kline":
        return parse_kline(data)
    if event_type in ("24hrTicker", "24hrMiniTicker"):
        return parse_ticker(data)
    if event_type == "serverShutdown":
        return ServerShutdown(event_time=_integer(data, "E"))
    if "id" in data and ("result" in data or "error" in data):
        request_id = data["id"]
        return ControlReply(
            request_id=request_id if isinstance(request_id, int) else None,
            result=data.get("result"),
            error=data.get("error") if isinstance(data.get("error"), dict) else None,
        )
    if event_type is None:
        raise InvalidMessage(InvalidReason.MISSING_FIELD, "'e' missing")
    raise InvalidMessage(InvalidReason.UNKNOWN_EVENT, f"event type {event_type!r}")


def parse_message(raw: str | bytes) -> Message:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise InvalidMessage(InvalidReason.BAD_JSON, str(error)) from None
    return parse_payload(data)


def kline_stream_name(symbol: str, timeframe: Timeframe) -> str:
    return f"{symbol.lower()}@kline_{timeframe.value}"


def ticker_stream_name(symbol: str) -> str:
    return f"{symbol.lower()}@ticker"
