"""The settings page's pure parts: form values to settings, the diff shown before saving, inline errors,
and a refresh that keeps the tab's unsaved edits."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from dash_modules.settings_page import (
    change_document,
    diff,
    errors_by_field,
    form_body,
    layout,
    parse_value,
    snapshot,
    unsaved_edits,
)
from thebot.config import load_settings
from thebot.settings_schema import field_map, settings_to_dict
from thebot.settings_store import USER_FILE_NAME, FieldError, SettingsStore, flatten


def saved() -> dict[str, Any]:
    return flatten(settings_to_dict(load_settings()))


def test_form_values_become_typed_settings() -> None:
    fields = field_map()
    assert parse_value(fields["ui.chart_candles"], 400.0) == 400
    assert isinstance(parse_value(fields["ui.chart_candles"], 400.0), int)
    assert parse_value(fields["signals.rule_weights.rsi"], 1) == 1.0
    assert parse_value(fields["market_data.retention_days"], "1m=30, 5m=60 ,") == ["1m=30", "5m=60"]
    assert parse_value(fields["market.symbols"], None) == []
    assert parse_value(fields["trading.daily_loss_warnings_pct"], "2, 3.5") == [2.0, 3.5]
    assert parse_value(fields["trading.daily_loss_warnings_pct"], "2, x") == [2.0, "x"]


def test_an_untouched_form_has_no_changes() -> None:
    """Every field as the form renders it (lists of numbers as text) reads back as the saved value."""
    store = SettingsStore(load_settings())
    values = flatten(settings_to_dict(store.saved()))
    fields = field_map()
    form = {
        key: ", ".join(map(str, value))
        if fields[key].kind == "list" and fields[key].item_kind != "str"
        else value
        for key, value in values.items()
        if not fields[key].secret
    }
    assert diff(values, form) == {}
    assert parse_value(fields["signals.provisional"], None) is False


def test_diff_lists_only_what_changed() -> None:
    form = {
        "ui.chart_candles": 300,  # unchanged
        "signals.rule_weights.rsi": 0.9,
        "market.symbols": ["BTCUSDT", "ETHUSDT", "SOLUSDT"],
    }
    changes = diff(saved(), form)
    assert changes == {
        "signals.rule_weights.rsi": (0.6, 0.9),
        "market.symbols": (["BTCUSDT", "ETHUSDT"], ["BTCUSDT", "ETHUSDT", "SOLUSDT"]),
    }
    assert change_document(changes, form) == {
        "signals": {"rule_weights": {"rsi": 0.9}},
        "market": {"symbols": ["BTCUSDT", "ETHUSDT", "SOLUSDT"]},
    }


def test_errors_land_on_their_field() -> None:
    errors = [
        FieldError("market.symbols[2]", "unknown symbol 'NOPEUSDT'"),
        FieldError("ui.chart_candles", "must be between 10 and 5000"),
    ]
    assert errors_by_field(errors) == {
        "market.symbols": ["[2] unknown symbol 'NOPEUSDT'"],
        "ui.chart_candles": ["must be between 10 and 5000"],
    }


def test_refresh_keeps_unsaved_edits_and_shows_the_rest_of_the_new_state() -> None:
    store = SettingsStore(load_settings())
    rendered = snapshot(store)
    form = {"signals.rule_weights.zone": 0.25, "signals.rule_weights.macd": 0.6}  # this tab edited zone
    store.apply({"signals": {"rule_weights": {"macd": 0.35}}})  # another tab saved macd
    edits = unsaved_edits(rendered, form)
    assert edits == {"signals.rule_weights.zone": 0.25}
    body = repr(form_body(store, edits))
    assert "0.35" in body and "0.25" in body


def test_a_stale_tab_sends_only_what_it_changed() -> None:
    """Tab B was drawn before tab A saved macd; B saves zone and must not write its stale macd back."""
    store = SettingsStore(load_settings())
    rendered = snapshot(store)["values"]
    store.apply({"signals": {"rule_weights": {"macd": 0.35}}})  # tab A
    form_b = {"signals.rule_weights.macd": 0.6, "signals.rule_weights.zone": 0.25}
    changes = diff(flatten(settings_to_dict(store.saved())), form_b, rendered)
    assert changes == {"signals.rule_weights.zone": (0.5, 0.25)}
    # Without knowing what the tab was drawn from, the stale value would look like an edit.
    assert "signals.rule_weights.macd" in diff(flatten(settings_to_dict(store.saved())), form_b)


def test_a_corrupt_user_file_is_reported_on_the_page(tmp_path: Path) -> None:
    (tmp_path / USER_FILE_NAME).write_text("[ui\nchart_candles = ")
    store = SettingsStore(load_settings(), data_dir=tmp_path)
    page = repr(layout(SimpleNamespace(settings_store=store)))  # type: ignore[arg-type]
    assert "did not parse" in page and "defaults are used" in page
