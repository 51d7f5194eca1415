"""The simulated trade path: deterministic, realistic enough, and the same candles at every interval."""

from __future__ import annotations

import time

import numpy as np
import pytest

from thebot.venue.intervals import DAY_MS, INTERVAL_MS, MINUTE_MS, open_time_of
from thebot.venue.market import (
    CLOSE,
    HIGH,
    LOW,
    OPEN,
    TAKER_BASE,
    VOLUME,
    Kline,
    SyntheticPath,
    candle_at,
    format_units,
    klines_between,
    parse_units,
    rolling_ticker,
    symbol_rules,
)

ORIGIN = open_time_of(DAY_MS, 1_700_000_000_000)


def aggregate(klines: list[Kline]) -> tuple[int, ...]:
    return (
        klines[0].open,
        max(kline.high for kline in klines),
        min(kline.low for kline in klines),
        klines[-1].close,
        sum(kline.volume for kline in klines),
        sum(kline.quote_volume for kline in klines),
        sum(kline.trades for kline in klines),
        sum(kline.taker_base for kline in klines),
        sum(kline.taker_quote for kline in klines),
        klines[0].first_trade,
        klines[-1].last_trade,
    )


def fields(kline: Kline) -> tuple[int, ...]:
    return (
        kline.open,
        kline.high,
        kline.low,
        kline.close,
        kline.volume,
        kline.quote_volume,
        kline.trades,
        kline.taker_base,
        kline.taker_quote,
        kline.first_trade,
        kline.last_trade,
    )


@pytest.fixture(scope="module")
def path() -> SyntheticPath:
    return SyntheticPath(symbol_rules("BTCUSDT"), seed=7, origin_ms=ORIGIN)


def test_same_seed_same_candles_other_seed_other_candles() -> None:
    first = SyntheticPath(symbol_rules("ETHUSDT"), seed=11, origin_ms=ORIGIN).minute_rows(0, 3000)
    again = SyntheticPath(symbol_rules("ETHUSDT"), seed=11, origin_ms=ORIGIN).minute_rows(0, 3000)
    other = SyntheticPath(symbol_rules("ETHUSDT"), seed=12, origin_ms=ORIGIN).minute_rows(0, 3000)
    assert np.array_equal(first, again)
    assert not np.array_equal(first[:, CLOSE], other[:, CLOSE])


def test_symbols_follow_their_own_paths(path: SyntheticPath) -> None:
    ether = SyntheticPath(symbol_rules("ETHUSDT"), seed=7, origin_ms=ORIGIN).minute_rows(0, 1440)
    returns_btc = np.diff(np.log(path.minute_rows(0, 1440)[:, CLOSE]))
    returns_eth = np.diff(np.log(ether[:, CLOSE]))
    assert abs(np.corrcoef(returns_btc, returns_eth)[0, 1]) < 0.2


