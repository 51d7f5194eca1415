"""Builds the Dash application around a set of services."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

from dash import Dash

from dash_modules import (
    alerts_api,
    alerts_page,
    analytics_api,
    api,
    backtest_page,
    ids,
    layout,
    markets_page,
    matrix_page,
    news_api,
    news_page,
    pages,
    settings_api,
    settings_page,
    signals_page,
    status,
    trading_api,
    trading_page,
)
from dash_modules.push import Props, PushHub
from thebot.events import (
    AlertFired,
    BacktestProgress,
    CalendarEventSoon,
    CandleClosed,
    NewsFeedChanged,
    NewsItem,
    OrderUpdated,
    SettingsChanged,
    SignalRaised,
    SignalWithdrawn,
    StreamFresh,
    StreamStale,
    TradingWarning,
)
from thebot.services import Services

ASSETS_DIR = Path(__file__).resolve().parents[1] / "assets"


def create_app(services: Services, hub: PushHub | None = None) -> Dash:
    """Everything the page loads comes from this server: Dash's own bundles and `assets/`."""
    app = Dash(
        __name__,
        title="thebot",
        assets_folder=str(ASSETS_DIR),
        serve_locally=True,
        update_title=None,
        suppress_callback_exceptions=True,
    )
    registered = pages.all_pages()
    # Built per page load: a reload after a live settings change (a symbol or timeframe added) shows the
    # current lists, not the ones the app started with.
    app.layout = lambda: layout.page(services, registered)
    app.validation_layout = layout.validation_layout(services, registered)
    pages.register_router(app, services, registered)
    status.register_callbacks(app, services)
    for page in registered:
        page.register(app, services)
    api.register(app.server, services, hub)
    if hub is not None:
        register_push_topics(hub, services)
    analytics_api.register(app.server, services)
    trading_api.register(app.server, services)
    news_api.register(app.server, services)
    settings_api.register(app.server, services)
    alerts_api.register(app.server, services)
    return app


def register_push_topics(hub: PushHub, services: Services) -> None:
    """Page parts that follow an event (or market data): rebuilt once per burst, pushed to the pages that
    show them. Parts that change with every tick are rebuilt at most once per their page's PUSH_SECONDS
    and only while some page shows them (`shown_by`)."""
    trading = services.trading
    if trading is not None:
        hub.add_topic(
            (OrderUpdated, TradingWarning),
            lambda: trading_page.trading_props(trading),
            on_connect=lambda: trading_page.trading_props(trading),
            shown_by=(trading_page.ACCOUNT,),
            name="trading",
        )
        hub.add_topic(
            (),
            lambda: trading_page.marked_props(trading),
            shown_by=(trading_page.POSITIONS,),
            market=True,
            min_seconds=trading_page.PUSH_SECONDS,
            name="trading-marks",
        )
    # The navbar's symbols, the theme and the Settings page follow every applied settings change.
    hub.add_topic(
        (SettingsChanged,),
        lambda: settings_page.frame_props(services),
        on_connect=lambda: settings_page.version_props(services),
        name="settings",
    )
    alerts = services.alerts
    if alerts is not None:
        # Every page's toast callback runs on this and reads what is new to that page.
        hub.add_topic(
            (AlertFired,),
            lambda: alerts_page.news_props(alerts),
            on_connect=lambda: alerts_page.sync_props(alerts),
            name="alerts",
        )
    signal_events = (SignalRaised, SignalWithdrawn, SettingsChanged)
    hub.add_topic(
        (*signal_events, StreamStale, StreamFresh),
        lambda: markets_page.markets_props(services),
        shown_by=(markets_page.MARKETS_GRID,),
        market=True,
        min_seconds=markets_page.PUSH_SECONDS,
        name="markets",
    )
    hub.add_topic(
        (*signal_events, CandleClosed),
        lambda: matrix_page.matrix_props(services),
        shown_by=(matrix_page.MATRIX_GRAPH,),
        min_seconds=matrix_page.PUSH_SECONDS,
        name="matrix",
    )
    hub.add_topic(
        signal_events,
        signals_page.SignalsFeed(services).props,
        shown_by=(signals_page.SIGNALS_FEED,),
        min_seconds=signals_page.PUSH_SECONDS,
        name="signals",
    )
    hub.add_topic(
        (BacktestProgress,),
        nudge(ids.BACKTEST_FEED),
        shown_by=(ids.BACKTEST_FEED,),
        min_seconds=backtest_page.PUSH_SECONDS,
        name="backtest",
    )
    hub.add_topic(
        (NewsItem, NewsFeedChanged, CalendarEventSoon),
        nudge(news_page.NEWS_FEED),
        shown_by=(news_page.NEWS_FEED,),
        min_seconds=news_page.PUSH_SECONDS,
        name="news",
    )
    hub.add_topic(
        (CandleClosed,),
        nudge(news_page.NEWS_CANDLES),
        shown_by=(news_page.NEWS_CANDLES,),
        min_seconds=news_page.CANDLES_PUSH_SECONDS,
        name="news-candles",
    )


def nudge(carrier_id: str) -> Callable[[], Props]:
    """A topic that only says "changed" (a new title each time): the page's own callbacks, which take the
    carrier's title as an Input, read what the change means to that page (its filters, its job)."""
    count = itertools.count(1)
    return lambda: {carrier_id: {"title": str(next(count))}}


__all__ = ["create_app", "nudge", "register_push_topics"]
