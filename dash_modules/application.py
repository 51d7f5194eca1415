"""Builds the Dash application around a set of services."""

from __future__ import annotations

from pathlib import Path

from dash import Dash

from dash_modules import (
    alerts_api,
    alerts_page,
    analytics_api,
    api,
    layout,
    news_api,
    pages,
    settings_api,
    settings_page,
    status,
    trading_api,
    trading_page,
)
from dash_modules.push import PushHub
from thebot.events import AlertFired, OrderUpdated, SettingsChanged, TradingWarning
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
    """Page parts that follow an event: rebuilt once per event, pushed to every open page."""
    trading = services.trading
    if trading is not None:
        hub.add_topic((OrderUpdated, TradingWarning), lambda: trading_page.trading_props(trading))
    # The navbar's symbols, the theme and the Settings page follow every applied settings change.
    hub.add_topic((SettingsChanged,), lambda: settings_page.frame_props(services))
    alerts = services.alerts
    if alerts is not None:
        # Every page's toast callback runs on this and reads what is new to that page.
        hub.add_topic(
            (AlertFired,),
            lambda: alerts_page.news_props(alerts),
            on_connect=lambda: alerts_page.sync_props(alerts),
        )


__all__ = ["create_app", "register_push_topics"]
