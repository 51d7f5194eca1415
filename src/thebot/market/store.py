"""Closed candles on disk (DuckDB), so a restart shows history at once and gaps can be told from quiet.

One writer thread owns every write: DuckDB allows one writer per database, and batching (every
`flush_seconds` or `batch_rows` rows, whichever comes first) turns thousands of tiny inserts into one
transaction. A crash loses at most the batch that was not yet committed; the next start backfills it.
Readers use their own cursors, so the web threads never wait behind the writer's Python code.

Every row carries its source (`binance`, `sim:seed=7`, `sim:replay=<file>#<hash>`, a ccxt id, ...): a store
opened for one source reads and writes only that source's rows, so a run against another venue on the same
data directory never shows the first venue's candles as its own. Rows from before sources were recorded
are moved to `unknown` once, when such a database is first opened, and are never restored into a stream.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from thebot.market.models import KLINE_COLUMNS, Candle, StreamKey
from thebot.market.timeframe import Timeframe

logger = logging.getLogger(__name__)

DAY_MS = 86_400_000
COLUMNS = KLINE_COLUMNS
# No NOT NULL constraints and no primary-key index: both made the bulk insert 2-3x slower, and the
# single writer only ever inserts complete rows with a unique key (see `_commit`).
_SCHEMA = """
CREATE TABLE IF NOT EXISTS klines (
    source VARCHAR,
    symbol VARCHAR,
    timeframe VARCHAR,
    open_time BIGINT,
    open DOUBLE,
    high DOUBLE,
    low DOUBLE,
    close DOUBLE,
    volume DOUBLE,
    quote_volume DOUBLE,
    trades BIGINT,
    taker_buy_volume DOUBLE
)
"""
_SELECT_COLUMNS = ", ".join(COLUMNS)
UNKNOWN_SOURCE = "unknown"

Columns = dict[str, np.ndarray[Any, Any]]


@dataclass(frozen=True, slots=True)
class StoreStatus:
    path: str
    rows_written: int
    batches: int
    pending_rows: int
    last_flush_ms: float | None
    write_errors: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "rows_written": self.rows_written,
            "batches": self.batches,
            "pending_rows": self.pending_rows,
            "last_flush_ms": self.last_flush_ms,
            "write_errors": self.write_errors,
        }


@dataclass(frozen=True, slots=True)
class _Batch:
    key: StreamKey
    columns: Columns


@dataclass(frozen=True, slots=True)
class _Flush:
    done: threading.Event


_STOP = object()


def candles_to_columns(candles: list[Candle]) -> Columns:
    count = len(candles)
    columns: Columns = {
        "open_time": np.fromiter((c.open_time for c in candles), np.int64, count),
        "trades": np.fromiter((c.trades for c in candles), np.int64, count),
    }
    for name in ("open", "high", "low", "close", "volume", "quote_volume", "taker_buy_volume"):
        columns[name] = np.fromiter((getattr(c, name) for c in candles), np.float64, count)
    return columns


def columns_to_candles(columns: Columns) -> list[Candle]:
    rows = zip(*(columns[name].tolist() for name in COLUMNS), strict=True)
    return [
        Candle(
            open_time=open_time,
            open=open_price,
            high=high,
            low=low,
            close=close,
            volume=volume,
            closed=True,
            quote_volume=quote_volume,
            trades=trades,
            taker_buy_volume=taker_buy_volume,
        )
        for open_time, open_price, high, low, close, volume, quote_volume, trades, taker_buy_volume in rows
    ]


def migrate_sources(connection: duckdb.DuckDBPyConnection) -> int:
    """Give a database from before sources were recorded a `source` column; returns the rows moved.

    Its rows keep no trace of which venue wrote them (every simulated venue was stored as `sim`), so
    they all go to `unknown`: kept for an analyst to look at, never restored into a live stream.
    """
    columns = {
        row[0]
        for row in connection.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'klines'"
        ).fetchall()
    }
    if "exchange" not in columns or "source" in columns:
        return 0
    connection.execute("BEGIN TRANSACTION")
    try:
        connection.execute("ALTER TABLE klines RENAME COLUMN exchange TO source")
        result = connection.execute("UPDATE klines SET source = ?", [UNKNOWN_SOURCE]).fetchone()
        connection.execute("COMMIT")
    except duckdb.Error:
        connection.execute("ROLLBACK")
        raise
    moved = 0 if result is None else int(result[0])
    logger.warning(
        "the candle store had %d candles without a source; they are kept apart as '%s' and not shown",
        moved,
        UNKNOWN_SOURCE,
    )
    return moved


def _code(names: list[str], name: str) -> int:
    if name not in names:
        names.append(name)
    return names.index(name)


class KlineStore:
    def __init__(
        self,
        path: str,
        source: str,
        *,
        flush_seconds: float = 1.0,
        batch_rows: int = 500,
        retention_days: dict[Timeframe, float] | None = None,
    ) -> None:
        if not source:
            raise ValueError("a kline store needs a source identity such as 'binance' or 'sim:seed=7'")
        self._path = path
        self._source = source
        self._flush_seconds = flush_seconds
        self._batch_rows = batch_rows
        self._retention = dict(retention_days or {})
        self._connection = duckdb.connect(path)
        self._connection.execute("SET threads = 2")
        # Every read orders by open_time, so bulk inserts need not keep row order; that makes them
        # about 2.5x faster. (It applies to the whole database: other tables must ORDER BY as well.)
        self._connection.execute("SET preserve_insertion_order = false")
        migrate_sources(self._connection)
        self._connection.execute(_SCHEMA)
        self._queue: queue.Queue[object] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._rows_written = 0
        self._batches = 0
        self._pending_rows = 0
        self._last_flush_ms: float | None = None
        self._write_errors = 0
        self._closed = False

    @property
    def path(self) -> str:
        return self._path

    @property
    def source(self) -> str:
        return self._source

    # -- lifecycle -----------------------------------------------------------------------------------

    def start(self) -> KlineStore:
        if self._thread is None:
            self._thread = threading.Thread(target=self._write_loop, name="kline-store-writer", daemon=True)
            self._thread.start()
        return self

    def close(self, timeout: float = 10.0) -> None:
        """Write what is pending, then close the database."""
        if self._closed:
            return
        self._closed = True
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join(timeout)
            if self._thread.is_alive():
                logger.warning("kline store writer did not finish within %.1f s", timeout)
        self._connection.close()

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A connection to the same database for another thread or another service's tables."""
        return self._connection.cursor()

    # -- writes (any thread) -------------------------------------------------------------------------

    def write(self, key: StreamKey, candles: Iterable[Candle]) -> None:
        closed = [candle for candle in candles if candle.closed]
        if closed and not self._closed:
            self._queue.put(_Batch(key, candles_to_columns(closed)))

    def write_columns(self, key: StreamKey, columns: Columns) -> None:
        if not self._closed:
            self._queue.put(_Batch(key, columns))

    def flush(self, timeout: float = 10.0) -> bool:
        """Block until everything queued before this call is committed."""
        if self._thread is None or not self._thread.is_alive():
            return False
        done = threading.Event()
        self._queue.put(_Flush(done))
        return done.wait(timeout)

    def status(self) -> StoreStatus:
        return StoreStatus(
            path=self._path,
            rows_written=self._rows_written,
            batches=self._batches,
            pending_rows=self._pending_rows,
            last_flush_ms=self._last_flush_ms,
            write_errors=self._write_errors,
        )

    def _write_loop(self) -> None:
        cursor = self._connection.cursor()
        pending: list[_Batch] = []
        deadline: float | None = None
        try:
            while True:
                timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
                try:
                    item = self._queue.get(timeout=timeout)
                except queue.Empty:
                    item = None  # the flush interval elapsed
                if isinstance(item, _Batch):
                    pending.append(item)
                    self._pending_rows += int(item.columns["open_time"].shape[0])
                    if deadline is None:
                        deadline = time.monotonic() + self._flush_seconds
                    if self._pending_rows < self._batch_rows:
                        continue
                    item = self._drain_into(pending)
                try:
                    self._commit(cursor, pending)
                except Exception:
                    # The writer must outlive a bad batch; its candles come back with the next backfill.
                    self._write_errors += 1
                    self._pending_rows = 0
                    logger.exception("could not prepare %d batches for the store", len(pending))
                pending = []
                deadline = None
                if isinstance(item, _Flush):
                    item.done.set()
                elif item is _STOP:
                    return
        finally:
            cursor.close()

    def _drain_into(self, pending: list[_Batch]) -> object:
        """Take whatever else is already queued into the same transaction (bulk loads, bursts)."""
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return None
            if not isinstance(item, _Batch):
                return item
            pending.append(item)
            self._pending_rows += int(item.columns["open_time"].shape[0])

    def _commit(self, cursor: duckdb.DuckDBPyConnection, batches: list[_Batch]) -> None:
        if not batches:
            return
        started = time.perf_counter()
        frame = self._frame(batches)
        try:
            self._replace(cursor, frame, self._source)
        except duckdb.Error:
            self._write_errors += 1
            logger.exception(
                "could not store %d candles; they will be backfilled on the next start", len(frame)
            )
            return
        finally:
            self._pending_rows = 0
        self._rows_written += len(frame)
        self._batches += 1
        self._last_flush_ms = (time.perf_counter() - started) * 1000

    @staticmethod
    def _replace(
        cursor: duckdb.DuckDBPyConnection,
        frame: pd.DataFrame,
        source: str,
        also: Callable[[duckdb.DuckDBPyConnection], object] | None = None,
    ) -> None:
        """One transaction: the frame's rows replace those with the same key; `also` runs inside it."""
        try:
            cursor.register("kline_batch", frame)
            cursor.execute("BEGIN TRANSACTION")
            # The key (source, symbol, timeframe, open_time) is kept unique by the writers: replaced rows
            # are deleted first. An ART primary-key index would do the same but makes bulk inserts three
            # times slower; the open-time bound lets DuckDB skip old row groups.
            cursor.execute(
                "DELETE FROM klines USING kline_batch AS batch WHERE klines.source = ? "
                "AND klines.open_time >= ? AND klines.open_time = batch.open_time "
                "AND klines.symbol = batch.symbol::VARCHAR AND klines.timeframe = batch.timeframe::VARCHAR",
                [source, int(frame["open_time"].min())],
            )
            cursor.execute(
                "INSERT INTO klines SELECT ?, symbol::VARCHAR, timeframe::VARCHAR, "
                f"{_SELECT_COLUMNS} FROM kline_batch",
                [source],
            )
            if also is not None:
                also(cursor)
            cursor.execute("COMMIT")
        except duckdb.Error:
            with contextlib.suppress(duckdb.Error):
                cursor.execute("ROLLBACK")
            raise
        finally:
            with contextlib.suppress(duckdb.Error):
                cursor.unregister("kline_batch")

    def import_columns(
        self,
        key: StreamKey,
        columns: Columns,
        *,
        source: str | None = None,
        also: Callable[[duckdb.DuckDBPyConnection], object] | None = None,
    ) -> int:
        """Commit one batch now, in one transaction with `also` (an import's resume marker): a process
        killed halfway leaves whole batches and a marker that agrees with them. Raises `duckdb.Error`."""
        if columns["open_time"].shape[0] == 0:
            return 0
        frame = self._frame([_Batch(key, columns)])
        cursor = self._connection.cursor()
        try:
            self._replace(cursor, frame, source or self._source, also)
        finally:
            cursor.close()
        return len(frame)

    def _frame(self, batches: list[_Batch]) -> pd.DataFrame:
        """One frame for the transaction; for a repeated open time the later write wins."""
        by_key: dict[StreamKey, list[Columns]] = {}
        for batch in batches:
            by_key.setdefault(batch.key, []).append(batch.columns)
        parts: dict[str, list[np.ndarray[Any, Any]]] = {name: [] for name in COLUMNS}
        symbol_names: list[str] = []
        timeframe_names: list[str] = []
        symbol_codes: list[np.ndarray[Any, Any]] = []
        timeframe_codes: list[np.ndarray[Any, Any]] = []
        for key, chunks in by_key.items():
            columns = {name: np.concatenate([chunk[name] for chunk in chunks]) for name in COLUMNS}
            open_times = columns["open_time"]
            if len(chunks) > 1 or (open_times.shape[0] > 1 and np.any(np.diff(open_times) <= 0)):
                # Keep the last write of each open time: unique over the reversed order.
                _, first_in_reversed = np.unique(open_times[::-1], return_index=True)
                keep = open_times.shape[0] - 1 - first_in_reversed
                columns = {name: column[keep] for name, column in columns.items()}
            for name in COLUMNS:
                parts[name].append(columns[name])
            count = columns["open_time"].shape[0]
            symbol_codes.append(np.full(count, _code(symbol_names, key.symbol), dtype=np.int32))
            timeframe_codes.append(
                np.full(count, _code(timeframe_names, key.timeframe.value), dtype=np.int32)
            )
        # Categoricals reach DuckDB as dictionary-encoded enums: no per-row Python strings.
        symbols = pd.Categorical.from_codes(np.concatenate(symbol_codes), categories=pd.Index(symbol_names))
        timeframes = pd.Categorical.from_codes(
            np.concatenate(timeframe_codes), categories=pd.Index(timeframe_names)
        )
        return pd.DataFrame(
            {
                "symbol": symbols,
                "timeframe": timeframes,
                **{name: np.concatenate(parts[name]) for name in COLUMNS},
            }
        )

    # -- reads (any thread) --------------------------------------------------------------------------

    def read(
        self,
        symbol: str,
        timeframe: Timeframe,
        *,
        start: int | None = None,
        end: int | None = None,
        limit: int | None = None,
        newest: bool = True,
        source: str | None = None,
    ) -> Columns:
        """Stored candles of one stream in [start, end], oldest first; `newest`: which end `limit` keeps.

        `source` reads another source's rows (history import, backtests); the default is this store's.
        """
        conditions = ["source = ?", "symbol = ?", "timeframe = ?"]
        parameters: list[Any] = [source or self._source, symbol, timeframe.value]
        if start is not None:
            conditions.append("open_time >= ?")
            parameters.append(start)
        if end is not None:
            conditions.append("open_time <= ?")
            parameters.append(end)
        order = "DESC" if newest else "ASC"
        where = " AND ".join(conditions)
        query = f"SELECT {_SELECT_COLUMNS} FROM klines WHERE {where} ORDER BY open_time {order}"
        if limit is not None:
            query += " LIMIT ?"
            parameters.append(limit)
        cursor = self._connection.cursor()
        try:
            result = cursor.execute(query, parameters).fetchnumpy()
        finally:
            cursor.close()
        columns = {name: np.asarray(result[name]) for name in COLUMNS}
        if newest:
            columns = {name: column[::-1].copy() for name, column in columns.items()}
        return columns

    def read_recent_all(self, limit: int) -> dict[StreamKey, Columns]:
        """The newest `limit` candles' time span of every stored stream of this source (restore).

        Cut by time (newest open time minus `limit - 1` intervals) rather than by rank: a contiguous
        stream yields exactly `limit` candles, and the query avoids a window sort over the whole table.
        """
        cursor = self._connection.cursor()
        try:
            groups = cursor.execute(
                "SELECT symbol, timeframe, max(open_time) FROM klines WHERE source = ? "
                "GROUP BY symbol, timeframe",
                [self._source],
            ).fetchall()
            keys: list[StreamKey] = []
            since: list[int] = []
            for symbol, timeframe_name, newest in groups:
                try:
                    timeframe = Timeframe(timeframe_name)
                except ValueError:
                    continue
                keys.append(StreamKey(symbol, timeframe))
                since.append(int(newest) - (limit - 1) * timeframe.milliseconds)
            if not keys:
                return {}
            cutoffs = pd.DataFrame(
                {
                    "stream_id": np.arange(len(keys), dtype=np.int32),
                    "symbol": [key.symbol for key in keys],
                    "timeframe": [key.timeframe.value for key in keys],
                    "since": np.asarray(since, dtype=np.int64),
                }
            )
            cursor.register("restore_cutoffs", cutoffs)
            selected = ", ".join(f"k.{name}" for name in COLUMNS)
            result = cursor.execute(
                f"SELECT c.stream_id, {selected} FROM klines k JOIN restore_cutoffs c "
                "ON k.symbol = c.symbol AND k.timeframe = c.timeframe "
                "WHERE k.source = ? AND k.open_time >= c.since ORDER BY c.stream_id, k.open_time",
                [self._source],
            ).fetchnumpy()
            cursor.unregister("restore_cutoffs")
        finally:
            cursor.close()
        stream_ids = np.asarray(result["stream_id"])
        arrays = {name: np.asarray(result[name]) for name in COLUMNS}
        streams: dict[StreamKey, Columns] = {}
        if stream_ids.shape[0] == 0:
            return streams
        boundaries = np.flatnonzero(stream_ids[1:] != stream_ids[:-1]) + 1
        starts = np.concatenate([[0], boundaries]).tolist()
        ends = np.concatenate([boundaries, [stream_ids.shape[0]]]).tolist()
        for first, last in zip(starts, ends, strict=True):
            key = keys[int(stream_ids[first])]
            streams[key] = {name: column[first:last][-limit:] for name, column in arrays.items()}
        return streams

    def last_open_time(self, symbol: str, timeframe: Timeframe, *, source: str | None = None) -> int | None:
        cursor = self._connection.cursor()
        try:
            row = cursor.execute(
                "SELECT max(open_time) FROM klines WHERE source = ? AND symbol = ? AND timeframe = ?",
                [source or self._source, symbol, timeframe.value],
            ).fetchone()
        finally:
            cursor.close()
        return None if row is None or row[0] is None else int(row[0])

    def count(self) -> int:
        cursor = self._connection.cursor()
        try:
            row = cursor.execute("SELECT count(*) FROM klines WHERE source = ?", [self._source]).fetchone()
        finally:
            cursor.close()
        return 0 if row is None else int(row[0])

    def inventory(self) -> list[dict[str, Any]]:
        """Every stored stream of every source: candles, first and last open time (pages, CLI)."""
        cursor = self._connection.cursor()
        try:
            rows = cursor.execute(
                "SELECT source, symbol, timeframe, count(*), min(open_time), max(open_time) FROM klines "
                "GROUP BY source, symbol, timeframe ORDER BY source, symbol, timeframe"
            ).fetchall()
        finally:
            cursor.close()
        return [
            {
                "source": source,
                "symbol": symbol,
                "timeframe": timeframe,
                "candles": int(count),
                "first_open_time": int(first),
                "last_open_time": int(last),
            }
            for source, symbol, timeframe, count, first, last in rows
        ]

    # -- retention -----------------------------------------------------------------------------------

    def apply_retention(self) -> int:
        """Delete candles older than each timeframe's retention, counted back from its newest candle."""
        deleted = 0
        cursor = self._connection.cursor()
        try:
            for timeframe, days in self._retention.items():
                row = cursor.execute(
                    "SELECT max(open_time) FROM klines WHERE source = ? AND timeframe = ?",
                    [self._source, timeframe.value],
                ).fetchone()
                if row is None or row[0] is None:
                    continue
                cutoff = int(row[0]) - int(days * DAY_MS)
                result = cursor.execute(
                    "DELETE FROM klines WHERE source = ? AND timeframe = ? AND open_time < ?",
                    [self._source, timeframe.value, cutoff],
                ).fetchone()
                deleted += 0 if result is None else int(result[0])
        finally:
            cursor.close()
        if deleted:
            logger.info("retention removed %d stored candles", deleted)
        return deleted
