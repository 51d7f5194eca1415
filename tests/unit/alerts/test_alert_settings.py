from __future__ import annotations

import pytest

from thebot.config import ConfigError, load_settings, settings_from_dict


def test_shipped_defaults_keep_notifiers_off() -> None:
    alerts = load_settings().alerts
    assert (alerts.webhook_enabled, alerts.telegram_enabled, alerts.email_enabled) == (False, False, False)


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ({"buy": "loud"}, "alerts.buy"),
        ({"coalesce_count": 0}, "alerts.coalesce_count"),
        ({"telegram_enabled": True, "telegram_chat_id": "1"}, "alerts.telegram_token"),
        ({"webhook_enabled": True}, "alerts.webhook_url"),
        ({"database": "../elsewhere.db"}, "alerts.database"),
        ({"colour": "red"}, "alerts.colour"),
    ],
)
def test_bad_alert_settings_name_the_key(table: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings_from_dict({"alerts": table})
    assert caught.value.key == key


def test_secrets_come_from_the_environment_and_stay_out_of_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THEBOT_TELEGRAM_TOKEN", "999:env-token")
    alerts = settings_from_dict({"alerts": {"telegram_enabled": True, "telegram_chat_id": "1"}}).alerts
    assert alerts.telegram() == "999:env-token"
    assert "env-token" not in repr(alerts)
    assert alerts.secrets() == ("999:env-token",)
