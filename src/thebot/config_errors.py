"""The settings error, in a leaf module so every domain's settings section can raise it without
importing `thebot.config` (which imports those sections)."""

from __future__ import annotations


class ConfigError(ValueError):
    """A setting is missing, unknown or out of range; the message names the key and the fix."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"config error at '{key}': {reason}")
        self.key = key
        self.reason = reason


def require(condition: bool, key: str, reason: str) -> None:
    """Raise `ConfigError(key, reason)` unless `condition` holds."""
    if not condition:
        raise ConfigError(key, reason)
