"""SettingsStore: all-or-nothing changes, cross-field rules, live/restart marks, persistence, history."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from thebot import settings_store as store_module
from thebot.config import Settings, load_settings
from thebot.events import Event, SettingsChanged
from thebot.market.symbols import CatalogUnavailable, FixedCatalog
from thebot.settings_schema import field_map, json_schema, mark_of
from thebot.settings_store import (
    HISTORY_FILE_NAME,
    USER_FILE_NAME,
    SettingsRejected,
    SettingsStore,
)

LISTED = {"BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT"}


@pytest.fixture(scope="module")
def defaults() -> Settings:
    return load_settings()


def make_store(
    defaults: Settings, data_dir: Path | None, run: dict[str, Any] | None = None
) -> tuple[SettingsStore, list[Event]]:
    store = SettingsStore(defaults, data_dir=data_dir, run_overrides=run)
    events: list[Event] = []
    store.attach(publish=events.append, catalog=FixedCatalog(LISTED))
    return store, events


def rejected_keys(error: pytest.ExceptionInfo[SettingsRejected]) -> list[str]:
    return [item.key for item in error.value.errors]


def test_one_bad_key_applies_nothing(defaults: Settings, tmp_path: Path) -> None:
    store, events = make_store(defaults, tmp_path)
    with pytest.raises(SettingsRejected) as error:
        store.apply({"ui": {"chart_candles": 500}, "signals": {"rule_weights": {"rsi": 1.5}}})
    assert rejected_keys(error) == ["signals.rule_weights.rsi"]
    assert "between 0 and 1" in error.value.errors[0].reason
    assert store.current().ui.chart_candles == 300
    assert store.version == 0
    assert events == []
    assert not (tmp_path / USER_FILE_NAME).exists()
    assert store.history() == []


def test_every_bad_field_is_named_in_one_answer(defaults: Settings, tmp_path: Path) -> None:
    store, _ = make_store(defaults, tmp_path)
    with pytest.raises(SettingsRejected) as error:
        store.apply(
            {
                "ui": {"chart_candles": "many"},
                "market": {"timeframes": ["1m", "2d"]},
                "signals": {"rules": ["rsi", "astrology"]},
                "nosuch": {"x": 1},
            }
        )
    keys = rejected_keys(error)
    assert set(keys) == {"ui.chart_candles", "market.timeframes[1]", "signals.rules", "nosuch.x"}
    reasons = {item.key: item.reason for item in error.value.errors}
    assert "unknown rule 'astrology'" in reasons["signals.rules"]
    assert "unknown timeframe '2d'" in reasons["market.timeframes[1]"]


@pytest.mark.parametrize(
    ("symbols", "key", "fragment"),
    [
        ([], "market.symbols", "at least one symbol"),
        (["BTCUSDT", "ETHUSDT", "BTCUSDT"], "market.symbols[2]", "repeats market.symbols[0]"),
        (["BTCUSDT", "DOGEUSDT"], "market.symbols[1]", "does not list it as TRADING"),
        (["BTCUSDT", "sol"], "market.symbols[1]", "upper-case"),
        ("BTCUSDT", "market.symbols", "expected a list"),
    ],
)
def test_bad_symbol_lists(defaults: Settings, symbols: Any, key: str, fragment: str) -> None:
    store, events = make_store(defaults, None)
    with pytest.raises(SettingsRejected) as error:
        store.apply({"market": {"symbols": symbols}})
    assert key in rejected_keys(error)
    assert fragment in next(item.reason for item in error.value.errors if item.key == key)
    assert store.current().market.symbols == ("BTCUSDT", "ETHUSDT")
    assert events == []


def test_symbols_cannot_be_checked_when_the_venue_list_is_unreachable(defaults: Settings) -> None:
    class Down:
        def trading_symbols(self) -> frozenset[str]:
            raise CatalogUnavailable("could not read the venue's symbol list (refused); try again")

    store = SettingsStore(defaults)
    store.attach(catalog=Down())
    with pytest.raises(SettingsRejected) as error:
        store.apply({"market": {"symbols": ["BTCUSDT", "ETHUSDT", "SOLUSDT"]}})
    assert "try again" in error.value.errors[0].reason
    # Removing a symbol needs no venue check.
    store.apply({"market": {"symbols": ["BTCUSDT"]}})
    assert store.current().market.symbols == ("BTCUSDT",)


def test_cross_field_default_symbol_must_be_streamed(defaults: Settings) -> None:
    store, _ = make_store(defaults, None)
    with pytest.raises(SettingsRejected) as error:
        store.apply({"market": {"symbols": ["ETHUSDT"]}})  # BTCUSDT is ui.default_symbol
    assert rejected_keys(error) == ["ui.default_symbol"]
    with pytest.raises(SettingsRejected):
        store.apply({"ui": {"default_symbol": "SOLUSDT"}})
    result = store.apply({"market": {"symbols": ["ETHUSDT", "SOLUSDT"]}, "ui": {"default_symbol": "SOLUSDT"}})
    assert set(result.changed) == {"market.symbols", "ui.default_symbol"}
    assert store.current().ui.default_symbol == "SOLUSDT"


def test_live_changes_run_now_and_restart_ones_wait(defaults: Settings, tmp_path: Path) -> None:
    store, events = make_store(defaults, tmp_path)
    result = store.apply(
        {"signals": {"rule_weights": {"macd": 0.2}}, "market": {"buffer_size": 500}, "venue": {"speed": 30}}
    )
    assert result.live == ("signals.rule_weights.macd",)
    assert set(result.restart) == {"market.buffer_size", "venue.speed"}
    assert store.current().signals.rule_weights.macd == 0.2
    assert store.current().market.buffer_size == 1000  # still what the running system uses
    assert store.saved().market.buffer_size == 500
    assert sorted(store.pending_restart()) == ["market.buffer_size", "venue.speed"]
    assert store.document()["market"]["buffer_size"] == 500
    assert events == [SettingsChanged(keys=result.changed)]
    # After a restart the saved value is what runs, and nothing is pending.
    again, _ = make_store(defaults, tmp_path)
    assert again.current().market.buffer_size == 500
    assert again.pending_restart() == []


def test_fields_without_a_mark_are_restart(defaults: Settings) -> None:
    fields = field_map()
    assert fields["market_data.queue_size"].mark == "restart"
    assert fields["market.symbols"].mark == "live"
    assert mark_of("market.symbols[3]") == "live"
    assert fields["ui.chart_candles"].unit == "candles"
    assert "watchdog" not in fields["market_data.queue_size"].help
    assert "when full the oldest forming updates are dropped" in fields["market_data.queue_size"].help
    schema = json_schema()
    rsi = schema["properties"]["signals"]["properties"]["rule_weights"]["properties"]["rsi"]
    assert rsi["x-mark"] == "live"
    assert rsi["maximum"] == 1
    assert schema["properties"]["market"]["properties"]["timeframes"]["items"]["enum"][1] == "1m"


def test_unchanged_values_publish_nothing(defaults: Settings) -> None:
    store, events = make_store(defaults, None)
    result = store.apply({"ui": {"chart_candles": 300}})
    assert result.changed == ()
    assert events == []


def test_persisted_over_defaults_with_comments_kept(defaults: Settings, tmp_path: Path) -> None:
    user_file = tmp_path / USER_FILE_NAME
    user_file.write_text('# my own notes\n[ui]\n# I like long charts\nchart_candles = 800\ntheme = "light"\n')
    store, _ = make_store(defaults, tmp_path)
    assert store.current().ui.chart_candles == 800
    store.apply({"market": {"symbols": ["BTCUSDT", "ETHUSDT", "SOLUSDT"]}, "ui": {"chart_candles": 900}})
    text = user_file.read_text()
    assert "# my own notes" in text
    assert "# I like long charts\nchart_candles = 900" in text
    assert text.index("[ui]") < text.index("[market]")  # the user's order, new tables appended
    assert "chart_candles = 800" in (tmp_path / (USER_FILE_NAME + ".bak")).read_text()
    reopened, _ = make_store(defaults, tmp_path)
    assert reopened.current().market.symbols == ("BTCUSDT", "ETHUSDT", "SOLUSDT")
    assert reopened.current().ui.theme == "light"


def test_run_overrides_are_not_persisted(defaults: Settings, tmp_path: Path) -> None:
    run = {"venue": {"speed": 60.0}, "storage": {"data_dir": str(tmp_path)}}
    store, _ = make_store(defaults, tmp_path, run)
    assert store.current().venue.speed == 60.0
    store.apply({"ui": {"chart_candles": 120}})
    assert "speed" not in (tmp_path / USER_FILE_NAME).read_text()
    assert store.current().venue.speed == 60.0
    reopened, _ = make_store(defaults, tmp_path)
    assert reopened.current().venue.speed == 1.0
    assert reopened.current().ui.chart_candles == 120


def test_corrupt_file_starts_from_the_last_good_copy(
    defaults: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store, _ = make_store(defaults, tmp_path)
    store.apply({"ui": {"chart_candles": 111}})
    store.apply({"ui": {"chart_candles": 222}})  # the .bak now holds 111
    user_file = tmp_path / USER_FILE_NAME
    user_file.write_text("[ui\nchart_candles = ")  # half-written
    with caplog.at_level(logging.ERROR):
        reopened, _ = make_store(defaults, tmp_path)
    assert reopened.current().ui.chart_candles == 111
    assert reopened.warnings and "last good copy" in reopened.warnings[0]
    assert "did not parse" in caplog.text
    aside = list(tmp_path.glob(USER_FILE_NAME + ".corrupt-*"))
    assert len(aside) == 1 and aside[0].read_text() == "[ui\nchart_candles = "
    assert "chart_candles = 111" in user_file.read_text()  # the good copy is the file again


def test_corrupt_file_without_a_good_copy_uses_defaults(defaults: Settings, tmp_path: Path) -> None:
    (tmp_path / USER_FILE_NAME).write_text("chart_candles = = 5")
    store, _ = make_store(defaults, tmp_path)
    assert store.current().ui.chart_candles == 300
    assert "defaults are used" in store.warnings[0]


def test_saved_value_that_no_longer_validates_is_skipped(defaults: Settings, tmp_path: Path) -> None:
    (tmp_path / USER_FILE_NAME).write_text("[ui]\nchart_candles = 99999\ntheme = 'light'\n[old]\nx = 1\n")
    store, _ = make_store(defaults, tmp_path)
    assert store.current().ui.chart_candles == 300
    assert store.current().ui.theme == "light"
    assert any("ui.chart_candles" in warning for warning in store.warnings)
    assert any("'old.x'" in warning for warning in store.warnings)


def test_history_revert_and_reset_survive_a_restart(defaults: Settings, tmp_path: Path) -> None:
    store, events = make_store(defaults, tmp_path)
    store.apply({"market": {"symbols": ["BTCUSDT", "ETHUSDT", "SOLUSDT"]}})
    store.apply({"signals": {"rsi_period": 21, "rule_weights": {"zone": 0.1}}})
    reopened, events = make_store(defaults, tmp_path)
    entries = reopened.history()
    assert [entry.key for entry in entries] == [
        "signals.rule_weights.zone",
        "signals.rsi_period",
        "market.symbols",
    ]
    symbols_entry = entries[-1]
    assert symbols_entry.old == ["BTCUSDT", "ETHUSDT"]
    assert symbols_entry.new == ["BTCUSDT", "ETHUSDT", "SOLUSDT"]
    result = reopened.revert(symbols_entry.id)
    assert result.live == ("market.symbols",)
    assert reopened.current().market.symbols == ("BTCUSDT", "ETHUSDT")
    assert reopened.history()[0].origin == f"revert #{symbols_entry.id}"
    assert events == [SettingsChanged(keys=("market.symbols",))]
    with pytest.raises(KeyError):
        reopened.revert(999)
    reset = reopened.reset_section("signals")
    assert set(reset.changed) == {"signals.rsi_period", "signals.rule_weights.zone"}
    assert reopened.current().signals.rsi_period == 14
    text = (tmp_path / USER_FILE_NAME).read_text()
    assert "[signals" not in text  # forgotten, not pinned to today's defaults
    assert len((tmp_path / HISTORY_FILE_NAME).read_text().splitlines()) == 6


def test_a_failed_write_applies_nothing(
    defaults: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, events = make_store(defaults, tmp_path)

    def broken(path: Path, text: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store_module, "atomic_write", broken)
    with pytest.raises(SettingsRejected) as error:
        store.apply({"ui": {"chart_candles": 100}})
    assert "No space left" in error.value.errors[0].reason
    assert store.current().ui.chart_candles == 300
    assert events == []


def test_secrets_never_leave_as_values(
    defaults: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """No section has a secret yet (trading adds API keys); treat one string field as a secret."""
    planted = "wss://planted-secret-7f3a"
    secret_key = "market.binance_ws_url"

    def is_secret(key: str) -> bool:
        return key == secret_key

    monkeypatch.setattr(store_module, "is_secret", is_secret)
    store, events = make_store(defaults, tmp_path)
    with caplog.at_level(logging.DEBUG):
        result = store.apply({"market": {"binance_ws_url": planted}})
        store.apply({"market": {"binance_ws_url": {"set": True}}})  # the form echoing it back: no change
    assert store.saved().market.binance_ws_url == planted
    answers = [store.document(), [entry.as_dict() for entry in store.history()], result.as_dict(), events]
    assert planted not in repr(answers)
    assert store.document()["market"]["binance_ws_url"] == {"set": True}
    assert planted not in caplog.text
    assert planted not in (tmp_path / HISTORY_FILE_NAME).read_text()
    with pytest.raises(SettingsRejected):
        store.revert(store.history()[0].id)


def test_host_and_data_dir_are_not_changed_from_the_panel(defaults: Settings) -> None:
    store, events = make_store(defaults, None)
    with pytest.raises(SettingsRejected) as error:
        store.apply(
            {
                "server": {"host": "0.0.0.0"},
                "storage": {"data_dir": "/elsewhere"},
                "trading": {"live_enabled": True, "mode": "live"},
            }
        )
    assert rejected_keys(error) == ["server.host", "storage.data_dir", "trading.live_enabled", "trading.mode"]
    assert "--host" in error.value.errors[0].reason
    assert store.current().server.host == "127.0.0.1" and events == []
    run = {"storage": {"data_dir": "/tmp/run-only"}, "server": {"port": 9000}}
    flagged, _ = make_store(defaults, None, run)
    result = flagged.reset_section("server")  # the port goes back; the host is not touched
    assert result.changed == ("server.port",)
    with pytest.raises(SettingsRejected):
        flagged.reset_section("storage")
    assert flagged.saved().storage.data_dir == "/tmp/run-only"


@pytest.mark.parametrize(
    ("change", "key", "fragment"),
    [
        ({"signals": {"timeframe_weights": {"h1": float("nan")}}}, "signals.timeframe_weights.h1", "finite"),
        (
            {"signals": {"rule_weights": {"astrology": 1.0}}},
            "signals.rule_weights.astrology",
            "unknown setting",
        ),
        ({"signals": {"rule_weights": 0.5}}, "signals.rule_weights", "is a section"),
        ({"ui": {"chart_candles": True}}, "ui.chart_candles", "expected an integer"),
        ({"ui": {"theme": "neon"}}, "ui.theme", "not one of dark, light"),
        ({"ui": {"default_indicators": ["RSI", "NOPE"]}}, "ui.default_indicators[1]", "not an indicator"),
    ],
)
def test_wrong_types_and_names_are_refused(
    defaults: Settings, change: dict[str, Any], key: str, fragment: str
) -> None:
    store, events = make_store(defaults, None)
    with pytest.raises(SettingsRejected) as error:
        store.apply(change)
    assert key in rejected_keys(error)
    assert fragment in next(item.reason for item in error.value.errors if item.key == key)
    assert events == [] and store.version == 0
