"""Binance market-stream names and the event payloads the venue pushes for them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from thebot.venue.intervals import INTERVAL_MS
from thebot.venue.market import Kline, RollingTicker, format_units


class StreamKind(StrEnum):
    KLINE = "kline"
    TICKER = "ticker"
    MINI_TICKER = "miniTicker"


@dataclass(frozen=True, slots=True)
class StreamName:
    name: str
    symbol: str
    kind: StreamKind
    interval: str = ""

    @property
    def interval_ms(self) -> int:
        return INTERVAL_MS[self.interval]


def parse_stream(name: str, symbols: tuple[str, ...]) -> StreamName | None:
    """`btcusdt@kline_1m`, `btcusdt@ticker`, `btcusdt@miniTicker`; None for streams the venue lacks."""
    symbol_part, separator, channel = name.partition("@")
    symbol = symbol_part.upper()
    if not separator or symbol_part != symbol_part.lower() or symbol not in symbols:
        return None
    if channel.startswith("kline_"):
        interval = channel.removeprefix("kline_")
        if interval in INTERVAL_MS:
            return StreamName(name, symbol, StreamKind.KLINE, interval)
        return None
    if channel == "ticker":
        return StreamName(name, symbol, StreamKind.TICKER)
    if channel == "miniTicker":
        return StreamName(name, symbol, StreamKind.MINI_TICKER)
    return None


def kline_payload(symbol: str, interval: str, kline: Kline, event_time: int) -> dict[str, Any]:
    """The event exactly as Binance sends it; "B" is an ignored legacy field, always "0"."""
    return {
        "e": "kline",
        "E": event_time,
        "s": symbol,
        "k": {
            "t": kline.open_time,
            "T": kline.close_time,
            "s": symbol,
            "i": interval,
            "f": kline.first_trade,
            "L": kline.last_trade,
            "o": format_units(kline.open),
            "c": format_units(kline.close),
            "h": format_units(kline.high),
            "l": format_units(kline.low),
            "v": format_units(kline.volume),
            "n": kline.trades,
            "x": kline.closed,
            "q": format_units(kline.quote_volume),
            "V": format_units(kline.taker_base),
            "Q": format_units(kline.taker_quote),
            "B": "0",
        },
    }


def kline_row(kline: Kline) -> list[Any]:
    """One row of `/api/v3/klines`, Binance's positional array."""
    return [
        kline.open_time,
        format_units(kline.open),
        format_units(kline.high),
        format_units(kline.low),
        format_units(kline.close),
        format_units(kline.volume),
        kline.close_time,
        format_units(kline.quote_volume),
        kline.trades,
        format_units(kline.taker_base),
        format_units(kline.taker_quote),
        "0",
    ]


def _change_percent(ticker: RollingTicker) -> str:
    if ticker.open == 0:
        return "0.000"
    return f"{(ticker.last - ticker.open) / ticker.open * 100:.3f}"


def _weighted_average(ticker: RollingTicker) -> str:
    if ticker.volume == 0:
        return format_units(ticker.last)
    return format_units(round(ticker.quote_volume / ticker.volume * 100_000_000))


def ticker_fields(ticker: RollingTicker, tick_units: int, lot_units: int) -> dict[str, Any]:
    """The REST `/api/v3/ticker/24hr` body; the book is simulated one tick either side of the last trade."""
    return {
        "symbol": ticker.symbol,
        "priceChange": format_units(ticker.last - ticker.open),
        "priceChangePercent": _change_percent(ticker),
        "weightedAvgPrice": _weighted_average(ticker),
        "prevClosePrice": format_units(ticker.previous_close),
        "lastPrice": format_units(ticker.last),
        "lastQty": format_units(lot_units * 10),
        "bidPrice": format_units(ticker.last - tick_units),
        "bidQty": format_units(lot_units * 1000),
        "askPrice": format_units(ticker.last + tick_units),
        "askQty": format_units(lot_units * 1000),
        "openPrice": format_units(ticker.open),
        "highPrice": format_units(ticker.high),
        "lowPrice": format_units(ticker.low),
        "volume": format_units(ticker.volume),
        "quoteVolume": format_units(ticker.quote_volume),
        "openTime": ticker.open_time,
        "closeTime": ticker.close_time,
        "firstId": ticker.first_trade,
        "lastId": ticker.last_trade,
        "count": ticker.trades,
    }


def ticker_payload(ticker: RollingTicker, event_time: int, tick_units: int, lot_units: int) -> dict[str, Any]:
    fields = ticker_fields(ticker, tick_units, lot_units)
    return {
        "e": "24hrTicker",
        "E": event_time,
        "s": ticker.symbol,
        "p": fields["priceChange"],
        "P": fields["priceChangePercent"],
        "w": fields["weightedAvgPrice"],
        "x": fields["prevClosePrice"],
        "c": fields["lastPrice"],
        "Q": fields["lastQty"],
        "b": fields["bidPrice"],
        "B": fields["bidQty"],
        "a": fields["askPrice"],
        "A": fields["askQty"],
        "o": fields["openPrice"],
        "h": fields["highPrice"],
        "l": fields["lowPrice"],
        "v": fields["volume"],
        "q": fields["quoteVolume"],
        "O": ticker.open_time,
        "C": ticker.close_time,
        "F": ticker.first_trade,
        "L": ticker.last_trade,
        "n": ticker.trades,
    }


def mini_ticker_payload(ticker: RollingTicker, event_time: int) -> dict[str, Any]:
    return {
        "e": "24hrMiniTicker",
        "E": event_time,
        "s": ticker.symbol,
        "c": format_units(ticker.last),
        "o": format_units(ticker.open),
        "h": format_units(ticker.high),
        "l": format_units(ticker.low),
        "v": format_units(ticker.volume),
        "q": format_units(ticker.quote_volume),
    }
