"""The trading journal: the app's own SQLite file in the data directory, apart from the candle store.

An order is written here, with its client order id, before its request leaves; so after a crash at any
point the app knows every order it may have sent and asks the exchange about exactly those. Fills, the
breaker, pause and the paper account live here too. Every write commits at once in WAL mode with
synchronous=NORMAL: a commit is in the WAL file when the call returns, so it survives the app being
killed (`kill -9`, tested); only an OS crash or power cut can lose the last commits, and then the
exchange is the truth that reconciliation restores them from. synchronous=FULL would add an fsync (3 ms
here) to each of the three or four writes of an order, more than the exchange round trip itself.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from thebot.execution.broker import Fill, Order, OrderRole, OrderStatus, OrderType, Side

logger = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    client_order_id TEXT PRIMARY KEY,
    exchange_id TEXT,
    symbol TEXT NOT NULL,
    side TEXT NOT NULL,
    type TEXT NOT NULL,
    quantity REAL NOT NULL,
    price REAL,
    stop_price REAL,
    status TEXT NOT NULL,
    filled REAL NOT NULL DEFAULT 0,
    average_price REAL NOT NULL DEFAULT 0,
    fee REAL NOT NULL DEFAULT 0,
    role TEXT NOT NULL,
    group_id TEXT NOT NULL DEFAULT '',
    trailing_fraction REAL,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS orders_status ON orders(status);
DROP INDEX IF EXISTS orders_group;
CREATE INDEX IF NOT EXISTS orders_in_group ON orders(group_id) WHERE group_id != '';
CREATE TABLE IF NOT EXISTS fills (
    trade_id TEXT NOT NULL,
    symbol TEXT NOT NULL,
    client_order_id TEXT NOT NULL,
    side TEXT NOT NULL,
    price REAL NOT NULL,
    quantity REAL NOT NULL,
    fee REAL NOT NULL,
    base_fee REAL NOT NULL DEFAULT 0,
    time_ms INTEGER NOT NULL,
    PRIMARY KEY (symbol, trade_id)
);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS equity (time_ms INTEGER PRIMARY KEY, equity REAL NOT NULL);
"""

_ORDER_COLUMNS = (
    "client_order_id, exchange_id, symbol, side, type, quantity, price, stop_price, status, filled, "
    "average_price, fee, role, group_id, trailing_fraction, created_ms, updated_ms, reason"
)
_OPEN_STATUSES = tuple(status.value for status in OrderStatus if status.is_open)
_UPSERT_ORDER = (
    f"INSERT INTO orders ({_ORDER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT(client_order_id) DO UPDATE SET "
    + ", ".join(
        f"{column} = excluded.{column}"
        for column in (name.strip() for name in _ORDER_COLUMNS.split(","))
        if column != "client_order_id"
    )
)


