"""Bad backtest input is refused with a message naming the field and the fix; nothing runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.unit.backtest.candles import T0, random_walk
from thebot.backtest.data import load_candles
from thebot.backtest.models import BacktestInputError, ExitPolicy, request_from_dict, sweep_variants
from thebot.backtest.settings import BacktestSettings
from thebot.market.models import StreamKey
from thebot.market.store import KlineStore
from thebot.market.timeframe import Timeframe
from thebot.signals.settings import SignalSettings

SETTINGS = BacktestSettings()
RULES = SignalSettings().rules


def refused(data: dict[str, Any]) -> BacktestInputError:
    with pytest.raises(BacktestInputError) as raised:
        request_from_dict({"symbol": "BTCUSDT", "timeframe": "1m", **data}, SETTINGS, RULES)
    return raised.value


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"timeframe": "7m"}, "timeframe", "unknown timeframe '7m'"),
        ({"symbol": "btc"}, "symbol", "upper-case symbol"),
        ({"start": "2023-03-02", "end": "2023-03-01"}, "end", "the range is empty"),
        ({"start": "yesterday"}, "start", "is not a date"),
        ({"rules": ["moon"]}, "rules", "unknown rule 'moon'"),
        ({"exits": {"stop_loss": 2}}, "exits.stop_loss", "between"),
        ({"risk_fraction": 0.01}, "risk_fraction", "needs a stop loss"),
        ({"fee_rate": "free"}, "fee_rate", "expected a number"),
        ({"colour": "red"}, "colour", "unknown field"),
    ],
)
def test_bad_requests_name_the_field(data: dict[str, Any], field: str, words: str) -> None:
    error = refused(data)
    assert error.field == field and words in str(error)


def test_an_absurd_sweep_is_refused_before_anything_runs() -> None:
    sweep = {"stop_loss": [0.001 * n for n in range(1, 11)], "take_profit": [0.002 * n for n in range(1, 11)]}
    with pytest.raises(BacktestInputError, match="100 runs asked for; at most 50"):
        sweep_variants({"sweep": sweep}, ExitPolicy(), SETTINGS.max_sweep_runs)
    variants = sweep_variants({"sweep": {"stop_loss": [0.01, 0.02], "max_bars": [10]}}, ExitPolicy(), 50)
    assert [(v.stop_loss, v.max_bars) for v in variants] == [(0.01, 10), (0.02, 10)]


@pytest.fixture
def store(tmp_path: Path) -> KlineStore:
    store = KlineStore(str(tmp_path / "thebot.duckdb"), "binance")
    candles = random_walk(600)
    columns = {
        name: np.asarray(getattr(candles, name))
        for name in (
            "open_time",
            "open",
            "high",
            "low",
            "close",
            "volume",
            "quote_volume",
            "trades",
            "taker_buy_volume",
        )
    }
    store.import_columns(StreamKey("BTCUSDT", Timeframe.M1), columns)
    return store


def test_missing_symbol_timeframe_or_range_is_named(store: KlineStore) -> None:
    def load(symbol: str = "BTCUSDT", timeframe: Timeframe = Timeframe.M1, **kwargs: Any) -> Any:
        return load_candles(
            store, "binance", symbol, timeframe, **{"start": None, "end": None, "limit": 10_000, **kwargs}
        )

    with pytest.raises(BacktestInputError, match="no stored candles of ETHUSDT from binance"):
        load("ETHUSDT")
    with pytest.raises(BacktestInputError, match="none finer to build them from"):
        load(timeframe=Timeframe.S1)
    with pytest.raises(BacktestInputError, match=r"holds 0 1m candle\(s\)"):
        load(start=T0 + 10**9, end=T0 + 2 * 10**9)
    with pytest.raises(BacktestInputError, match="more than 100 1m candles"):
        load(limit=100)
    with pytest.raises(BacktestInputError, match="stored from binance"):
        load_candles(store, "sim:seed=7", "BTCUSDT", Timeframe.M1, start=None, end=None, limit=10_000)


def test_a_timeframe_never_stored_is_built_from_whole_1m_buckets(store: KlineStore) -> None:
    one_minute = load_candles(store, "binance", "BTCUSDT", Timeframe.M1, start=None, end=None, limit=10_000)
    fifteen = load_candles(store, "binance", "BTCUSDT", Timeframe.M15, start=None, end=None, limit=10_000)
    assert len(fifteen) == 40
    assert fifteen.open[1] == one_minute.open[15] and fifteen.close[1] == one_minute.close[29]
    assert fifteen.high[1] == one_minute.high[15:30].max() and fifteen.volume[1] == pytest.approx(
        one_minute.volume[15:30].sum()
    )
