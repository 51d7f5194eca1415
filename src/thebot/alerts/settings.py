"""The `[alerts]` section: history, toasts, coalescing, built-in health alerts and the notifiers.

Notifiers are off by default. Secrets (the Telegram bot token, the SMTP password, the webhook URL, which
often embeds a key) may come from the environment instead (`THEBOT_TELEGRAM_TOKEN`,
`THEBOT_SMTP_PASSWORD`, `THEBOT_WEBHOOK_URL`); they are kept out of `repr` so a logged settings object
does not leak them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Literal

from thebot.config_errors import require

TypeMode = Literal["on", "silent", "off"]
TYPE_MODES: tuple[str, ...] = ("on", "silent", "off")


@dataclass(frozen=True, slots=True)
class AlertSettings:
    # file name of the alerts database inside storage.data_dir (separate from candle storage)
    database: str = "alerts.sqlite3"
    # an ACTIVE alert becomes EXPIRED this long after it fired
    expire_after_minutes: float = 1440.0
    # more than coalesce_count alerts within coalesce_window_seconds become one summary toast
    coalesce_count: int = 4
    coalesce_window_seconds: float = 5.0
    # per type: on (toast, sound, notifiers), silent (toast and history only), off (history only)
    buy: TypeMode = "on"
    sell: TypeMode = "on"
    warning: TypeMode = "on"
    info: TypeMode = "on"
    # toast auto-dismiss per type, seconds (0 keeps it until closed)
    toast_seconds_buy: float = 8.0
    toast_seconds_sell: float = 8.0
    toast_seconds_warning: float = 15.0
    toast_seconds_info: float = 6.0
    # built-in health alerts (WARNING)
    health: bool = True
    connection_lost_seconds: float = 15.0
    # webhook: POST JSON
    webhook_enabled: bool = False
    webhook_url: str = field(default="", repr=False)
    # all notifiers: per-attempt timeout, attempts, first backoff (doubles per retry)
    notify_timeout_seconds: float = 5.0
    notify_attempts: int = 3
    notify_backoff_seconds: float = 1.0
    # Telegram Bot API sendMessage
    telegram_enabled: bool = False
    telegram_api_url: str = "https://api.telegram.org"
    telegram_token: str = field(default="", repr=False)
    telegram_chat_id: str = ""
    # email over SMTP
    email_enabled: bool = False
    smtp_host: str = "localhost"
    smtp_port: int = 587
    smtp_starttls: bool = True
    smtp_user: str = ""
    smtp_password: str = field(default="", repr=False)
    email_from: str = ""
    email_to: str = ""

    def __post_init__(self) -> None:
        require(bool(self.database) and "/" not in self.database, "alerts.database", "a plain file name")
        require(self.expire_after_minutes > 0, "alerts.expire_after_minutes", "must be positive")
        require(1 <= self.coalesce_count <= 1000, "alerts.coalesce_count", "must be between 1 and 1000")
        require(self.coalesce_window_seconds > 0, "alerts.coalesce_window_seconds", "must be positive")
        for name in ("buy", "sell", "warning", "info"):
            require(getattr(self, name) in TYPE_MODES, f"alerts.{name}", "must be on, silent or off")
            require(getattr(self, f"toast_seconds_{name}") >= 0, f"alerts.toast_seconds_{name}", ">= 0")
        require(self.connection_lost_seconds > 0, "alerts.connection_lost_seconds", "must be positive")
        require(
            0 < self.notify_timeout_seconds <= 120, "alerts.notify_timeout_seconds", "must be in (0, 120]"
        )
        require(1 <= self.notify_attempts <= 10, "alerts.notify_attempts", "must be between 1 and 10")
        require(self.notify_backoff_seconds >= 0, "alerts.notify_backoff_seconds", "must be >= 0")
        require(0 < self.smtp_port <= 65_535, "alerts.smtp_port", "must be a TCP port number")
        if self.webhook_enabled:
            require(bool(self.webhook()), "alerts.webhook_url", "set it or THEBOT_WEBHOOK_URL")
        if self.telegram_enabled:
            require(bool(self.telegram()), "alerts.telegram_token", "set it or THEBOT_TELEGRAM_TOKEN")
            require(bool(self.telegram_chat_id), "alerts.telegram_chat_id", "the chat to send to")
        if self.email_enabled:
            require(bool(self.email_to), "alerts.email_to", "the address to send to")

    def mode(self, alert_type: str) -> str:
        return str(getattr(self, alert_type.lower(), "on"))

    def toast_seconds(self, alert_type: str) -> float:
        return float(getattr(self, f"toast_seconds_{alert_type.lower()}", 8.0))

    # Secrets: the settings value, else the environment.
    def webhook(self) -> str:
        return self.webhook_url or os.environ.get("THEBOT_WEBHOOK_URL", "")

    def telegram(self) -> str:
        return self.telegram_token or os.environ.get("THEBOT_TELEGRAM_TOKEN", "")

    def smtp_secret(self) -> str:
        return self.smtp_password or os.environ.get("THEBOT_SMTP_PASSWORD", "")

    def secrets(self) -> tuple[str, ...]:
        return tuple(secret for secret in (self.webhook(), self.telegram(), self.smtp_secret()) if secret)
