"""kill -9 an alert manager right after it fired (its webhook still hanging): after a restart on the
same database the alert is there, the replayed closes do not fire it again, and new crossings do."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.unit.alerts.test_notifiers import Receiver

ROOT = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent(
    """
    import sys
    from thebot.alerts.manager import AlertManager
    from thebot.alerts.notifiers import NotifierHub, build_notifiers
    from thebot.alerts.settings import AlertSettings
    from thebot.alerts.store import AlertStore
    from thebot.events import CandleClosed

    path, hook = sys.argv[1], sys.argv[2]
    settings = AlertSettings(webhook_enabled=True, webhook_url=hook, notify_timeout_seconds=60)
    store = AlertStore(path)
    hub = NotifierHub(build_notifiers(settings), store.set_delivery)
    manager = AlertManager(settings, store, symbols=["BTCUSDT"], timeframes=["1m"], notifiers=hub).start()
    if not manager.rules():
        manager.create_rule({"kind": "price", "symbol": "BTCUSDT", "timeframe": "1m",
                             "condition": "crossing_up", "value": 100.0, "notify": ["toast", "webhook"]})
    print("ready", flush=True)
    for line in sys.stdin:
        bar, price = line.split()
        open_time = 1_700_000_000_000 + int(bar) * 60_000
        p = float(price)
        manager.process(CandleClosed("BTCUSDT", "1m", open_time, p, p, p, p, 1.0))
        print("alerts", len(manager.history()), flush=True)
    """
)


def _start(db: Path, hook: str) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(db), hook],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}"},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    return child


def _send(child: subprocess.Popen[str], bar: int, price: float) -> int:
    assert child.stdin is not None and child.stdout is not None
    child.stdin.write(f"{bar} {price}\n")
    child.stdin.flush()
    return int(child.stdout.readline().split()[1])


def test_kill_9_after_firing_neither_loses_nor_refires(tmp_path: Path) -> None:
    hook = Receiver(hang=30.0)  # the notifier never finishes before the kill
    db = tmp_path / "alerts.sqlite3"
    try:
        first = _start(db, f"{hook.url}/hook")
        assert _send(first, 0, 99.0) == 0
        assert _send(first, 1, 101.0) == 1  # fired: written, webhook in flight
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
        assert first.returncode == -signal.SIGKILL

        second = _start(db, f"{hook.url}/hook")
        try:
            assert _send(second, 0, 99.0) == 1  # history survived
            assert _send(second, 1, 101.0) == 1  # the replayed crossing close does not fire again
            assert _send(second, 2, 102.0) == 1
            assert _send(second, 3, 99.0) == 1
            assert _send(second, 4, 101.0) == 2  # a new crossing does
        finally:
            second.kill()
            second.wait(10)
    finally:
        hook.close()
