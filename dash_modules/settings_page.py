"""The Settings page: a form per section generated from the schema, the diff before saving, inline errors,
"applied" or "saved, applies after restart" per change, the history with a revert per entry, and reset.

Also what every page's frame shows of the live settings: the navbar's symbol picker options
(`market.symbols`) and the theme class on the root (`ui.theme`), pushed by `dash_modules.push` on
`SettingsChanged` (`frame_props`), applied by two clientside callbacks.

The pure parts (`parse_value`, `diff`, `errors_by_field`) are plain functions the unit tests call; the
callbacks are thin shells that read the SettingsStore and call its methods.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import dash_bootstrap_components as dbc
from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update

from dash_modules import ids
from dash_modules.live import fallback_interval
from dash_modules.pages import Page
from thebot.config import indicator_names
from thebot.settings_schema import FieldInfo, field_map, schema_fields, sections, settings_to_dict
from thebot.settings_store import FieldError, SettingsRejected, SettingsStore, flatten, unflatten

if TYPE_CHECKING:
    from thebot.services import Services

INPUT = "setting-input"
ERROR = "setting-error"
REVERT = "settings-revert"
RESET = "settings-reset"
# Another tab's or the API's changes arrive by push (`frame_props`, sent again when a page's stream
# reconnects); this slow poll runs only while the push channel is down.
REFRESH_MS = 10_000
HISTORY_ROWS = 50
_SECTION_TITLES = {
    "market": "Market",
    "venue": "Simulated venue",
    "ui": "Display",
    "server": "Web server",
    "storage": "Storage",
    "market_data": "Market data tuning",
    "signals": "Signals",
    "signals.rule_weights": "Signals · rule weights",
    "signals.timeframe_weights": "Signals · timeframe weights",
}


# -- pure helpers ------------------------------------------------------------------------------------


def parse_value(info: FieldInfo, raw: Any) -> Any:
    """A form value as the settings document spells it; the store checks types and ranges."""
    if info.kind == "list":
        if isinstance(raw, str):
            items = [item.strip() for item in raw.split(",") if item.strip()]
            if info.item_kind in ("int", "float"):
                return [_number(item, info.item_kind) for item in items]
            return items
        return list(raw or [])
    if info.kind == "int" and isinstance(raw, float) and raw.is_integer():
        return int(raw)
    if info.kind == "float" and isinstance(raw, int) and not isinstance(raw, bool):
        return float(raw)
    if info.kind == "bool":
        return bool(raw)
    return raw


def _number(text: str, kind: str) -> Any:
    """'2' or '2.5' as the list's item type; anything else stays text for the store to name."""
    try:
        value = float(text)
    except ValueError:
        return text
    if kind == "int":
        return int(value) if value.is_integer() else value
    return value


def diff(
    saved: dict[str, Any], form: dict[str, Any], rendered: dict[str, Any] | None = None
) -> dict[str, tuple[Any, Any]]:
    """{key: (saved, new)} for every field this tab changed; an empty secret means "keep".

    `rendered` is what the form was drawn from: a field the user did not touch is never sent, even if
    another tab changed it meanwhile (last write wins per key, and this tab did not write that key)."""
    fields = field_map()
    changes: dict[str, tuple[Any, Any]] = {}
    for key, raw in form.items():
        info = fields.get(key)
        if info is None:
            continue
        if info.secret:
            if raw:
                changes[key] = ({"set": bool(saved.get(key))}, {"set": True})
            continue
        value = parse_value(info, raw)
        touched = rendered is None or value != rendered.get(key, saved.get(key))
        if touched and value != saved.get(key):
            changes[key] = (saved.get(key), value)
    return changes


def change_document(changes: dict[str, tuple[Any, Any]], form: dict[str, Any]) -> dict[str, Any]:
    """The PATCH-shaped document of a diff (secrets carry the typed value, never shown)."""
    fields = field_map()
    return unflatten({key: form[key] if fields[key].secret else new for key, (_old, new) in changes.items()})


def errors_by_field(errors: list[FieldError]) -> dict[str, list[str]]:
    """`market.symbols[2]` belongs to the `market.symbols` field; the item is named in the text."""
    result: dict[str, list[str]] = {}
    for error in errors:
        field = error.key.split("[", 1)[0]
        item = error.key[len(field) :]
        result.setdefault(field, []).append(f"{item} {error.reason}".strip() if item else error.reason)
    return result


