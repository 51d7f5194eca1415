"""Builds the Dash application around a set of services."""

from __future__ import annotations

from pathlib import Path

from dash import Dash

from dash_modules import alerts_api, analytics_api, api, layout, pages, status
from dash_modules.push import PushHub
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
    app.layout = layout.page(services, registered)
    app.validation_layout = layout.validation_layout(services, registered)
    pages.register_router(app, services, registered)
    status.register_callbacks(app, services)
    for page in registered:
        page.register(app, services)
    api.register(app.server, services, hub)
    analytics_api.register(app.server, services)
    alerts_api.register(app.server, services)
    return app


__all__ = ["create_app"]
