"""AlertManager: evaluates rules on stream events and turns firings into durable alerts.

Event driven, never polling: closed candles, signals and health changes come from the bus; forming
prices (too hot for the bus) come from a DataStream update observer that only queues, coalesced per
stream and only for symbols that have live price rules. One worker thread owns every rule's state, so
evaluation needs no locks beyond the rule table's.

A firing is written (alert row + the rule's fired state, one transaction) before it is published or
handed to a notifier: a crash after the write loses nothing and a replayed close is refused by the
store's unique key, so it does not fire twice.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from thebot import events
from thebot.alerts.conditions import RuleState, Sample, render, step, trigger_allows
from thebot.alerts.models import (
    Alert,
    AlertStatus,
    AlertType,
    Condition,
    Rule,
    RuleKind,
    SignalCondition,
    Trigger,
)
from thebot.alerts.notifiers import NotifierHub
from thebot.alerts.rules import FIELDS, IndicatorCheck, RuleError, parse_rule
from thebot.alerts.settings import AlertSettings
from thebot.alerts.store import AlertStore
from thebot.events import (
    AlertFired,
    BackfillProgress,
    CalendarEventSoon,
    CandleClosed,
    ConnectionChanged,
    EventBus,
    SignalRaised,
    StreamFresh,
    StreamStale,
    now_ms,
)
from thebot.market.models import Candle, StreamKey
from thebot.market.timeframe import Timeframe

logger = logging.getLogger(__name__)

CLOSES_KEPT = 1001
EXPIRE_SWEEP_SECONDS = 2.0
_STOP = object()
HEALTH_CONNECTION = "health:connection"
HEALTH_STALE = "health:stale"
HEALTH_FEED = "health:feed"
HEALTH_BACKFILL = "health:backfill"
CALENDAR = "calendar"
EXTERNAL_CHANNELS = ("webhook", "telegram", "email")

# (symbol, timeframe, indicator, params, limit) -> rows [{"open_time", "values": {output: float|None}}]
IndicatorSeries = Callable[[str, str, str, Mapping[str, Any], int | None], list[dict[str, Any]]]
# (indicator, params, candles) -> {output: array}; the evidence replay computes over a snapshot
GradeOf = Callable[[str], str]


class CandleSource(Protocol):
    """The part of DataStream the manager reads."""

    def add_update_observer(self, observer: Callable[[StreamKey, Candle], Any]) -> None: ...
    def snapshot(self, symbol: str, timeframe: Timeframe, limit: int | None = None) -> Any: ...
    def last_candle(self, symbol: str, timeframe: Timeframe) -> Candle | None: ...
    def keys(self) -> list[StreamKey]: ...


@dataclass(frozen=True, slots=True)
class Evidence:
    """How often a rule would have fired over the buffered closed candles (bar-close semantics)."""

    fired: int
    candles: int
    times: tuple[int, ...]

    def sentence(self) -> str:
        times = "once" if self.fired == 1 else f"{self.fired:,} times"
        return f"would have fired {times} in the last {self.candles:,} candles"


@dataclass(frozen=True, slots=True)
class _Forming:
    key: tuple[str, str]
    observed_at: int


@dataclass(frozen=True, slots=True)
class _Observed:
    event: events.Event
    observed_at: int


@dataclass(frozen=True, slots=True)
class _Compiled:
    """A rule with what its evaluation needs precomputed once, not per close."""

    rule: Rule
    condition: Condition
    cooldown_ms: int
    back_ms: int  # moving %: how far back the reference close is; 0 otherwise
    on_close: bool  # evaluated on closes (bar close rules, indicators) rather than the forming stream


def _compile(rule: Rule) -> _Compiled:
    condition = Condition(rule.condition)
    moving = condition in (Condition.MOVING_UP_PERCENT, Condition.MOVING_DOWN_PERCENT)
    return _Compiled(
        rule=rule,
        condition=condition,
        cooldown_ms=int(rule.cooldown_seconds * 1000),
        back_ms=rule.bars * Timeframe(rule.timeframe).milliseconds if moving else 0,
        on_close=rule.kind is not RuleKind.PRICE or rule.trigger is Trigger.ONCE_PER_BAR_CLOSE,
    )


def _fmt(value: float) -> str:
    return f"{value:,.8g}" if abs(value) < 1e6 else f"{value:,.2f}"


class AlertManager:
    def __init__(
        self,
        settings: AlertSettings,
        store: AlertStore,
        bus: EventBus | None = None,
        *,
        symbols: Sequence[str] = (),
        timeframes: Sequence[str] = (),
        datastream: CandleSource | None = None,
        indicator_series: IndicatorSeries | None = None,
        check_indicator: IndicatorCheck | None = None,
        compute_indicator: Callable[[str, Mapping[str, Any], Any], Mapping[str, Any]] | None = None,
        grade_of: GradeOf | None = None,
        notifiers: NotifierHub | None = None,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self.settings = settings
        self.store = store
        self._bus = bus
        self._symbols = list(symbols)
        self._timeframes = list(timeframes)
        self._datastream = datastream
        self._indicator_series = indicator_series
        self._check_indicator = check_indicator
        self._compute_indicator = compute_indicator
        self._grade_of = grade_of
        self._notifiers = notifiers
        self._clock = clock
        self._lock = threading.Lock()  # guards the rule table against the API threads
        self._rules: dict[str, Rule] = {}
        self._states: dict[str, RuleState] = {}
        self._by_stream: dict[tuple[str, str], list[_Compiled]] = {}
        self._compiled: dict[str, _Compiled] = {}
        self._batch: list[tuple[Alert, str, RuleState | None]] | None = None
        self._forming_symbols: frozenset[str] = frozenset()
        self._closes: dict[tuple[str, str], deque[tuple[int, float]]] = {}
        self._last_close: dict[tuple[str, str], int] = {}
        self._grades: dict[str, str] = {}
        # health state (worker thread only)
        self._disconnected_at: float | None = None
        self._connection_alerted = False
        self._stale: set[tuple[str, str]] = set()
        self._feed_alerted = False
        self._backfill_failed = 0
        self._health_seq = 0
        # worker
        self._queue: queue.Queue[object] = queue.Queue()
        self._forming: dict[tuple[str, str], Candle] = {}
        self._forming_lock = threading.Lock()
        self._worker: threading.Thread | None = None
        self._subscription: events.Subscription | None = None
        self._running = False
        self._observing = False
        self._last_sweep = 0.0
        self.evaluations = 0
        for rule, state in store.load_rules():
            self._rules[rule.id] = rule
            self._states[rule.id] = state
        self._reindex()

    # -- lifecycle -----------------------------------------------------------------------------------

    def set_streams(self, symbols: Sequence[str], timeframes: Sequence[str]) -> None:
        """What a new rule may watch, after the settings changed the streamed symbols or timeframes.
        Rules already stored stay (a rule on a dropped stream just waits for it to come back)."""
        with self._lock:
            self._symbols = list(symbols)
            self._timeframes = list(timeframes)

    def start(self) -> AlertManager:
        if self._running:
            return self
        self._running = True
        self._worker = threading.Thread(target=self._work, name="thebot-alerts", daemon=True)
        self._worker.start()
        if self._bus is not None and self._subscription is None:
            types: list[type[events.Event]] = [
                CandleClosed,
                SignalRaised,
                ConnectionChanged,
                StreamStale,
                StreamFresh,
                BackfillProgress,
                CalendarEventSoon,
            ]
            self._subscription = self._bus.subscribe(tuple(types), self._on_event, name="alerts")
        self._observe_if_needed()
        if self._notifiers is not None:
            self._notifiers.start()
        return self

    def _observe_if_needed(self) -> None:
        """Watch forming prices only once a rule needs them: any update observer makes the socket's hot
        path build a Candle per message. DataStream has no unsubscribe; stop() makes it a no-op."""
        if self._running and self._forming_symbols and self._datastream is not None and not self._observing:
            self._datastream.add_update_observer(self._on_update)
            self._observing = True

    def stop(self, timeout: float = 5.0) -> None:
        if not self._running:
            return
        self._running = False
        if self._bus is not None and self._subscription is not None:
            self._bus.unsubscribe(self._subscription)
            self._subscription = None
        self._queue.put(_STOP)
        if self._worker is not None:
            self._worker.join(timeout)
        self._worker = None
        if self._notifiers is not None:
            self._notifiers.stop()

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Block until everything queued so far is evaluated (tests)."""
        if self._bus is not None:
            self._bus.wait_idle(timeout)
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout)

    # -- intake (other threads: only queue) ----------------------------------------------------------

    def _on_event(self, event: events.Event) -> None:
        self._queue.put(_Observed(event, self._clock()))

    def _on_update(self, key: StreamKey, candle: Candle) -> None:
        if not self._running or key.symbol not in self._forming_symbols:
            return
        stream = (key.symbol, key.timeframe.value)
        with self._forming_lock:
            already = stream in self._forming
            self._forming[stream] = candle
        if not already:
            self._queue.put(_Forming(stream, self._clock()))

    def _work(self) -> None:
        while True:
            try:
                item = self._queue.get(timeout=0.5)
            except queue.Empty:
                item = None
            try:
                if item is _STOP:
                    return
                if isinstance(item, threading.Event):
                    item.set()
                elif isinstance(item, _Forming):
                    with self._forming_lock:
                        candle = self._forming.pop(item.key, None)
                    if candle is not None:
                        self.process_price(item.key[0], item.key[1], candle, item.observed_at)
                elif isinstance(item, _Observed):
                    self.process(item.event, item.observed_at)
                self._tick()
            except Exception:
                logger.exception("alert evaluation failed; the next event is evaluated as usual")

    def _tick(self) -> None:
        now = time.monotonic()
        if (
            self._disconnected_at is not None
            and not self._connection_alerted
            and now - self._disconnected_at >= self.settings.connection_lost_seconds
        ):
            self._connection_alerted = True
            self._health(
                HEALTH_CONNECTION,
                "Connection lost",
                f"No market data connection for {self.settings.connection_lost_seconds:g} s; "
                "reconnecting. Charts and alerts resume when it is back.",
            )
        if now - self._last_sweep >= EXPIRE_SWEEP_SECONDS:
            self._last_sweep = now
            self.store.expire_due(self._clock())

    # -- evaluation (worker thread; tests and the benchmark call these directly) ---------------------

    def process(self, event: events.Event, observed_at: int | None = None) -> None:
        observed = self._clock() if observed_at is None else observed_at
        if isinstance(event, CandleClosed):
            self.process_close(event, observed)
        elif isinstance(event, SignalRaised):
            self.process_signal(event, observed)
        elif isinstance(event, ConnectionChanged | StreamStale | StreamFresh | BackfillProgress):
            self.process_health(event)
        elif isinstance(event, CalendarEventSoon):
            when = datetime.fromtimestamp(event.start / 1000, UTC).strftime("%H:%M UTC")
            message = (
                f"{event.title} ({event.country}, {event.importance} importance) starts at {when}, "
                f"in {event.minutes_before:g} min."
            )
            self._health(CALENDAR, event.title, message, AlertType.INFO)

    def process_close(self, event: CandleClosed, observed_at: int) -> None:
        stream = (event.symbol, event.timeframe)
        last = self._last_close.get(stream)
        if last is not None and event.open_time <= last:
            return  # a close seen already (a second publisher, a replay): evaluated once
        self._last_close[stream] = event.open_time
        closes = self._closes_for(stream)
        if not closes or closes[-1][0] < event.open_time:
            closes.append((event.open_time, event.close))
        compiled = self._by_stream.get(stream)
        if not compiled:
            return
        now = self._clock()
        previous_close = self._previous_close(stream, event.open_time)
        indicator_rows: dict[tuple[str, tuple[tuple[str, Any], ...]], dict[str, Any] | None] = {}
        self._batch = []
        try:
            for item in compiled:
                rule = item.rule
                if rule.kind is RuleKind.PRICE:
                    if not item.on_close and self._observing:
                        continue  # evaluated on the forming stream, which also carries the close
                    current, level = event.close, rule.value
                else:
                    spec = (rule.indicator or "", rule.params)
                    if spec not in indicator_rows:
                        indicator_rows[spec] = self._indicator_row(event, rule)
                    row = indicator_rows[spec]
                    if row is None:
                        continue
                    values = row["values"]
                    current = values.get(rule.output)
                    level = values.get(rule.output2) if rule.output2 else rule.value
                    if current is None or level is None:
                        continue  # warm-up
                self._evaluate(
                    item,
                    current,
                    level,
                    event.open_time,
                    True,
                    now,
                    observed_at,
                    event.close,
                    previous_close if rule.kind is RuleKind.PRICE else None,
                )
        finally:
            batch, self._batch = self._batch, None
            # One transaction for every rule that fired on this close, written before anyone is told.
            if batch:
                self._record_many(batch)

    def process_price(self, symbol: str, timeframe: str, candle: Candle, observed_at: int) -> None:
        compiled = self._by_stream.get((symbol, timeframe))
        if not compiled:
            return
        now = self._clock()
        for item in compiled:
            if item.rule.kind is RuleKind.PRICE and not item.on_close:
                self._evaluate(
                    item,
                    candle.close,
                    item.rule.value,
                    candle.open_time,
                    candle.closed,
                    now,
                    observed_at,
                    candle.close,
                )

    def _evaluate(  # noqa: PLR0917 - the hot path: positional on purpose
        self,
        item: _Compiled,
        current: float,
        level: float,
        bar_open_time: int,
        closed: bool,
        now: int,
        observed_at: int,
        close: float,
        previous_fallback: float | None = None,
    ) -> None:
        rule = item.rule
        if rule.expires_at is not None and now >= rule.expires_at:
            return
        self.evaluations += 1
        state = self._states.get(rule.id) or RuleState()
        if state.previous is None and previous_fallback is not None:
            state = replace(state, previous=previous_fallback)
        reference = None
        if item.back_ms:
            reference = self._close_at((rule.symbol, rule.timeframe), bar_open_time - item.back_ms)
        fired, after = step(
            item.condition,
            rule.trigger,
            state,
            Sample(current, level, bar_open_time, closed, now, rule.value2, reference),
            hysteresis=rule.hysteresis,
            cooldown_ms=item.cooldown_ms,
        )
        self._states[rule.id] = after
        if fired:
            self._fire(rule, after, bar_open_time, current, close, observed_at, now)

    def process_signal(self, event: SignalRaised, observed_at: int) -> None:
        if event.provisional:
            return  # may be withdrawn: an alert must never fire on data that later changes
        now = self._clock()
        grade: str | None = None
        for rule in list(self._rules.values()):
            if (
                rule.kind is not RuleKind.SIGNAL
                or rule.symbol != event.symbol
                or rule.timeframe != event.timeframe
                or rule.paused
                or (rule.expires_at is not None and now >= rule.expires_at)
            ):
                continue
            state = self._states.get(rule.id, RuleState())
            if rule.condition == SignalCondition.GRADE:
                if grade is None:
                    grade = self._grade_of(event.symbol) if self._grade_of is not None else ""
                before = self._grades.get(rule.id)
                self._grades[rule.id] = grade
                # The first grade seen only records, as a crossing's first sample does: a rule created
                # (or restarted) while the grade already is the target does not fire for it.
                if before is None or grade != rule.output or before == grade:
                    continue
                alert_type = AlertType.SELL if "SELL" in grade else AlertType.BUY
            else:
                side = event.side.lower()
                if rule.condition not in (SignalCondition.ANY, side) or event.strength < rule.value:
                    continue
                alert_type = AlertType.SELL if side == "sell" else AlertType.BUY
            if not trigger_allows(
                rule.trigger,
                state,
                bar_open_time=event.time,
                closed=True,
                now_ms=now,
                cooldown_ms=int(rule.cooldown_seconds * 1000),
            ):
                continue
            after = replace(
                state,
                last_fired_bar=event.time,
                last_fired_ms=now,
                fired_count=state.fired_count + 1,
                done=rule.trigger is Trigger.ONCE,
            )
            self._states[rule.id] = after
            self._fire(
                replace(rule, alert_type=alert_type),
                after,
                event.time,
                event.strength,
                event.price,
                observed_at,
                now,
                detail=f"{event.side} {event.rule} strength {event.strength:.2f}: {event.reason}",
            )

    def process_health(self, event: events.Event) -> None:
        if not self.settings.health:
            return
        if isinstance(event, ConnectionChanged):
            if event.connected:
                self._disconnected_at = None
                self._connection_alerted = False
            elif self._disconnected_at is None:
                self._disconnected_at = time.monotonic()
        elif isinstance(event, StreamStale):
            stream = (event.symbol, event.timeframe)
            if stream in self._stale:
                return
            self._stale.add(stream)
            known = len(self._datastream.keys()) if self._datastream is not None else 0
            if known and len(self._stale) >= known:
                if not self._feed_alerted:
                    self._feed_alerted = True
                    self._health(
                        HEALTH_FEED,
                        "Feed down",
                        "No stream has updated recently; the data source may be down. Check the "
                        "connection badge; streams resume by themselves.",
                    )
                return
            self._health(
                HEALTH_STALE,
                f"{event.symbol} {event.timeframe} stale",
                f"No update for {event.age_ms / 1000:.0f} s on {event.symbol} {event.timeframe}.",
                symbol=event.symbol,
                timeframe=event.timeframe,
            )
        elif isinstance(event, StreamFresh):
            self._stale.discard((event.symbol, event.timeframe))
            if not self._stale:
                self._feed_alerted = False
        elif isinstance(event, BackfillProgress) and event.failed > self._backfill_failed:
            self._backfill_failed = event.failed
            self._health(
                HEALTH_BACKFILL,
                "Backfill failed",
                f"History for {event.current or 'a stream'} could not be fetched: "
                f"{event.error or 'unknown error'}. It is retried on the next reconnect.",
            )

    # -- firing --------------------------------------------------------------------------------------

    def _fire(  # noqa: PLR0917 - one firing's facts, private
        self,
        rule: Rule,
        state: RuleState,
        bar_open_time: int,
        value: float,
        close: float,
        observed_at: int,
        now: int,
        detail: str = "",
    ) -> Alert | None:
        if rule.trigger is Trigger.ONCE:
            fire_key = f"once:{rule.updated_at or rule.created_at}"
        elif rule.trigger is Trigger.ONCE_PER_MINUTE:
            fire_key = f"minute:{now // 60_000}"
        else:
            fire_key = f"bar:{bar_open_time}"
        placeholders = {
            "symbol": rule.symbol,
            "timeframe": rule.timeframe,
            "close": _fmt(close),
            "value": _fmt(value),
            "time": datetime.fromtimestamp(bar_open_time / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC"),
        }
        title = render(rule.title, placeholders) if rule.title else _default_title(rule)
        message = render(rule.message or detail or _DEFAULT_MESSAGE, {**placeholders, "title": title})
        return self._record(
            Alert(
                id=0,
                time=now,
                alert_type=rule.alert_type,
                status=AlertStatus.ACTIVE,
                symbol=rule.symbol,
                timeframe=rule.timeframe,
                title=title,
                message=message,
                rule_id=rule.id,
                bar_open_time=bar_open_time,
                value=value,
                observed_at=observed_at,
                expires_at=now + int(self.settings.expire_after_minutes * 60_000),
                channels=self._channels(rule.alert_type, rule.notify),
            ),
            fire_key,
            state,
        )

    def _health(
        self,
        rule_id: str,
        title: str,
        message: str,
        alert_type: AlertType = AlertType.WARNING,
        *,
        symbol: str = "",
        timeframe: str = "",
    ) -> Alert | None:
        now = self._clock()
        self._health_seq += 1
        return self._record(
            Alert(
                id=0,
                time=now,
                alert_type=alert_type,
                status=AlertStatus.ACTIVE,
                symbol=symbol,
                timeframe=timeframe,
                title=title,
                message=message,
                rule_id=rule_id,
                observed_at=now,
                expires_at=now + int(self.settings.expire_after_minutes * 60_000),
                channels=self._channels(alert_type, ("toast", "sound", *EXTERNAL_CHANNELS)),
            ),
            f"{now}:{self._health_seq}",
            None,
        )

    def _channels(self, alert_type: AlertType, wanted: Sequence[str]) -> tuple[str, ...]:
        mode = self.settings.mode(alert_type.value)
        if mode == "off":
            return ()
        if mode == "silent":
            return tuple(channel for channel in wanted if channel == "toast")
        return tuple(wanted)

    def _record(self, alert: Alert, fire_key: str, state: RuleState | None) -> Alert | None:
        if self._batch is not None:
            self._batch.append((alert, fire_key, state))
            return None
        return self._record_many([(alert, fire_key, state)])[0]

    def _record_many(self, firings: list[tuple[Alert, str, RuleState | None]]) -> list[Alert | None]:
        stored_all = self.store.record_many(firings)
        for (alert, fire_key, _), stored in zip(firings, stored_all, strict=True):
            if stored is None:
                logger.info("rule %s already fired for %s; not firing again", alert.rule_id, fire_key)
                continue
            logger.info("alert %d %s: %s", stored.id, stored.alert_type.value, stored.title)
            if self._bus is not None:
                self._bus.publish(
                    AlertFired(
                        id=stored.id,
                        time=stored.time,
                        type=stored.alert_type.value,
                        symbol=stored.symbol,
                        timeframe=stored.timeframe,
                        title=stored.title,
                        message=stored.message,
                        rule_id=stored.rule_id,
                    )
                )
            external = tuple(channel for channel in stored.channels if channel in EXTERNAL_CHANNELS)
            if self._notifiers is not None and external:
                self._notifiers.submit(stored, external)
        return stored_all

    # -- data helpers ----------------------------------------------------------------------------------

    def _closes_for(self, stream: tuple[str, str]) -> deque[tuple[int, float]]:
        closes = self._closes.get(stream)
        if closes is None:
            closes = deque(maxlen=CLOSES_KEPT)
            self._closes[stream] = closes
            if self._datastream is not None:
                try:
                    snapshot = self._datastream.snapshot(stream[0], Timeframe(stream[1]), limit=CLOSES_KEPT)
                except (KeyError, ValueError):
                    return closes
                columns = (snapshot.open_time.tolist(), snapshot.close.tolist(), snapshot.closed.tolist())
                for open_time, close, done in zip(*columns, strict=True):
                    if done:
                        closes.append((int(open_time), float(close)))
        return closes

    def _close_at(self, stream: tuple[str, str], open_time: int) -> float | None:
        for candle_open, close in reversed(self._closes_for(stream)):
            if candle_open == open_time:
                return close
            if candle_open < open_time:
                return None
        return None

    def _previous_close(self, stream: tuple[str, str], open_time: int) -> float | None:
        for candle_open, close in reversed(self._closes_for(stream)):
            if candle_open < open_time:
                return close
        return None

    def _indicator_row(self, event: CandleClosed, rule: Rule) -> dict[str, Any] | None:
        if self._indicator_series is None:
            return None
        try:
            rows = self._indicator_series(
                event.symbol, event.timeframe, rule.indicator or "", dict(rule.params), 8
            )
        except (ValueError, KeyError) as error:
            logger.warning("rule %s: indicator %s failed: %s", rule.id, rule.indicator, error)
            return None
        return next((row for row in reversed(rows) if row["open_time"] == event.open_time), None)

    # -- rules (API threads) -------------------------------------------------------------------------

    def _reindex(self) -> None:
        by_stream: dict[tuple[str, str], list[_Compiled]] = {}
        forming: set[str] = set()
        for rule in self._rules.values():
            if rule.kind is RuleKind.SIGNAL or rule.paused:
                continue
            compiled = self._compiled.get(rule.id)
            if compiled is None or compiled.rule is not rule:
                compiled = self._compiled[rule.id] = _compile(rule)
            by_stream.setdefault((rule.symbol, rule.timeframe), []).append(compiled)
            if rule.kind is RuleKind.PRICE and rule.trigger is not Trigger.ONCE_PER_BAR_CLOSE:
                forming.add(rule.symbol)
        self._by_stream = by_stream
        self._forming_symbols = frozenset(forming)
        self._observe_if_needed()

    def parse(self, data: Mapping[str, Any], existing: Rule | None = None) -> Rule:
        return parse_rule(
            data,
            symbols=self._symbols,
            timeframes=self._timeframes,
            now_ms=self._clock(),
            check_indicator=self._check_indicator,
            rule_id=existing.id if existing else None,
            created_at=existing.created_at if existing else None,
        )

    def create_rule(self, data: Mapping[str, Any]) -> Rule:
        rule = self.parse(data)
        with self._lock:
            self.store.save_rule(rule)
            self._rules[rule.id] = rule
            self._states[rule.id] = RuleState(previous=self._current_value(rule))
            self._reindex()
        logger.info("alert rule %s created: %s", rule.id, _default_title(rule))
        return rule

    def update_rule(self, rule_id: str, changes: Mapping[str, Any]) -> Rule:
        with self._lock:
            existing = self._rules.get(rule_id)
            if existing is None:
                raise KeyError(rule_id)
            unknown = [key for key in changes if key not in FIELDS]
            if unknown:
                raise RuleError(unknown[0], f"unknown field; known fields: {', '.join(FIELDS)}")
            body = {key: value for key, value in existing.as_dict().items() if key in FIELDS}
            if "expires_at" not in changes and body.get("expires_at") is not None:
                body["expires_at"] = max(body["expires_at"], self._clock() + 1)
            rule = replace(self.parse({**body, **changes}, existing), updated_at=existing.updated_at)
            state = self._states.get(rule.id, RuleState())
            renewed = any(key not in ("paused", "message", "title", "notify", "type") for key in changes)
            if renewed:
                # A new level or condition starts from the current value, as a new rule would, and a
                # `once` rule may fire once more.
                rule = replace(rule, updated_at=max(self._clock(), existing.updated_at + 1))
                state = RuleState(previous=self._current_value(rule))
            self.store.save_rule(rule)
            if renewed:
                self.store.save_state(rule.id, state)
            self._rules[rule.id] = rule
            self._states[rule.id] = state
            self._reindex()
        return rule

    def delete_rule(self, rule_id: str) -> bool:
        with self._lock:
            removed = self._rules.pop(rule_id, None) is not None
            self._states.pop(rule_id, None)
            self._compiled.pop(rule_id, None)
            self.store.delete_rule(rule_id)
            self._reindex()
        return removed

    def rules(self) -> list[Rule]:
        with self._lock:
            return list(self._rules.values())

    def rule(self, rule_id: str) -> Rule | None:
        return self._rules.get(rule_id)

    def rule_status(self, rule: Rule) -> dict[str, Any]:
        state = self._states.get(rule.id, RuleState())
        now = self._clock()
        status = "active"
        if rule.paused:
            status = "paused"
        elif state.done:
            status = "done"
        elif rule.expires_at is not None and now >= rule.expires_at:
            status = "expired"
        return {**rule.as_dict(), "status": status, "fired": state.fired_count}

    def _current_value(self, rule: Rule) -> float | None:
        if rule.kind is not RuleKind.PRICE or self._datastream is None:
            return None
        try:
            candle = self._datastream.last_candle(rule.symbol, Timeframe(rule.timeframe))
        except (KeyError, ValueError):
            return None
        return None if candle is None else candle.close

    # -- alerts --------------------------------------------------------------------------------------

    def history(
        self,
        *,
        symbol: str | None = None,
        alert_type: str | None = None,
        status: str | None = None,
        since: int | None = None,
        until: int | None = None,
        limit: int = 100,
    ) -> list[Alert]:
        self.store.expire_due(self._clock())
        return self.store.history(
            symbol=symbol, alert_type=alert_type, status=status, since=since, until=until, limit=limit
        )

    def since(self, cursor: int, limit: int = 50) -> list[Alert]:
        """New alerts after `cursor` (an alert id), oldest first: the toast feed."""
        return self.store.after(cursor, limit)

    def last_id(self) -> int:
        return self.store.last_id()

    def dismiss(self, alert_id: int) -> bool:
        return self.store.set_status(alert_id, AlertStatus.DISMISSED) > 0

    def dismiss_all(self) -> int:
        return self.store.set_status(None, AlertStatus.DISMISSED)

    # -- evidence ------------------------------------------------------------------------------------

    def evidence(self, rule: Rule) -> Evidence | None:
        """Replay `rule` over the buffered closed candles with the live step function."""
        if self._datastream is None or rule.kind is RuleKind.SIGNAL:
            return None
        timeframe = Timeframe(rule.timeframe)
        snapshot = self._datastream.snapshot(rule.symbol, timeframe)
        closed = snapshot.closed
        count = int(closed.sum())
        if count == 0:
            return Evidence(0, 0, ())
        times = snapshot.open_time
        if rule.kind is RuleKind.PRICE:
            currents = snapshot.close
            levels = None
        else:
            if self._compute_indicator is None:
                return None
            outputs = self._compute_indicator(rule.indicator or "", dict(rule.params), snapshot)
            currents = outputs[rule.output or ""]
            levels = outputs[rule.output2] if rule.output2 else None
        closes = snapshot.close
        step_ms = timeframe.milliseconds
        index_of = {int(open_time): index for index, open_time in enumerate(times.tolist())}
        state = RuleState()
        fired: list[int] = []
        condition = Condition(rule.condition)
        # Every trigger mode replays as once per bar close: the question is how often the condition
        # would have fired on final data, not how the first firing would have ended a `once` rule.
        trigger = Trigger.ONCE_PER_BAR_CLOSE
        for index in range(len(times)):
            if not closed[index]:
                continue
            current = float(currents[index])
            level = float(levels[index]) if levels is not None else rule.value
            if math.isnan(current) or math.isnan(level):  # warm-up
                continue
            open_time = int(times[index])
            reference = None
            if condition in (Condition.MOVING_UP_PERCENT, Condition.MOVING_DOWN_PERCENT):
                back = index_of.get(open_time - rule.bars * step_ms)
                reference = None if back is None else float(closes[back])
            sample = Sample(current, level, open_time, True, open_time + step_ms, rule.value2, reference)
            hit, state = step(
                condition,
                trigger,
                state,
                sample,
                hysteresis=rule.hysteresis,
                cooldown_ms=int(rule.cooldown_seconds * 1000),
            )
            if hit:
                fired.append(open_time)
        return Evidence(len(fired), count, tuple(fired))


_DEFAULT_MESSAGE = "{{title}} at {{close}} ({{time}})"


def _default_title(rule: Rule) -> str:
    condition = rule.condition.replace("_", " ")
    if rule.kind is RuleKind.SIGNAL:
        target = rule.output if rule.condition == SignalCondition.GRADE else f"{rule.condition} signal"
        return f"{rule.symbol} {rule.timeframe} {target}"
    subject = "price" if rule.kind is RuleKind.PRICE else f"{rule.indicator} {rule.output}"
    level = rule.output2 if rule.output2 else _fmt(rule.value)
    if rule.value2 is not None:
        level = f"{_fmt(rule.value)}–{_fmt(rule.value2)}"
    if rule.condition in (Condition.MOVING_UP_PERCENT, Condition.MOVING_DOWN_PERCENT):
        condition = condition.replace(" percent", "")
        level = f"{_fmt(rule.value)} % in {rule.bars} bars"
    return f"{rule.symbol} {rule.timeframe} {subject} {condition} {level}"
