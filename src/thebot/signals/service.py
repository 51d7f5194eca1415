"""AnalyticsService: indicators and signals on every stream, behind the few methods the page calls.

DataStream observers run on the websocket loop thread, so they only queue work: one analytics worker
thread opens evaluators (replaying the buffered history, which takes a fraction of a second), commits
closed candles and peeks at forming ones. Forming updates are coalesced per stream: only the newest one
matters, so a fast feed cannot build a backlog.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from thebot.config import Settings
from thebot.events import Event, SignalRaised, SignalWithdrawn
from thebot.indicators import IndicatorError, IndicatorFactory
from thebot.market.datastream import DataStream
from thebot.market.models import Candle, CandleSnapshot, StreamKey
from thebot.market.timeframe import Timeframe
from thebot.signals.aggregator import SignalAggregator
from thebot.signals.engine import StreamEvaluator, evaluate_history, to_signal
from thebot.signals.history import SignalHistory
from thebot.signals.models import Signal, SignalEvent, SignalEventKind
from thebot.signals.quality import RuleQuality, signal_quality
from thebot.signals.rules import build_rules
from thebot.signals.settings import SignalSettings

logger = logging.getLogger(__name__)

SERIES_CACHE_SIZE = 64
_STOP = object()
# How often the worker looks for streams that have history but no evaluator yet. Without this a stream
# would wait for its first close, which for a 1d candle at real speed can be a day away.
_OPEN_SCAN_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class _Closed:
    key: StreamKey
    candle: Candle


@dataclass(frozen=True, slots=True)
class _Reconfigure:
    """New `[signals]` settings, applied on the worker between two candles; `rebuild` when rules or
    their parameters changed (weights, window and cooldown need no replay)."""

    settings: SignalSettings
    rebuild: bool


@dataclass(frozen=True, slots=True)
class _Forget:
    """Drop a symbol's evaluators and signals: it is no longer streamed."""

    symbol: str


@dataclass(frozen=True, slots=True)
class _Timeframes:
    """Evaluate exactly these timeframes: a dropped one's evaluators and signals go; a new one's streams
    open on the worker's next scan once their history arrives."""

    timeframes: tuple[Timeframe, ...]


# Keys the aggregator reads at query time: changing them needs no rule rebuild or history replay.
_AGGREGATE_ONLY = ("signals.rule_weights.", "signals.timeframe_weights.", "signals.lookback_bars")


@dataclass(frozen=True, slots=True)
class _Open:
    """Open `key` on its closed candles up to `through_open_time`. Queued behind the closes already
    waiting, so that none of them is mistaken for history, and ahead of later ones, which stay news."""

    key: StreamKey
    through_open_time: int


def bus_event(event: SignalEvent) -> Event:
    """The aggregator's news as a bus event: raised (final or provisional) or withdrawn."""
    signal = event.signal
    if event.kind is SignalEventKind.WITHDRAWN:
        return SignalWithdrawn(
            symbol=signal.symbol, timeframe=signal.timeframe.value, time=signal.time, rule=signal.rule
        )
    return SignalRaised(
        symbol=signal.symbol,
        timeframe=signal.timeframe.value,
        time=signal.time,
        side=signal.side.value,
        rule=signal.rule,
        strength=signal.strength,
        price=signal.price,
        reason=signal.reason,
        provisional=signal.provisional,
    )


