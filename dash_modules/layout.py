"""The page frame: navbar with selectors and status, then the panels."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from dash_modules import alerts_page, ids, status
from dash_modules.pages import Page, navigation
from thebot.services import Services


def navbar(services: Services, pages: list[Page]) -> Any:
    settings = services.settings
    return dbc.Navbar(
        dbc.Container(
            [
                html.Span(
                    [html.Span("the", className="brand-light"), html.Span("bot", className="brand-bold")],
                    className="navbar-brand brand",
                ),
                navigation(pages),
                html.Div(
                    [
                        dcc.Dropdown(
                            id=ids.SYMBOL_SELECT,
                            options=[
                                {"label": symbol, "value": symbol} for symbol in settings.market.symbols
                            ],
                            value=settings.ui.default_symbol,
                            clearable=False,
                            searchable=True,
                            className="symbol-select",
                        ),
                        dbc.RadioItems(
                            id=ids.TIMEFRAME_SELECT,
                            options=[
                                {"label": tf.value, "value": tf.value} for tf in settings.market.timeframes
                            ],
                            value=settings.ui.default_timeframe.value,
                            inline=True,
                            className="btn-group timeframe-select",
                            inputClassName="btn-check",
                            labelClassName="btn btn-outline-secondary btn-sm",
                            labelCheckedClassName="active",
                        ),
                    ],
                    className="selectors",
                ),
                html.Div(status.navbar_badges(services), className="ms-auto d-flex align-items-center"),
            ],
            fluid=True,
        ),
        color="dark",
        dark=True,
        className="app-navbar",
    )


def frame(services: Services, pages: list[Page], body: Any) -> Any:
    return html.Div(
        [
            dcc.Location(id=ids.URL, refresh=False),
            # The live `ui.theme` (the push channel updates `title`; a clientside callback sets the class).
            html.Div(id=ids.THEME, title=services.settings.ui.theme, hidden=True),
            html.Div(id=ids.THEME_SINK, hidden=True),
            navbar(services, pages),
            html.Div(id=ids.PUSH_STATUS, className="push-status", role="status"),
            dbc.Container(body, id=ids.PAGE_CONTENT, fluid=True, className="page-body"),
            # Toasts, sound and their stores on every page.
            *alerts_page.toast_layer(services),
        ],
        className="app-root",
    )


def page(services: Services, pages: list[Page]) -> Any:
    """The served layout: the frame with an empty body the router fills from the URL."""
    return frame(services, pages, [])


def validation_layout(services: Services, pages: list[Page]) -> Any:
    """Every page at once, so Dash can check each callback's ids at start."""
    return frame(services, pages, [page.layout(services) for page in pages])
