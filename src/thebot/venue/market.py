"""Simulated price paths and the klines aggregated from them.

Every number is an integer count of 1e-8 units (Binance quotes eight decimals), so a 5m kline is the
*exact* sum of its five 1m klines and a printed string round-trips without float noise. One trade path
per symbol exists at one-second resolution; minutes are aggregated from seconds and every longer interval
from minutes, which is what makes intervals agree over REST and WebSocket alike.

Synthetic paths are generated a UTC day at a time from a generator seeded by (seed, symbol, day), with
the random walk's state carried from day to day. Only minute rows are kept; a day's second rows are
regenerated on demand from the stored start-of-day state, which reproduces them bit for bit.
"""

from __future__ import annotations

import csv
import logging
import math
import zlib
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

from thebot.venue.intervals import DAY_MS, MINUTE_MS, SECOND_MS, open_time_of

logger = logging.getLogger(__name__)

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

UNITS = 100_000_000
SECONDS_PER_MINUTE = 60
MINUTES_PER_DAY = 1440

# Column layout of a row of bars (one second or one minute).
OPEN, HIGH, LOW, CLOSE, VOLUME, QUOTE_VOLUME, TRADES, TAKER_BASE, TAKER_QUOTE, FIRST_TRADE = range(10)
COLUMNS = 10

QUOTE_ASSETS = ("USDT", "FDUSD", "USDC", "BUSD", "TUSD", "BTC", "ETH", "BNB", "EUR", "TRY")


def format_units(value: int) -> str:
    """Eight-decimal string as Binance prints prices and quantities: 27000.01 -> "27000.01000000"."""
    sign = "-" if value < 0 else ""
    whole, fraction = divmod(abs(int(value)), UNITS)
    return f"{sign}{whole}.{fraction:08d}"


def parse_units(text: str) -> int:
    """Decimal string to 1e-8 units, exactly (no float round trip); raises ValueError when malformed."""
    text = text.strip()
    negative = text.startswith("-")
    if negative or text.startswith("+"):
        text = text[1:]
    if "e" in text.lower():
        value = round(float(text) * UNITS)
        return -value if negative else value
    whole, _, fraction = text.partition(".")
    if not (whole or fraction) or not (whole or "0").isdigit() or (fraction and not fraction.isdigit()):
        raise ValueError(f"not a decimal number: {text!r}")
    fraction = (fraction + "0" * 8)[:8]
    value = int(whole or "0") * UNITS + int(fraction)
    return -value if negative else value


@dataclass(frozen=True, slots=True)
class SymbolRules:
    """Static trading rules and the character of a symbol's simulated market."""

    symbol: str
    base_asset: str
    quote_asset: str
    start_price: float
    tick_units: int
    lot_units: int
    trades_per_second: float
    mean_trade_units: int
    second_volatility: float


_KNOWN: Mapping[str, tuple[float, int, int, float, int]] = MappingProxyType(
    {
        # start price, tick (units), lot (units), trades per second, mean trade size (units)
        "BTCUSDT": (27_000.0, 1_000_000, 1_000, 12.0, 3_000_000),
        "ETHUSDT": (1_800.0, 1_000_000, 10_000, 9.0, 40_000_000),
        "SOLUSDT": (22.0, 1_000_000, 100_000, 6.0, 1_500_000_000),
        "BNBUSDT": (310.0, 1_000_000, 100_000, 4.0, 150_000_000),
    }
)


