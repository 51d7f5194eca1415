"""The alerts database: rules, their fired state and the alert history, in the app's own SQLite file.

Separate from candle storage (which may be in memory): alerts must survive a restart. A firing writes
the alert row and the rule's fired state in one transaction *before* anyone is notified, and a unique
key (rule, firing key) refuses a second row for the same bar, so a kill -9 at any point neither loses
an alert nor fires it twice. WAL mode: a process crash keeps every committed transaction.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any

from thebot.alerts.conditions import RuleState
from thebot.alerts.models import Alert, AlertStatus, AlertType, Rule, RuleKind, Trigger

_SCHEMA = """
CREATE TABLE IF NOT EXISTS rules (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT '{}',
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time INTEGER NOT NULL,
    type TEXT NOT NULL,
    status TEXT NOT NULL,
    symbol TEXT NOT NULL,
    timeframe TEXT NOT NULL,
    title TEXT NOT NULL,
    message TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    fire_key TEXT NOT NULL,
    bar_open_time INTEGER NOT NULL,
    value REAL NOT NULL,
    observed_at INTEGER NOT NULL,
    expires_at INTEGER,
    channels TEXT NOT NULL,
    delivery TEXT NOT NULL DEFAULT '{}'
);
CREATE UNIQUE INDEX IF NOT EXISTS alerts_fire_key ON alerts (rule_id, fire_key);
CREATE INDEX IF NOT EXISTS alerts_time ON alerts (time);
"""

_INSERT = (
    "INSERT OR IGNORE INTO alerts (time, type, status, symbol, timeframe, title, message, rule_id, "
    "fire_key, bar_open_time, value, observed_at, expires_at, channels) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_ALERT_COLUMNS = (
    "id, time, type, status, symbol, timeframe, title, message, rule_id, bar_open_time, value, "
    "observed_at, expires_at, channels, delivery"
)


def rule_from_dict(body: dict[str, Any]) -> Rule:
    return Rule(
        id=body["id"],
        kind=RuleKind(body["kind"]),
        symbol=body["symbol"],
        timeframe=body["timeframe"],
        condition=body["condition"],
        value=float(body["value"]),
        trigger=Trigger(body["trigger"]),
        created_at=int(body["created_at"]),
        value2=body.get("value2"),
        indicator=body.get("indicator"),
        params=tuple(sorted((body.get("params") or {}).items())),
        output=body.get("output"),
        output2=body.get("output2"),
        bars=int(body.get("bars", 1)),
        expires_at=body.get("expires_at"),
        message=body.get("message", ""),
        notify=tuple(body.get("notify", ("toast", "sound"))),
        cooldown_seconds=float(body.get("cooldown_seconds", 0.0)),
        hysteresis=float(body.get("hysteresis", 0.0)),
        alert_type=AlertType(body.get("type", "INFO")),
        paused=bool(body.get("paused", False)),
        title=body.get("title", ""),
        updated_at=int(body.get("updated_at") or body["created_at"]),
    )


def _alert(row: tuple[Any, ...]) -> Alert:
    return Alert(
        id=row[0],
        time=row[1],
        alert_type=AlertType(row[2]),
        status=AlertStatus(row[3]),
        symbol=row[4],
        timeframe=row[5],
        title=row[6],
        message=row[7],
        rule_id=row[8],
        bar_open_time=row[9],
        value=row[10],
        observed_at=row[11],
        expires_at=row[12],
        channels=tuple(json.loads(row[13])),
        delivery=json.loads(row[14]),
    )


class AlertStore:
    """Thread-safe: one connection behind a lock (writes are a few per second at most)."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            try:
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise ValueError(
                    f"cannot create {Path(self.path).parent}: {error}; check storage.data_dir"
                ) from None
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as error:
            raise ValueError(
                f"cannot open the alerts database {self.path}: {error}; check storage.data_dir"
            ) from None

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- rules ---------------------------------------------------------------------------------------

    def save_rule(self, rule: Rule) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO rules (id, body, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET body = excluded.body",
                (rule.id, json.dumps(rule.as_dict()), rule.created_at),
            )

    def delete_rule(self, rule_id: str) -> bool:
        with self._lock:
            return self._db.execute("DELETE FROM rules WHERE id = ?", (rule_id,)).rowcount > 0

    def save_state(self, rule_id: str, state: RuleState) -> None:
        with self._lock:
            self._db.execute("UPDATE rules SET state = ? WHERE id = ?", (_state_json(state), rule_id))

    def load_rules(self) -> list[tuple[Rule, RuleState]]:
        with self._lock:
            rows = self._db.execute("SELECT body, state FROM rules ORDER BY created_at, id").fetchall()
        result = []
        for body, state in rows:
            stored = json.loads(state)
            result.append(
                (
                    rule_from_dict(json.loads(body)),
                    RuleState(
                        last_fired_bar=stored.get("last_fired_bar"),
                        last_fired_ms=stored.get("last_fired_ms"),
                        fired_count=stored.get("fired_count", 0),
                        armed=stored.get("armed", True),
                        done=stored.get("done", False),
                    ),
                )
            )
        return result

    # -- alerts --------------------------------------------------------------------------------------

    def record(self, alert: Alert, fire_key: str, state: RuleState | None) -> Alert | None:
        """Write the alert (and its rule's fired state) in one transaction; None if this rule already
        fired for `fire_key` (a replayed close after a restart)."""
        return self.record_many([(alert, fire_key, state)])[0]

    def record_many(self, firings: list[tuple[Alert, str, RuleState | None]]) -> list[Alert | None]:
        """`record` for the firings of one close, in one transaction (one commit, not one per rule)."""
        stored: list[Alert | None] = []
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                for alert, fire_key, state in firings:
                    cursor = self._db.execute(
                        _INSERT,
                        (
                            alert.time,
                            alert.alert_type.value,
                            alert.status.value,
                            alert.symbol,
                            alert.timeframe,
                            alert.title,
                            alert.message,
                            alert.rule_id,
                            fire_key,
                            alert.bar_open_time,
                            alert.value,
                            alert.observed_at,
                            alert.expires_at,
                            json.dumps(list(alert.channels)),
                        ),
                    )
                    if cursor.rowcount == 0:
                        stored.append(None)  # this rule already fired for this key: keep the old state
                        continue
                    if state is not None:
                        self._db.execute(
                            "UPDATE rules SET state = ? WHERE id = ?", (_state_json(state), alert.rule_id)
                        )
                    stored.append(Alert(**{**_fields(alert), "id": int(cursor.lastrowid or 0)}))
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
        return stored

    def set_delivery(self, alert_id: int, channel: str, outcome: str) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE alerts SET delivery = json_set(delivery, '$.' || ?, ?) WHERE id = ?",
                (channel, outcome, alert_id),
            )

    def get(self, alert_id: int) -> Alert | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE id = ?", (alert_id,)
            ).fetchone()
        return None if row is None else _alert(row)

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
        clauses: list[str] = []
        args: list[Any] = []
        for column, value in (("symbol", symbol), ("type", alert_type), ("status", status)):
            if value:
                clauses.append(f"{column} = ?")
                args.append(value)
        if since is not None:
            clauses.append("time >= ?")
            args.append(since)
        if until is not None:
            clauses.append("time <= ?")
            args.append(until)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_ALERT_COLUMNS} FROM alerts {where} ORDER BY id DESC LIMIT ?", (*args, limit)
            ).fetchall()
        return [_alert(row) for row in rows]

    def after(self, cursor: int, limit: int = 100) -> list[Alert]:
        """Alerts with id > cursor, oldest first (the toast feed)."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE id > ? ORDER BY id LIMIT ?", (cursor, limit)
            ).fetchall()
        return [_alert(row) for row in rows]

    def last_id(self) -> int:
        with self._lock:
            row = self._db.execute("SELECT COALESCE(MAX(id), 0) FROM alerts").fetchone()
        return int(row[0])

    def set_status(self, alert_id: int | None, status: AlertStatus) -> int:
        """ACTIVE → `status` for one alert (or every active one when `alert_id` is None)."""
        with self._lock:
            if alert_id is None:
                cursor = self._db.execute(
                    "UPDATE alerts SET status = ? WHERE status = 'ACTIVE'", (status.value,)
                )
            else:
                cursor = self._db.execute(
                    "UPDATE alerts SET status = ? WHERE id = ? AND status = 'ACTIVE'",
                    (status.value, alert_id),
                )
            return cursor.rowcount

    def expire_due(self, now_ms: int) -> int:
        with self._lock:
            return self._db.execute(
                "UPDATE alerts SET status = 'EXPIRED' WHERE status = 'ACTIVE' AND expires_at IS NOT NULL "
                "AND expires_at <= ?",
                (now_ms,),
            ).rowcount


def _state_json(state: RuleState) -> str:
    stored = asdict(state)
    stored.pop("previous", None)
    stored.pop("previous_level", None)
    return json.dumps(stored)


def _fields(alert: Alert) -> dict[str, Any]:
    return {name: getattr(alert, name) for name in Alert.__dataclass_fields__}