@pytest.mark.parametrize("interval", ["3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d"])
def test_every_interval_is_the_exact_aggregate_of_its_minutes(path: SyntheticPath, interval: str) -> None:
    interval_ms = INTERVAL_MS[interval]
    now = ORIGIN + 6 * DAY_MS + 12_345
    generator = np.random.default_rng(interval_ms)
    for _ in range(3):
        first = (
            ORIGIN
            + int(generator.integers(0, (6 * DAY_MS - 5 * interval_ms) // interval_ms + 1)) * interval_ms
        )
        candles = klines_between(path, interval_ms, first, first + 4 * interval_ms, now)
        assert len(candles) == 5
        minutes = klines_between(path, MINUTE_MS, first, first + 5 * interval_ms - 1, now)
        per_candle = interval_ms // MINUTE_MS
        for index, candle in enumerate(candles):
            assert candle.closed
            group = minutes[index * per_candle : (index + 1) * per_candle]
            assert fields(candle) == aggregate(group)


def test_one_second_klines_add_up_to_the_minute(path: SyntheticPath) -> None:
    now = ORIGIN + 2 * DAY_MS
    minute_open = ORIGIN + DAY_MS + 17 * MINUTE_MS
    seconds = klines_between(path, 1_000, minute_open, minute_open + 59_000, now)
    assert len(seconds) == 60
    assert fields(candle_at(path, MINUTE_MS, minute_open, now)) == aggregate(seconds)


def test_forming_candle_grows_until_it_closes(path: SyntheticPath) -> None:
    open_time = ORIGIN + DAY_MS + 60 * MINUTE_MS
    early = candle_at(path, 5 * MINUTE_MS, open_time, open_time + 61_000)
    later = candle_at(path, 5 * MINUTE_MS, open_time, open_time + 200_500)
    final = candle_at(path, 5 * MINUTE_MS, open_time, open_time + 400_000)
    assert not early.closed and not later.closed and final.closed
    assert early.open == later.open == final.open
    assert early.volume < later.volume < final.volume
    assert later.high >= early.high and later.low <= early.low


def test_candles_chain_and_stay_consistent(path: SyntheticPath) -> None:
    rows = path.minute_rows(0, 3 * 1440)
    assert np.array_equal(rows[1:, OPEN], rows[:-1, CLOSE])
    assert np.all(rows[:, HIGH] >= np.maximum(rows[:, OPEN], rows[:, CLOSE]))
    assert np.all(rows[:, LOW] <= np.minimum(rows[:, OPEN], rows[:, CLOSE]))
    assert np.all(rows[:, LOW] > 0)
    assert np.all(rows[:, VOLUME] > 0)
    assert np.all((rows[:, TAKER_BASE] >= 0) & (rows[:, TAKER_BASE] <= rows[:, VOLUME]))


def test_volatility_clusters_and_volume_follows_it(path: SyntheticPath) -> None:
    rows = path.minute_rows(0, 7 * 1440)
    returns = np.diff(np.log(rows[:, CLOSE].astype(float)))
    size = np.abs(returns)
    # Large moves follow large moves: absolute returns are autocorrelated, raw returns are not.
    assert np.corrcoef(size[:-10], size[10:])[0, 1] > 0.1
    assert abs(np.corrcoef(returns[:-1], returns[1:])[0, 1]) < 0.1
    # Busy minutes trade more volume.
    assert np.corrcoef(size, rows[1:, VOLUME])[0, 1] > 0.2
    # The daily range is plausible for BTC: between 0.3 % and 15 %.
    daily = rows[: 7 * 1440].reshape(7, 1440, -1)
    ranges = daily[:, :, HIGH].max(axis=1) / daily[:, :, LOW].min(axis=1) - 1
    assert np.all((ranges > 0.003) & (ranges < 0.15)), ranges


def test_a_week_of_history_generates_quickly() -> None:
    started = time.perf_counter()
    rows = SyntheticPath(symbol_rules("SOLUSDT"), seed=3, origin_ms=ORIGIN).minute_rows(0, 7 * 1440)
    elapsed = time.perf_counter() - started
    assert rows.shape[0] == 10_080
    assert elapsed < 2.0, f"7 days of one symbol took {elapsed:.2f} s"


def test_rolling_ticker_covers_the_last_day(path: SyntheticPath) -> None:
    now = ORIGIN + 3 * DAY_MS + 30 * MINUTE_MS + 7_000
    ticker = rolling_ticker(path, now)
    day = klines_between(path, MINUTE_MS, open_time_of(MINUTE_MS, now - DAY_MS), now, now)
    assert ticker.last == day[-1].close
    assert ticker.high == max(kline.high for kline in day)
    assert ticker.volume == sum(kline.volume for kline in day)


@pytest.mark.parametrize("text", ["27000.01", "0.00000001", "12", "0.5", "1e-3"])
def test_decimal_units_round_trip(text: str) -> None:
    assert float(format_units(parse_units(text))) == float(text)


def test_days_come_out_the_same_in_any_order() -> None:
    in_order = SyntheticPath(symbol_rules("BTCUSDT"), seed=9, origin_ms=ORIGIN)
    expected = in_order.minute_rows(0, 4 * 1440)
    backwards = SyntheticPath(symbol_rules("BTCUSDT"), seed=9, origin_ms=ORIGIN)
    backwards.prepare_anchors(5)
    for day in (3, 1, 2, 0):
        backwards.warm(day)
    assert np.array_equal(backwards.minute_rows(0, 4 * 1440), expected)
    # Seconds regenerated after leaving the cache are identical too.
    assert np.array_equal(in_order.second_rows(5), backwards.second_rows(5))


def test_venue_starts_within_a_second_with_a_week_of_history() -> None:
    import asyncio

    from thebot.venue import SimulatedVenue, VenueConfig

    async def start_and_stop() -> tuple[float, int]:
        venue = SimulatedVenue(VenueConfig(symbols=("BTCUSDT", "ETHUSDT", "SOLUSDT"), history_days=7.0))
        started = time.perf_counter()
        await venue.start()
        elapsed = time.perf_counter() - started
        try:
            path = venue.path("SOLUSDT")
            now = venue.now_ms()
            week = klines_between(path, MINUTE_MS, now - 7 * DAY_MS, now, now)
            return elapsed, len(week)
        finally:
            await venue.stop()

    elapsed, candles = asyncio.run(start_and_stop())
    assert candles == 10_080
    assert elapsed < 1.0, f"start took {elapsed:.2f} s"


def test_a_restart_on_another_day_reproduces_the_same_market() -> None:
    """The walk is anchored at a fixed epoch: more history or a later start shows the same candles."""
    earlier = SyntheticPath(symbol_rules("ETHUSDT"), seed=4, origin_ms=ORIGIN)
    later = SyntheticPath(symbol_rules("ETHUSDT"), seed=4, origin_ms=ORIGIN + 2 * DAY_MS)
    now = ORIGIN + 4 * DAY_MS
    expected = klines_between(earlier, MINUTE_MS, ORIGIN + 2 * DAY_MS, now, now)
    assert klines_between(later, MINUTE_MS, ORIGIN + 2 * DAY_MS, now, now) == expected
    assert len(expected) == 2 * 1440 + 1
