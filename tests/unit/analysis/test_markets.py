"""Watchlist rows: ticker numbers, sparkline, grade, today's signals and freshness per symbol."""

from __future__ import annotations

import dataclasses
from typing import Any

from tests.unit.indicators.candle_data import generated_candles
from thebot.analysis.markets import DAY_MS, day_start, market_rows, sparkline_timeframe
from thebot.market.datastream import DataStream
from thebot.market.protocol import TickerEvent
from thebot.market.timeframe import Timeframe
from thebot.signals.models import Side, Signal

NOW = 1_700_050_000_000  # the venue's clock
DAY_START = NOW - NOW % DAY_MS


def ticker(symbol: str, price: float, change: float) -> TickerEvent:
    return TickerEvent(
        symbol, NOW, price, price / (1 + change / 100), price * 1.1, price * 0.9, 12.0, 3456.0, change
    )


def signal(symbol: str, time: int, provisional: bool = False) -> Signal:
    return Signal(time, symbol, Timeframe.M1, Side.BUY, "rsi", 0.6, 1.0, "rsi left 30", provisional)


class FakeMarket:
    def __init__(self, datastream: DataStream, tickers: dict[str, TickerEvent]) -> None:
        self.datastream = datastream
        self._tickers = tickers

    def symbols(self) -> list[str]:
        return ["BTCUSDT", "ETHUSDT"]

    def ticker(self, symbol: str) -> TickerEvent | None:
        return self._tickers.get(symbol)


class FakeAnalytics:
    def __init__(self, signals: dict[str, list[Signal]], grades: dict[str, tuple[str, float]]) -> None:
        self._signals = signals
        self._grades = grades

    def confluence(self, symbol: str) -> dict[str, Any]:
        grade, score = self._grades.get(symbol, ("NEUTRAL", 0.0))
        return {"symbol": symbol, "grade": grade, "score": score, "timeframes": []}

    def signal_count(self, symbol: str, since: int) -> int:
        return sum(1 for signal in self._signals.get(symbol, []) if signal.time >= since)


def test_sparkline_prefers_about_a_day_of_hourly_closes() -> None:
    assert sparkline_timeframe([Timeframe.M1, Timeframe.M5, Timeframe.H1, Timeframe.D1]) is Timeframe.H1
    assert sparkline_timeframe([Timeframe.M1, Timeframe.M5]) is Timeframe.M5
    assert sparkline_timeframe([Timeframe.M1]) is Timeframe.M1


def test_today_starts_at_midnight_utc_of_the_venue_clock() -> None:
    assert day_start(NOW) == DAY_START and DAY_START % DAY_MS == 0 and 0 <= NOW - DAY_START < DAY_MS


def test_rows_carry_ticker_numbers_sparkline_grade_count_and_freshness() -> None:
    stream = DataStream(["BTCUSDT", "ETHUSDT"], [Timeframe.M1, Timeframe.H1])
    hourly = generated_candles(61, seed=3)
    stream.merge("BTCUSDT", Timeframe.H1, [hourly.candle(index) for index in range(60)])
    forming = dataclasses.replace(hourly.candle(60), closed=False)
    stream.update("BTCUSDT", Timeframe.H1, forming)
    market = FakeMarket(stream, {"BTCUSDT": ticker("BTCUSDT", 101.5, -2.5)})
    analytics = FakeAnalytics(
        {"BTCUSDT": [signal("BTCUSDT", DAY_START + 1), signal("BTCUSDT", DAY_START - 1)]},
        {"BTCUSDT": ("STRONG_BUY", 0.75)},
    )
    btc, eth = market_rows(market, analytics)
    assert (btc.symbol, btc.last_price, btc.change_percent, btc.volume) == ("BTCUSDT", 101.5, -2.5, 3456.0)
    assert len(btc.sparkline) == 48
    assert btc.sparkline == tuple(hourly.close[-48:].tolist())  # the forming candle's close last
    assert (btc.grade, btc.score, btc.signals_today) == ("STRONG_BUY", 0.75, 1)
    assert 0 <= btc.age_ms < 5_000 and not btc.stale
    # A symbol without a ticker or updates yet: no numbers invented, shown as not fresh.
    assert (eth.last_price, eth.change_percent, eth.volume, eth.sparkline) == (None, None, None, ())
    assert (eth.grade, eth.signals_today, eth.age_ms, eth.stale) == ("NEUTRAL", 0, -1, True)