def _show(value: Any) -> str:
    if isinstance(value, dict) and set(value) == {"set"}:
        return "set" if value["set"] else "not set"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value) or "(empty)"
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def _time(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


# -- layout ------------------------------------------------------------------------------------------


def _options(info: FieldInfo, value: Any, store: SettingsStore) -> list[str] | None:
    """Choices of a multi-select, or None for free text."""
    if info.key == "market.symbols":
        # The venue's TRADING symbols; the ones streamed now stay pickable even if the list is unreachable.
        return sorted(set(store.trading_symbols()) | set(value))
    if info.key == "ui.default_indicators":
        return sorted(indicator_names())
    if info.key == "signals.patterns":
        return sorted(name for name in indicator_names() if name.startswith("CDL"))
    if info.choices:
        return list(info.choices)
    return None


def field_input(info: FieldInfo, value: Any, store: SettingsStore) -> Any:
    component_id = {"type": INPUT, "key": info.key}
    if info.secret:
        return dbc.Input(
            id=component_id,
            type="password",
            value="",
            placeholder="set; type to replace" if value else "not set",
            autoComplete="new-password",
            size="sm",
        )
    if info.kind == "bool":
        return dbc.Switch(id=component_id, value=bool(value), className="setting-switch")
    if info.kind == "choice":
        return dcc.Dropdown(
            id=component_id,
            options=list(info.choices),
            value=value,
            clearable=False,
            className="setting-select",
        )
    if info.kind == "list":
        options = _options(info, value, store)
        if options is not None:
            return dcc.Dropdown(
                id=component_id,
                options=options,
                value=list(value),
                multi=True,
                searchable=True,
                placeholder="type to search",
                className="setting-select",
            )
        return dbc.Input(id=component_id, type="text", value=", ".join(map(str, value)), size="sm")
    if info.kind in ("int", "float"):
        return dbc.Input(
            id=component_id,
            type="number",
            value=value,
            # No min/max here: the browser would send an out-of-range number as None, and the store's
            # message naming the range is the better answer.
            step=1 if info.kind == "int" else "any",
            size="sm",
            className="setting-number",
        )
    return dbc.Input(id=component_id, type="text", value=value, size="sm", disabled=info.locked)


def field_row(info: FieldInfo, value: Any, store: SettingsStore) -> Any:
    mark = (
        dbc.Badge("live", color="success", className="setting-mark", title="applied at once")
        if info.mark == "live"
        else dbc.Badge(
            "restart", color="secondary", className="setting-mark", title="applies after a restart"
        )
    )
    range_text = ""
    if info.minimum is not None or info.maximum is not None:
        low = "" if info.minimum is None else f"{info.minimum:g}"
        high = "" if info.maximum is None else f"{info.maximum:g}"
        range_text = f"{low}–{high}" if low and high else (f"≥ {low}" if low else f"≤ {high}")
    meta = " · ".join(part for part in (info.unit, range_text) if part)
    return html.Div(
        [
            html.Div(
                [
                    html.Label(info.label, className="setting-label"),
                    mark,
                    html.Span(meta, className="setting-meta") if meta else None,
                ],
                className="setting-head",
            ),
            field_input(info, value, store),
            html.Div(info.help, className="setting-help") if info.help else None,
            html.Div(id={"type": ERROR, "key": info.key}, className="setting-error"),
        ],
        className="setting-row",
        **{"data-key": info.key},
    )


def snapshot(store: SettingsStore) -> dict[str, Any]:
    """What a tab's form was rendered from (secrets left out: they never go to the browser)."""
    fields = field_map()
    values = flatten(settings_to_dict(store.saved()))
    return {
        "version": store.version,
        "values": {key: value for key, value in values.items() if not fields[key].secret},
    }


def unsaved_edits(rendered: dict[str, Any], form: dict[str, Any]) -> dict[str, Any]:
    """The fields this tab changed since it was rendered (they survive a refresh: last write wins per
    key, and the user has not written these yet)."""
    fields = field_map()
    values = rendered.get("values", {})
    edits: dict[str, Any] = {}
    for key, raw in form.items():
        info = fields.get(key)
        if info is None or info.secret:
            continue
        value = parse_value(info, raw)
        if value != values.get(key):
            edits[key] = value
    return edits


def form_body(store: SettingsStore, edits: dict[str, Any] | None = None) -> list[Any]:
    saved = {**flatten(settings_to_dict(store.saved())), **(edits or {})}
    fields = schema_fields()
    cards = []
    for section in sections():
        members = [info for info in fields if info.section == section]
        cards.append(
            html.Div(
                dbc.Card(
                    [
                        dbc.CardHeader(
                            [
                                html.Span(
                                    _SECTION_TITLES.get(section, section), className="settings-section-title"
                                ),
                                dbc.Button(
                                    "Reset to defaults",
                                    id={"type": RESET, "section": section},
                                    size="sm",
                                    color="link",
                                    className="settings-reset",
                                ),
                            ],
                            className="d-flex align-items-center justify-content-between",
                        ),
                        dbc.CardBody(
                            [field_row(info, saved.get(info.key), store) for info in members],
                            className="settings-grid",
                        ),
                    ],
                    className="settings-card",
                ),
                **{"data-section": section},
            )
        )
    return cards


def pending_banner(store: SettingsStore) -> Any:
    pending = store.pending_restart()
    if not pending:
        return None
    return dbc.Alert(
        ["Saved, applies after restart: ", html.Code(", ".join(pending))],
        color="secondary",
        className="settings-pending py-2",
    )


def history_table(store: SettingsStore) -> Any:
    entries = store.history(HISTORY_ROWS)
    if not entries:
        return html.Div("No changes yet.", className="text-muted small")
    rows = [
        html.Tr(
            [
                html.Td(_time(entry.time_ms), className="text-nowrap"),
                html.Td(html.Code(entry.key)),
                html.Td(_show(entry.old), className="history-old"),
                html.Td(_show(entry.new), className="history-new"),
                html.Td(entry.origin, className="text-muted"),
                html.Td(
                    dbc.Button(
                        "Revert",
                        id={"type": REVERT, "id": entry.id},
                        size="sm",
                        color="outline-secondary",
                        className="history-revert",
                        disabled=isinstance(entry.old, dict),
                    )
                ),
            ],
            **{"data-entry": str(entry.id)},
        )
        for entry in entries
    ]
    header = html.Thead(html.Tr([html.Th(name) for name in ("time", "setting", "was", "became", "by", "")]))
    return dbc.Table([header, html.Tbody(rows)], size="sm", className="settings-history", borderless=True)


def layout(services: Services) -> Any:
    store = services.settings_store
    warnings = [
        dbc.Alert(text, color="warning", className="settings-warning py-2") for text in store.warnings
    ]
    return html.Div(
        [
            dcc.Store(id=ids.SETTINGS_RENDERED, data=snapshot(store)),
            dcc.Store(id=ids.SETTINGS_VERSION, data=store.version),
            fallback_interval(ids.SETTINGS_TICK, REFRESH_MS),
            html.Div(id=ids.SETTINGS_PUSHED, title=str(store.version), hidden=True),
            html.Div(warnings, id=ids.SETTINGS_WARNINGS),
            html.Div(
                [
                    html.H5("Settings", className="mb-0"),
                    html.Span(
                        "live: applied at once · restart: saved now, applied at the next start",
                        className="text-muted small",
                    ),
                ],
                className="settings-title",
            ),
            html.Div(
                [
                    html.Div(id=ids.SETTINGS_DIFF, className="settings-diff"),
                    dbc.Button(
                        "Save changes", id=ids.SETTINGS_SAVE, color="success", size="sm", disabled=True
                    ),
                    html.Div(id=ids.SETTINGS_RESULT, className="settings-result", role="status"),
                    html.Div(pending_banner(store), id=ids.SETTINGS_PENDING),
                ],
                className="settings-actions",
            ),
            html.Div(form_body(store), id=ids.SETTINGS_FORM, className="settings-form"),
            dbc.Card(
                [
                    dbc.CardHeader(html.Span("History", className="settings-section-title")),
                    dbc.CardBody(html.Div(history_table(store), id=ids.SETTINGS_HISTORY)),
                ],
                className="settings-card",
            ),
        ],
        className="settings-page",
    )


# -- callbacks ---------------------------------------------------------------------------------------


def _rendered_values(rendered: Any) -> dict[str, Any] | None:
    if isinstance(rendered, dict) and isinstance(rendered.get("values"), dict):
        return rendered["values"]
    return None


def _form_values(values: list[Any], input_ids: list[dict[str, str]]) -> dict[str, Any]:
    return {item["key"]: value for item, value in zip(input_ids, values, strict=True)}


def diff_view(changes: dict[str, tuple[Any, Any]]) -> Any:
    if not changes:
        return html.Span("No unsaved changes.", className="text-muted small")
    fields = field_map()
    rows = [
        html.Tr(
            [
                html.Td(html.Code(key)),
                html.Td(_show(old), className="history-old"),
                html.Td("→"),
                html.Td(_show(new), className="history-new"),
                html.Td(
                    "applies now" if fields[key].mark == "live" else "after restart",
                    className="text-muted small",
                ),
            ]
        )
        for key, (old, new) in changes.items()
    ]
    return html.Div(
        [
            html.Div(f"{len(changes)} unsaved change{'s' if len(changes) != 1 else ''}:", className="small"),
            dbc.Table(html.Tbody(rows), size="sm", borderless=True, className="settings-diff-table mb-1"),
        ]
    )


def result_view(applied: list[str], after_restart: list[str], what: str) -> Any:
    if not applied and not after_restart:
        return dbc.Alert(f"{what}: nothing changed.", color="secondary", className="py-2")
    items = [html.Li([html.Code(key), " applied"], className="result-applied") for key in applied] + [
        html.Li([html.Code(key), " saved, applies after restart"], className="result-restart")
        for key in after_restart
    ]
    return dbc.Alert(
        [html.Div(f"{what}:"), html.Ul(items, className="mb-0")], color="success", className="py-2"
    )


def register(app: Dash, services: Services) -> None:
    store = services.settings_store

    @app.callback(
        Output(ids.SETTINGS_DIFF, "children"),
        Output(ids.SETTINGS_SAVE, "disabled"),
        Input({"type": INPUT, "key": ALL}, "value"),
        State({"type": INPUT, "key": ALL}, "id"),
        State(ids.SETTINGS_RENDERED, "data"),
    )
    def _diff(values: list[Any], input_ids: list[dict[str, str]], rendered: Any) -> tuple[Any, bool]:
        saved = flatten(settings_to_dict(store.saved()))
        changes = diff(saved, _form_values(values, input_ids), _rendered_values(rendered))
        return diff_view(changes), not changes

    @app.callback(
        Output(ids.SETTINGS_RESULT, "children"),
        Output({"type": ERROR, "key": ALL}, "children"),
        Output(ids.SETTINGS_VERSION, "data"),
        Input(ids.SETTINGS_SAVE, "n_clicks"),
        Input({"type": REVERT, "id": ALL}, "n_clicks"),
        Input({"type": RESET, "section": ALL}, "n_clicks"),
        State({"type": INPUT, "key": ALL}, "value"),
        State({"type": INPUT, "key": ALL}, "id"),
        State({"type": ERROR, "key": ALL}, "id"),
        State(ids.SETTINGS_RENDERED, "data"),
        prevent_initial_call=True,
    )
    def _act(
        _save: Any,
        _reverts: Any,
        _resets: Any,
        values: list[Any],
        input_ids: list[dict[str, str]],
        error_ids: list[dict[str, str]],
        rendered: Any,
    ) -> tuple[Any, list[Any], Any]:
        cleared: list[Any] = ["" for _ in error_ids]
        trigger = ctx.triggered_id
        if trigger is None or not ctx.triggered or not ctx.triggered[0].get("value"):
            return no_update, [no_update for _ in error_ids], no_update  # a button just rendered
        try:
            if trigger == ids.SETTINGS_SAVE:
                form = _form_values(values, input_ids)
                changes = diff(flatten(settings_to_dict(store.saved())), form, _rendered_values(rendered))
                result = store.apply(change_document(changes, form), origin="panel")
                what = "Saved"
            elif trigger["type"] == REVERT:
                result = store.revert(int(trigger["id"]))
                what = f"Reverted change #{trigger['id']}"
            else:
                result = store.reset_section(str(trigger["section"]))
                what = f"Reset {trigger['section']} to defaults"
        except KeyError:
            message = dbc.Alert("That history entry no longer exists.", color="warning", className="py-2")
            return message, cleared, store.version
        except SettingsRejected as error:
            by_field = errors_by_field(error.errors)
            inline = ["; ".join(by_field.get(item["key"], [])) for item in error_ids]
            named = ", ".join(item.key or "settings" for item in error.errors)
            general = [item.reason for item in error.errors if item.key.split("[", 1)[0] not in field_map()]
            message = dbc.Alert(
                [html.Div(f"Nothing was saved; check {named}."), *[html.Div(text) for text in general]],
                color="danger",
                className="py-2 settings-rejected",
            )
            return message, inline, no_update
        return result_view(list(result.live), list(result.restart), what), cleared, store.version

    @app.callback(
        Output(ids.SETTINGS_FORM, "children"),
        Output(ids.SETTINGS_HISTORY, "children"),
        Output(ids.SETTINGS_PENDING, "children"),
        Output(ids.SETTINGS_RENDERED, "data"),
        Input(ids.SETTINGS_TICK, "n_intervals"),
        Input(ids.SETTINGS_VERSION, "data"),
        Input(ids.SETTINGS_PUSHED, "title"),
        State(ids.SETTINGS_RENDERED, "data"),
        State({"type": INPUT, "key": ALL}, "value"),
        State({"type": INPUT, "key": ALL}, "id"),
        prevent_initial_call=True,
    )
    def _refresh(
        _tick: int,
        _version: Any,
        _pushed: Any,
        rendered: Any,
        values: list[Any],
        input_ids: list[dict[str, str]],
    ) -> tuple[Any, Any, Any, Any]:
        """Re-render when the store moved (this tab, another tab or the API), keeping this tab's unsaved
        edits: both tabs show one state, and last write wins per key."""
        if isinstance(rendered, dict) and rendered.get("version") == store.version:
            return no_update, no_update, no_update, no_update
        edits = unsaved_edits(rendered if isinstance(rendered, dict) else {}, _form_values(values, input_ids))
        return form_body(store, edits), history_table(store), pending_banner(store), snapshot(store)

    register_frame_callbacks(app, services)


def frame_props(services: Services) -> dict[str, dict[str, Any]]:
    """What open pages show of the live settings, as push props (`dash_modules.push` sends them on
    `SettingsChanged`): the navbar's symbol and timeframe lists, the theme, and the Settings page's
    version."""
    current = services.settings_store.current()
    return {
        ids.SYMBOL_SELECT: {
            "options": [{"label": symbol, "value": symbol} for symbol in current.market.symbols]
        },
        ids.TIMEFRAME_SELECT: {
            "options": [{"label": frame.value, "value": frame.value} for frame in current.market.timeframes]
        },
        ids.THEME: {"title": current.ui.theme},
        # Only the Settings page has this element; it re-renders its form when the version moves.
        ids.SETTINGS_PUSHED: {"title": str(services.settings_store.version)},
    }


def version_props(services: Services) -> dict[str, dict[str, Any]]:
    """Sent when a page's push stream (re)connects: the Settings page catches up with a change it missed
    (only the version: re-sending the navbar's options would re-render an open symbol picker)."""
    return {ids.SETTINGS_PUSHED: {"title": str(services.settings_store.version)}}


# A picker whose value left its options (a symbol or timeframe removed live) moves to the first one left.
_KEEP_A_LISTED_VALUE = """function (options, value) {
    const values = (options || []).map((item) => (item && item.value !== undefined ? item.value : item));
    if (!values.length || values.includes(value)) return window.dash_clientside.no_update;
    return values[0];
}"""


def register_frame_callbacks(app: Dash, _services: Services) -> None:
    """The theme class on <html> follows `ui.theme`; a page whose symbol or timeframe was removed moves
    to the first one left (its chart would have nothing to show)."""
    app.clientside_callback(
        """function (theme) {
            const root = document.documentElement;
            root.classList.toggle('theme-light', theme === 'light');
            root.setAttribute('data-bs-theme', theme === 'light' ? 'light' : 'dark');
            return theme;
        }""",
        Output(ids.THEME_SINK, "title"),
        Input(ids.THEME, "title"),
    )
    for picker in (ids.SYMBOL_SELECT, ids.TIMEFRAME_SELECT):
        app.clientside_callback(
            _KEEP_A_LISTED_VALUE,
            Output(picker, "value"),
            Input(picker, "options"),
            State(picker, "value"),
            prevent_initial_call=True,
        )


PAGE = Page(path="/settings", label="Settings", layout=layout, register=register)

__all__ = ["PAGE", "change_document", "diff", "errors_by_field", "parse_value"]
