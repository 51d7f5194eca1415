"""The composition root: builds every long-lived service once and hands them to the web layer.

No other module keeps state, so a test builds a fresh set with `build_services` and stops it after.
"""

from __future__ import annotations

import asyncio
import json
import logging
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import websockets

from thebot.alerts.manager import AlertManager
from thebot.alerts.service import build_alert_manager
from thebot.backtest.jobs import BacktestJobs
from thebot.config import Settings
from thebot.events import EventBus, SettingsChanged
from thebot.execution.service import TradingService
from thebot.execution.wiring import build_trading_service
from thebot.health import health_report
from thebot.market.service import MarketData
from thebot.market.symbols import ExchangeInfoCatalog
from thebot.news.service import NewsService
from thebot.runtime import EventLoopThread
from thebot.settings_store import SettingsStore
from thebot.signals.service import AnalyticsService
from thebot.venue import RunningVenue, VenueConfig, run_venue_in_thread
from thebot.venue.settings import source_identity

logger = logging.getLogger(__name__)

ResolvedSource = Literal["sim", "binance"]


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Where market data comes from: a WebSocket base URL and a REST base URL of the same venue.

    `identity` is what stored candles are keyed by (`binance`, `sim:seed=7`, ...; see `market/store.py`).
    """

    source: ResolvedSource
    ws_url: str
    rest_url: str
    identity: str = ""

    @property
    def store_source(self) -> str:
        return self.identity or self.source

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
    settings_store: SettingsStore
    venue: RunningVenue | None = None
    trading: TradingService | None = None
    backtests: BacktestJobs | None = None
    news: NewsService | None = None
    alerts: AlertManager | None = None
    _stopped: bool = field(default=False, repr=False)

    @property
    def simulated(self) -> bool:
        return self.endpoints.simulated

    def health(self) -> dict[str, Any]:
        """The `/api/health` report: market data, plus the bus's per-subscriber queues and drops."""
        report = health_report(self.endpoints.source, self.simulated, self.market.health())
        report["events"] = self.bus.stats()
        report["analytics"] = self.analytics.status()
        return report

    def start(self) -> Services:
        # Analytics subscribes to the DataStream first so that no closed candle passes unseen.
        self.analytics.start()
        if self.alerts is not None:
            self.alerts.start()
        self.market.start()
        if self.trading is not None:
            # After the market: its observer needs the DataStream, its reconciliation the venue.
            self.market.datastream.add_update_observer(self.trading.observe_update)
            self.trading.start()
        if self.news is not None:
            self.news.start()
        # Each service reacts to the settings keys it owns, on its own bus worker.
        self.bus.subscribe(SettingsChanged, self._settings_changed, name="settings:services")
        self.bus.subscribe(SettingsChanged, self._market_settings_changed, name="settings:market")
        self.bus.subscribe(SettingsChanged, self._analytics_settings_changed, name="settings:analytics")
        return self

    def _settings_changed(self, _event: SettingsChanged) -> None:
        """Code that reads `services.settings` per request (chart window, theme) sees live changes."""
        self.settings = self.settings_store.current()

    def _market_settings_changed(self, event: SettingsChanged) -> None:
        market = self.settings_store.current().market
        if "market.timeframes" in event.keys:
            self.market.apply_timeframes(market.timeframes)
        if "market.symbols" in event.keys:
            self.market.apply_symbols(market.symbols)
        if self.alerts is not None and ("market.symbols" in event.keys or "market.timeframes" in event.keys):
            self.alerts.set_streams(market.symbols, [timeframe.value for timeframe in market.timeframes])

    def _analytics_settings_changed(self, event: SettingsChanged) -> None:
        self.analytics.apply_settings(self.settings_store.current(), event.keys)

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self.trading is not None:
            self.trading.stop()
        if self.backtests is not None:
            self.backtests.stop()
        if self.news is not None:
            self.news.stop()
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
    return Endpoints(source="sim", ws_url=ws, rest_url=rest, identity=venue_identity(rest))


def venue_identity(rest_url: str, timeout: float = 2.0) -> str:
    """Ask a running venue which prices it serves (`/admin/status` → `source`); a venue that does not say
    is known by its URL, so its candles are still never mixed with another venue's."""
    try:
        with urllib.request.urlopen(f"{rest_url}/admin/status", timeout=timeout) as response:
            status = json.loads(response.read())
        identity = status.get("source") if isinstance(status, dict) else None
    except (OSError, ValueError) as error:
        logger.info(
            "venue at %s did not tell its source (%s); its candles are kept under its URL", rest_url, error
        )
        identity = None
    return identity if isinstance(identity, str) and identity else f"venue:{rest_url}"