class Journal:
    """Thread-safe: one connection, one lock; callers are the service (under its lock) and API reads."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        # Open orders by id, kept in step with every write under the lock: the risk chain counts them on
        # every ticket, and a SELECT there was a tenth of the chain's own time.
        marks = ", ".join("?" for _ in _OPEN_STATUSES)
        self._open: set[str] = {
            row[0]
            for row in self._db.execute(
                f"SELECT client_order_id FROM orders WHERE status IN ({marks})", _OPEN_STATUSES
            )
        }

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- orders ----------------------------------------------------------------------------------------

    def write_order(self, order: Order) -> None:
        """Insert or update; committed before this returns."""
        with self._lock:
            self._insert_order(order)
            self._track(order)

    def record(
        self, fills: list[Fill], make_order: Callable[[list[Fill]], Order]
    ) -> tuple[Order, list[Fill]]:
        """One transaction for an exchange answer: the fills not seen before, then the order built from them
        (`make_order(new_fills)`); both or neither are on disk."""
        with self._lock:
            self._db.execute("BEGIN")
            try:
                new = [fill for fill in fills if self._insert_fill(fill)]
                order = make_order(new)
                self._insert_order(order)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            self._track(order)
        return order, new

    def _insert_order(self, order: Order) -> None:
        """An upsert: a row that exists is updated in place (its indexes move only if their column did),
        cheaper than INSERT OR REPLACE's delete and insert on the order's path."""
        self._db.execute(
            _UPSERT_ORDER,
            (
                order.client_order_id,
                order.exchange_id,
                order.symbol,
                order.side.value,
                order.type.value,
                order.quantity,
                order.price,
                order.stop_price,
                order.status.value,
                order.filled,
                order.average_price,
                order.fee,
                order.role.value,
                order.group_id,
                order.trailing_fraction,
                order.created_ms,
                order.updated_ms,
                order.reason,
            ),
        )

    def _track(self, order: Order) -> None:
        """After the row is committed (a rolled-back write must not move the count)."""
        if order.status.is_open:
            self._open.add(order.client_order_id)
        else:
            self._open.discard(order.client_order_id)

    def order(self, client_order_id: str) -> Order | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT {_ORDER_COLUMNS} FROM orders WHERE client_order_id = ?", (client_order_id,)
            ).fetchone()
        return None if row is None else _order(row)

    def order_by_exchange_id(self, symbol: str, exchange_id: str) -> Order | None:
        if not exchange_id:
            return None
        with self._lock:
            row = self._db.execute(
                f"SELECT {_ORDER_COLUMNS} FROM orders WHERE symbol = ? AND exchange_id = ?",
                (symbol, exchange_id),
            ).fetchone()
        return None if row is None else _order(row)

    def group(self, group_id: str) -> list[Order]:
        """An entry and its exits (one-cancels-the-other)."""
        with self._lock:
            rows = self._db.execute(
                # `group_id != ''` lets SQLite use the partial index (orders without exits are not in it).
                f"SELECT {_ORDER_COLUMNS} FROM orders WHERE group_id = ? AND group_id != '' "
                "ORDER BY created_ms",
                (group_id,),
            ).fetchall()
        return [_order(row) for row in rows]

    def count_open(self) -> int:
        with self._lock:
            return len(self._open)

    def orders(self, *, open_only: bool | None = None, limit: int = 500) -> list[Order]:
        """Newest first; `open_only` True = open, False = closed, None = all."""
        where = ""
        parameters: tuple[Any, ...] = ()
        marks = ", ".join("?" for _ in _OPEN_STATUSES)
        if open_only is True:
            where, parameters = f"WHERE status IN ({marks})", _OPEN_STATUSES
        elif open_only is False:
            where, parameters = f"WHERE status NOT IN ({marks})", _OPEN_STATUSES
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_ORDER_COLUMNS} FROM orders {where} ORDER BY created_ms DESC, rowid DESC LIMIT ?",
                (*parameters, limit),
            ).fetchall()
        return [_order(row) for row in rows]

    # -- fills -----------------------------------------------------------------------------------------

    def add_fill(self, fill: Fill) -> bool:
        """False when the fill is already known (reconciliation sees the same trade again)."""
        with self._lock:
            return self._insert_fill(fill)

    def _insert_fill(self, fill: Fill) -> bool:
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO fills (trade_id, symbol, client_order_id, side, price, quantity, fee, "
            "base_fee, time_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                fill.trade_id,
                fill.symbol,
                fill.client_order_id,
                fill.side.value,
                fill.price,
                fill.quantity,
                fill.fee,
                fill.base_fee,
                fill.time_ms,
            ),
        )
        return cursor.rowcount == 1

    def fills(self, symbol: str | None = None) -> list[Fill]:
        """Oldest first (the order the portfolio replays them in)."""
        query = "SELECT trade_id, client_order_id, symbol, side, price, quantity, fee, time_ms, base_fee"
        query += " FROM fills"
        parameters: tuple[Any, ...] = ()
        if symbol is not None:
            query += " WHERE symbol = ?"
            parameters = (symbol,)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY time_ms, rowid", parameters).fetchall()
        return [
            Fill(
                trade_id=row[0],
                client_order_id=row[1],
                symbol=row[2],
                side=Side(row[3]),
                price=row[4],
                quantity=row[5],
                fee=row[6],
                time_ms=row[7],
                base_fee=row[8],
            )
            for row in rows
        ]

    # -- state and equity ------------------------------------------------------------------------------

    def get_state(self, key: str) -> Any:
        with self._lock:
            row = self._db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def set_state(self, key: str, value: Any) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)", (key, json.dumps(value))
            )

    def add_equity(self, time_ms: int, equity: float) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO equity (time_ms, equity) VALUES (?, ?)", (time_ms, equity)
            )

    def equity_curve(self, limit: int = 5_000) -> list[tuple[int, float]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT time_ms, equity FROM "
                "(SELECT time_ms, equity FROM equity ORDER BY time_ms DESC LIMIT ?) ORDER BY time_ms",
                (limit,),
            ).fetchall()
        return [(int(row[0]), float(row[1])) for row in rows]


def _order(row: tuple[Any, ...]) -> Order:
    return Order(
        client_order_id=row[0],
        exchange_id=row[1],
        symbol=row[2],
        side=Side(row[3]),
        type=OrderType(row[4]),
        quantity=row[5],
        price=row[6],
        stop_price=row[7],
        status=OrderStatus(row[8]),
        filled=row[9],
        average_price=row[10],
        fee=row[11],
        role=OrderRole(row[12]),
        group_id=row[13],
        trailing_fraction=row[14],
        created_ms=row[15],
        updated_ms=row[16],
        reason=row[17],
    )
