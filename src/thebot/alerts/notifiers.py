"""Notifiers: webhook, Telegram and email, each on its own worker thread.

A notifier that hangs or fails must never delay evaluation or toasts, and must never leak a secret, so:
- the manager only queues; each channel has one daemon worker (a slow webhook delays only webhooks);
- every attempt has a timeout; failures are retried with exponential backoff, then the outcome
  ("sent", or "failed: <reason>") is written on the alert;
- reasons are redacted (the Telegram token sits in its URL), and httpx's own request log, which prints
  that URL, is turned down.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import smtplib
import threading
import time
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any, Protocol

import httpx

from thebot.alerts.models import Alert
from thebot.alerts.settings import AlertSettings

logger = logging.getLogger(__name__)
# httpx logs every request URL at INFO; a Telegram URL contains the bot token.
logging.getLogger("httpx").setLevel(logging.WARNING)
logging.getLogger("httpcore").setLevel(logging.WARNING)

QUEUE_SIZE = 1000
REDACTED = "***"


class NotifyError(Exception):
    """One attempt failed; `retry` says whether another attempt may help."""

    def __init__(self, reason: str, *, retry: bool = True) -> None:
        super().__init__(reason)
        self.retry = retry


class Notifier(Protocol):
    channel: str

    def send(self, alert: Alert) -> None: ...


def redact(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def payload(alert: Alert) -> dict[str, Any]:
    return {
        "id": alert.id,
        "time": alert.time,
        "type": alert.alert_type.value,
        "symbol": alert.symbol,
        "timeframe": alert.timeframe,
        "title": alert.title,
        "message": alert.message,
        "value": alert.value,
        "rule_id": alert.rule_id,
    }


def _post(client: httpx.Client, url: str, body: dict[str, Any], timeout: float) -> None:
    try:
        response = client.post(url, json=body, timeout=timeout)
    except httpx.TimeoutException:
        raise NotifyError(f"no answer within {timeout:g} s") from None
    except httpx.HTTPError as error:
        raise NotifyError(f"{type(error).__name__}") from None
    if response.status_code >= 500 or response.status_code == 429:
        raise NotifyError(f"HTTP {response.status_code}")
    if response.status_code >= 400:
        raise NotifyError(f"HTTP {response.status_code}: check the notifier settings", retry=False)


class WebhookNotifier:
    channel = "webhook"

    def __init__(self, url: str, timeout: float) -> None:
        self._url = url
        self._timeout = timeout
        # One client per notifier (used only by its worker): a fresh one per alert builds a TLS context.
        self._client = httpx.Client()

    def send(self, alert: Alert) -> None:
        _post(self._client, self._url, payload(alert), self._timeout)


class TelegramNotifier:
    channel = "telegram"

    def __init__(self, api_url: str, token: str, chat_id: str, timeout: float) -> None:
        self._url = f"{api_url.rstrip('/')}/bot{token}/sendMessage"
        self._chat_id = chat_id
        self._timeout = timeout
        self._client = httpx.Client()

    def send(self, alert: Alert) -> None:
        text = f"{alert.alert_type.value} {alert.title}\n{alert.message}"
        _post(self._client, self._url, {"chat_id": self._chat_id, "text": text}, self._timeout)


class EmailNotifier:
    channel = "email"

    def __init__(self, settings: AlertSettings) -> None:
        self._settings = settings

    def send(self, alert: Alert) -> None:
        settings = self._settings
        message = EmailMessage()
        message["Subject"] = f"[thebot] {alert.alert_type.value}: {alert.title}"
        message["From"] = settings.email_from or "thebot@localhost"
        message["To"] = settings.email_to
        message.set_content(alert.message)
        try:
            with smtplib.SMTP(
                settings.smtp_host, settings.smtp_port, timeout=settings.notify_timeout_seconds
            ) as smtp:
                if settings.smtp_starttls:
                    smtp.starttls()
                if settings.smtp_user:
                    smtp.login(settings.smtp_user, settings.smtp_secret())
                smtp.send_message(message)
        except smtplib.SMTPAuthenticationError:
            reason = "SMTP login refused: check alerts.smtp_user and the password"
            raise NotifyError(reason, retry=False) from None
        except (smtplib.SMTPException, OSError) as error:
            raise NotifyError(type(error).__name__) from None


def build_notifiers(settings: AlertSettings) -> list[Notifier]:
    """Only the enabled ones are built."""
    notifiers: list[Notifier] = []
    if settings.webhook_enabled:
        notifiers.append(WebhookNotifier(settings.webhook(), settings.notify_timeout_seconds))
    if settings.telegram_enabled:
        notifiers.append(
            TelegramNotifier(
                settings.telegram_api_url,
                settings.telegram(),
                settings.telegram_chat_id,
                settings.notify_timeout_seconds,
            )
        )
    if settings.email_enabled:
        notifiers.append(EmailNotifier(settings))
    return notifiers


OutcomeSink = Callable[[int, str, str], None]


class _Channel:
    def __init__(self, notifier: Notifier, hub: NotifierHub) -> None:
        self.notifier = notifier
        self.hub = hub
        self.queue: queue.Queue[Alert | None] = queue.Queue(QUEUE_SIZE)
        self.thread = threading.Thread(target=self._run, name=f"notify:{notifier.channel}", daemon=True)

    def _run(self) -> None:
        while True:
            alert = self.queue.get()
            if alert is None:
                return
            self.hub.deliver(self.notifier, alert)


class NotifierHub:
    """Fans alerts out to the enabled notifiers; `submit` never blocks."""

    def __init__(
        self,
        notifiers: list[Notifier],
        outcome: OutcomeSink,
        *,
        attempts: int = 3,
        backoff_seconds: float = 1.0,
        secrets: tuple[str, ...] = (),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._outcome = outcome
        self._attempts = attempts
        self._backoff = backoff_seconds
        self._secrets = secrets
        self._sleep = sleep
        self._channels = {notifier.channel: _Channel(notifier, self) for notifier in notifiers}
        self._started = False

    @property
    def channels(self) -> list[str]:
        return list(self._channels)

    def start(self) -> NotifierHub:
        if not self._started:
            self._started = True
            for channel in self._channels.values():
                channel.thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        for channel in self._channels.values():
            with contextlib.suppress(queue.Full):
                channel.queue.put_nowait(None)
        for channel in self._channels.values():
            if channel.thread.is_alive():
                channel.thread.join(timeout)

    def submit(self, alert: Alert, channels: tuple[str, ...]) -> None:
        for name in channels:
            channel = self._channels.get(name)
            if channel is None:
                continue
            try:
                channel.queue.put_nowait(alert)
            except queue.Full:
                self._outcome(alert.id, name, "failed: notifier queue full (the notifier is too slow)")

    def deliver(self, notifier: Notifier, alert: Alert) -> str:
        """Attempts with exponential backoff; records and returns the outcome."""
        outcome = "failed: not attempted"
        for attempt in range(1, self._attempts + 1):
            try:
                notifier.send(alert)
                outcome = "sent" if attempt == 1 else f"sent after {attempt} attempts"
                break
            except NotifyError as error:
                reason = redact(str(error), self._secrets)
                outcome = f"failed: {reason} (attempt {attempt} of {self._attempts})"
                if not error.retry:
                    break
            except Exception as error:  # a bug in a notifier must not kill its worker
                outcome = f"failed: {type(error).__name__}"
                logger.exception("notifier %s raised", notifier.channel)
                break
            if attempt < self._attempts:
                self._sleep(self._backoff * 2 ** (attempt - 1))
        if outcome.startswith("failed"):
            logger.warning("alert %d via %s %s", alert.id, notifier.channel, outcome)
        self._outcome(alert.id, notifier.channel, outcome)
        return outcome