def symbol_rules(symbol: str) -> SymbolRules:
    base, quote = symbol, "USDT"
    for candidate in QUOTE_ASSETS:
        if symbol.endswith(candidate) and len(symbol) > len(candidate):
            base, quote = symbol[: -len(candidate)], candidate
            break
    if symbol in _KNOWN:
        price, tick, lot, trades, size = _KNOWN[symbol]
    else:
        key = zlib.crc32(symbol.encode())
        price = float(1 + key % 500)
        tick = 10_000  # 0.0001
        lot = 1_000_000  # 0.01
        trades = 3.0
        size = max(lot, int(200 * UNITS / price) // lot * lot)
    # About 2.5 % daily volatility, the order of BTC's.
    return SymbolRules(symbol, base, quote, price, tick, lot, trades, size, 0.025 / math.sqrt(86_400))


@dataclass(frozen=True, slots=True)
class Kline:
    open_time: int
    close_time: int
    open: int
    high: int
    low: int
    close: int
    volume: int
    quote_volume: int
    trades: int
    taker_base: int
    taker_quote: int
    first_trade: int
    last_trade: int
    closed: bool


def aggregate_rows(rows: IntArray) -> IntArray:
    """One row summarising consecutive rows; FIRST_TRADE keeps the first row's trade id."""
    result = np.empty(COLUMNS, dtype=np.int64)
    result[OPEN] = rows[0, OPEN]
    result[CLOSE] = rows[-1, CLOSE]
    result[HIGH] = rows[:, HIGH].max()
    result[LOW] = rows[:, LOW].min()
    for column in (VOLUME, QUOTE_VOLUME, TRADES, TAKER_BASE, TAKER_QUOTE):
        result[column] = rows[:, column].sum()
    result[FIRST_TRADE] = rows[0, FIRST_TRADE]
    return result


def aggregate_groups(rows: IntArray, starts: IntArray) -> IntArray:
    """Aggregate contiguous groups of rows beginning at `starts` (each group runs to the next start)."""
    ends = np.append(starts[1:], rows.shape[0])
    result = np.empty((starts.shape[0], COLUMNS), dtype=np.int64)
    result[:, OPEN] = rows[starts, OPEN]
    result[:, CLOSE] = rows[ends - 1, CLOSE]
    result[:, HIGH] = np.maximum.reduceat(rows[:, HIGH], starts)
    result[:, LOW] = np.minimum.reduceat(rows[:, LOW], starts)
    for column in (VOLUME, QUOTE_VOLUME, TRADES, TAKER_BASE, TAKER_QUOTE):
        result[:, column] = np.add.reduceat(rows[:, column], starts)
    result[:, FIRST_TRADE] = rows[starts, FIRST_TRADE]
    return result


def _kline(open_time: int, interval_ms: int, row: IntArray, closed: bool) -> Kline:
    trades = int(row[TRADES])
    first = int(row[FIRST_TRADE]) if trades > 0 else -1
    return Kline(
        open_time=open_time,
        close_time=open_time + interval_ms - 1,
        open=int(row[OPEN]),
        high=int(row[HIGH]),
        low=int(row[LOW]),
        close=int(row[CLOSE]),
        volume=int(row[VOLUME]),
        quote_volume=int(row[QUOTE_VOLUME]),
        trades=trades,
        taker_base=int(row[TAKER_BASE]),
        taker_quote=int(row[TAKER_QUOTE]),
        first_trade=first,
        last_trade=first + trades - 1 if trades > 0 else -1,
        closed=closed,
    )


def _empty_row(price: int, next_trade: int) -> IntArray:
    row = np.zeros(COLUMNS, dtype=np.int64)
    row[[OPEN, HIGH, LOW, CLOSE]] = price
    row[FIRST_TRADE] = next_trade
    return row


class PricePath:
    """Minute bars from `origin_ms` on, plus (when available) their second bars."""

    def __init__(self, rules: SymbolRules, origin_ms: int) -> None:
        self.rules = rules
        self.origin_ms = origin_ms
        self._minutes = np.empty((0, COLUMNS), dtype=np.int64)

    @property
    def end_ms(self) -> int | None:
        """Where the data ends (replay); None when the path extends forever."""
        return None

    def _extend(self, minute_count: int) -> None:
        raise NotImplementedError

    def minute_rows(self, start: int, end: int) -> IntArray:
        if end > self._minutes.shape[0]:
            self._extend(end)
        end = min(end, self._minutes.shape[0])
        return self._minutes[max(0, start) : max(0, end)]

    def second_rows(self, minute_index: int) -> IntArray | None:
        return None

    def partial_minute(self, minute_index: int, elapsed_ms: int) -> IntArray | None:
        """The aggregate of what has traded in the first `elapsed_ms` of a minute (None: nothing yet)."""
        seconds = self.second_rows(minute_index)
        if seconds is None:
            return None
        count = min(SECONDS_PER_MINUTE, elapsed_ms // SECOND_MS)
        return aggregate_rows(seconds[:count]) if count > 0 else None

    def price_before(self, minute_index: int) -> tuple[int, int]:
        """(close price, next trade id) just before `minute_index`, for candles in which nothing traded."""
        if minute_index <= 0:
            first = self.minute_rows(0, 1)
            if first.shape[0] == 0:
                return round(self.rules.start_price * UNITS), 0
            return int(first[0, OPEN]), int(first[0, FIRST_TRADE])
        row = self.minute_rows(minute_index - 1, minute_index)
        if row.shape[0] == 0:
            return self.price_before(self._minutes.shape[0])
        return int(row[0, CLOSE]), int(row[0, FIRST_TRADE] + row[0, TRADES])


@dataclass(frozen=True, slots=True)
class _DayAnchor:
    """Where a UTC day starts: log price, log volatility and regime. Days are bridged between anchors."""

    log_price: float
    log_volatility: float
    regime: int


# Regimes: calm, trending up, trending down, turbulent. Drift is in units of per-second volatility.
_REGIME_DRIFT = (0.0, 0.006, -0.006, 0.0)
_REGIME_VOLATILITY = (0.8, 1.0, 1.0, 2.2)
_REGIME_SWITCH_PER_MINUTE = 1 / 720
_VOLATILITY_PERSISTENCE = 0.995
_VOLATILITY_OF_VOLATILITY = 0.05
_DAILY_VOLATILITY_PERSISTENCE = 0.6
_DAILY_VOLATILITY_OF_VOLATILITY = 0.3
_MEAN_REVERSION_PER_DAY = 0.05
_BURST_SHARE = 0.05
_BURST_SCALE = 2.5
_MIXTURE_NORMALISER = 1 / math.sqrt(1 - _BURST_SHARE + _BURST_SHARE * _BURST_SCALE**2)
# Trade ids restart from day * stride, so any day can be generated without the days before it.
TRADE_ID_STRIDE = 100_000_000
ANCHOR_EPOCH_MS = 1_262_304_000_000  # 2010-01-01T00:00:00Z
_ANCHOR_BLOCK_DAYS = 1024


class SyntheticPath(PricePath):
    """A random walk with stochastic (clustering) volatility, regime shifts, fat tails and volumes.

    A cheap day-level walk fixes each UTC day's opening price, volatility and regime; a day's seconds
    are a bridge from its anchor to the next one. Days therefore depend on the anchors only, never on
    each other, so the venue starts by generating today alone and fills in history when it is asked for
    (or in the background), while every day still joins its neighbours exactly.
    """

    _SECOND_CACHE_DAYS = 2

    def __init__(self, rules: SymbolRules, seed: int, origin_ms: int) -> None:
        if origin_ms % DAY_MS:
            raise ValueError("a synthetic path starts at a UTC day boundary")
        super().__init__(rules, origin_ms)
        self._seed = seed & 0xFFFFFFFF
        self._symbol_key = zlib.crc32(rules.symbol.encode())
        if origin_ms < ANCHOR_EPOCH_MS:
            raise ValueError("a synthetic path starts on or after 2010-01-01")
        # Anchored at a fixed epoch, not at the origin: a venue restarted another day, or with more
        # history, reproduces the same market for the same seed.
        self._first_anchor = (origin_ms - ANCHOR_EPOCH_MS) // DAY_MS
        self._anchors = [_DayAnchor(math.log(rules.start_price), 0.0, 0)]
        self._second_cache: OrderedDict[int, IntArray] = OrderedDict()
        self._minute_blocks: dict[int, IntArray] = {}

    def _rng(self, day: int, purpose: int) -> np.random.Generator:
        day_number = self.origin_ms // DAY_MS + day
        return np.random.Generator(
            np.random.PCG64(np.random.SeedSequence([self._seed, self._symbol_key, day_number, purpose]))
        )

    def _anchor(self, day: int) -> _DayAnchor:
        """The anchor of `day` (counted from the origin); the walk itself starts at ANCHOR_EPOCH_MS."""
        index = self._first_anchor + day
        anchors = self._anchors
        if len(anchors) <= index:
            start_log_price = math.log(self.rules.start_price)
            daily_sigma = self.rules.second_volatility * math.sqrt(86_400)
            while len(anchors) <= index:
                block = (len(anchors) - 1) // _ANCHOR_BLOCK_DAYS
                generator = np.random.Generator(
                    np.random.PCG64(np.random.SeedSequence([self._seed, self._symbol_key, block, 1]))
                )
                shocks = generator.standard_normal(_ANCHOR_BLOCK_DAYS)
                volatility_shocks = generator.standard_normal(_ANCHOR_BLOCK_DAYS)
                regimes = generator.integers(0, len(_REGIME_DRIFT), _ANCHOR_BLOCK_DAYS)
                for position in range((len(anchors) - 1) % _ANCHOR_BLOCK_DAYS, _ANCHOR_BLOCK_DAYS):
                    previous = anchors[-1]
                    move = daily_sigma * math.exp(previous.log_volatility) * float(shocks[position])
                    reversion = -_MEAN_REVERSION_PER_DAY * (previous.log_price - start_log_price)
                    anchors.append(
                        _DayAnchor(
                            log_price=previous.log_price + move + reversion,
                            log_volatility=_DAILY_VOLATILITY_PERSISTENCE * previous.log_volatility
                            + _DAILY_VOLATILITY_OF_VOLATILITY * float(volatility_shocks[position]),
                            regime=int(regimes[position]),
                        )
                    )
        return anchors[index]

    def _opening_units(self, day: int) -> int:
        tick = self.rules.tick_units
        return max(tick, round(math.exp(self._anchor(day).log_price) * UNITS / tick) * tick)

    def minute_rows(self, start: int, end: int) -> IntArray:
        start = max(0, start)
        if end <= start:
            return np.empty((0, COLUMNS), dtype=np.int64)
        first_day, last_day = start // MINUTES_PER_DAY, (end - 1) // MINUTES_PER_DAY
        blocks = [self._minutes_of_day(day) for day in range(first_day, last_day + 1)]
        rows = blocks[0] if len(blocks) == 1 else np.concatenate(blocks)
        offset = first_day * MINUTES_PER_DAY
        return rows[start - offset : end - offset]

    def _minutes_of_day(self, day: int) -> IntArray:
        block = self._minute_blocks.get(day)
        if block is None:
            seconds = self._generate_day(day)
            block = self._minute_blocks.setdefault(day, _minutes_from_seconds(seconds))
            self._remember_seconds(day, seconds)
        return block

    def prepare_anchors(self, days: int) -> None:
        """Extend the day anchors on the owning thread, so `warm` on a worker thread only reads them."""
        self._anchor(days)

    def warm(self, day: int) -> None:
        """Generate one day's minute rows ahead of need; safe on a worker thread for prepared days."""
        if day not in self._minute_blocks:
            self._minute_blocks.setdefault(day, _minutes_from_seconds(self._generate_day(day)))

    def _remember_seconds(self, day: int, seconds: IntArray) -> None:
        self._second_cache[day] = seconds
        self._second_cache.move_to_end(day)
        while len(self._second_cache) > self._SECOND_CACHE_DAYS:
            self._second_cache.popitem(last=False)

    def second_rows(self, minute_index: int) -> IntArray | None:
        if minute_index < 0:
            return None
        day, minute_of_day = divmod(minute_index, MINUTES_PER_DAY)
        seconds = self._second_cache.get(day)
        if seconds is None:
            seconds = self._generate_day(day)
            self._minute_blocks.setdefault(day, _minutes_from_seconds(seconds))
            self._remember_seconds(day, seconds)
        else:
            self._second_cache.move_to_end(day)
        start = minute_of_day * SECONDS_PER_MINUTE
        return seconds[start : start + SECONDS_PER_MINUTE]

    def price_before(self, minute_index: int) -> tuple[int, int]:
        if minute_index <= 0:
            return self._opening_units(0), 0
        row = self.minute_rows(minute_index - 1, minute_index)
        return int(row[0, CLOSE]), int(row[0, FIRST_TRADE] + row[0, TRADES])

    def _generate_day(self, day: int) -> IntArray:
        """One day of second rows, a bridge from this day's anchor to the next day's."""
        rules = self.rules
        # Anchors extend sequentially; a worker thread only ever reads ones the loop already made.
        anchor, following = self._anchor(day), self._anchor(day + 1)
        generator = self._rng(day, 0)
        shocks = generator.standard_normal(MINUTES_PER_DAY)
        switches = generator.random(MINUTES_PER_DAY)
        regime_draws = generator.integers(0, len(_REGIME_DRIFT), MINUTES_PER_DAY)
        log_volatility_path = np.empty(MINUTES_PER_DAY)
        regimes = np.empty(MINUTES_PER_DAY, dtype=np.int64)
        log_volatility, regime = anchor.log_volatility, anchor.regime
        for minute in range(MINUTES_PER_DAY):
            if switches[minute] < _REGIME_SWITCH_PER_MINUTE:
                regime = int(regime_draws[minute])
            log_volatility = _VOLATILITY_PERSISTENCE * log_volatility + _VOLATILITY_OF_VOLATILITY * float(
                shocks[minute]
            )
            log_volatility_path[minute] = log_volatility
            regimes[minute] = regime
        # Bend the volatility path so it ends where the next day's anchor begins: no jump at midnight.
        ramp = np.arange(1, MINUTES_PER_DAY + 1) / MINUTES_PER_DAY
        log_volatility_path += ramp * (following.log_volatility - log_volatility)
        volatility = np.exp(log_volatility_path) * np.asarray(_REGIME_VOLATILITY)[regimes]
        drift = np.asarray(_REGIME_DRIFT)[regimes] * rules.second_volatility
        sigma = rules.second_volatility * volatility
        # Fat tails from a scale mixture: one second in twenty is a burst at 2.5x the volatility.
        bursts = np.where(
            generator.random((MINUTES_PER_DAY, SECONDS_PER_MINUTE)) < _BURST_SHARE, _BURST_SCALE, 1.0
        )
        noise = (
            generator.standard_normal((MINUTES_PER_DAY, SECONDS_PER_MINUTE)) * bursts * _MIXTURE_NORMALISER
        )
        returns = (sigma[:, None] * noise + drift[:, None]).ravel()
        walk = np.cumsum(returns)
        size = walk.shape[0]
        # Brownian bridge: remove the walk's own net move, add the move between the anchors.
        bridge = np.arange(1, size + 1) / size
        log_close = anchor.log_price + walk + bridge * (following.log_price - anchor.log_price - walk[-1])
        tick = rules.tick_units
        close = np.maximum(np.rint(np.exp(log_close) * (UNITS / tick)).astype(np.int64) * tick, tick)
        close[-1] = self._opening_units(day + 1)
        open_ = np.empty_like(close)
        open_[0] = self._opening_units(day)
        open_[1:] = close[:-1]
        sigma_seconds = np.repeat(sigma, SECONDS_PER_MINUTE)
        wick_up = np.abs(generator.standard_normal(size)) * sigma_seconds * 0.6 * close
        wick_down = np.abs(generator.standard_normal(size)) * sigma_seconds * 0.6 * close
        high = np.maximum(open_, close) + np.floor(wick_up / tick).astype(np.int64) * tick
        low = np.maximum(np.minimum(open_, close) - np.floor(wick_down / tick).astype(np.int64) * tick, tick)
        surprise = np.abs(noise.ravel())
        intensity = (
            rules.trades_per_second * np.repeat(volatility, SECONDS_PER_MINUTE) * (0.6 + 0.5 * surprise)
        )
        # Normal approximation of Poisson counts: numpy's Poisson sampler is ten times slower.
        counts = intensity + np.sqrt(intensity) * generator.standard_normal(size)
        trades = np.maximum(np.rint(counts), 1).astype(np.int64)
        lot = rules.lot_units
        sizes = trades * rules.mean_trade_units * generator.lognormal(0.0, 0.6, size)
        volume = np.maximum(np.rint(sizes / lot).astype(np.int64), 1) * lot
        buy_share = np.clip(
            0.5 + 0.25 * np.tanh(noise.ravel()) + 0.08 * generator.standard_normal(size), 0.02, 0.98
        )
        taker_base = np.minimum(np.rint(volume * buy_share / lot).astype(np.int64) * lot, volume)
        average_price = (open_ + high + low + close) / 4.0
        quote = np.rint(volume / UNITS * average_price).astype(np.int64)
        taker_quote = np.rint(quote * (taker_base / volume)).astype(np.int64)
        first_trade = (self._first_anchor + day) * TRADE_ID_STRIDE + np.cumsum(trades) - trades
        seconds = np.empty((size, COLUMNS), dtype=np.int64)
        for column, values in (
            (OPEN, open_),
            (HIGH, high),
            (LOW, low),
            (CLOSE, close),
            (VOLUME, volume),
            (QUOTE_VOLUME, quote),
            (TRADES, trades),
            (TAKER_BASE, taker_base),
            (TAKER_QUOTE, taker_quote),
            (FIRST_TRADE, first_trade),
        ):
            seconds[:, column] = values
        return seconds


def _minutes_from_seconds(seconds: IntArray) -> IntArray:
    starts = np.arange(0, seconds.shape[0], SECONDS_PER_MINUTE, dtype=np.int64)
    return aggregate_groups(seconds, starts)


class ReplayPath(PricePath):
    """Real 1m candles from a CSV file; missing minutes are filled with flat, empty candles."""

    def __init__(self, rules: SymbolRules, origin_ms: int, minutes: IntArray) -> None:
        super().__init__(rules, origin_ms)
        self._minutes = minutes

    @property
    def end_ms(self) -> int:
        return self.origin_ms + self._minutes.shape[0] * MINUTE_MS

    def _extend(self, minute_count: int) -> None:
        return

    def second_rows(self, minute_index: int) -> IntArray | None:
        """Sixty seconds that add up to the real minute exactly: open, the nearer extreme, the other, close.

        The file has no trades inside the minute, so the path between the four prices is a straight line
        in integer units; volumes are shared out evenly with the remainder in the last second.
        """
        if not 0 <= minute_index < self._minutes.shape[0]:
            return None
        row = self._minutes[minute_index]
        open_, high, low, close = (int(row[column]) for column in (OPEN, HIGH, LOW, CLOSE))
        waypoints = np.asarray(
            [open_, low, high, close] if close >= open_ else [open_, high, low, close], dtype=np.int64
        )
        boundary = np.arange(SECONDS_PER_MINUTE + 1)
        segment = np.minimum(boundary // 20, 2)
        step = boundary - segment * 20
        prices = waypoints[segment] + (waypoints[segment + 1] - waypoints[segment]) * step // 20
        seconds = np.empty((SECONDS_PER_MINUTE, COLUMNS), dtype=np.int64)
        seconds[:, OPEN] = prices[:-1]
        seconds[:, CLOSE] = prices[1:]
        seconds[:, HIGH] = np.maximum(prices[:-1], prices[1:])
        seconds[:, LOW] = np.minimum(prices[:-1], prices[1:])
        for column in (VOLUME, QUOTE_VOLUME, TRADES, TAKER_BASE, TAKER_QUOTE):
            total = int(row[column])
            shares = np.full(SECONDS_PER_MINUTE, total // SECONDS_PER_MINUTE, dtype=np.int64)
            shares[-1] += total - int(shares.sum())
            seconds[:, column] = shares
        trades = seconds[:, TRADES]
        seconds[:, FIRST_TRADE] = int(row[FIRST_TRADE]) + np.cumsum(trades) - trades
        return seconds


def _parse_open_time(text: str) -> int:
    text = text.strip()
    if text.lstrip("-").isdigit():
        value = int(text)
        return value * 1000 if value < 10_000_000_000 else value
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        from datetime import UTC

        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def load_replay(path: Path, rules: SymbolRules) -> ReplayPath:
    """Read 1m candles: columns open_time (ms or ISO 8601), open, high, low, close, volume; others ignored.

    Sample::

        open_time,open,high,low,close,volume
        2023-03-01 00:00:00+00:00,23140.48,23150.77,23128.52,23142.31,2.131777
    """
    times: list[int] = []
    rows: list[list[int]] = []
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = {"open_time", "open", "high", "low", "close", "volume"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        for line_number, record in enumerate(reader, start=2):
            try:
                open_time = open_time_of(MINUTE_MS, _parse_open_time(record["open_time"]))
                open_, high, low, close, volume = (
                    parse_units(record[name]) for name in ("open", "high", "low", "close", "volume")
                )
            except (ValueError, TypeError) as error:
                raise ValueError(f"{path}:{line_number}: {error}") from None
            times.append(open_time)
            rows.append([open_, high, low, close, volume])
    if not times:
        raise ValueError(f"{path}: no candles")
    order = np.argsort(np.asarray(times, dtype=np.int64), kind="stable")
    sorted_times = np.asarray(times, dtype=np.int64)[order]
    data = np.asarray(rows, dtype=np.int64)[order]
    origin = int(sorted_times[0])
    index = (sorted_times - origin) // MINUTE_MS
    count = int(index[-1]) + 1
    minutes = np.zeros((count, COLUMNS), dtype=np.int64)
    present = np.zeros(count, dtype=bool)
    minutes[index, OPEN : CLOSE + 1] = data[:, 0:4]
    minutes[index, VOLUME] = data[:, 4]
    present[index] = True
    # Flat candles for gaps, at the previous close.
    last_close = int(minutes[0, CLOSE])
    for position in np.flatnonzero(~present):
        last_close = int(minutes[position - 1, CLOSE]) if position > 0 else last_close
        minutes[position, OPEN : CLOSE + 1] = last_close
    average = minutes[:, OPEN : CLOSE + 1].sum(axis=1) / 4.0
    minutes[:, QUOTE_VOLUME] = np.rint(minutes[:, VOLUME] / UNITS * average).astype(np.int64)
    lot = rules.lot_units
    minutes[:, TAKER_BASE] = minutes[:, VOLUME] // 2 // lot * lot
    minutes[:, TAKER_QUOTE] = minutes[:, QUOTE_VOLUME] // 2
    # The file has no trade counts; assume one trade per lot-sized slice, at least one when volume traded.
    trades = np.where(minutes[:, VOLUME] > 0, np.maximum(minutes[:, VOLUME] // (lot * 100), 1), 0)
    minutes[:, TRADES] = trades
    minutes[:, FIRST_TRADE] = np.cumsum(trades) - trades
    logger.info("replay %s: %d candles from %s", rules.symbol, len(times), path)
    return ReplayPath(rules, origin, minutes)


def _rows_until(path: PricePath, start_ms: int, until_ms: int) -> IntArray | None:
    """Rows of everything traded in [start_ms, until_ms): whole minutes, then the revealed part of one."""
    origin = path.origin_ms
    start_ms = max(start_ms, origin)
    if until_ms <= start_ms:
        return None
    first_minute = (start_ms - origin) // MINUTE_MS
    full_end = (until_ms - origin) // MINUTE_MS
    parts: list[IntArray] = []
    if full_end > first_minute:
        parts.append(path.minute_rows(first_minute, full_end))
    elapsed = (until_ms - origin) % MINUTE_MS
    if elapsed:
        partial = path.partial_minute(full_end, elapsed)
        if partial is not None:
            parts.append(partial[None, :])
    parts = [part for part in parts if part.shape[0]]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def candle_at(path: PricePath, interval_ms: int, open_time: int, now_ms: int) -> Kline:
    """The kline opening at `open_time` as it stands at `now_ms` (partial and not closed while forming)."""
    close_end = open_time + interval_ms
    closed = close_end <= now_ms
    until = min(close_end, now_ms)
    rows: IntArray | None
    if interval_ms < MINUTE_MS:
        rows = None
        if until >= close_end and open_time >= path.origin_ms:
            minute, offset = divmod(open_time - path.origin_ms, MINUTE_MS)
            seconds = path.second_rows(minute)
            if seconds is not None:
                first = offset // SECOND_MS
                rows = seconds[first : first + interval_ms // SECOND_MS]
    else:
        rows = _rows_until(path, open_time, until)
    if rows is None or rows.shape[0] == 0:
        price, next_trade = path.price_before(max(0, (open_time - path.origin_ms) // MINUTE_MS))
        return _kline(open_time, interval_ms, _empty_row(price, next_trade), closed)
    return _kline(open_time, interval_ms, aggregate_rows(rows), closed)


def klines_between(
    path: PricePath, interval_ms: int, first_open: int, last_open: int, now_ms: int
) -> list[Kline]:
    """Klines with open times in [first_open, last_open] (aligned), up to the one forming at `now_ms`."""
    first_open = max(
        open_time_of(interval_ms, first_open + interval_ms - 1), open_time_of(interval_ms, path.origin_ms)
    )
    last_open = open_time_of(interval_ms, last_open)
    forming_open = open_time_of(interval_ms, now_ms)
    last_open = min(last_open, forming_open)
    if path.end_ms is not None:
        last_open = min(last_open, open_time_of(interval_ms, path.end_ms - 1))
    if last_open < first_open:
        return []
    last_closed = min(last_open, forming_open - interval_ms)
    result: list[Kline] = []
    if interval_ms >= MINUTE_MS and last_closed >= first_open:
        opens = np.arange(first_open, last_closed + 1, interval_ms, dtype=np.int64)
        origin = path.origin_ms
        starts = (np.maximum(opens, origin) - origin) // MINUTE_MS
        end = (last_closed + interval_ms - origin) // MINUTE_MS
        rows = path.minute_rows(int(starts[0]), end)
        available = int(starts[0]) + rows.shape[0]
        keep = int(np.searchsorted(starts, available, side="left"))
        if keep:
            groups = aggregate_groups(rows, starts[:keep] - starts[0])
            result.extend(
                _kline(int(opens[index]), interval_ms, groups[index], True) for index in range(keep)
            )
        next_open = last_closed + interval_ms
    else:
        next_open = first_open
    result.extend(
        candle_at(path, interval_ms, open_time, now_ms)
        for open_time in range(next_open, last_open + 1, interval_ms)
    )
    return result


@dataclass(frozen=True, slots=True)
class RollingTicker:
    """A 24 h rolling window, as `/api/v3/ticker/24hr` and `<symbol>@ticker` report it."""

    symbol: str
    open_time: int
    close_time: int
    open: int
    high: int
    low: int
    last: int
    previous_close: int
    volume: int
    quote_volume: int
    trades: int
    first_trade: int
    last_trade: int


def rolling_ticker(path: PricePath, now_ms: int, window_ms: int = DAY_MS) -> RollingTicker:
    start = max(path.origin_ms, now_ms - window_ms)
    start = start - (start - path.origin_ms) % MINUTE_MS
    rows = _rows_until(path, start, now_ms)
    first_minute = (start - path.origin_ms) // MINUTE_MS
    previous_close, next_trade = path.price_before(first_minute)
    row = _empty_row(previous_close, next_trade) if rows is None else aggregate_rows(rows)
    trades = int(row[TRADES])
    return RollingTicker(
        symbol=path.rules.symbol,
        open_time=start,
        close_time=now_ms,
        open=int(row[OPEN]),
        high=int(row[HIGH]),
        low=int(row[LOW]),
        last=int(row[CLOSE]),
        previous_close=previous_close,
        volume=int(row[VOLUME]),
        quote_volume=int(row[QUOTE_VOLUME]),
        trades=trades,
        first_trade=int(row[FIRST_TRADE]) if trades else -1,
        last_trade=int(row[FIRST_TRADE]) + trades - 1 if trades else -1,
    )


def last_price(path: PricePath, now_ms: int) -> int:
    """The price of the latest trade at `now_ms`."""
    origin = path.origin_ms
    if now_ms <= origin:
        return path.price_before(0)[0]
    minute = (now_ms - origin) // MINUTE_MS
    partial = path.partial_minute(minute, (now_ms - origin) % MINUTE_MS)
    if partial is not None:
        return int(partial[CLOSE])
    return path.price_before(minute)[0]


def _seconds_slice(path: PricePath, minute: int, first: int, end: int) -> IntArray | None:
    seconds = path.second_rows(minute)
    if seconds is not None:
        return seconds[first:end]
    if end >= SECONDS_PER_MINUTE:
        return path.minute_rows(minute, minute + 1)
    partial = path.partial_minute(minute, end * SECOND_MS)
    return None if partial is None else partial[None, :]


def traded_range(path: PricePath, start_ms: int, end_ms: int) -> tuple[int, int] | None:
    """(lowest, highest) trade revealed after `start_ms` and by `end_ms`, to the second where seconds exist.

    A resting limit order fills when this range reaches its price; the second a trade belongs to is
    revealed when it ends, as `last_price` reveals it.
    """
    origin = path.origin_ms
    first_second = max(0, (start_ms - origin) // SECOND_MS)
    end_second = max(0, (end_ms - origin) // SECOND_MS)
    if end_second <= first_second:
        return None
    first_minute, first_offset = divmod(first_second, SECONDS_PER_MINUTE)
    end_minute, end_offset = divmod(end_second, SECONDS_PER_MINUTE)
    parts: list[IntArray | None] = []
    if first_minute == end_minute:
        parts.append(_seconds_slice(path, first_minute, first_offset, end_offset))
    else:
        parts.append(_seconds_slice(path, first_minute, first_offset, SECONDS_PER_MINUTE))
        if end_minute > first_minute + 1:
            parts.append(path.minute_rows(first_minute + 1, end_minute))
        if end_offset:
            parts.append(_seconds_slice(path, end_minute, 0, end_offset))
    rows = [part for part in parts if part is not None and part.shape[0]]
    if not rows:
        return None
    return min(int(part[:, LOW].min()) for part in rows), max(int(part[:, HIGH].max()) for part in rows)