async def _binance_reachable(ws_url: str, probe_seconds: float) -> bool:
    try:
        async with asyncio.timeout(probe_seconds):
            async with websockets.connect(f"{ws_url}/ws", open_timeout=probe_seconds):
                return True
    except (OSError, TimeoutError, websockets.exceptions.WebSocketException) as error:
        logger.info("Binance is not reachable (%s); falling back to the simulated venue", error)
        return False


def _listed_symbols(settings: Settings) -> tuple[str, ...]:
    """The embedded venue lists the streamed symbols and `venue.listed_symbols`, so the settings panel
    can add a symbol the venue knows without restarting it."""
    return tuple(dict.fromkeys((*settings.market.symbols, *settings.venue.listed_symbols)))


def build_services(
    settings: Settings,
    *,
    venue_url: str | None = None,
    store_path: str | None = None,
    settings_store: SettingsStore | None = None,
    alerts_path: str | None = None,
) -> Services:
    """Build (but do not start) the services for `settings.market.source`.

    `settings_store` (from `app.py`: defaults, the user file and the flags) is what the panel changes;
    `settings` must be its `current()`. `alerts_path` overrides where the alert history lives (default:
    `alerts.database` in the data dir).

    `auto` tries Binance's stream endpoint for at most `auto_probe_seconds` and falls back to an
    in-process simulated venue; `venue_url` connects to an already-running venue and starts none.
    """
    loop = EventLoopThread().start()
    bus = EventBus()
    venue: RunningVenue | None = None
    market_settings = settings.market
    # A caller that asks for an in-memory store (tests) gets no news cache on disk either.
    news_cache = None if store_path == ":memory:" else Path(settings.storage.data_dir) / "news"
    news: NewsService | None = None
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
                    identity="binance",
                )
            else:
                venue = run_venue_in_thread(
                    VenueConfig(
                        host="127.0.0.1",
                        port=0,
                        symbols=_listed_symbols(settings),
                        speed=settings.venue.speed,
                        seed=settings.venue.seed,
                        history_days=settings.venue.history_days,
                    )
                )
                endpoints = Endpoints(
                    source="sim",
                    ws_url=venue.ws_url,
                    rest_url=venue.http_url,
                    identity=source_identity(venue.venue.config),
                )
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
            source=endpoints.store_source,
        )
        analytics = AnalyticsService(
            settings, market.datastream, market.store_connection(), publish=bus.publish
        )
        # Alerts stay on disk even when candles live in memory: they must survive a restart.
        alerts = build_alert_manager(settings, bus, market.datastream, analytics, alerts_path)
        trading = build_trading_service(
            settings.trading,
            bus,
            data_dir=settings.storage.data_dir,
            symbols=market_settings.symbols,
            rest_url=endpoints.rest_url,
            simulated=endpoints.simulated,
            price_lookup=lambda symbol: _last_price(market, symbol),
            ephemeral_exchange=venue is not None,
        )
        backtests = BacktestJobs(
            market.store, settings.signals, settings.backtest, source=endpoints.store_source, bus=bus
        )
        if settings.news.enabled:
            news = NewsService(
                settings.news,
                bus=bus,
                symbols=market.symbols,
                cache_dir=news_cache,
                exchange_info_url=endpoints.rest_url,
            )
    except BaseException:
        loop.stop()
        if venue is not None:
            venue.stop()
        raise
    logger.info(
        "market data from %s (%s), stored as %s", endpoints.source, endpoints.ws_url, endpoints.store_source
    )
    # Without a store from the caller (tests, scripts) changes live in memory only.
    store = settings_store or SettingsStore(settings)
    store.attach(publish=bus.publish, catalog=ExchangeInfoCatalog(endpoints.rest_url))
    return Services(
        settings=settings,
        endpoints=endpoints,
        loop=loop,
        market=market,
        analytics=analytics,
        bus=bus,
        settings_store=store,
        alerts=alerts,
        venue=venue,
        trading=trading,
        backtests=backtests,
        news=news,
    )


def _last_price(market: MarketData, symbol: str) -> float | None:
    """The stream's last price: the ticker, else the newest candle of the smallest timeframe."""
    ticker = market.ticker(symbol)
    if ticker is not None:
        return ticker.last_price
    timeframes = market.datastream.timeframes
    if not timeframes:
        return None
    try:
        snapshot = market.datastream.snapshot(
            symbol, min(timeframes, key=lambda item: item.milliseconds), limit=1
        )
    except KeyError:
        return None
    return float(snapshot.close[-1]) if len(snapshot.close) else None
