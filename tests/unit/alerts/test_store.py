from __future__ import annotations

from pathlib import Path

import pytest

from thebot.alerts.conditions import RuleState
from thebot.alerts.models import Alert, AlertStatus, AlertType
from thebot.alerts.store import AlertStore


def test_an_unusable_data_dir_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(ValueError, match=r"check storage\.data_dir"):
        AlertStore(blocker / "alerts.sqlite3")


def test_one_alert_per_rule_and_firing_key_survives_reopening(tmp_path: Path) -> None:
    store = AlertStore(tmp_path / "a.sqlite3")
    alert = Alert(0, 1, AlertType.BUY, AlertStatus.ACTIVE, "BTCUSDT", "1m", "t", "m", "rule-1")
    state = RuleState(last_fired_bar=60_000, fired_count=1, done=True)
    stored, again, other = store.record_many(
        [(alert, "bar:60000", state), (alert, "bar:60000", state), (alert, "bar:120000", None)]
    )
    assert stored is not None and again is None and other is not None
    assert [a.id for a in store.after(0)] == [stored.id, other.id]
    store.close()
    reopened = AlertStore(tmp_path / "a.sqlite3")
    assert len(reopened.history()) == 2
    reopened.close()
