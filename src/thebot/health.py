"""The health report served at /api/health and summarised on the page."""

from __future__ import annotations

from typing import Any, Literal

HealthStatus = Literal["ok", "degraded", "down"]


def overall_status(websocket_connected: bool, streams: list[dict[str, Any]]) -> HealthStatus:
    """`down` without a connection; `degraded` while any stream is stale (or none exist); else `ok`."""
    if not websocket_connected:
        return "down"
    if not streams or any(stream.get("stale", True) for stream in streams):
        return "degraded"
    return "ok"


def health_report(source: str, simulated: bool, market_health: dict[str, Any]) -> dict[str, Any]:
    websocket = dict(market_health.get("websocket", {}))
    streams = list(market_health.get("streams", []))
    report: dict[str, Any] = {
        "status": overall_status(bool(websocket.get("connected", False)), streams),
        "source": source,
        "simulated": simulated,
        "websocket": websocket,
        "streams": streams,
    }
    for key, value in market_health.items():
        report.setdefault(key, value)
    return report
