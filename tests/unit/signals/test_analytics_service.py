"""The service end to end on a real DataStream: candles in, indicator series and signals out."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Iterator

import duckdb
import numpy as np
import pytest

from tests.unit.indicators.candle_data import generated_candles, partial
from thebot.config import Settings
from thebot.events import Event, SignalRaised, SignalWithdrawn
from thebot.indicators import IndicatorError
from thebot.market.datastream import DataStream
from thebot.market.models import Candle, StreamKey
from thebot.market.timeframe import Timeframe
from thebot.signals.engine import evaluate_history
from thebot.signals.rules import build_rules
from thebot.signals.service import AnalyticsService
from thebot.signals.settings import SignalSettings

HISTORY = 300
TOTAL = 420


def _settings(**signals: object) -> Settings:
    return dataclasses.replace(Settings(), signals=SignalSettings(**signals))  # type: ignore[arg-type]


@pytest.fixture
def candles():  # type: ignore[no-untyped-def]
    return generated_candles(TOTAL, seed=17)


@pytest.fixture
def stream() -> DataStream:
    return DataStream(["BTCUSDT"], [Timeframe.M1, Timeframe.M5], capacity=1000)


def _service(
    stream: DataStream, settings: Settings, events: list[Event] | None = None
) -> Iterator[AnalyticsService]:
    publish = events.append if events is not None else None
    service = AnalyticsService(settings, stream, duckdb.connect(":memory:"), publish=publish)
    service.start()
    try:
        yield service
    finally:
        service.stop()


def _load(stream: DataStream, candles, count: int) -> None:  # type: ignore[no-untyped-def]
    stream.merge("BTCUSDT", Timeframe.M1, [candles.candle(index) for index in range(count)])


def _feed(stream: DataStream, candles, start: int, end: int, forming: bool = True) -> None:  # type: ignore[no-untyped-def]
    for index in range(start, end):
        final = candles.candle(index)
        if forming:
            stream.update("BTCUSDT", Timeframe.M1, partial(final, 0.5))
        stream.update("BTCUSDT", Timeframe.M1, dataclasses.replace(final, closed=True))


def test_signals_from_history_and_live_candles_match_a_full_replay(stream: DataStream, candles) -> None:  # type: ignore[no-untyped-def]
    for service in _service(stream, _settings(cooldown_bars=0)):
        _load(stream, candles, HISTORY)
        _feed(stream, candles, HISTORY, TOTAL)
        assert service.wait_idle()
        found = {(s.time, s.rule, s.side) for s in service.signals("BTCUSDT", "1m", limit=10_000)}
        rules = build_rules(service.factory, service.settings)
        replay = evaluate_history(service.factory, rules, candles)
        expected = {(int(candles.open_time[index]), hit.rule, hit.side) for index, hit in replay}
        assert found == expected
        assert len(found) > 20
        newest_first = service.signals("BTCUSDT", Timeframe.M1, limit=5)
        assert [s.time for s in newest_first] == sorted((s.time for s in newest_first), reverse=True)
        assert service.history.count() == len(expected)


def test_live_signals_reach_observers_but_replayed_history_does_not(stream: DataStream, candles) -> None:  # type: ignore[no-untyped-def]
    events: list[Event] = []
    for service in _service(stream, _settings(cooldown_bars=0), events):
        _load(stream, candles, HISTORY)
        _feed(stream, candles, HISTORY, TOTAL, forming=False)
        assert service.wait_idle()
        assert events
        first_live = int(candles.open_time[HISTORY])
        assert all(isinstance(event, SignalRaised) for event in events)
        raised = [event for event in events if isinstance(event, SignalRaised)]
        assert all(event.time >= first_live for event in raised)
        assert not any(event.provisional for event in raised)
        version = service.signals_version()
        assert version > 0


def test_provisional_signals_are_confirmed_or_withdrawn_at_the_close(stream: DataStream, candles) -> None:  # type: ignore[no-untyped-def]
    events: list[Event] = []
    for service in _service(stream, _settings(cooldown_bars=0, provisional=True), events):
        _load(stream, candles, HISTORY)
        for index in range(HISTORY, TOTAL):
            final = candles.candle(index)
            stream.update("BTCUSDT", Timeframe.M1, partial(final, 0.5))
            assert service.wait_idle()  # let each forming candle be seen before it closes
            stream.update("BTCUSDT", Timeframe.M1, dataclasses.replace(final, closed=True))
        assert service.wait_idle()
        provisional = [e for e in events if isinstance(e, SignalRaised) and e.provisional]
        assert provisional, "no provisional signal in 120 candles; the test proved nothing"
        final = {
            (e.time, e.rule, e.side) for e in events if isinstance(e, SignalRaised) and not e.provisional
        }
        withdrawn = {(e.time, e.rule) for e in events if isinstance(e, SignalWithdrawn)}
        for signal in provisional:
            survived = (signal.time, signal.rule, signal.side) in final
            assert survived != ((signal.time, signal.rule) in withdrawn), signal
        assert not any(s.provisional for s in service.signals("BTCUSDT", "1m", limit=10_000)[1:])


def test_indicator_series_covers_the_buffer_and_cuts_to_the_limit(stream: DataStream, candles) -> None:  # type: ignore[no-untyped-def]
    for service in _service(stream, _settings()):
        _load(stream, candles, HISTORY)
        stream.update("BTCUSDT", Timeframe.M1, partial(candles.candle(HISTORY), 0.4))
        rows = service.indicator_series("BTCUSDT", "1m", "RSI", {"timeperiod": "14"}, limit=50)
        assert len(rows) == 50
        snapshot = stream.snapshot("BTCUSDT", Timeframe.M1)
        expected = service.factory.compute("RSI", snapshot, {"timeperiod": 14})["real"][-50:]
        assert [row["open_time"] for row in rows] == snapshot.open_time[-50:].tolist()
        np.testing.assert_allclose([row["values"]["real"] for row in rows], expected)
        everything = service.indicator_series("BTCUSDT", Timeframe.M1, "BBANDS", {}, limit=None)
        assert len(everything) == HISTORY + 1
        assert everything[0]["values"] == {"upperband": None, "middleband": None, "lowerband": None}
        assert all(value is not None for value in everything[-1]["values"].values())
        macd = service.indicator_series("BTCUSDT", "1m", "MACD", None, limit=1)
        assert set(macd[0]["values"]) == {"macd", "macdsignal", "macdhist"}


@pytest.mark.parametrize(
    ("name", "params", "named"),
    [("NOPE", {}, "NOPE"), ("RSI", {"timeperiod": "0"}, "timeperiod"), ("RSI", {"length": "3"}, "length")],
)
def test_indicator_series_errors_name_the_culprit(
    stream: DataStream, name: str, params: dict[str, str], named: str
) -> None:
    for service in _service(stream, _settings()):
        with pytest.raises(IndicatorError, match=named):
            service.indicator_series("BTCUSDT", "1m", name, params, limit=10)
    for service in _service(stream, _settings()):
        with pytest.raises(IndicatorError, match="timeframe"):
            service.indicator_series("BTCUSDT", "7m", "RSI", {}, limit=10)


def test_catalog_and_confluence_shapes(stream: DataStream, candles) -> None:  # type: ignore[no-untyped-def]
    for service in _service(stream, _settings(cooldown_bars=0)):
        catalog = {item["name"]: item for item in service.indicator_catalog()}
        assert catalog["RSI"]["placement"] == "panel" and catalog["EMA"]["overlay"] is True
        _load(stream, candles, HISTORY)
        _feed(stream, candles, HISTORY, TOTAL, forming=False)
        assert service.wait_idle()
        confluence = service.confluence("BTCUSDT")
        assert confluence["grade"] in {"STRONG_SELL", "SELL", "NEUTRAL", "BUY", "STRONG_BUY"}
        assert [item["timeframe"] for item in confluence["timeframes"]] == ["1m", "5m"]
        assert -1.0 <= confluence["score"] <= 1.0
        quality = service.quality("BTCUSDT", "1m", horizon=5)
        assert quality and all(0.0 <= item.hit_rate <= 1.0 for item in quality)


def test_a_gap_in_the_stream_reopens_from_the_buffer(stream: DataStream, candles) -> None:  # type: ignore[no-untyped-def]
    for service in _service(stream, _settings(cooldown_bars=0)):
        _load(stream, candles, HISTORY)
        _feed(stream, candles, HISTORY, HISTORY + 10, forming=False)
        # Ten candles go missing, then the stream resumes.
        _feed(stream, candles, HISTORY + 20, TOTAL, forming=False)
        assert service.wait_idle()
        resumed = int(candles.open_time[HISTORY + 20])
        found = {
            (s.time, s.rule, s.side) for s in service.signals("BTCUSDT", "1m", 10_000) if s.time >= resumed
        }
        # After the gap the rules see the stream as the buffer holds it: the replay of the buffer agrees.
        buffered = stream.snapshot("BTCUSDT", Timeframe.M1)
        rules = build_rules(service.factory, service.settings)
        expected = {
            (int(buffered.open_time[index]), hit.rule, hit.side)
            for index, hit in evaluate_history(service.factory, rules, buffered)
            if int(buffered.open_time[index]) >= resumed
        }
        assert found == expected and found


def test_stop_leaves_no_worker_running(stream: DataStream) -> None:
    service = AnalyticsService(_settings(), stream, duckdb.connect(":memory:"))
    service.start()
    worker = service._worker
    service.stop()
    assert worker is not None and not worker.is_alive()
    stream.update("BTCUSDT", Timeframe.M1, Candle(60_000, 1, 2, 0.5, 1.5, 3, closed=True))  # observers inert


def test_backfill_arriving_after_live_candles_warms_up_and_replays(stream: DataStream, candles) -> None:  # type: ignore[no-untyped-def]
    for service in _service(stream, _settings(cooldown_bars=0)):
        # Live candles first (the socket is faster than the REST backfill) ...
        _feed(stream, candles, HISTORY, HISTORY + 3, forming=False)
        assert service.wait_idle()
        assert service.signals("BTCUSDT", "1m", 10_000) == []  # three candles: nothing warmed up
        # ... then the backfill merges the history behind them, and the stream goes on.
        _load(stream, candles, HISTORY)
        _feed(stream, candles, HISTORY + 3, TOTAL, forming=False)
        assert service.wait_idle()
        found = {(s.time, s.rule, s.side) for s in service.signals("BTCUSDT", "1m", 10_000)}
        rules = build_rules(service.factory, service.settings)
        expected = {
            (int(candles.open_time[index]), hit.rule, hit.side)
            for index, hit in evaluate_history(service.factory, rules, candles)
            if index < HISTORY or index >= HISTORY + 3
        }
        assert expected <= found


def test_a_stream_with_history_is_opened_without_waiting_for_a_close(stream: DataStream, candles) -> None:  # type: ignore[no-untyped-def]
    """A 1d stream at real speed closes once a day: its history must be analysed as soon as it is loaded."""
    for service in _service(stream, _settings(cooldown_bars=0)):
        # History arrives by merge (store restore or backfill), with the newest candle still forming.
        history = [candles.candle(index) for index in range(HISTORY)]
        history[-1] = dataclasses.replace(history[-1], closed=False)
        stream.merge("BTCUSDT", Timeframe.M1, history)
        deadline = time.monotonic() + 5
        found: list[object] = []
        while time.monotonic() < deadline and not found:
            time.sleep(0.1)
            found = service.signals("BTCUSDT", Timeframe.M1, limit=10_000)
        rules = build_rules(service.factory, service.settings)
        replay = evaluate_history(service.factory, rules, candles.head(HISTORY - 1))
        expected = {(int(candles.open_time[index]), hit.rule, hit.side) for index, hit in replay}
        assert {(s.time, s.rule, s.side) for s in service.signals("BTCUSDT", "1m", limit=10_000)} == expected
        assert len(expected) > 5
        # The 5m stream has nothing closed: it stays unopened and costs nothing.
        assert service.signals("BTCUSDT", Timeframe.M5, limit=10) == []
        # The forming candle then closes live and is evaluated as news, continuing the opened history.
        _feed(stream, candles, HISTORY - 1, HISTORY + 20)
        assert service.wait_idle()
        replay = evaluate_history(service.factory, rules, candles.head(HISTORY + 20))
        expected = {(int(candles.open_time[index]), hit.rule, hit.side) for index, hit in replay}
        assert {(s.time, s.rule, s.side) for s in service.signals("BTCUSDT", "1m", limit=10_000)} == expected


def test_timeframes_follow_the_settings_live(
    stream: DataStream,
    candles,  # type: ignore[no-untyped-def]
    caplog: pytest.LogCaptureFixture,
) -> None:
    """`market.timeframes` changes the confluence at once; a dropped timeframe's evaluators and signals go,
    and closes already queued for it are skipped (its buffers are gone), not errors."""
    for service in _service(stream, _settings(cooldown_bars=0)):
        _load(stream, candles, HISTORY)
        _feed(stream, candles, HISTORY, HISTORY + 20)
        assert service.wait_idle()
        assert service.signals("BTCUSDT", "1m", limit=10_000)
        base = _settings(cooldown_bars=0)
        settings = dataclasses.replace(
            base,
            market=dataclasses.replace(base.market, timeframes=(Timeframe.M5,)),
            ui=dataclasses.replace(base.ui, default_timeframe=Timeframe.M5),
        )
        service.apply_settings(settings, ("market.timeframes",))
        assert [item["timeframe"] for item in service.confluence("BTCUSDT")["timeframes"]] == ["5m"]
        stream.set_timeframes([Timeframe.M5])
        with caplog.at_level(logging.ERROR, logger="thebot.signals.service"):
            # A close the socket queued just before the timeframe went.
            service._on_close(
                StreamKey("BTCUSDT", Timeframe.M1),
                dataclasses.replace(candles.candle(HISTORY + 20), closed=True),
            )
            assert service.wait_idle()
        assert caplog.records == []
        assert service.signals("BTCUSDT", "1m", limit=10_000) == []
