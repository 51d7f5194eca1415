"""Indicators with parameters: a form generated from the factory's catalog that appends a pick such as
`EMA?timeperiod=50` to the chart's picker, and keeps the picks across reloads.

Validation is the factory's: an invalid value shows the factory's message and nothing is added. Picks are
strings (`thebot.indicators.picks`), so EMA 20 and EMA 50 are two entries. The picks are kept in the
browser's local storage by a Store, because Dash's own persistence forgets values set by callbacks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import dash_bootstrap_components as dbc
from dash import ALL, Dash, Input, Output, State, dcc, html, no_update

from dash_modules.indicators_panel import INDICATOR_PICKER
from thebot.indicators import IndicatorError, IndicatorFactory
from thebot.indicators.picks import canonical_pick, pick_label, validate_pick

if TYPE_CHECKING:
    from thebot.services import Services

FORM_INDICATOR = "indicator-form-name"
FORM_FIELDS = "indicator-form-fields"
FORM_ADD = "indicator-form-add"
FORM_MESSAGE = "indicator-form-message"
PICKS_STORE = "indicator-picks-store"
PARAM_TYPE = "indicator-param"

MOVING_AVERAGE_NAMES = ("SMA", "EMA", "WMA", "DEMA", "TEMA", "TRIMA", "KAMA", "MAMA", "T3")


def parameter_field(parameter: Mapping[str, Any]) -> Any:
    """One labelled input for a catalog parameter ({"name", "type", "default", "description"})."""
    name = str(parameter["name"])
    field_id = {"type": PARAM_TYPE, "name": name}
    kind = parameter.get("type")
    if kind == "matype":
        control: Any = dbc.Select(
            id=field_id,
            options=[
                {"label": f"{index} {label}", "value": str(index)}
                for index, label in enumerate(MOVING_AVERAGE_NAMES)
            ],
            value=str(parameter["default"]),
            size="sm",
        )
    else:
        control = dbc.Input(
            id=field_id,
            type="number",
            value=parameter["default"],
            step=1 if kind == "integer" else "any",
            size="sm",
            debounce=False,
            className="param-input",
        )
    return html.Div(
        [html.Label(name, className="param-label", title=str(parameter.get("description", ""))), control],
        className="param-field",
    )


def form_fields(catalog: Sequence[Mapping[str, Any]], name: str | None) -> list[Any]:
    if not name:
        return []
    info = next((item for item in catalog if item["name"] == name), None)
    if info is None:
        return [html.Span(f"unknown indicator '{name}'", className="text-warning small")]
    if not info["parameters"]:
        return [html.Span("no parameters", className="text-muted small")]
    return [parameter_field(parameter) for parameter in info["parameters"]]


def add_pick(
    factory: IndicatorFactory, name: str | None, params: Mapping[str, object], picked: Sequence[str] | None
) -> tuple[list[str] | None, str]:
    """The picker's new value with the pick appended, or None and the factory's message.

    An empty field means "the default"; a pick already on the chart is not added twice."""
    if not name:
        return None, "Choose an indicator first."
    given = {key: value for key, value in params.items() if value is not None and value != ""}
    try:
        pick = canonical_pick(factory, name, given)
    except IndicatorError as error:
        return None, str(error)
    current = list(picked or [])
    if pick in current:
        return None, f"{pick_label(pick)} is already on the chart."
    return [*current, pick], f"Added {pick_label(pick)}."


def options_with_picks(options: Sequence[Any] | None, picks: Sequence[str] | None) -> list[Any] | None:
    """The picker's options plus an entry for every parameterised pick it holds (a Dropdown shows only
    values that are among its options); None when nothing is missing."""
    current = list(options or [])
    values = {item["value"] if isinstance(item, dict) else item for item in current}
    missing = [pick for pick in (picks or []) if pick not in values]
    if not missing:
        return None
    return current + [{"label": pick_label(pick), "value": pick} for pick in missing]


def restored_picks(factory: IndicatorFactory, stored: Any) -> list[str]:
    """Stored picks that are still valid (an indicator may have left the catalog since)."""
    if not isinstance(stored, list):
        return []
    picks: list[str] = []
    for item in stored:
        if not isinstance(item, str):
            continue
        try:
            pick = validate_pick(factory, item)
        except IndicatorError:
            continue
        if pick not in picks:
            picks.append(pick)
    return picks


def layout(services: Services) -> Any:
    catalog = services.analytics.indicator_catalog()
    return html.Div(
        [
            dcc.Dropdown(
                id=FORM_INDICATOR,
                options=[
                    {"label": f"{item['name']} · {item['display_name']}", "value": item["name"]}
                    for item in catalog
                ],
                placeholder="Indicator with parameters…",
                searchable=True,
                clearable=True,
                className="indicator-form-name",
            ),
            html.Div(id=FORM_FIELDS, className="indicator-form-fields"),
            dbc.Button(
                "Add", id=FORM_ADD, size="sm", color="secondary", outline=True, className="indicator-form-add"
            ),
            html.Div(id=FORM_MESSAGE, className="indicator-form-message small"),
            dcc.Store(id=PICKS_STORE, storage_type="local"),
        ],
        className="indicator-form",
    )


def register(app: Dash, services: Services) -> None:
    factory = services.analytics.factory
    catalog = services.analytics.indicator_catalog()

    @app.callback(Output(FORM_FIELDS, "children"), Input(FORM_INDICATOR, "value"))
    def _fields(name: str | None) -> Any:
        return form_fields(catalog, name)

    @app.callback(
        Output(INDICATOR_PICKER, "value", allow_duplicate=True),
        Output(INDICATOR_PICKER, "options", allow_duplicate=True),
        Output(FORM_MESSAGE, "children"),
        Output(FORM_MESSAGE, "className"),
        Input(FORM_ADD, "n_clicks"),
        State(FORM_INDICATOR, "value"),
        State({"type": PARAM_TYPE, "name": ALL}, "value"),
        State({"type": PARAM_TYPE, "name": ALL}, "id"),
        State(INDICATOR_PICKER, "value"),
        State(INDICATOR_PICKER, "options"),
        prevent_initial_call=True,
    )
    def _add(
        _clicks: int | None,
        name: str | None,
        values: list[Any],
        field_ids: list[dict[str, str]],
        picked: list[str] | None,
        options: list[Any] | None,
    ) -> Any:
        params = {field["name"]: value for field, value in zip(field_ids, values, strict=True)}
        new, message = add_pick(factory, name, params, picked)
        if new is None:
            return no_update, no_update, message, "indicator-form-message small text-warning"
        # Options and value in one answer: Dash's Dropdown drops a value that is not among its options.
        extended = options_with_picks(options, new)
        return (
            new,
            no_update if extended is None else extended,
            message,
            "indicator-form-message small text-muted",
        )

    @app.callback(
        Output(PICKS_STORE, "data"),
        Input(INDICATOR_PICKER, "value"),
        State(PICKS_STORE, "data"),
        prevent_initial_call=True,
    )
    def _remember(picks: list[str] | None, stored: Any) -> Any:
        return no_update if stored == (picks or []) else list(picks or [])

    @app.callback(
        Output(INDICATOR_PICKER, "value", allow_duplicate=True),
        Output(INDICATOR_PICKER, "options", allow_duplicate=True),
        Input(PICKS_STORE, "data"),
        State(INDICATOR_PICKER, "value"),
        State(INDICATOR_PICKER, "options"),
        prevent_initial_call="initial_duplicate",
    )
    def _restore(stored: Any, picks: list[str] | None, options: list[Any] | None) -> Any:
        restored = restored_picks(factory, stored)
        if stored is None or restored == list(picks or []):
            return no_update, no_update
        extended = options_with_picks(options, restored)
        return restored, no_update if extended is None else extended
