"""Builds the Dash application around a set of services."""

from __future__ import annotations

from pathlib import Path

from dash import Dash

from dash_modules import analytics_api, api, chart, indicators_panel, layout, status
from thebot.services import Services

ASSETS_DIR = Path(__file__).resolve().parents[1] / "assets"


def create_app(services: Services) -> Dash:
    """Everything the page loads comes from this server: Dash's own bundles and `assets/`."""
    app = Dash(
        __name__,
        title="thebot",
        assets_folder=str(ASSETS_DIR),
        serve_locally=True,
        update_title=None,
        suppress_callback_exceptions=False,
    )
    app.layout = layout.page(services)
    chart.register_callbacks(app, services)
    status.register_callbacks(app, services)
    api.register(app.server, services)
    indicators_panel.register_callbacks(app, services)
    analytics_api.register(app.server, services)
    return app


__all__ = ["create_app"]
