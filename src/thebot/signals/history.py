"""Signal history in DuckDB: every closed-candle signal, kept across restarts when the database is a file.

Takes the application's connection and works on its own cursor (DuckDB's per-thread handle onto the same
database) under a lock, so the websocket thread that records and the web threads that query never share
a cursor. Provisional signals are not stored: they may yet be withdrawn.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

import pandas as pd

from thebot.market.timeframe import Timeframe
from thebot.signals.models import Side, Signal

logger = logging.getLogger(__name__)

TABLE = "analytics_signals"
_COLUMNS = "symbol, timeframe, open_time, side, rule, strength, price, reason"
_ROW_BY_ROW = 1  # one signal: a plain INSERT is cheaper than registering a frame


class SignalHistory:
    def __init__(self, connection: Any) -> None:
        self._cursor = connection.cursor()
        self._lock = threading.Lock()
        with self._lock:
            self._cursor.execute(
                f"""
                CREATE TABLE IF NOT EXISTS {TABLE} (
                    symbol VARCHAR NOT NULL,
                    timeframe VARCHAR NOT NULL,
                    open_time BIGINT NOT NULL,
                    side VARCHAR NOT NULL,
                    rule VARCHAR NOT NULL,
                    strength DOUBLE NOT NULL,
                    price DOUBLE NOT NULL,
                    reason VARCHAR NOT NULL,
                    PRIMARY KEY (symbol, timeframe, rule, open_time)
                )
                """
            )

    def record(self, signals: Sequence[Signal]) -> None:
        rows = [
            [s.symbol, s.timeframe.value, s.time, s.side.value, s.rule, s.strength, s.price, s.reason]
            for s in signals
            if not s.provisional
        ]
        if not rows:
            return
        with self._lock:
            if len(rows) <= _ROW_BY_ROW:
                self._cursor.executemany(
                    f"INSERT INTO {TABLE} ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT DO NOTHING",
                    rows,
                )
                return
            # A stream's replayed history is hundreds of signals: DuckDB's executemany runs one statement
            # per row (~5 ms each here, so opening 600 streams took 25 minutes); one INSERT ... SELECT
            # from a registered frame takes a few ms for all of them.
            frame = pd.DataFrame(rows, columns=[name.strip() for name in _COLUMNS.split(",")])
            self._cursor.register("_incoming_signals", frame)
            try:
                self._cursor.execute(
                    f"INSERT INTO {TABLE} ({_COLUMNS}) SELECT {_COLUMNS} FROM _incoming_signals "
                    "ON CONFLICT DO NOTHING"
                ).fetchall()  # consume the row count: DuckDB refuses the next statement until then
            finally:
                self._cursor.unregister("_incoming_signals")

    def query(
        self,
        symbol: str,
        timeframe: Timeframe | None = None,
        since: int | None = None,
        limit: int | None = None,
    ) -> list[Signal]:
        """Stored signals of `symbol` (one timeframe or all), newest first."""
        clauses = ["symbol = ?"]
        parameters: list[Any] = [symbol]
        if timeframe is not None:
            clauses.append("timeframe = ?")
            parameters.append(timeframe.value)
        if since is not None:
            clauses.append("open_time >= ?")
            parameters.append(since)
        sql = f"SELECT {_COLUMNS} FROM {TABLE} WHERE {' AND '.join(clauses)} ORDER BY open_time DESC, rule"
        if limit is not None:
            sql += " LIMIT ?"
            parameters.append(limit)
        with self._lock:
            rows = self._cursor.execute(sql, parameters).fetchall()
        return [
            Signal(
                time=int(open_time),
                symbol=str(row_symbol),
                timeframe=Timeframe(row_timeframe),
                side=Side(side),
                rule=str(rule),
                strength=float(strength),
                price=float(price),
                reason=str(reason),
            )
            for row_symbol, row_timeframe, open_time, side, rule, strength, price, reason in rows
        ]

    def count(self) -> int:
        with self._lock:
            rows = self._cursor.execute(f"SELECT count(*) FROM {TABLE}").fetchall()  # all: see `record`
        return int(rows[0][0]) if rows else 0
