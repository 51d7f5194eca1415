"""The chart page's workspace: marker filter, pattern names, theme colours and metrics badges."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import pytest

from dash_modules import ids
from dash_modules.chart import chart_push, full_chart
from dash_modules.chart_data import DEFAULT_MIN_STRENGTH, MarkerFilter
from dash_modules.figures import DARK_THEME, LIGHT_THEME, ChartState, chart_theme
from dash_modules.indicators_panel import (
    BUY_MARKERS,
    SELL_MARKERS,
    marker_traces,
    signal_count_text,
    signal_props,
)
from dash_modules.status import format_compact, format_lag, health_of, metrics_props
from tests.unit.indicators.candle_data import candles_from_rows
from tests.unit.web.market_stub import live_services
from tests.unit.web.patching import apply_chart_message
from thebot.market.clock import VenueClock
from thebot.market.datastream import DataStream
from thebot.market.protocol import TickerEvent
from thebot.market.timeframe import Timeframe
from thebot.signals.models import Side, Signal
from thebot.signals.service import AnalyticsService

WINDOW = 200
DAY = 86_400_000


def signal(time: int, side: Side, rule: str, strength: float, provisional: bool = False) -> Signal:
    return Signal(time, "BTCUSDT", Timeframe.M1, side, rule, strength, 100.0, "why", provisional)


def markers_of(figure: dict[str, Any]) -> list[tuple[int, str]]:
    """(time, hover text) of every drawn signal marker."""
    traces = {trace["name"]: trace for trace in figure["data"]}
    return sorted(
        (x, text)
        for name in (BUY_MARKERS, SELL_MARKERS)
        for x, text in zip(traces[name]["x"], traces[name]["text"], strict=True)
    )


# -- marker filter ------------------------------------------------------------------------------------


def test_marker_filter_keeps_strong_signals_of_the_rules_left_on() -> None:
    families = ("rsi", "macd", "pattern")
    chosen = MarkerFilter.of(0.7, ["rsi", "pattern"], families)
    assert chosen == MarkerFilter(0.7, ("macd",))
    assert chosen.keeps(signal(0, Side.BUY, "rsi", 0.7))
    assert not chosen.keeps(signal(0, Side.BUY, "rsi", 0.69))
    assert not chosen.keeps(signal(0, Side.BUY, "macd", 0.95))
    assert chosen.keeps(signal(0, Side.SELL, "pattern:CDLHAMMER", 1.0))
    # Unreadable strength falls back to the default; None means every rule is on.
    assert MarkerFilter.of("junk", None, families) == MarkerFilter(DEFAULT_MIN_STRENGTH, ())
    assert MarkerFilter.of(5, None, families).min_strength == 1.0


@pytest.fixture
def live() -> Iterator[tuple[DataStream, AnalyticsService, Any]]:
    with live_services(WINDOW, capacity=2000) as running:
        yield running


def test_the_filter_draws_fewer_markers_and_pushed_updates_agree_with_a_rebuilt_figure(
    live: tuple[DataStream, AnalyticsService, Any],
) -> None:
    stream, analytics, services = live
    everything, _ = full_chart(services, "BTCUSDT", "1m", [])
    shown = stream.snapshot("BTCUSDT", Timeframe.M1).tail(WINDOW)
    times = shown.open_time.tolist()
    # Known signals on the window: strong and weak, of two families.
    extra = [
        signal(times[-10], Side.BUY, "test_strong", 0.9),
        signal(times[-9], Side.SELL, "test_weak", 0.3),
        signal(times[-8], Side.BUY, "test_other", 0.95),
    ]
    analytics.aggregator.load_history("BTCUSDT", Timeframe.M1, extra, times[-8])
    calm = MarkerFilter(0.8, ("test_other",))
    figure, state = full_chart(services, "BTCUSDT", "1m", [], markers=calm)
    drawn = markers_of(figure)
    everything, _ = full_chart(services, "BTCUSDT", "1m", [])
    assert len(drawn) < len(markers_of(everything))
    assert any(x == times[-10] for x, _ in drawn)
    assert not any(x in (times[-9], times[-8]) for x, _ in drawn)
    assert state is not None and state["min_strength"] == 0.8 and state["hidden_rules"] == ["test_other"]

    # A new strong signal and a new weak one: the pushed marker traces equal the filtered rebuild.
    analytics.aggregator.load_history(
        "BTCUSDT",
        Timeframe.M1,
        [signal(times[-3], Side.SELL, "test_strong", 0.85), signal(times[-2], Side.BUY, "test_weak", 0.2)],
        times[-2],
    )
    result = chart_push(services, ChartState.from_dict(state))  # type: ignore[arg-type]
    assert result.message is not None and "markers" in result.message
    patched = apply_chart_message(figure, result.message)
    rebuilt, _ = full_chart(services, "BTCUSDT", "1m", [], markers=calm)
    assert json.loads(json.dumps(patched["data"])) == json.loads(json.dumps(rebuilt["data"]))
    assert any(x == times[-3] for x, _ in markers_of(rebuilt))
    assert not any(x == times[-2] for x, _ in markers_of(rebuilt))

    # Only a filtered-out signal arrives: the marker traces do not move, nothing is sent.
    analytics.aggregator.load_history(
        "BTCUSDT", Timeframe.M1, [signal(times[-4], Side.BUY, "test_weak", 0.1)], times[-2]
    )
    assert chart_push(services, result.state).message is None


# -- pattern names ------------------------------------------------------------------------------------


def test_pattern_markers_name_the_pattern_on_hover() -> None:
    candles = candles_from_rows([(100, 104, 96, 101), (101, 106, 99, 105)])
    times = candles.open_time.tolist()
    traces = marker_traces(
        [signal(times[0], Side.BUY, "pattern:CDLHAMMER", 0.5), signal(times[1], Side.SELL, "rsi", 0.8)],
        candles,
    )
    buy, sell = traces
    assert buy["text"][0].startswith("BUY Hammer (pattern:CDLHAMMER): why")
    assert sell["text"][0].startswith("SELL rsi: why")


def test_picked_pattern_indicator_shows_its_name(live: tuple[DataStream, AnalyticsService, Any]) -> None:
    _, _, services = live
    figure, _ = full_chart(services, "BTCUSDT", "1m", ["CDLENGULFING"])
    trace = next(trace for trace in figure["data"] if trace["name"] == "CDLENGULFING")
    assert trace["hovertemplate"].startswith("Engulfing Pattern (CDLENGULFING)")


# -- theme --------------------------------------------------------------------------------------------


def test_the_figure_takes_the_theme_colours(live: tuple[DataStream, AnalyticsService, Any]) -> None:
    _, _, services = live
    assert chart_theme("light") is LIGHT_THEME
    assert chart_theme("dark") is DARK_THEME and chart_theme("nonsense") is DARK_THEME
    light, _ = full_chart(services, "BTCUSDT", "1m", ["RSI"], theme="light")
    dark, _ = full_chart(services, "BTCUSDT", "1m", ["RSI"], theme="dark")
    assert light["layout"]["paper_bgcolor"] == LIGHT_THEME.background != dark["layout"]["paper_bgcolor"]
    assert light["layout"]["font"]["color"] == LIGHT_THEME.text
    assert light["layout"]["xaxis"]["gridcolor"] == LIGHT_THEME.grid
    assert light["layout"]["yaxis3"]["gridcolor"] == LIGHT_THEME.grid  # the RSI panel too
    # Same data, same zoom key: a theme change keeps the user's zoom.
    assert light["data"] == dark["data"]
    assert light["layout"]["uirevision"] == dark["layout"]["uirevision"]
    # Without a theme the live setting decides.
    services.settings = dataclasses.replace(
        services.settings, ui=dataclasses.replace(services.settings.ui, theme="light")
    )
    default, _ = full_chart(services, "BTCUSDT", "1m", [])
    assert default["layout"]["plot_bgcolor"] == LIGHT_THEME.background


# -- metrics badges -----------------------------------------------------------------------------------


def test_venue_clock_runs_at_the_rate_it_was_seen_to_run() -> None:
    clock = VenueClock()
    assert clock.now_ms() is None and clock.lag_ms(0, 0.0) is None
    # A venue at speed 60: 60 venue seconds per local second.
    clock.add_sample(1_000_000, 10.0, 10.0)
    assert clock.rate() == 1.0  # one sample: no rate yet
    clock.add_sample(1_000_000 + 120_000, 12.0, 12.0)
    assert clock.rate() == pytest.approx(60.0)
    assert clock.now_ms(13.0) == 1_000_000 + 180_000
    # A frame stamped 30 venue ms before the venue's time at its arrival lags 30 ms.
    assert clock.lag_ms(1_000_000 + 180_000 - 30, 13.0) == 30


def test_badge_words() -> None:
    assert format_compact(1_234_567.0) == "1.23M"
    assert format_compact(950.0) == "950.00"
    assert format_lag(None, 1.0) == "—"
    assert format_lag(120, 1.0) == "120 ms"
    assert format_lag(1_200, 60.0) == "1,200 ms ×60"
    assert format_lag(-35_400, 60.0) == "-35.4 s ×60"
    assert health_of(False, 10, False)[0] == "Disconnected"
    assert health_of(True, -1, False)[0] == "Waiting"
    assert health_of(True, 5_000, True)[0] == "Stale"
    assert health_of(True, 5, False)[0] == "Live"


def test_metrics_props_from_the_ticker_and_the_venue_clock(
    live: tuple[DataStream, AnalyticsService, Any],
) -> None:
    _, _, services = live
    market = services.market
    props = metrics_props(services, "BTCUSDT", Timeframe.M1)
    assert props[ids.METRIC_VOLUME]["children"] == "—"  # no ticker yet: the window's numbers
    assert props[ids.METRIC_LAG]["children"] == "—"
    market.tickers["BTCUSDT"] = TickerEvent(
        "BTCUSDT", 5_000_000, 30_123.5, 29_000.0, 31_000.0, 28_500.0, 10.0, 2.5e6, 3.87
    )
    market.clock.add_sample(5_000_000, 100.0, 100.0)
    market.clock.add_sample(5_060_000, 101.0, 101.0)  # ×60
    market.arrivals[("BTCUSDT", Timeframe.M1)] = (5_060_000 - 240, 101.0)
    props = metrics_props(services, "BTCUSDT", Timeframe.M1)
    assert props[ids.METRIC_LAST_PRICE]["children"] == "30,123.50"
    assert props[ids.METRIC_CHANGE] == {"children": "+3.87%", "className": "metric-value text-up"}
    assert props[ids.METRIC_RANGE]["children"] == "31,000.00 / 28,500.00"
    assert props[ids.METRIC_VOLUME]["children"] == "2.50M"
    assert props[ids.METRIC_LAG]["children"] == "240 ms ×60"
    assert props[ids.METRIC_HEALTH]["children"] in ("Live", "Stale")  # the test's candles are old
    market.websocket.connected = False
    assert metrics_props(services, "BTCUSDT", Timeframe.M1)[ids.METRIC_HEALTH]["children"] == "Disconnected"
    assert len(json.dumps(props)) < 600  # pushed with every chart update


def test_signal_count_is_the_streams_final_signals_of_the_venues_day(
    live: tuple[DataStream, AnalyticsService, Any],
) -> None:
    now = 10 * DAY
    recent = [
        signal(now - 1_000, Side.BUY, "rsi", 0.8),
        signal(now - 2_000, Side.BUY, "rsi", 0.8, provisional=True),
        signal(now - DAY + 1, Side.SELL, "macd", 0.6),
        signal(now - DAY - 1, Side.SELL, "macd", 0.6),
    ]
    assert signal_count_text(recent, now, 1000) == "2"
    assert signal_count_text(recent[:3], now, 3) == "2+"  # the limit was hit inside the day
    _, analytics, services = live
    props = signal_props(services, "BTCUSDT", "1m")
    final = [s for s in analytics.signals("BTCUSDT", "1m", 1000) if not s.provisional]
    assert final, "no signals: the count check proves nothing"
    assert props[ids.METRIC_SIGNALS]["children"] == str(len(final))  # all within a day of the newest
