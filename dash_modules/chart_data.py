"""What the chart draws, read from the services once per stream version and shared by every open page.

A pick is a string: `"RSI"` for the default parameters or `"EMA?timeperiod=50"` (TA-Lib's parameter names
in URL-query form), so EMA 20 and EMA 50 can be on one chart. Indicator values come from the analytics
service's cache (keyed by stream version), computed over the whole buffer so warm-up happens before the
visible window; the chart window is the tail of the same snapshot, so values and candles line up by row.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dash_modules.indicators_panel import MARKER_SIGNALS, IndicatorSeries, clean_values
from thebot.indicators import IndicatorError
from thebot.indicators.picks import parse_pick
from thebot.market.models import CandleSnapshot
from thebot.market.timeframe import Timeframe
from thebot.signals.models import Signal

if TYPE_CHECKING:
    from thebot.services import Services

logger = logging.getLogger(__name__)


def trace_label(text: str) -> str:
    """`"EMA?timeperiod=50"` → `"EMA(50)"`: the short name on the chart and in its hover."""
    name, params = parse_pick(text)
    return f"{name}({','.join(str(value) for value in params.values())})" if params else name


# The chart's default marker filter. Measured on the simulated market (BTCUSDT 1m, speed 60, 996 candles):
# 423 signals, 0.42 per candle; 314 of them at 0.6 or more, because fair-value-gap, zone and Bollinger
# hits always carry 0.6 and fire on most swings. From 0.7 up, 62 are left (0.06 per candle, about 19 on
# the 300-candle window): the RSI and stochastic turns out of deep extremes and the wide MACD and EMA
# crosses, i.e. the rule saw more than its bare trigger. The filter lowers to 0.6 (or 0) in one click.
DEFAULT_MIN_STRENGTH = 0.7
STRENGTH_STEPS = (0.0, 0.25, 0.5, 0.6, 0.7, 0.8, 0.9)


@dataclass(frozen=True, slots=True)
class MarkerFilter:
    """Which signals the chart marks: at least `min_strength`, and no rule family in `hidden`."""

    min_strength: float = DEFAULT_MIN_STRENGTH
    hidden: tuple[str, ...] = ()

    def keeps(self, signal: Signal) -> bool:
        return signal.strength >= self.min_strength - 1e-9 and signal.rule_family not in self.hidden

    @classmethod
    def of(cls, min_strength: object, shown: Sequence[str] | None, families: Sequence[str]) -> MarkerFilter:
        """From the page's controls: a strength (anything unreadable is the default) and the rule
        families left on (None: all of them)."""
        try:
            strength = min(1.0, max(0.0, float(min_strength)))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            strength = DEFAULT_MIN_STRENGTH
        on = set(families if shown is None else shown)
        return cls(strength, tuple(sorted(family for family in families if family not in on)))


@dataclass(frozen=True, slots=True)
class ChartInputs:
    """One stream's chart content: the whole buffer, the shown window, picked indicators, signals."""

    buffer: CandleSnapshot
    shown: CandleSnapshot
    indicators: list[IndicatorSeries]
    signals: list[Signal]


def read_buffer(services: Services, symbol: str, timeframe: Timeframe) -> CandleSnapshot | None:
    try:
        return services.market.datastream.snapshot(symbol, timeframe)
    except KeyError:
        return None


def picked_series(
    services: Services, buffer: CandleSnapshot, picks: Sequence[str], count: int
) -> list[IndicatorSeries]:
    """The picked indicators over the newest `count` rows of `buffer`; unknown picks are skipped."""
    analytics = services.analytics
    series: list[IndicatorSeries] = []
    for text in picks:
        try:
            name, params = parse_pick(text)
            info = analytics.factory.info(name)
            outputs = analytics.indicator_columns(buffer, name, params)
        except (IndicatorError, ValueError) as error:
            logger.warning("chart pick %r skipped: %s", text, error)
            continue
        series.append(
            IndicatorSeries(
                name=trace_label(text),
                display_name=info.display_name,
                placement=info.placement,
                outputs={
                    output: clean_values(values[len(values) - count :] if count else values[:0])
                    for output, values in outputs.items()
                    if not info.chart_outputs or output in info.chart_outputs
                },
            )
        )
    return series


def window_signals(
    services: Services, shown: CandleSnapshot, markers: MarkerFilter | None = None
) -> list[Signal]:
    """The stream's signals on the shown candles (markers elsewhere would pad the axis) that pass the
    marker filter (None: all of them). The full figure and every pushed update both come through here,
    so they always agree."""
    if len(shown) == 0:
        return []
    first = int(shown.open_time[0])
    signals = services.analytics.signals(shown.symbol, shown.timeframe, limit=MARKER_SIGNALS)
    return [
        signal for signal in signals if signal.time >= first and (markers is None or markers.keeps(signal))
    ]


def chart_inputs(
    services: Services,
    buffer: CandleSnapshot,
    picks: Sequence[str],
    count: int,
    markers: MarkerFilter | None = None,
) -> ChartInputs:
    shown = buffer.tail(count)
    return ChartInputs(
        buffer=buffer,
        shown=shown,
        indicators=picked_series(services, buffer, picks, len(shown)),
        signals=window_signals(services, shown, markers),
    )


def markers_fingerprint(signals: Sequence[Signal]) -> str:
    """Changes exactly when a marker would be added, withdrawn or restyled."""
    items = sorted((s.time, s.rule, s.side.value, s.provisional) for s in signals)
    return f"{len(items)}:{hash(tuple(items)) & 0xFFFFFFFF:08x}"
