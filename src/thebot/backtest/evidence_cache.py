"""Rule evidence per stream over its stored history, computed off the request path and kept a while.

The signal details and the alerts form show each rule's record (signals, hit rate, mean forward return,
expectancy) over the stored candles. Replaying tens of thousands of candles through the rules takes
seconds, and a page callback must not wait that long, so `get` answers from the cache at once: a missing
entry is queued for the one worker thread and `get` returns None (the page says it is being computed);
an entry older than `max_age_seconds` (an error: `ERROR_MAX_AGE_SECONDS`) is still served while its
replacement computes. The stored range
grows by one candle per candle interval, which changes a record over thousands of candles very little,
so a record some minutes old is as good as a fresh one; the page shows its range.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from thebot.backtest.evidence import RuleEvidence
from thebot.market.timeframe import Timeframe

logger = logging.getLogger(__name__)

DEFAULT_MAX_AGE_SECONDS = 900.0
# A stream without a record (no candles stored yet, a failure) is retried sooner: its candles may arrive.
ERROR_MAX_AGE_SECONDS = 30.0
_STOP = object()


@dataclass(frozen=True, slots=True)
class StoredEvidence:
    """Every rule's record on one stream, or why there is none (`error`)."""

    symbol: str
    timeframe: Timeframe
    rows: tuple[RuleEvidence, ...]
    first_open_time: int | None = None
    last_open_time: int | None = None
    computed_at: float = 0.0  # the cache's clock
    error: str = ""

    def for_rule(self, rule: str) -> RuleEvidence | None:
        return next((row for row in self.rows if row.rule == rule), None)

    @property
    def candles(self) -> int:
        return self.rows[0].candles if self.rows else 0


Compute = Callable[[str, Timeframe], StoredEvidence]


class EvidenceCache:
    def __init__(
        self,
        compute: Compute,
        *,
        max_age_seconds: float = DEFAULT_MAX_AGE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._compute = compute
        self._max_age = max_age_seconds
        self._clock = clock
        self._entries: dict[tuple[str, Timeframe], StoredEvidence] = {}
        self._pending: set[tuple[str, Timeframe]] = set()
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._queue: queue.Queue[object] = queue.Queue()
        self._worker: threading.Thread | None = None

    def get(self, symbol: str, timeframe: Timeframe) -> StoredEvidence | None:
        """The stream's evidence if computed (possibly a little old), else None; never waits."""
        key = (symbol, timeframe)
        with self._lock:
            entry = self._entries.get(key)
            max_age = (
                self._max_age
                if entry is None or not entry.error
                else min(self._max_age, ERROR_MAX_AGE_SECONDS)
            )
            stale = entry is None or self._clock() - entry.computed_at > max_age
            if stale and key not in self._pending:
                self._pending.add(key)
                self._queue.put(key)
                self._start()
        return entry

    def wait_idle(self, timeout: float) -> bool:
        """Block until nothing is queued or computing (tests, scripts); False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._pending, timeout)

    def stop(self, timeout: float = 5.0) -> None:
        worker = self._worker
        if worker is not None:
            self._queue.put(_STOP)
            worker.join(timeout)
            self._worker = None

    def _start(self) -> None:
        if self._worker is None:
            self._worker = threading.Thread(target=self._work, name="thebot-evidence", daemon=True)
            self._worker.start()

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            assert isinstance(item, tuple)
            symbol, timeframe = item
            try:
                entry = self._compute(symbol, timeframe)
            except Exception as error:  # a bad stream must not stop the worker for the others
                logger.exception("rule evidence for %s %s failed", symbol, timeframe.value)
                entry = StoredEvidence(
                    symbol, timeframe, (), error=f"the evidence could not be computed: {error}"
                )
            with self._idle:
                self._entries[item] = StoredEvidence(
                    entry.symbol,
                    entry.timeframe,
                    entry.rows,
                    entry.first_open_time,
                    entry.last_open_time,
                    self._clock(),
                    entry.error,
                )
                self._pending.discard(item)
                self._idle.notify_all()
