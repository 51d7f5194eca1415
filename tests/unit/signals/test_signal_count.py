"""Counting a symbol's signals since a time: what the watchlist shows as "signals today"."""

from __future__ import annotations

from thebot.market.timeframe import Timeframe
from thebot.signals.aggregator import SignalAggregator
from thebot.signals.models import Side, Signal
from thebot.signals.settings import SignalSettings


def test_count_since_counts_final_signals_of_every_timeframe_of_one_symbol() -> None:
    minute = 60_000
    aggregator = SignalAggregator(SignalSettings(cooldown_bars=0), [Timeframe.M1, Timeframe.H1])
    base = 1_700_000_000_000
    ones = [
        Signal(base + i * minute, "BTCUSDT", Timeframe.M1, Side.BUY, "rsi", 0.6, 1.0, "r") for i in range(10)
    ]
    hours = [
        Signal(base + i * 3_600_000, "BTCUSDT", Timeframe.H1, Side.SELL, "macd", 0.6, 1.0, "m")
        for i in range(3)
    ]
    other = [
        Signal(base + i * minute, "ETHUSDT", Timeframe.M1, Side.BUY, "rsi", 0.6, 1.0, "r") for i in range(4)
    ]
    aggregator.load_history("BTCUSDT", Timeframe.M1, ones, ones[-1].time)
    aggregator.load_history("BTCUSDT", Timeframe.H1, hours, hours[-1].time)
    aggregator.load_history("ETHUSDT", Timeframe.M1, other, other[-1].time)
    assert aggregator.count_since("BTCUSDT", base + 5 * minute) == 5 + 2  # minutes 5..9, hours 1..2
    assert aggregator.count_since("BTCUSDT", 0) == 13
    assert aggregator.count_since("ETHUSDT", base + 3 * minute) == 1
    before = aggregator.count_since("BTCUSDT", base + 10 * minute)
    provisional = Signal(base + 10 * minute, "BTCUSDT", Timeframe.M1, Side.BUY, "macd", 0.6, 1.0, "p", True)
    aggregator.provisional_bar("BTCUSDT", Timeframe.M1, base + 10 * minute, [provisional])
    assert aggregator.signals("BTCUSDT", Timeframe.M1, limit=1)[0].provisional  # held, but not final
    assert aggregator.count_since("BTCUSDT", base + 10 * minute) == before == 2  # the later hourly ones
