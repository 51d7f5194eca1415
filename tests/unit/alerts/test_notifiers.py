"""Notifiers against local servers: a webhook receiver and a Bot API imitation (HTTP), aiosmtpd (SMTP).

Retries with backoff, the outcome written on the alert, a hanging notifier that does not delay the
toast feed, and secrets that never reach a log line or an outcome.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.unit.alerts.conftest import close, free_port
from thebot.alerts.notifiers import NotifierHub, build_notifiers
from thebot.alerts.settings import AlertSettings

TOKEN = "123456:SECRET-bot-token-xyz"
SMTP_PASSWORD = "smtp-pass-DO-NOT-LEAK"


class Receiver:
    """An HTTP server that answers `statuses` in turn (then 200), or hangs for `hang` seconds."""

    def __init__(self, statuses: list[int] | None = None, hang: float = 0.0) -> None:
        self.statuses = list(statuses or [])
        self.hang = hang
        self.requests: list[tuple[str, dict[str, Any]]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                receiver.requests.append((self.path, body))
                if receiver.hang:
                    time.sleep(receiver.hang)
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                answer = json.dumps({"ok": status == 200, "result": {"message_id": 1}}).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (its timeout): that is the case under test

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Any]:
    made: list[Receiver] = []

    def _make(statuses: list[int] | None = None, hang: float = 0.0) -> Receiver:
        made.append(Receiver(statuses, hang))
        return made[-1]

    yield _make
    for item in made:
        item.close()


def wait_for(predicate: Any, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


RULE = {
    "kind": "price",
    "symbol": "BTCUSDT",
    "timeframe": "1m",
    "condition": "above",
    "value": 0.0,
    "notify": ["toast", "webhook", "telegram", "email"],
}


def _manager(make_manager: Any, settings: AlertSettings, sleeps: list[float] | None = None) -> Any:
    from thebot.alerts.store import AlertStore

    def sleep(seconds: float) -> None:
        if sleeps is not None:
            sleeps.append(seconds)

    holder: dict[str, Any] = {}
    hub = NotifierHub(
        build_notifiers(settings),
        lambda alert_id, channel, outcome: holder["store"].set_delivery(alert_id, channel, outcome),  # noqa: PLW0108 - the store exists only later
        attempts=settings.notify_attempts,
        backoff_seconds=settings.notify_backoff_seconds,
        secrets=settings.secrets(),
        sleep=sleep,
    )
    manager = make_manager(settings, notifiers=hub)
    holder["store"] = manager.store
    assert isinstance(manager.store, AlertStore)
    return manager.start()


def test_webhook_retries_with_backoff_then_records_success(make_manager: Any, receiver: Any) -> None:
    server = receiver([500, 503])
    sleeps: list[float] = []
    settings = AlertSettings(
        webhook_enabled=True, webhook_url=f"{server.url}/hook", notify_backoff_seconds=0.5
    )
    manager = _manager(make_manager, settings, sleeps)
    manager.create_rule(RULE)
    manager.process(close(65_000.0, 0))
    [alert] = manager.history()
    assert wait_for(lambda: manager.store.get(alert.id).delivery.get("webhook"))
    assert manager.store.get(alert.id).delivery == {"webhook": "sent after 3 attempts"}
    assert sleeps == [0.5, 1.0]  # exponential backoff
    path, body = server.requests[-1]
    assert path == "/hook"
    assert body["symbol"] == "BTCUSDT" and body["value"] == 65_000.0 and body["type"] == "INFO"


def test_failure_is_recorded_on_the_alert_without_the_secret(
    make_manager: Any, receiver: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server = receiver([502, 502, 502])
    settings = AlertSettings(
        telegram_enabled=True, telegram_api_url=server.url, telegram_token=TOKEN, telegram_chat_id="42"
    )
    manager = _manager(make_manager, settings)
    manager.create_rule(RULE)
    manager.process(close(65_000.0, 0))
    [alert] = manager.history()
    assert wait_for(lambda: manager.store.get(alert.id).delivery.get("telegram"))
    outcome = manager.store.get(alert.id).delivery["telegram"]
    assert outcome == "failed: HTTP 502 (attempt 3 of 3)"
    assert [path for path, _ in server.requests] == [f"/bot{TOKEN}/sendMessage"] * 3
    assert server.requests[0][1]["chat_id"] == "42"
    assert "BTCUSDT" in server.requests[0][1]["text"]
    assert TOKEN not in caplog.text
    assert TOKEN not in repr(settings)


def test_client_errors_are_not_retried(make_manager: Any, receiver: Any) -> None:
    server = receiver([404])
    settings = AlertSettings(webhook_enabled=True, webhook_url=f"{server.url}/gone")
    manager = _manager(make_manager, settings)
    manager.create_rule(RULE)
    manager.process(close(1.0, 0))
    [alert] = manager.history()
    assert wait_for(lambda: manager.store.get(alert.id).delivery.get("webhook"))
    assert manager.store.get(alert.id).delivery["webhook"].startswith("failed: HTTP 404")
    assert len(server.requests) == 1


def test_a_hanging_notifier_does_not_delay_toasts_or_evaluation(make_manager: Any, receiver: Any) -> None:
    server = receiver(hang=1.5)
    settings = AlertSettings(
        webhook_enabled=True, webhook_url=f"{server.url}/slow", notify_timeout_seconds=0.5, notify_attempts=1
    )
    manager = _manager(make_manager, settings)
    manager.create_rule(RULE)
    started = time.monotonic()
    for bar in range(5):
        manager._on_event(close(1.0 + bar, bar))
    assert wait_for(lambda: len(manager.since(0)) == 5, timeout=1.0)
    assert time.monotonic() - started < 1.0  # every alert is in the toast feed while the webhook hangs
    first = manager.since(0)[0]
    assert manager.store.get(first.id).delivery == {}
    assert wait_for(lambda: manager.store.get(first.id).delivery.get("webhook"), timeout=3.0)
    assert (
        manager.store.get(first.id).delivery["webhook"] == "failed: no answer within 0.5 s (attempt 1 of 1)"
    )


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope)
        return "250 OK"


def test_email_over_smtp(make_manager: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    inbox = _Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        settings = AlertSettings(
            email_enabled=True,
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_starttls=False,
            smtp_password=SMTP_PASSWORD,
            email_from="bot@example.test",
            email_to="analyst@example.test",
        )
        manager = _manager(make_manager, settings)
        manager.create_rule({**RULE, "message": "{{symbol}} above at {{close}}"})
        manager.process(close(65_000.0, 0))
        [alert] = manager.history()
        assert wait_for(lambda: manager.store.get(alert.id).delivery.get("email"))
        assert manager.store.get(alert.id).delivery["email"] == "sent"
        [envelope] = inbox.messages
        assert envelope.rcpt_tos == ["analyst@example.test"]
        assert b"BTCUSDT above at 65,000" in envelope.content
    finally:
        controller.stop()
    assert SMTP_PASSWORD not in caplog.text


def test_email_to_a_dead_server_is_retried_then_failed(make_manager: Any) -> None:
    settings = AlertSettings(
        email_enabled=True, smtp_host="127.0.0.1", smtp_port=free_port(), email_to="a@example.test"
    )
    manager = _manager(make_manager, settings)
    manager.create_rule(RULE)
    manager.process(close(1.0, 0))
    [alert] = manager.history()
    assert wait_for(lambda: manager.store.get(alert.id).delivery.get("email"))
    assert manager.store.get(alert.id).delivery["email"] == "failed: ConnectionRefusedError (attempt 3 of 3)"


def test_notifiers_are_off_by_default() -> None:
    assert build_notifiers(AlertSettings()) == []
