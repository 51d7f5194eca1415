"""Typed, validated settings loaded from `config/settings.toml`.

Every section is a frozen dataclass; the loader checks each key against the dataclass fields and their
annotated types, so a typo or a wrong type stops the start with a message naming the key. Range checks
live in each section's `__post_init__`, which raises `ConfigError` with the dotted key.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from thebot.alerts.settings import AlertSettings
from thebot.backtest.settings import BacktestSettings
from thebot.config_errors import ConfigError, require
from thebot.execution.settings import TradingSettings
from thebot.market.settings import MarketDataSettings
from thebot.market.timeframe import Timeframe
from thebot.news.settings import NewsSettings
from thebot.signals.settings import SignalSettings

DEFAULT_CONFIG_PATH = Path(__file__).resolve().parents[2] / "config" / "settings.toml"

Source = Literal["auto", "sim", "binance"]
SOURCES: tuple[str, ...] = typing.get_args(Source)
Theme = Literal["dark", "light"]
THEMES: tuple[str, ...] = typing.get_args(Theme)

__all__ = [
    "SOURCES",
    "THEMES",
    "ConfigError",
    "Settings",
    "check_value",
    "load_settings",
    "settings_from_dict",
    "with_overrides",
]


_require = require


@dataclass(frozen=True, slots=True)
class MarketSettings:
    source: Source = "auto"
    symbols: tuple[str, ...] = ("BTCUSDT", "ETHUSDT")
    timeframes: tuple[Timeframe, ...] = (
        Timeframe.M1,
        Timeframe.M5,
        Timeframe.M15,
        Timeframe.H1,
        Timeframe.H4,
        Timeframe.D1,
    )
    buffer_size: int = 1000
    binance_ws_url: str = "wss://stream.binance.com:9443"
    binance_rest_url: str = "https://api.binance.com"
    auto_probe_seconds: float = 3.0

    def __post_init__(self) -> None:
        _require(self.source in SOURCES, "market.source", f"must be one of {', '.join(SOURCES)}")
        _require(len(self.symbols) > 0, "market.symbols", 'list at least one symbol, e.g. ["BTCUSDT"]')
        for symbol in self.symbols:
            _require(
                symbol.isalnum() and symbol.isupper(),
                "market.symbols",
                f"'{symbol}' is not an upper-case Binance symbol such as BTCUSDT",
            )
        _require(len(set(self.symbols)) == len(self.symbols), "market.symbols", "symbols repeat")
        _require(len(self.timeframes) > 0, "market.timeframes", "list at least one timeframe")
        _require(len(set(self.timeframes)) == len(self.timeframes), "market.timeframes", "timeframes repeat")
        # Shortest first, whatever order they were listed in: the picker, the matrix and the confluence
        # show them in this order.
        ordered = tuple(sorted(self.timeframes, key=lambda timeframe: timeframe.milliseconds))
        object.__setattr__(self, "timeframes", ordered)
        _require(
            10 <= self.buffer_size <= 100_000, "market.buffer_size", "must be between 10 and 100000 candles"
        )
        _require(self.auto_probe_seconds > 0, "market.auto_probe_seconds", "must be positive")


@dataclass(frozen=True, slots=True)
class VenueSettings:
    speed: float = 1.0
    seed: int = 7
    history_days: float = 7.0
    # what the embedded venue lists in exchangeInfo besides market.symbols (symbols one can add live)
    listed_symbols: tuple[str, ...] = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "XRPUSDT")

    def __post_init__(self) -> None:
        _require(0 < self.speed <= 10_000, "venue.speed", "must be above 0 and at most 10000")
        _require(0 <= self.history_days <= 3650, "venue.history_days", "must be between 0 and 3650")
        for index, symbol in enumerate(self.listed_symbols):
            _require(
                symbol.isalnum() and symbol.isupper(),
                f"venue.listed_symbols[{index}]",
                f"'{symbol}' is not an upper-case Binance symbol such as BTCUSDT",
            )


@dataclass(frozen=True, slots=True)
class UiSettings:
    update_interval_ms: int = 500
    default_symbol: str = "BTCUSDT"
    default_timeframe: Timeframe = Timeframe.M1
    chart_candles: int = 300
    theme: Theme = "dark"
    # indicators the chart opens with, by factory name (e.g. "EMA", "RSI", "SESSION_VWAP")
    default_indicators: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _require(
            100 <= self.update_interval_ms <= 60_000,
            "ui.update_interval_ms",
            "must be between 100 and 60000 milliseconds",
        )
        _require(10 <= self.chart_candles <= 5_000, "ui.chart_candles", "must be between 10 and 5000")
        _require(self.theme in THEMES, "ui.theme", f"must be one of {', '.join(THEMES)}")
        if self.default_indicators:
            known = indicator_names()
            for index, name in enumerate(self.default_indicators):
                _require(
                    name in known,
                    f"ui.default_indicators[{index}]",
                    f"'{name}' is not an indicator; pick one from /api/indicators/catalog, e.g. EMA or RSI",
                )
            _require(
                len(set(self.default_indicators)) == len(self.default_indicators),
                "ui.default_indicators",
                "indicators repeat",
            )


def indicator_names() -> frozenset[str]:
    """Every name the indicator factory accepts: TA-Lib's functions and the custom indicators."""
    import talib

    from thebot.indicators.custom import custom_indicators

    names = set(talib.get_functions())  # type: ignore[no-untyped-call]
    names.update(indicator.name for indicator in custom_indicators())
    return frozenset(names)


