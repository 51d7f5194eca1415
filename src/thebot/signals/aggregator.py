"""SignalAggregator: accepted signals per stream, their combined direction and confidence, confluence.

Math, stated so a test can check it by hand:
- Only closed-candle signals of the last `lookback_bars` candles of a stream count (provisional ones are
  shown but not counted). Per rule the strongest such signal is taken.
- Each contributes c = rule weight × strength (0..1). The buy side combines as 1 − Π(1 − c) over its rules,
  so each agreeing rule raises it; the sell side likewise.
- direction = sign(buy − sell); confidence = |buy − sell|: conflicting rules cancel, agreeing ones add up.
- Confluence across timeframes: Σ(w_tf · direction_tf · confidence_tf) / Σ(w_tf) over the configured
  timeframes with weight > 0, graded STRONG_SELL / SELL / NEUTRAL / BUY / STRONG_BUY at ±0.3 / ±0.7.
Dedup: one signal per stream, rule and candle. Cooldown: after a rule fires on a stream it is quiet for
`cooldown_bars` candles (either side). Observers get NEW, PROVISIONAL and WITHDRAWN events, called after
the lock is released.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from thebot.market.models import StreamKey
from thebot.market.timeframe import Timeframe
from thebot.signals.history import SignalHistory
from thebot.signals.models import Assessment, Confluence, Side, Signal, SignalEvent, SignalEventKind, grade_of
from thebot.signals.settings import SignalSettings

logger = logging.getLogger(__name__)

SignalObserver = Callable[[SignalEvent], object]
DEFAULT_CAPACITY = 1000


@dataclass
class _StreamSignals:
    accepted: OrderedDict[tuple[str, int], Signal] = field(default_factory=OrderedDict)
    last_fired: dict[str, int] = field(default_factory=dict)
    latest_bar: int | None = None
    provisional_time: int | None = None
    provisional: dict[str, Signal] = field(default_factory=dict)


class SignalAggregator:
    def __init__(
        self,
        settings: SignalSettings,
        timeframes: Sequence[Timeframe],
        history: SignalHistory | None = None,
        capacity: int = DEFAULT_CAPACITY,
        publish: SignalObserver | None = None,
    ) -> None:
        self._settings = settings
        self._timeframes = tuple(timeframes)
        self._history = history
        self._capacity = capacity
        self._lock = threading.Lock()
        self._streams: dict[StreamKey, _StreamSignals] = {}
        self._publish = publish
        self._version = 0

    # -- outlet and versions ----------------------------------------------------------------------

    @property
    def version(self) -> int:
        """Bumped whenever the visible signals change; the page redraws only when it moves."""
        with self._lock:
            return self._version

    def _notify(self, events: Iterable[SignalEvent]) -> None:
        """Hand news (never replayed history) to the one outlet: the service publishes it on the bus."""
        if self._publish is None:
            return
        for event in events:
            try:
                self._publish(event)
            except Exception:
                logger.exception("publishing a signal event failed; the aggregator carries on")

    # -- settings ------------------------------------------------------------------------------------

    def reconfigure(self, settings: SignalSettings, *, forget: bool) -> None:
        """New weights, window and cooldown take effect at once; `forget` drops every stream's signals
        (the rules changed: the caller replays history with the new ones)."""
        with self._lock:
            self._settings = settings
            if forget:
                self._streams.clear()
            self._version += 1

    def remove_symbol(self, symbol: str) -> None:
        with self._lock:
            for key in [key for key in self._streams if key.symbol == symbol]:
                del self._streams[key]
            self._version += 1

    def set_timeframes(self, timeframes: Sequence[Timeframe]) -> None:
        """Confluence over exactly `timeframes`; a dropped timeframe's signals go with it."""
        with self._lock:
            self._timeframes = tuple(timeframes)
            for key in [key for key in self._streams if key.timeframe not in self._timeframes]:
                del self._streams[key]
            self._version += 1

    # -- intake --------------------------------------------------------------------------------------

    def _stream(self, symbol: str, timeframe: Timeframe) -> _StreamSignals:
        key = StreamKey(symbol, timeframe)
        stream = self._streams.get(key)
        if stream is None:
            stream = self._streams[key] = _StreamSignals()
        return stream

    def _cooling(self, stream: _StreamSignals, signal: Signal) -> bool:
        last = stream.last_fired.get(signal.rule)
        if last is None:
            return False
        if signal.time == last:
            return True  # the same candle: a duplicate
        window = self._settings.cooldown_bars * signal.timeframe.milliseconds
        return last < signal.time < last + window + 1 and self._settings.cooldown_bars > 0

    def _accept(self, stream: _StreamSignals, signal: Signal) -> bool:
        if (signal.rule, signal.time) in stream.accepted or self._cooling(stream, signal):
            return False
        stream.accepted[(signal.rule, signal.time)] = signal
        if len(stream.accepted) > self._capacity:
            stream.accepted.popitem(last=False)
        stream.last_fired[signal.rule] = max(signal.time, stream.last_fired.get(signal.rule, signal.time))
        return True

    def load_history(
        self, symbol: str, timeframe: Timeframe, signals: Sequence[Signal], last_bar: int
    ) -> int:
        """Accept signals found replaying history (oldest first) without telling observers: they are not
        news. Returns how many were accepted."""
        with self._lock:
            stream = self._stream(symbol, timeframe)
            accepted = [signal for signal in signals if self._accept(stream, signal)]
            stream.latest_bar = max(last_bar, stream.latest_bar or last_bar)
            if accepted:
                self._version += 1
        if self._history is not None:
            self._history.record(accepted)
        return len(accepted)

    def close_bar(
        self, symbol: str, timeframe: Timeframe, open_time: int, signals: Sequence[Signal]
    ) -> list[SignalEvent]:
        """The candle at `open_time` closed with these rule hits: accept them, withdraw provisional ones
        that did not survive, notify observers."""
        events: list[SignalEvent] = []
        with self._lock:
            stream = self._stream(symbol, timeframe)
            stream.latest_bar = max(open_time, stream.latest_bar or open_time)
            pending = stream.provisional
            stream.provisional, stream.provisional_time = {}, None
            accepted = [
                signal for signal in signals if not signal.provisional and self._accept(stream, signal)
            ]
            confirmed = {(signal.rule, signal.side) for signal in accepted}
            for signal in pending.values():
                if (signal.rule, signal.side) not in confirmed or signal.time != open_time:
                    events.append(SignalEvent(SignalEventKind.WITHDRAWN, signal))
            events.extend(SignalEvent(SignalEventKind.NEW, signal) for signal in accepted)
            if events or pending:
                self._version += 1
        if self._history is not None and accepted:
            try:
                self._history.record(accepted)
            except Exception:
                logger.exception("could not store %d signals; they stay in memory", len(accepted))
        self._notify(events)
        return events

    def provisional_bar(
        self, symbol: str, timeframe: Timeframe, open_time: int, signals: Sequence[Signal]
    ) -> list[SignalEvent]:
        """The forming candle at `open_time` now gives these hits: show new ones as provisional, withdraw
        the ones that no longer hold."""
        events: list[SignalEvent] = []
        with self._lock:
            stream = self._stream(symbol, timeframe)
            previous = stream.provisional if stream.provisional_time == open_time else {}
            stale = stream.provisional if stream.provisional_time != open_time else {}
            current: dict[str, Signal] = {}
            for signal in signals:
                if (signal.rule, signal.time) in stream.accepted or self._cooling(stream, signal):
                    continue
                current.setdefault(signal.rule, signal)
            for rule, signal in {**stale, **previous}.items():
                held = current.get(rule)
                if held is None or held.side is not signal.side or rule in stale:
                    events.append(SignalEvent(SignalEventKind.WITHDRAWN, signal))
            for rule, signal in current.items():
                before = previous.get(rule)
                if before is None or before.side is not signal.side:
                    events.append(SignalEvent(SignalEventKind.PROVISIONAL, signal))
            changed = bool(events) or current != previous
            stream.provisional, stream.provisional_time = current, open_time
            if changed:
                self._version += 1
        self._notify(events)
        return events

    # -- reading -------------------------------------------------------------------------------------

    def signals(self, symbol: str, timeframe: Timeframe | None = None, limit: int = 100) -> list[Signal]:
        """Newest first, provisional ones included (flagged)."""
        with self._lock:
            collected: list[Signal] = []
            for key, stream in self._streams.items():
                if key.symbol != symbol or (timeframe is not None and key.timeframe is not timeframe):
                    continue
                collected.extend(stream.accepted.values())
                collected.extend(stream.provisional.values())
        collected.sort(
            key=lambda signal: (signal.time, signal.timeframe.milliseconds, signal.rule), reverse=True
        )
        return collected[:limit]

    def count_since(self, symbol: str, since: int) -> int:
        """How many final signals of `symbol` (every timeframe) fired on candles opened at or after `since`.

        A count without building and sorting the list: the watchlist asks this for every symbol on every
        refresh."""
        with self._lock:
            streams = [self._streams.get(StreamKey(symbol, timeframe)) for timeframe in self._timeframes]
            return sum(
                1
                for stream in streams
                if stream is not None
                for signal in stream.accepted.values()
                if signal.time >= since
            )

    def assess(self, symbol: str, timeframe: Timeframe) -> Assessment:
        with self._lock:
            stream = self._streams.get(StreamKey(symbol, timeframe))
            if stream is None or stream.latest_bar is None:
                window: list[Signal] = []
            else:
                start = stream.latest_bar - (self._settings.lookback_bars - 1) * timeframe.milliseconds
                window = [
                    signal for signal in stream.accepted.values() if start <= signal.time <= stream.latest_bar
                ]
        return combine(symbol, timeframe, window, self._settings)

    def confluence(self, symbol: str) -> Confluence:
        settings = self._settings
        weights = settings.timeframe_weights
        assessments = tuple(
            dataclasses.replace(self.assess(symbol, timeframe), weight=weights.weight(timeframe))
            for timeframe in self._timeframes
        )
        total = sum(weights.weight(a.timeframe) for a in assessments if weights.weight(a.timeframe) > 0)
        score = (
            sum(
                weights.weight(a.timeframe) * a.signed for a in assessments if weights.weight(a.timeframe) > 0
            )
            / total
            if total > 0
            else 0.0
        )
        rule_weights = tuple(
            (item.name, float(getattr(settings.rule_weights, item.name)))
            for item in dataclasses.fields(settings.rule_weights)
        )
        return Confluence(
            symbol=symbol,
            score=score,
            grade=grade_of(score),
            timeframes=assessments,
            rule_weights=rule_weights,
        )


def combine(
    symbol: str, timeframe: Timeframe, signals: Sequence[Signal], settings: SignalSettings
) -> Assessment:
    """The aggregate of one stream's signals (see the module docstring)."""
    strongest: dict[str, Signal] = {}
    for signal in signals:
        if signal.provisional:
            continue
        best = strongest.get(signal.rule)
        if (
            best is None
            or signal.strength > best.strength
            or (signal.strength == best.strength and signal.time > best.time)
        ):
            strongest[signal.rule] = signal
    remaining = {Side.BUY: 1.0, Side.SELL: 1.0}
    for signal in strongest.values():
        contribution = max(0.0, min(1.0, settings.rule_weights.weight(signal.rule_family) * signal.strength))
        remaining[signal.side] *= 1.0 - contribution
    buy = 1.0 - remaining[Side.BUY]
    sell = 1.0 - remaining[Side.SELL]
    difference = buy - sell
    direction = 0 if abs(difference) < 1e-12 else (1 if difference > 0 else -1)
    return Assessment(
        symbol=symbol,
        timeframe=timeframe,
        direction=direction,
        confidence=abs(difference) if direction else 0.0,
        buy_score=buy,
        sell_score=sell,
        signals=tuple(strongest.values()),
    )
