"""The Chart page (home): metrics strip, indicator picker, the live chart and the latest signals."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dash import Dash, html

from dash_modules import chart, indicator_form, indicators_panel, status, url_state
from dash_modules.pages import Page

if TYPE_CHECKING:
    from thebot.services import Services


def layout(services: Services) -> Any:
    return html.Div(
        [
            status.metrics_strip(),
            indicators_panel.picker(services),
            indicator_form.layout(services),
            chart.layout(services),
            indicators_panel.signals_card(services),
        ],
        className="chart-page",
    )


def register(app: Dash, services: Services) -> None:
    chart.register_callbacks(app, services)
    indicators_panel.register_callbacks(app, services)
    indicator_form.register(app, services)
    url_state.register_callbacks(app, services)


PAGE = Page(path="/", label="Chart", layout=layout, register=register)
