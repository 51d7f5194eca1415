"""The analyst pages' decisions, without a browser: grid transactions, picks from the form, the matrix."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest

from dash_modules.compare_page import compare_payload
from dash_modules.indicator_form import add_pick, form_fields, options_with_picks, restored_picks
from dash_modules.matrix_page import drill_target, matrix_figure
from dash_modules.signals_page import signal_row, signal_transaction
from tests.unit.indicators.candle_data import generated_candles
from thebot.indicators import IndicatorFactory
from thebot.market.datastream import DataStream
from thebot.market.timeframe import Timeframe
from thebot.signals.models import Side, Signal

START = 1_700_000_040_000


@pytest.fixture(scope="module")
def factory() -> IndicatorFactory:
    return IndicatorFactory()


def row(minute: int, rule: str = "rsi", provisional: bool = False, symbol: str = "BTCUSDT") -> dict[str, Any]:
    signal = Signal(
        START + minute * 60_000, symbol, Timeframe.M1, Side.BUY, rule, 0.7, 1.0, "why", provisional
    )
    return signal_row(signal)


def test_new_signals_are_added_and_known_ones_are_not_sent_again() -> None:
    first = [row(2), row(1)]
    transaction, known = signal_transaction({}, first)
    assert transaction is not None and [item["id"] for item in transaction["add"]] == [r["id"] for r in first]
    assert signal_transaction(known, first) == (None, known)
    transaction, known = signal_transaction(known, [row(3, "macd"), *first])
    assert transaction == {"add": [row(3, "macd")], "update": [], "remove": []}


def test_a_provisional_row_is_updated_when_final_and_removed_when_withdrawn() -> None:
    _, known = signal_transaction({}, [row(5, provisional=True), row(5, "macd", provisional=True), row(4)])
    transaction, known = signal_transaction(known, [row(5), row(4)])  # rsi stayed, macd was withdrawn
    assert transaction is not None
    assert transaction["add"] == []
    assert transaction["update"] == [row(5)] and transaction["update"][0]["provisional"] is False
    assert transaction["remove"] == [{"id": row(5, "macd")["id"]}]
    assert row(5, "macd")["id"] not in known


def test_rows_that_fall_out_of_the_window_stay_and_are_forgotten() -> None:
    _, known = signal_transaction({}, [row(2), row(1, provisional=True)])
    transaction, known = signal_transaction(known, [row(3), row(2)])  # window moved on: minute 1 left it
    assert transaction == {"add": [row(3)], "update": [], "remove": []}
    assert set(known) == {row(3)["id"], row(2)["id"]}


def test_form_fields_come_from_the_catalog(factory: IndicatorFactory) -> None:
    catalog = [info.as_dict() for info in factory.catalog()]
    fields = form_fields(catalog, "BBANDS")
    names = [field.children[0].children for field in fields]
    assert names == ["timeperiod", "nbdevup", "nbdevdn", "matype"]
    default = factory.info("BBANDS").parameters[0].default
    assert fields[0].children[1].value == default and fields[0].children[1].step == 1
    assert fields[1].children[1].step == "any"
    assert form_fields(catalog, None) == []


def test_add_pick_appends_validates_and_refuses_duplicates(factory: IndicatorFactory) -> None:
    picks, message = add_pick(factory, "EMA", {"timeperiod": 50}, ["RSI"])
    assert picks == ["RSI", "EMA?timeperiod=50"] and "EMA · timeperiod=50" in message
    picks, _ = add_pick(factory, "EMA", {"timeperiod": 20}, picks)
    assert picks == ["RSI", "EMA?timeperiod=50", "EMA?timeperiod=20"]
    assert add_pick(factory, "EMA", {"timeperiod": 0}, picks)[0] is None
    assert "timeperiod" in add_pick(factory, "EMA", {"timeperiod": 0}, picks)[1]
    assert add_pick(factory, "EMA", {"timeperiod": 50}, picks) == (
        None,
        "EMA · timeperiod=50 is already on the chart.",
    )
    assert add_pick(factory, "EMA", {"timeperiod": None}, [])[0] == ["EMA"]  # an empty field: the default
    assert add_pick(factory, None, {}, [])[0] is None


def test_options_gain_an_entry_per_parameterised_pick() -> None:
    options = [{"label": "EMA · Exponential", "value": "EMA"}]
    extended = options_with_picks(options, ["EMA", "EMA?timeperiod=50"])
    assert extended == [*options, {"label": "EMA · timeperiod=50", "value": "EMA?timeperiod=50"}]
    assert options_with_picks(extended, ["EMA?timeperiod=50"]) is None


def test_restored_picks_drop_what_the_factory_refuses(factory: IndicatorFactory) -> None:
    stored = ["EMA?timeperiod=50", "NOPE", "EMA?timeperiod=0", 5, "ema?timeperiod=50", "RSI"]
    assert restored_picks(factory, stored) == ["EMA?timeperiod=50", "RSI"]
    assert restored_picks(factory, "not a list") == []


def test_matrix_cells_are_direction_times_confidence_with_the_grade_per_row() -> None:
    confluences = [
        {
            "symbol": "BTCUSDT",
            "grade": "STRONG_BUY",
            "score": 0.8,
            "timeframes": [
                {"timeframe": "1m", "direction": 1, "confidence": 0.9},
                {"timeframe": "1h", "direction": -1, "confidence": 0.5},
            ],
        },
        {
            "symbol": "ETHUSDT",
            "grade": "NEUTRAL",
            "score": 0.0,
            "timeframes": [{"timeframe": "1m", "direction": 0, "confidence": 0.0}],
        },
    ]
    trace = matrix_figure(confluences, ["1m", "1h"])["data"][0]
    assert trace["z"] == [[0.9, -0.5], [0.0, None]]
    assert trace["y"][0].startswith("BTCUSDT") and "STRONG BUY +0.80" in trace["y"][0]
    assert (trace["zmin"], trace["zmax"]) == (-1.0, 1.0)


def test_a_click_on_a_cell_names_its_symbol_and_timeframe() -> None:
    click = {"points": [{"x": "15m", "y": "ETHUSDT  BUY +0.41"}]}
    assert drill_target(click, ["BTCUSDT", "ETHUSDT"], [Timeframe.M1, Timeframe.M15]) == ("ETHUSDT", "15m")
    assert drill_target(click, ["BTCUSDT"], [Timeframe.M15]) is None
    assert drill_target(None, ["ETHUSDT"], [Timeframe.M15]) is None


def test_compare_payload_names_its_window_and_matches_pandas_on_it() -> None:
    stream = DataStream(["BTCUSDT", "ETHUSDT"], [Timeframe.M1], capacity=1000)
    frames = {}
    for seed, symbol in ((1, "BTCUSDT"), (2, "ETHUSDT")):
        candles = generated_candles(300, seed=seed)
        stream.merge(symbol, Timeframe.M1, [candles.candle(index) for index in range(299)])
        stream.update(symbol, Timeframe.M1, dataclasses.replace(candles.candle(299), closed=False))
        frames[symbol] = pd.Series(candles.close[:299], index=candles.open_time[:299])
    services = SimpleNamespace(market=SimpleNamespace(datastream=stream))
    payload = compare_payload(services, ["BTCUSDT", "ETHUSDT"], "1m", 100)  # type: ignore[arg-type]
    lines = payload["performance"]["data"]
    assert [line["y"][0] for line in lines] == [100.0, 100.0]
    assert payload["returns"] == 100 and len(lines[0]["x"]) == 101
    window = pd.DataFrame(frames).loc[payload["start"] : payload["end"]]
    assert len(window) == 101 and payload["end"] == int(window.index[-1])  # the forming candle is left out
    expected = window.pct_change().corr().to_numpy()
    np.testing.assert_allclose(np.asarray(payload["correlation"]["data"][0]["z"]), expected, atol=1e-12)
