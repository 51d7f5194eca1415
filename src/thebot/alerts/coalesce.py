"""Burst control: more than `max_count` alerts within `window_ms` become one summary toast.

Twenty rules crossing on one violent candle must not bury the screen; the history keeps every alert,
only the toast (and its sound) is shared.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from thebot.alerts.models import Alert, AlertType

# The summary's type is the most urgent one in the burst.
_URGENCY = (AlertType.WARNING, AlertType.SELL, AlertType.BUY, AlertType.INFO)


@dataclass(frozen=True, slots=True)
class ToastGroup:
    alerts: tuple[Alert, ...]

    @property
    def summary(self) -> bool:
        return len(self.alerts) > 1

    @property
    def alert_type(self) -> AlertType:
        types = {alert.alert_type for alert in self.alerts}
        return next(kind for kind in _URGENCY if kind in types)


def coalesce(alerts: Sequence[Alert], max_count: int, window_ms: int) -> list[ToastGroup]:
    """Windows open at the first alert not yet grouped; a window holding more than `max_count`
    alerts is one group, otherwise each of its alerts is its own."""
    ordered = sorted(alerts, key=lambda alert: (alert.time, alert.id))
    groups: list[ToastGroup] = []
    start = 0
    while start < len(ordered):
        end = start
        while end < len(ordered) and ordered[end].time - ordered[start].time < window_ms:
            end += 1
        window = ordered[start:end]
        if len(window) > max_count:
            groups.append(ToastGroup(tuple(window)))
        else:
            groups.extend(ToastGroup((alert,)) for alert in window)
        start = end
    return groups
