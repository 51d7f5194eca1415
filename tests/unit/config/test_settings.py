"""Settings: the shipped defaults load, and every bad value stops the start naming its key."""

from __future__ import annotations

from pathlib import Path

import pytest

from thebot.config import ConfigError, load_settings, settings_from_dict, with_overrides
from thebot.market.timeframe import Timeframe


def test_shipped_defaults_load() -> None:
    settings = load_settings()
    assert settings.market.symbols == ("BTCUSDT", "ETHUSDT")
    assert settings.market.timeframes == tuple(
        Timeframe(value) for value in ("1m", "5m", "15m", "1h", "4h", "1d")
    )
    assert settings.market.buffer_size == 1000
    assert settings.ui.update_interval_ms == 500
    assert settings.market.source == "auto"


@pytest.mark.parametrize(
    ("data", "key", "fragment"),
    [
        ({"market": {"symbol": ["BTCUSDT"]}}, "market.symbol", "unknown setting"),
        ({"markets": {}}, "markets", "unknown setting"),
        ({"market": {"buffer_size": "big"}}, "market.buffer_size", "expected an integer"),
        ({"market": {"buffer_size": 5}}, "market.buffer_size", "between 10 and 100000"),
        ({"market": {"buffer_size": 100_001}}, "market.buffer_size", "between 10 and 100000"),
        ({"market": {"timeframes": ["1m", "7m"]}}, "market.timeframes[1]", "unknown timeframe '7m'"),
        ({"market": {"source": "kraken"}}, "market.source", "not one of"),
        ({"market": {"symbols": ["btc-usdt"]}}, "market.symbols", "upper-case Binance symbol"),
        ({"market": {"symbols": []}}, "market.symbols", "at least one"),
        ({"market": {"symbols": "BTCUSDT"}}, "market.symbols", "expected a list"),
        ({"ui": {"update_interval_ms": 10}}, "ui.update_interval_ms", "between 100 and 60000"),
        ({"ui": {"default_symbol": "SOLUSDT"}}, "ui.default_symbol", "not in market.symbols"),
        ({"venue": {"speed": 0}}, "venue.speed", "above 0"),
        ({"server": {"port": 70_000}}, "server.port", "TCP port"),
        ({"server": {"port": True}}, "server.port", "expected an integer"),
    ],
)
def test_bad_values_name_the_key(data: dict, key: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as raised:
        settings_from_dict(data)
    assert raised.value.key == key
    assert fragment in str(raised.value)
    assert key in str(raised.value)


def test_invalid_toml_and_missing_file(tmp_path: Path) -> None:
    broken = tmp_path / "settings.toml"
    broken.write_text("[market\nsymbols = 1\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(broken)
    with pytest.raises(ConfigError, match="file not found"):
        load_settings(tmp_path / "absent.toml")


def test_overrides_are_validated_again() -> None:
    settings = load_settings()
    faster = with_overrides(settings, venue={"speed": 60.0})
    assert faster.venue.speed == 60.0
    with pytest.raises(ConfigError, match=r"market\.buffer_size"):
        with_overrides(settings, market={"buffer_size": 1})


def test_app_flags_override_config(tmp_path: Path) -> None:
    from app import parse_args, settings_from_args

    args = parse_args(["--source", "sim", "--speed", "60", "--port", "8123", "--symbols", "solusdt,BTCUSDT"])
    settings = settings_from_args(args)
    assert settings.market.source == "sim"
    assert settings.venue.speed == 60.0
    assert settings.server.port == 8123
    assert settings.market.symbols == ("SOLUSDT", "BTCUSDT")
    assert settings.ui.default_symbol == "BTCUSDT"


def test_app_exits_with_a_message_on_a_bad_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from app import main

    bad = tmp_path / "bad.toml"
    bad.write_text('[market]\ntimeframes = ["1m", "2d"]\n')
    assert main(["--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "market.timeframes[1]" in err and "'2d'" in err


def test_app_layers_defaults_user_file_and_flags(tmp_path: Path) -> None:
    """The panel's user file applies over the defaults; flags win for the run and are never saved."""
    from app import parse_args, store_from_args

    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "settings.user.toml").write_text("[ui]\nchart_candles = 777\n[venue]\nspeed = 5.0\n")
    args = parse_args(["--data-dir", str(data_dir), "--speed", "60"])
    store = store_from_args(args)
    settings = store.current()
    assert settings.ui.chart_candles == 777
    assert settings.venue.speed == 60.0
    assert settings.storage.data_dir == str(data_dir)
    store.apply({"ui": {"chart_candles": 500}})
    text = (data_dir / "settings.user.toml").read_text()
    assert "chart_candles = 500" in text and "speed = 5.0" in text and "60" not in text
