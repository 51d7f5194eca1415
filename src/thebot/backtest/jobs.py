"""`BacktestJobs`: backtests run one at a time on a worker thread, readable by id from the page and the API.

A thread in the app rather than Dash background callbacks: the API and the page submit to the same
queue and read the same jobs (a run started over the API shows on the page and survives a reload), no
second process has to reopen the DuckDB file that the app holds open for writing, and progress is
published on the event bus (`BacktestProgress`) for the push channel. One worker, because a backtest
keeps a core busy and the live feed needs the other.

`submit` checks everything cheap first (the request, the sweep size, the candles in the range) and
raises `BacktestInputError` before a job exists, so bad input never queues anything.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import Any

from thebot.backtest.data import load_candles
from thebot.backtest.engine import run_backtest
from thebot.backtest.evidence_cache import EvidenceCache, StoredEvidence
from thebot.backtest.models import (
    BacktestInputError,
    BacktestRequest,
    ExitPolicy,
    request_from_dict,
    sweep_variants,
)
from thebot.backtest.settings import BacktestSettings
from thebot.events import BacktestProgress, EventBus
from thebot.market.models import CandleSnapshot
from thebot.market.store import KlineStore
from thebot.market.timeframe import Timeframe
from thebot.signals.settings import SignalSettings

logger = logging.getLogger(__name__)

_STOP = object()
_PUBLISH_EVERY_SECONDS = 0.2
EVIDENCE_MAX_CANDLES = 200_000
# The stored evidence the pages show covers at most this many of a stream's newest candles: a month of
# minutes, replayed in a few seconds on the evidence thread.
STORED_EVIDENCE_CANDLES = 50_000


@dataclass
class Job:
    id: str
    request: BacktestRequest
    variants: list[ExitPolicy]
    candles: CandleSnapshot | None
    status: str = "queued"
    progress: float = 0.0
    phase: str = "queued"
    error: str = ""
    submitted_at: float = field(default_factory=time.time)
    finished_at: float | None = None
    results: list[dict[str, Any]] = field(default_factory=list)
    seconds: float | None = None

    def as_dict(self, with_results: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "status": self.status,
            "progress": round(self.progress, 4),
            "phase": self.phase,
            "error": self.error or None,
            "request": self.request.as_dict(),
            "runs": len(self.variants),
            "seconds": self.seconds,
        }
        if with_results:
            data["results"] = self.results
        elif self.results:
            data["metrics"] = self.results[0]["metrics"]
        return data


class BacktestJobs:
    def __init__(
        self,
        store: KlineStore,
        signal_settings: SignalSettings,
        settings: BacktestSettings,
        *,
        source: str,
        bus: EventBus | None = None,
    ) -> None:
        self._store = store
        self._signal_settings = signal_settings
        self._settings = settings
        self._source = source
        self._bus = bus
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()
        self._queue: queue.Queue[object] = queue.Queue()
        self._worker: threading.Thread | None = None
        self.evidence_cache = EvidenceCache(self._stored_evidence)

    @property
    def source(self) -> str:
        return self._source

    def start(self) -> BacktestJobs:
        if self._worker is None:
            self._worker = threading.Thread(target=self._work, name="thebot-backtests", daemon=True)
            self._worker.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self.evidence_cache.stop(timeout)
        if self._worker is not None:
            self._queue.put(_STOP)
            self._worker.join(timeout)
            self._worker = None

    # -- what the page and the API call ---------------------------------------------------------------

    def submit(self, data: dict[str, Any]) -> str:
        """Queue a run; raises `BacktestInputError` naming the problem (nothing is queued then)."""
        request = request_from_dict(data, self._settings, self._signal_settings.rules)
        variants = sweep_variants(data, request.exits, self._settings.max_sweep_runs)
        request = replace(request, source=request.source or self._source)
        candles = self._candles(request, self._settings.max_candles)
        job = Job(id=uuid.uuid4().hex[:12], request=request, variants=variants, candles=candles)
        with self._lock:
            self._jobs[job.id] = job
            self._forget_old()
        self.start()
        self._queue.put(job.id)
        self._publish(job)
        return job.id

    def get(self, job_id: str) -> dict[str, Any] | None:
        with self._lock:
            job = self._jobs.get(job_id)
            return None if job is None else job.as_dict()

    def jobs(self) -> list[dict[str, Any]]:
        """Newest first, without the bulky results."""
        with self._lock:
            return [job.as_dict(with_results=False) for job in reversed(self._jobs.values())]

    def sources(self) -> list[dict[str, Any]]:
        """What can be backtested: every stored stream of every source."""
        return self._store.inventory()

    def evidence(self, data: dict[str, Any], horizon: int | None = None) -> list[dict[str, Any]]:
        """Rule evidence (see `thebot.backtest.evidence`) for one symbol and timeframe, computed now; the
        same checks as `submit`, and at most `EVIDENCE_MAX_CANDLES` candles so a request stays quick."""
        from thebot.backtest.evidence import rule_evidence

        request = request_from_dict(data, self._settings, self._signal_settings.rules)
        candles = self._candles(request, EVIDENCE_MAX_CANDLES)
        cost = 2 * request.fee_rate + 2 * request.slippage_fraction
        rows = rule_evidence(
            candles,
            self._signal_settings,
            horizon=horizon or self._signal_settings.quality_horizon_bars,
            round_trip_cost=cost,
        )
        return [row.as_dict() for row in rows]

    def _candles(self, request: BacktestRequest, limit: int) -> CandleSnapshot:
        """The stored candles a request names (no source: the running app's), at most `limit`; raises
        `BacktestInputError` naming the problem."""
        return load_candles(
            self._store,
            request.source or self._source,
            request.symbol,
            request.timeframe,
            start=request.start,
            end=request.end,
            limit=limit,
        )

    def stored_evidence(self, symbol: str, timeframe: Timeframe) -> StoredEvidence | None:
        """Every rule's record on the live source's stored `symbol` `timeframe` candles, from the cache
        (None while it is first computed; see `EvidenceCache`)."""
        return self.evidence_cache.get(symbol, timeframe)

    def _stored_evidence(self, symbol: str, timeframe: Timeframe) -> StoredEvidence:
        from thebot.backtest.evidence import rule_evidence

        streams = [
            row
            for row in self._store.inventory()
            if row["source"] == self._source and row["symbol"] == symbol
        ]
        if not streams:
            return StoredEvidence(symbol, timeframe, (), error=f"no stored candles of {symbol} yet")
        last = max(int(row["last_open_time"]) for row in streams)
        start = timeframe.open_time_of(last) - (STORED_EVIDENCE_CANDLES - 1) * timeframe.milliseconds
        try:
            candles = load_candles(
                self._store,
                self._source,
                symbol,
                timeframe,
                start=start,
                end=None,
                limit=EVIDENCE_MAX_CANDLES,
            )
        except BacktestInputError as error:
            return StoredEvidence(symbol, timeframe, (), error=error.message)
        rows = rule_evidence(
            candles,
            self._signal_settings,
            horizon=self._signal_settings.quality_horizon_bars,
            round_trip_cost=2 * self._settings.fee_rate + 2 * self._settings.slippage_bps / 10_000,
        )
        return StoredEvidence(
            symbol, timeframe, tuple(rows), int(candles.open_time[0]), int(candles.open_time[-1])
        )

    def wait(self, job_id: str, timeout: float = 60.0) -> dict[str, Any] | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.get(job_id)
            if job is None or job["status"] in ("done", "failed"):
                return job
            time.sleep(0.05)
        return self.get(job_id)

    # -- worker ---------------------------------------------------------------------------------------

    def _forget_old(self) -> None:
        finished = [job.id for job in self._jobs.values() if job.status in ("done", "failed")]
        for job_id in finished[: max(0, len(finished) - self._settings.jobs_kept)]:
            del self._jobs[job_id]

    def _publish(self, job: Job) -> None:
        if self._bus is not None:
            self._bus.publish(BacktestProgress(job.id, job.status, job.progress, job.phase, job.error))

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            with self._lock:
                job = self._jobs.get(str(item))
            if job is not None:
                self._run(job)

    def _run(self, job: Job) -> None:
        started = time.perf_counter()
        last_publish = 0.0

        def progress(share: float, phase: str) -> None:
            nonlocal last_publish
            job.progress, job.phase = share, phase
            now = time.monotonic()
            if now - last_publish >= _PUBLISH_EVERY_SECONDS:
                last_publish = now
                self._publish(job)

        job.status = "running"
        self._publish(job)
        try:
            assert job.candles is not None
            results = run_backtest(job.candles, self._signal_settings, job.request, job.variants, progress)
            job.results = [result.as_dict() for result in results]
            job.status, job.progress, job.phase = "done", 1.0, "done"
        except Exception as error:
            logger.exception("backtest %s failed", job.id)
            job.status, job.phase = "failed", "failed"
            job.error = (
                f"the backtest stopped: {error}. Try a shorter range or fewer rules; the log has details"
            )
        finally:
            job.candles = None  # the results hold what the page needs
            job.seconds = round(time.perf_counter() - started, 3)
            job.finished_at = time.time()
            self._publish(job)