@dataclass(frozen=True, slots=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8050
    # Required to bind anything but loopback; THEBOT_AUTH_TOKEN in the environment takes precedence.
    auth_token: str = ""
    allowed_hosts: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _require(0 <= self.port <= 65_535, "server.port", "must be a TCP port number (0-65535)")


@dataclass(frozen=True, slots=True)
class StorageSettings:
    data_dir: str = "data"


@dataclass(frozen=True, slots=True)
class Settings:
    market: MarketSettings = field(default_factory=MarketSettings)
    venue: VenueSettings = field(default_factory=VenueSettings)
    ui: UiSettings = field(default_factory=UiSettings)
    server: ServerSettings = field(default_factory=ServerSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    market_data: MarketDataSettings = field(default_factory=MarketDataSettings)
    signals: SignalSettings = field(default_factory=SignalSettings)
    trading: TradingSettings = field(default_factory=TradingSettings)
    backtest: BacktestSettings = field(default_factory=BacktestSettings)
    news: NewsSettings = field(default_factory=NewsSettings)
    alerts: AlertSettings = field(default_factory=AlertSettings)

    def __post_init__(self) -> None:
        _require(
            self.ui.default_symbol in self.market.symbols,
            "ui.default_symbol",
            f"'{self.ui.default_symbol}' is not in market.symbols",
        )
        _require(
            self.ui.default_timeframe in self.market.timeframes,
            "ui.default_timeframe",
            f"'{self.ui.default_timeframe}' is not in market.timeframes",
        )


T = TypeVar("T")


def _convert(value: Any, annotation: Any, key: str) -> Any:
    """Check `value` against a field annotation; TOML arrays become tuples, strings become enums."""
    origin = typing.get_origin(annotation)
    if annotation is bool:
        _require(isinstance(value, bool), key, f"expected true or false, got {value!r}")
        return value
    if annotation is int:
        _require(
            isinstance(value, int) and not isinstance(value, bool), key, f"expected an integer, got {value!r}"
        )
        return value
    if annotation is float:
        _require(
            isinstance(value, int | float) and not isinstance(value, bool),
            key,
            f"expected a number, got {value!r}",
        )
        _require(math.isfinite(value), key, f"expected a finite number, got {value!r}")
        return float(value)
    if annotation is str:
        _require(isinstance(value, str), key, f"expected a string, got {value!r}")
        return value
    if isinstance(annotation, type) and issubclass(annotation, Timeframe):
        _require(isinstance(value, str), key, f"expected a timeframe string, got {value!r}")
        try:
            return Timeframe(value)
        except ValueError:
            raise ConfigError(
                key, f"unknown timeframe {value!r}; use one of {', '.join(t.value for t in Timeframe)}"
            ) from None
    if origin is Literal:
        allowed = typing.get_args(annotation)
        _require(value in allowed, key, f"{value!r} is not one of {', '.join(map(str, allowed))}")
        return value
    if origin is tuple:
        item_type = typing.get_args(annotation)[0]
        _require(isinstance(value, list), key, f"expected a list, got {value!r}")
        return tuple(_convert(item, item_type, f"{key}[{index}]") for index, item in enumerate(value))
    if origin in (typing.Union, types.UnionType):
        options = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        if value is None:
            return None
        return _convert(value, options[0], key)
    if dataclasses.is_dataclass(annotation):
        _require(isinstance(value, dict), key, f"expected a table, got {value!r}")
        return _build(annotation, value, key)  # type: ignore[arg-type]
    raise ConfigError(key, f"unsupported setting type {annotation!r}")  # pragma: no cover


def check_value(value: Any, annotation: Any, key: str) -> Any:
    """Check one value against a field annotation (the settings store checks each key of a change)."""
    return _convert(value, annotation, key)


@functools.cache
def _type_hints(cls: type[Any]) -> dict[str, Any]:
    """Resolved once per class: the settings store validates whole documents on every change."""
    return typing.get_type_hints(cls)


def _build(cls: type[T], table: dict[str, Any], prefix: str) -> T:
    hints = _type_hints(cls)  # type: ignore[arg-type]
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    kwargs: dict[str, Any] = {}
    for key, value in table.items():
        dotted = f"{prefix}.{key}" if prefix else key
        if key not in fields:
            known = ", ".join(sorted(fields))
            raise ConfigError(dotted, f"unknown setting; known keys here: {known}")
        kwargs[key] = _convert(value, hints[key], dotted)
    return cls(**kwargs)


def settings_from_dict(data: dict[str, Any]) -> Settings:
    return _build(Settings, data, "")


def load_settings(path: Path | None = None) -> Settings:
    """Read the TOML file (the shipped defaults when `path` is None) into a validated `Settings`."""
    config_path = path or DEFAULT_CONFIG_PATH
    try:
        raw = config_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(str(config_path), "file not found; pass --config with an existing file") from None
    try:
        data = tomllib.loads(raw)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(str(config_path), f"not valid TOML: {error}") from None
    return settings_from_dict(data)


def with_overrides(settings: Settings, **sections: dict[str, Any]) -> Settings:
    """Return a copy with some section fields replaced (command-line flags), validated again."""
    changed: dict[str, Any] = {}
    for section_name, values in sections.items():
        if not values:
            continue
        section = getattr(settings, section_name)
        changed[section_name] = dataclasses.replace(section, **values)
    return dataclasses.replace(settings, **changed)
