"""The pages of the dashboard: one registry, one navigation bar, one router.

A page module exposes `PAGE = Page(path, label, layout, register)`; adding a page is one import and one
entry in `all_pages()`. The router swaps the page body on URL change; callbacks of every page are
registered once at start, checked against the validation layout (all pages at once).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, dcc, html

from dash_modules import ids

if TYPE_CHECKING:
    from thebot.services import Services


@dataclass(frozen=True, slots=True)
class Page:
    path: str
    label: str
    layout: Callable[[Services], Any]
    register: Callable[[Dash, Services], None]


def all_pages() -> list[Page]:
    """In navigation order; the first is the home page."""
    from dash_modules import (
        alerts_page,
        backtest_page,
        chart_page,
        compare_page,
        markets_page,
        matrix_page,
        multichart_page,
        news_page,
        settings_page,
        signals_page,
        trading_page,
    )

    return [
        chart_page.PAGE,
        multichart_page.PAGE,
        markets_page.PAGE,
        signals_page.PAGE,
        compare_page.PAGE,
        matrix_page.PAGE,
        trading_page.PAGE,
        backtest_page.PAGE,
        news_page.PAGE,
        alerts_page.PAGE,
        settings_page.PAGE,
    ]


def navigation(pages: list[Page]) -> Any:
    return dbc.Nav(
        [
            dbc.NavLink(page.label, href=page.path, active="exact", id=f"nav-{page.label.lower()}")
            for page in pages
        ],
        pills=True,
        className="page-nav",
    )


def page_for(pages: list[Page], pathname: str | None) -> Page | None:
    path = (pathname or "/").rstrip("/") or "/"
    return next((page for page in pages if page.path == path), None)


def register_router(app: Dash, services: Services, pages: list[Page]) -> None:
    @app.callback(Output(ids.PAGE_CONTENT, "children"), Input(ids.URL, "pathname"))
    def _route(pathname: str | None) -> Any:
        page = page_for(pages, pathname)
        if page is None:
            return html.Div(
                [html.H4("Page not found"), html.P(f"No page at {pathname!r}."), dcc.Link("Chart", href="/")],
                className="p-4 text-muted",
            )
        return page.layout(services)
