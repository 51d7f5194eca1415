"""The composition root: builds every long-lived service once and hands them to the web layer.

No other module keeps state, so a test builds a fresh set with `build_services` and stops it after.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import websockets

from thebot.alerts.manager import AlertManager
from thebot.alerts.service import build_alert_manager
from thebot.config import Settings
from thebot.events import EventBus
from thebot.health import health_report
from thebot.market.service import MarketData
from thebot.runtime import EventLoopThread
from thebot.signals.service import AnalyticsService
from thebot.venue import RunningVenue, VenueConfig, run_venue_in_thread

logger = logging.getLogger(__name__)

ResolvedSource = Literal["sim", "binance"]


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Where market data comes from: a WebSocket base URL and a REST base URL of the same venue."""

    source: ResolvedSource
    ws_url: str
    rest_url: str

    @property
    def simulated(self) -> bool:
        return self.source == "sim"


@dataclass
class Services:
    settings: Settings
    endpoints: Endpoints
    loop: EventLoopThread
    market: MarketData
    analytics: AnalyticsService
    bus: EventBus
    alerts: AlertManager | None = None
    venue: RunningVenue | None = None
    _stopped: bool = field(default=False, repr=False)

    @property
    def simulated(self) -> bool:
        return self.endpoints.simulated

    def health(self) -> dict[str, Any]:
        """The `/api/health` report: market data, plus the bus's per-subscriber queues and drops."""
        report = health_report(self.endpoints.source, self.simulated, self.market.health())
        report["events"] = self.bus.stats()
        return report

    def start(self) -> Services:
        # Analytics subscribes to the DataStream first so that no closed candle passes unseen.
        self.analytics.start()
        if self.alerts is not None:
            self.alerts.start()
        self.market.start()
        return self

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self.analytics.stop()
        if self.alerts is not None:
            self.alerts.stop()
        self.market.stop()
        self.bus.close()
        self.loop.stop()
        if self.venue is not None:
            self.venue.stop()


def venue_endpoints(url: str) -> Endpoints:
    """`http://127.0.0.1:9555` (or ws://...) names a running venue; REST and streams share its port."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https", "ws", "wss") or not parts.netloc:
        raise ValueError(f"--venue {url!r}: expected a URL such as http://127.0.0.1:9555")
    secure = parts.scheme in ("https", "wss")
    rest = urlunsplit(("https" if secure else "http", parts.netloc, "", "", ""))
    ws = urlunsplit(("wss" if secure else "ws", parts.netloc, "", "", ""))
    return Endpoints(source="sim", ws_url=ws, rest_url=rest)


async def _binance_reachable(ws_url: str, probe_seconds: float) -> bool:
    try:
        async with asyncio.timeout(probe_seconds):
            async with websockets.connect(f"{ws_url}/ws", open_timeout=probe_seconds):
                return True
    except (OSError, TimeoutError, websockets.exceptions.WebSocketException) as error:
        logger.info("Binance is not reachable (%s); falling back to the simulated venue", error)
        return False


def build_services(
    settings: Settings,
    *,
    venue_url: str | None = None,
    store_path: str | None = None,
    alerts_path: str | None = None,
) -> Services:
    """Build (but do not start) the services for `settings.market.source`.

    `alerts_path` overrides where the alert history lives (default: `alerts.database` in the data dir).
    `auto` tries Binance's stream endpoint for at most `auto_probe_seconds` and falls back to an
    in-process simulated venue; `venue_url` connects to an already-running venue and starts none.
    """
    loop = EventLoopThread().start()
    bus = EventBus()
    venue: RunningVenue | None = None
    market_settings = settings.market
    try:
        if venue_url is not None:
            endpoints = venue_endpoints(venue_url)
        else:
            use_binance = market_settings.source == "binance" or (
                market_settings.source == "auto"
                and loop.run(
                    _binance_reachable(market_settings.binance_ws_url, market_settings.auto_probe_seconds),
                    timeout=market_settings.auto_probe_seconds + 1.0,
                )
            )
            if use_binance:
                endpoints = Endpoints(
                    source="binance",
                    ws_url=market_settings.binance_ws_url,
                    rest_url=market_settings.binance_rest_url,
                )
            else:
                venue = run_venue_in_thread(
                    VenueConfig(
                        host="127.0.0.1",
                        port=0,
                        symbols=market_settings.symbols,
                        speed=settings.venue.speed,
                        seed=settings.venue.seed,
                        history_days=settings.venue.history_days,
                    )
                )
                endpoints = Endpoints(source="sim", ws_url=venue.ws_url, rest_url=venue.http_url)
        if store_path is None and venue is not None:
            # An in-process venue's clock restarts from the wall clock at every start and, at speed > 1,
            # runs ahead of it: a store kept across runs would hold candles from a future the next run
            # has not reached yet. Its candles live in memory; `--venue URL` runs keep theirs on disk.
            store_path = ":memory:"
        if store_path is None:
            data_dir = Path(settings.storage.data_dir)
            data_dir.mkdir(parents=True, exist_ok=True)
            store_path = str(data_dir / "thebot.duckdb")
        market = MarketData(
            settings,
            ws_url=endpoints.ws_url,
            rest_url=endpoints.rest_url,
            exchange=endpoints.source,
            store_path=store_path,
            loop=loop,
            publish=bus.publish,
        )
        analytics = AnalyticsService(
            settings, market.datastream, market.store_connection(), publish=bus.publish
        )
        # Alerts stay on disk even when candles live in memory: they must survive a restart.
        alerts = build_alert_manager(settings, bus, market.datastream, analytics, alerts_path)
    except BaseException:
        loop.stop()
        if venue is not None:
            venue.stop()
        raise
    logger.info("market data from %s (%s)", endpoints.source, endpoints.ws_url)
    return Services(
        settings=settings,
        endpoints=endpoints,
        loop=loop,
        market=market,
        analytics=analytics,
        bus=bus,
        alerts=alerts,
        venue=venue,
    )
