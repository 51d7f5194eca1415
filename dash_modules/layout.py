"""The page frame: navbar with selectors and status, then the panels."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from dash_modules import chart, ids, indicators_panel, status
from thebot.services import Services


def navbar(services: Services) -> Any:
    settings = services.settings
    return dbc.Navbar(
        dbc.Container(
            [
                html.Span(
                    [html.Span("the", className="brand-light"), html.Span("bot", className="brand-bold")],
                    className="navbar-brand brand",
                ),
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


def page(services: Services) -> Any:
    return html.Div(
        [
            navbar(services),
            dbc.Container(
                [
                    status.metrics_strip(),
                    indicators_panel.picker(services),
                    chart.layout(services),
                    indicators_panel.signals_card(services),
                ],
                fluid=True,
                className="page-body",
            ),
        ],
        className="app-root",
    )