class AnalyticsService:
    def __init__(
        self,
        settings: Settings,
        datastream: DataStream,
        connection: Any,
        publish: Callable[[Event], None] | None = None,
    ) -> None:
        self._settings: SignalSettings = getattr(settings, "signals", None) or SignalSettings()
        self._datastream = datastream
        self.factory = IndicatorFactory()
        self._rules = build_rules(self.factory, self._settings)
        self.history = SignalHistory(connection)
        outlet = (lambda event: publish(bus_event(event))) if publish is not None else None
        self.aggregator = SignalAggregator(
            self._settings, datastream.timeframes, self.history, publish=outlet
        )
        self._evaluators: dict[StreamKey, StreamEvaluator] = {}
        self._queue: queue.Queue[object] = queue.Queue()
        self._forming: dict[StreamKey, Candle] = {}
        self._forming_lock = threading.Lock()
        self._open_requested: set[StreamKey] = set()  # worker thread only
        self._worker: threading.Thread | None = None
        self._subscribed = False
        self._running = False
        self._series_cache: OrderedDict[tuple[Any, ...], list[dict[str, Any]]] = OrderedDict()
        self._columns_cache: OrderedDict[tuple[Any, ...], dict[str, np.ndarray[Any, Any]]] = OrderedDict()
        self._cache_lock = threading.Lock()
        # Streams of symbols outside this set are neither opened nor evaluated (a removed symbol's
        # buffers may outlive its removal by a moment).
        self._symbols: frozenset[str] = frozenset(datastream.symbols())
        # Likewise for timeframes: closes already queued for a dropped timeframe are skipped.
        self._timeframes: frozenset[Timeframe] = frozenset(datastream.timeframes)

    @property
    def settings(self) -> SignalSettings:
        return self._settings

    # -- lifecycle -----------------------------------------------------------------------------------

    def start(self) -> AnalyticsService:
        if self._running:
            return self
        self._running = True
        self._worker = threading.Thread(target=self._work, name="thebot-analytics", daemon=True)
        self._worker.start()
        if not self._subscribed:
            # DataStream has no unsubscribe; stop() turns the observers into no-ops instead. The update
            # observer only when provisional signals are on: any update observer makes the socket's hot
            # path build a Candle per message.
            self._datastream.add_close_observer(self._on_close)
            if self._settings.provisional:
                self._datastream.add_update_observer(self._on_update)
            self._subscribed = True
        return self

    def stop(self, timeout: float = 5.0) -> None:
        if not self._running:
            return
        self._running = False
        self._queue.put(_STOP)
        if self._worker is not None:
            self._worker.join(timeout)
            if self._worker.is_alive():
                logger.warning("analytics worker did not stop within %.1f s", timeout)
        self._worker = None

    def status(self) -> dict[str, int]:
        """For `/api/health`: streams with an evaluator against streams followed (they differ while the
        start-up history is replayed, which with many symbols takes minutes of CPU) and queued work."""
        followed = sum(1 for key in self._datastream.keys() if self._follows(key))
        return {"streams_open": len(self._evaluators), "streams": followed, "queued": self._queue.qsize()}

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until queued candles are processed (tests and the benchmark); False on timeout."""
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout)

    # -- settings (the bus worker: only queue) --------------------------------------------------------

    def apply_settings(self, settings: Settings, keys: tuple[str, ...]) -> None:
        """React to the keys this service owns: `market.symbols`, `market.timeframes` and every
        `signals.*` key."""
        if "market.timeframes" in keys:
            timeframes = tuple(settings.market.timeframes)
            self._timeframes = frozenset(timeframes)
            # The confluence reads its timeframes at query time: it changes now, not behind the candles
            # queued for the worker, which then drops the evaluators of a removed timeframe.
            self.aggregator.set_timeframes(timeframes)
            self._queue.put(_Timeframes(timeframes))
        if "market.symbols" in keys:
            wanted = frozenset(settings.market.symbols)
            for symbol in sorted(self._symbols - wanted):
                self._queue.put(_Forget(symbol))
            self._symbols = wanted
        signal_keys = [key for key in keys if key.startswith("signals.")]
        if not signal_keys:
            return
        if any(not key.startswith(_AGGREGATE_ONLY) for key in signal_keys):
            self._queue.put(_Reconfigure(settings.signals, rebuild=True))
        else:
            # Weights and the window are read at query time under the aggregator's lock: no need to wait
            # behind the candles queued for the worker.
            self._settings = settings.signals
            self.aggregator.reconfigure(settings.signals, forget=False)
            logger.info("signal weights updated")

    def _reconfigure(self, item: _Reconfigure) -> None:
        self._settings = item.settings
        if item.rebuild:
            self._rules = build_rules(self.factory, item.settings)
            self._evaluators.clear()
            self._open_requested.clear()
        self.aggregator.reconfigure(item.settings, forget=item.rebuild)
        if item.rebuild:
            reopened = self.request_waiting_opens()
            logger.info("signal rules rebuilt; recomputing %d streams", reopened)

    def _forget(self, symbol: str) -> None:
        for key in [key for key in self._evaluators if key.symbol == symbol]:
            del self._evaluators[key]
        self._open_requested = {key for key in self._open_requested if key.symbol != symbol}
        with self._forming_lock:
            for key in [key for key in self._forming if key.symbol == symbol]:
                del self._forming[key]
        self.aggregator.remove_symbol(symbol)
        logger.info("analytics dropped %s", symbol)

    def _follows(self, key: StreamKey) -> bool:
        """Whether `key` is still streamed by the settings (its buffers may outlive a removal a moment)."""
        return key.symbol in self._symbols and key.timeframe in self._timeframes

    def _set_timeframes(self, timeframes: tuple[Timeframe, ...]) -> None:
        for key in [key for key in self._evaluators if key.timeframe not in timeframes]:
            del self._evaluators[key]
        self._open_requested = {key for key in self._open_requested if key.timeframe in timeframes}
        with self._forming_lock:
            for key in [key for key in self._forming if key.timeframe not in timeframes]:
                del self._forming[key]
        logger.info("analytics on timeframes %s", ", ".join(timeframe.value for timeframe in timeframes))

    # -- observers (websocket loop thread: only queue) -----------------------------------------------

    def _on_close(self, key: StreamKey, candle: Candle) -> None:
        if self._running:
            self._queue.put(_Closed(key, candle))

    def _on_update(self, key: StreamKey, candle: Candle) -> None:
        if not self._running or candle.closed:
            return
        with self._forming_lock:
            already = key in self._forming
            self._forming[key] = candle
        if not already:
            self._queue.put(key)

    # -- worker --------------------------------------------------------------------------------------

    def _work(self) -> None:
        next_scan = 0.0
        while True:
            try:
                item: object = self._queue.get(timeout=_OPEN_SCAN_SECONDS)
            except queue.Empty:
                item = None
            # Stop ahead of any backlog: a busy venue can queue many closes, and a thread still inside
            # TA-Lib or DuckDB when the interpreter exits aborts the process.
            if item is _STOP or not self._running:
                if isinstance(item, threading.Event):
                    item.set()
                return
            now = time.monotonic()
            if now >= next_scan:
                next_scan = now + _OPEN_SCAN_SECONDS
                try:
                    self.request_waiting_opens()
                except Exception:
                    logger.exception("analytics could not open waiting streams; retrying in a second")
            try:
                if item is None:
                    continue
                if isinstance(item, threading.Event):
                    item.set()
                elif isinstance(item, _Closed):
                    if self._follows(item.key):
                        self.process_close(item.key, item.candle)
                elif isinstance(item, _Reconfigure):
                    self._reconfigure(item)
                elif isinstance(item, _Forget):
                    self._forget(item.symbol)
                elif isinstance(item, _Timeframes):
                    self._set_timeframes(item.timeframes)
                elif isinstance(item, _Open):
                    self._open_requested.discard(item.key)
                    if item.key not in self._evaluators and self._follows(item.key):
                        self._open(item.key, item.through_open_time + item.key.timeframe.milliseconds)
                elif isinstance(item, StreamKey):
                    with self._forming_lock:
                        candle = self._forming.pop(item, None)
                    if candle is not None and self._follows(item):
                        self.process_forming(item, candle)
            except Exception:
                logger.exception("analytics failed on %r; the stream continues with the next candle", item)

    def process_close(self, key: StreamKey, candle: Candle) -> None:
        """Commit one closed candle of `key` and hand its signals to the aggregator."""
        evaluator = self._evaluators.get(key)
        last = None if evaluator is None else evaluator.last_open_time
        if last is not None and candle.open_time <= last:
            return  # already seen (a late duplicate)
        if (
            evaluator is None
            or last is None
            or candle.open_time != last + key.timeframe.milliseconds
            or self._history_grew(key, evaluator, candle)
        ):
            evaluator = self._open(key, candle.open_time)
        hits = evaluator.close(candle)
        signals = [to_signal(hit, key.symbol, key.timeframe, candle, provisional=False) for hit in hits]
        self.aggregator.close_bar(key.symbol, key.timeframe, candle.open_time, signals)

    def process_forming(self, key: StreamKey, candle: Candle) -> None:
        evaluator = self._evaluators.get(key)
        last = None if evaluator is None else evaluator.last_open_time
        if evaluator is None or last is None or candle.open_time != last + key.timeframe.milliseconds:
            return  # not caught up with this stream yet; the next close opens it
        hits = evaluator.forming(candle)
        signals = [to_signal(hit, key.symbol, key.timeframe, candle, provisional=True) for hit in hits]
        self.aggregator.provisional_bar(key.symbol, key.timeframe, candle.open_time, signals)

    def _history_grew(self, key: StreamKey, evaluator: StreamEvaluator, candle: Candle) -> bool:
        """True when backfill merged older candles behind an evaluator opened on a short history (live
        candles often arrive before the REST backfill): reopening warms the indicators up at once and
        replays the signals of the backfilled history. Checked only until the evaluator has a full buffer."""
        if evaluator.count >= self._datastream.capacity:
            return False
        snapshot = self._datastream.snapshot(key.symbol, key.timeframe)
        before = int(np.searchsorted(snapshot.open_time, candle.open_time, side="left"))
        return before > evaluator.count

    def request_waiting_opens(self) -> int:
        """Queue an opening for every stream that has closed candles but no evaluator yet (history from
        the store or the backfill arrives without close events); returns how many were queued."""
        requested = 0
        for key in self._datastream.keys():
            if key in self._evaluators or key in self._open_requested or not self._follows(key):
                continue
            newest = self._datastream.snapshot(key.symbol, key.timeframe, limit=2)
            closed_times = newest.open_time[newest.closed]
            if closed_times.size == 0:
                continue  # nothing closed yet: look again on the next scan
            self._open_requested.add(key)
            self._queue.put(_Open(key, int(closed_times[-1])))
            requested += 1
        return requested

    def _open(self, key: StreamKey, before_open_time: int) -> StreamEvaluator:
        """A fresh evaluator on the buffered closed candles before `before_open_time`, their signals
        replayed into the aggregator as history (no observer calls: they are not news)."""
        snapshot = self._datastream.snapshot(key.symbol, key.timeframe)
        count = int(np.searchsorted(snapshot.open_time, before_open_time, side="left"))
        history = snapshot.head(count)
        if count and not bool(history.closed.all()):
            history = history.head(int(np.argmin(history.closed)))
        if len(history):
            replayed = [
                to_signal(hit, key.symbol, key.timeframe, history.candle(index), provisional=False)
                for index, hit in evaluate_history(self.factory, self._rules, history)
            ]
            self.aggregator.load_history(key.symbol, key.timeframe, replayed, int(history.open_time[-1]))
        evaluator = StreamEvaluator(self.factory, self._rules, history)
        self._evaluators[key] = evaluator
        logger.info("analytics opened %s on %d closed candles", key, len(history))
        return evaluator

    # -- what the page calls -------------------------------------------------------------------------

    def open_streams(self) -> list[StreamKey]:
        """Streams with a live evaluator (health and tests)."""
        return list(self._evaluators)

    def indicator_catalog(self) -> list[dict[str, Any]]:
        return [info.as_dict() for info in self.factory.catalog()]

    def indicator_series(
        self,
        symbol: str,
        timeframe: Timeframe | str,
        name: str,
        params: Mapping[str, object] | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """[{"open_time": int, "values": {output: float | None}}] oldest first, the forming candle last.

        Computed over the whole buffer (so warm-up does not eat the visible window), then cut to `limit`.
        Raises `IndicatorError` naming a bad name or parameter.
        """
        spec = self.factory.spec(name, params)
        frame = _timeframe(timeframe)
        version = self._datastream.version(symbol, frame)
        cache_key = (symbol, frame, spec, limit, version)
        with self._cache_lock:
            cached = self._series_cache.get(cache_key)
            if cached is not None:
                self._series_cache.move_to_end(cache_key)
                return cached
        try:
            snapshot = self._datastream.snapshot(symbol, frame)
        except KeyError:
            raise IndicatorError(f"no stream for {symbol} {frame.value}", parameter="symbol") from None
        outputs = self.factory.compute(spec, snapshot)
        start = 0 if limit is None else max(0, len(snapshot) - limit)
        times = snapshot.open_time[start:].tolist()
        columns = {
            output: np.asarray(series[start:], dtype=np.float64).tolist()
            for output, series in outputs.items()
        }
        rows = [
            {
                "open_time": open_time,
                "values": {
                    output: (None if math.isnan(column[index]) else column[index])
                    for output, column in columns.items()
                },
            }
            for index, open_time in enumerate(times)
        ]
        with self._cache_lock:
            self._series_cache[cache_key] = rows
            while len(self._series_cache) > SERIES_CACHE_SIZE:
                self._series_cache.popitem(last=False)
        return rows

    def indicator_columns(
        self, snapshot: CandleSnapshot, name: str, params: Mapping[str, object] | None = None
    ) -> dict[str, np.ndarray[Any, Any]]:
        """Outputs aligned with `snapshot`'s rows (a whole-buffer snapshot, so warm-up happens before
        the visible window), cached by stream, version and length: every open page asks for the same
        version of the same stream, and only the first ask computes. Callers must not modify them."""
        spec = self.factory.spec(name, params)
        cache_key = (snapshot.symbol, snapshot.timeframe, spec, snapshot.version, len(snapshot))
        with self._cache_lock:
            cached = self._columns_cache.get(cache_key)
            if cached is not None:
                self._columns_cache.move_to_end(cache_key)
                return cached
        outputs = {
            output: np.asarray(values, dtype=np.float64)
            for output, values in self.factory.compute(spec, snapshot).items()
        }
        with self._cache_lock:
            self._columns_cache[cache_key] = outputs
            while len(self._columns_cache) > SERIES_CACHE_SIZE:
                self._columns_cache.popitem(last=False)
        return outputs

    def signals(
        self, symbol: str, timeframe: Timeframe | str | None = None, limit: int = 100
    ) -> list[Signal]:
        """Newest first; provisional signals are included and flagged."""
        frame = None if timeframe is None else _timeframe(timeframe)
        return self.aggregator.signals(symbol, frame, limit)

    def signal_count(self, symbol: str, since: int) -> int:
        """Final signals of `symbol` on candles opened at or after `since` (ms), every timeframe."""
        return self.aggregator.count_since(symbol, since)

    def signals_version(self) -> int:
        return self.aggregator.version

    def confluence(self, symbol: str) -> dict[str, Any]:
        return self.aggregator.confluence(symbol).as_dict()

    def quality(
        self, symbol: str, timeframe: Timeframe | str, horizon: int | None = None
    ) -> list[RuleQuality]:
        """Hit rate and mean forward return per rule over stored signals and the buffered candles."""
        frame = _timeframe(timeframe)
        snapshot = self._datastream.snapshot(symbol, frame)
        since = int(snapshot.open_time[0]) if len(snapshot) else None
        stored = self.history.query(symbol, frame, since=since)
        return signal_quality(stored, snapshot, horizon or self._settings.quality_horizon_bars)


def _timeframe(value: Timeframe | str) -> Timeframe:
    if isinstance(value, Timeframe):
        return value
    try:
        return Timeframe(value)
    except ValueError:
        allowed = ", ".join(item.value for item in Timeframe)
        raise IndicatorError(
            f"unknown timeframe '{value}'; use one of {allowed}", parameter="timeframe"
        ) from None
