"""Builds the AlertManager from the settings and the running market and analytics services."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from thebot.alerts.manager import AlertManager
from thebot.alerts.notifiers import NotifierHub, build_notifiers
from thebot.alerts.settings import AlertSettings
from thebot.alerts.store import AlertStore
from thebot.config import Settings
from thebot.events import EventBus
from thebot.market.datastream import DataStream
from thebot.signals.service import AnalyticsService


def build_alert_manager(
    settings: Settings,
    bus: EventBus,
    datastream: DataStream,
    analytics: AnalyticsService,
    path: str | None = None,
) -> AlertManager:
    """`path` defaults to `alerts.database` in the data directory; ":memory:" keeps nothing (tests)."""
    alert_settings: AlertSettings = settings.alerts
    store = AlertStore(path or Path(settings.storage.data_dir) / alert_settings.database)
    factory = analytics.factory

    def check_indicator(name: str, params: Mapping[str, Any]) -> Sequence[str]:
        spec = factory.spec(name, params)
        return factory.info(spec.name).outputs

    def compute(name: str, params: Mapping[str, Any], snapshot: Any) -> Mapping[str, Any]:
        return factory.compute(factory.spec(name, params), snapshot)

    def grade_of(symbol: str) -> str:
        return str(analytics.confluence(symbol).get("grade", ""))

    hub = NotifierHub(
        build_notifiers(alert_settings),
        store.set_delivery,
        attempts=alert_settings.notify_attempts,
        backoff_seconds=alert_settings.notify_backoff_seconds,
        secrets=alert_settings.secrets(),
    )
    return AlertManager(
        alert_settings,
        store,
        bus,
        symbols=settings.market.symbols,
        timeframes=[timeframe.value for timeframe in datastream.timeframes],
        datastream=datastream,
        indicator_series=analytics.indicator_series,
        check_indicator=check_indicator,
        compute_indicator=compute,
        grade_of=grade_of,
        notifiers=hub,
    )
