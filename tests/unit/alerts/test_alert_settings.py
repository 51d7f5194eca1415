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


def test_the_settings_panel_shows_alert_secrets_as_set_or_not() -> None:
    from thebot.settings_schema import settings_to_dict
    from thebot.settings_store import redact

    settings = settings_from_dict(
        {
            "alerts": {
                "webhook_enabled": True,
                "webhook_url": "https://hooks.example/services/T0/B0/secret-path",
                "telegram_token": "123:tok",
                "smtp_password": "pw",
            }
        }
    )
    public = redact(settings_to_dict(settings))["alerts"]
    assert public["webhook_url"] == {"set": True}
    assert public["telegram_token"] == {"set": True}
    assert public["smtp_password"] == {"set": True}
    assert public["webhook_enabled"] is True
