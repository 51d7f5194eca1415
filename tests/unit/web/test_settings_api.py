"""The settings API: shapes, JSON-only changes, all-or-nothing 400s naming the fields, history and revert."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask

from dash_modules import settings_api, settings_page
from thebot.config import load_settings, settings_from_dict
from thebot.events import Event, SettingsChanged
from thebot.market.symbols import FixedCatalog
from thebot.settings_schema import settings_to_dict
from thebot.settings_store import SettingsStore


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[Any, SettingsStore, list[Event]]]:
    store = SettingsStore(load_settings(), data_dir=tmp_path)
    events: list[Event] = []
    store.attach(publish=events.append, catalog=FixedCatalog({"BTCUSDT", "ETHUSDT", "SOLUSDT", "SOLBTC"}))
    server = Flask(__name__)
    settings_api.register(server, SimpleNamespace(settings_store=store))  # type: ignore[arg-type]
    yield server.test_client(), store, events


def test_get_has_the_toml_sections_and_the_key_lists(api: Any) -> None:
    http, _, _ = api
    answer = http.get("/api/settings").get_json()
    assert answer["market"]["symbols"] == ["BTCUSDT", "ETHUSDT"]
    assert answer["signals"]["rule_weights"]["rsi"] == 0.6
    assert answer["ui"]["default_timeframe"] == "1m"
    assert "market.symbols" in answer["live"] and "market.buffer_size" not in answer["live"]
    assert answer["pending_restart"] == []


def test_patch_applies_and_reports_live_and_restart(api: Any) -> None:
    http, store, events = api
    response = http.patch(
        "/api/settings",
        json={"market": {"symbols": ["BTCUSDT", "ETHUSDT", "SOLUSDT"], "buffer_size": 400}},
    )
    assert response.status_code == 200
    answer = response.get_json()
    assert answer["market"]["symbols"] == ["BTCUSDT", "ETHUSDT", "SOLUSDT"]
    assert answer["applied"] == ["market.symbols"]
    assert answer["after_restart"] == ["market.buffer_size"]
    assert answer["pending_restart"] == ["market.buffer_size"]
    assert store.current().market.symbols == ("BTCUSDT", "ETHUSDT", "SOLUSDT")
    assert len(events) == 1 and isinstance(events[0], SettingsChanged)
    assert set(events[0].keys) == {"market.symbols", "market.buffer_size"}


def test_bad_patch_names_each_field_and_applies_nothing(api: Any) -> None:
    http, store, events = api
    response = http.patch(
        "/api/settings",
        json={
            "ui": {"chart_candles": 50},
            "market": {"symbols": ["BTCUSDT", "ETHUSDT", "NOPEUSDT"]},
            "signals": {"rule_weights": {"rsi": -1}},
        },
    )
    assert response.status_code == 400
    answer = response.get_json()
    keys = {item["key"] for item in answer["errors"]}
    assert keys == {"market.symbols[2]", "signals.rule_weights.rsi"}
    assert "NOPEUSDT" in answer["error"]
    assert store.current().ui.chart_candles == 300
    assert store.version == 0 and events == []
    assert http.get("/api/settings/history").get_json() == []


def test_changes_are_json_only(api: Any) -> None:
    http, store, _ = api
    response = http.patch("/api/settings", data="ui.chart_candles=50", content_type="text/plain")
    assert response.status_code == 415
    assert response.get_json() == {"error": "send application/json"}
    response = http.patch("/api/settings", data="[1, 2]", content_type="application/json")
    assert response.status_code == 400
    assert "JSON object" in response.get_json()["error"]
    assert http.post("/api/settings/revert/1", data="").status_code == 415
    assert store.version == 0


def test_history_and_revert(api: Any) -> None:
    http, store, _ = api
    http.patch("/api/settings", json={"signals": {"rule_weights": {"macd": 0.1}}})
    http.patch("/api/settings", json={"ui": {"theme": "light"}})
    history = http.get("/api/settings/history").get_json()
    assert [(entry["key"], entry["old"], entry["new"]) for entry in history] == [
        ("ui.theme", "dark", "light"),
        ("signals.rule_weights.macd", 0.6, 0.1),
    ]
    assert history[0]["mark"] == "live"
    response = http.post(f"/api/settings/revert/{history[1]['id']}", json={})
    assert response.status_code == 200
    assert response.get_json()["signals"]["rule_weights"]["macd"] == 0.6
    assert store.current().ui.theme == "light"  # only that entry
    missing = http.post("/api/settings/revert/999", json={})
    assert missing.status_code == 404 and "no history entry 999" in missing.get_json()["error"]
    reset = http.post("/api/settings/reset/ui", json={})
    assert reset.status_code == 200 and reset.get_json()["ui"]["theme"] == "dark"
    assert http.post("/api/settings/reset/nosuch", json={}).status_code == 400


def test_schema_and_symbol_search(api: Any) -> None:
    http, _, _ = api
    schema = http.get("/api/settings/schema").get_json()
    fields = {field["key"]: field for field in schema["fields"]}
    assert fields["ui.theme"]["choices"] == ["dark", "light"]
    assert fields["ui.theme"]["mark"] == "live"
    assert schema["json_schema"]["properties"]["ui"]["properties"]["theme"]["enum"] == ["dark", "light"]
    assert http.get("/api/settings/symbols?q=sol").get_json() == {
        "symbols": ["SOLBTC", "SOLUSDT"],
        "total": 2,
    }
    assert http.get("/api/settings/symbols?q=s-").status_code == 400


def test_a_planted_secret_never_reaches_an_answer_the_page_or_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    planted = "tok-3f9a-planted-secret"
    base = settings_to_dict(load_settings())
    base["server"]["auth_token"] = planted
    store = SettingsStore(settings_from_dict(base), data_dir=tmp_path)
    store.attach(catalog=FixedCatalog({"BTCUSDT", "ETHUSDT", "SOLUSDT"}))
    server = Flask(__name__)
    services = SimpleNamespace(settings_store=store)
    settings_api.register(server, services)  # type: ignore[arg-type]
    http = server.test_client()
    with caplog.at_level(logging.DEBUG):
        answers = [
            http.get("/api/settings").get_data(as_text=True),
            http.patch("/api/settings", json={"server": {"auth_token": "other"}}).get_data(as_text=True),
            http.patch("/api/settings", json={"market": {"symbols": ["BTCUSDT", "SOLUSDT"]}}).get_data(
                as_text=True
            ),
            http.get("/api/settings/history").get_data(as_text=True),
            http.get("/api/settings/schema").get_data(as_text=True),
            http.post("/api/settings/reset/server", json={}).get_data(as_text=True),
            repr(settings_page.layout(services)),  # type: ignore[arg-type]
        ]
    assert http.get("/api/settings").get_json()["server"]["auth_token"] == {"set": True}
    for text in [*answers, caplog.text, *(path.read_text() for path in tmp_path.iterdir() if path.is_file())]:
        assert planted not in text
