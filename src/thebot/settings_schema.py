"""What the settings form and the API need to know about each setting, derived from the dataclasses.

The frozen-dataclass sections in `thebot.config` stay the single definition of the settings (their
`__post_init__` checks remain the validation); this module walks them and adds what a form needs: a
label, help text (the comment above the key in `config/settings.toml`), a unit, a range, choices and the
*live* / *restart* mark. Only `MARKS` lists fields; a field missing there is `restart`, so a section
merged later shows up in the form, and applies after a restart, until someone marks it live.
"""

from __future__ import annotations

import dataclasses
import enum
import re
import types
import typing
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

from thebot.config import DEFAULT_CONFIG_PATH, Settings
from thebot.market.timeframe import Timeframe
from thebot.signals.settings import RULE_FAMILIES

Mark = Literal["live", "restart"]
Kind = Literal["bool", "int", "float", "str", "choice", "list"]

SECRET_SUFFIXES: tuple[str, ...] = ("_key", "_secret", "token", "password")
# Secrets whose names do not say so: a webhook URL usually carries its key in the path.
SECRET_KEYS: frozenset[str] = frozenset({"alerts.webhook_url"})


def is_secret(key: str) -> bool:
    """API keys, tokens and passwords are shown as set/not set and never logged."""
    return key in SECRET_KEYS or key.rsplit(".", 1)[-1].lower().endswith(SECRET_SUFFIXES)


@dataclass(frozen=True, slots=True)
class Meta:
    """The hand-written part of a field's description; everything else comes from the dataclass."""

    mark: Mark = "restart"
    label: str = ""
    unit: str = ""
    minimum: float | None = None
    maximum: float | None = None
    help: str = ""
    # shown but not changeable from the panel (config file or flag only)
    locked: bool = False


_LIVE = Meta(mark="live")
_WEIGHT = Meta(mark="live", minimum=0, maximum=1)

# Fields applied without a restart. Everything not listed is saved and applied at the next start.
MARKS: dict[str, Meta] = {
    "market.symbols": Meta(mark="live", help="symbols to stream; the venue must list them as TRADING"),
    "market.timeframes": Meta(
        mark="live", help="kline intervals to stream for every symbol; a new one is backfilled at once"
    ),
    "ui.default_symbol": Meta(mark="live", help="symbol the chart opens with; must be one of market.symbols"),
    "ui.chart_candles": Meta(mark="live", unit="candles", minimum=10, maximum=5000),
    "ui.update_interval_ms": Meta(
        mark="live",
        unit="ms",
        minimum=100,
        maximum=60000,
        help="unused: pages are updated by push, not on a timer (kept for older settings files)",
    ),
    "ui.theme": Meta(mark="live"),
    "ui.default_indicators": _LIVE,
    "market.buffer_size": Meta(unit="candles", minimum=10, maximum=100000),
    "market.auto_probe_seconds": Meta(unit="s"),
    "venue.speed": Meta(unit="x", minimum=0, maximum=10000),
    "venue.history_days": Meta(unit="days", minimum=0, maximum=3650),
    "server.port": Meta(minimum=0, maximum=65535),
    # Opening the dashboard beyond loopback, or moving the data directory (which holds the user settings
    # file itself), is a decision for the config file or a flag, not a click.
    "server.host": Meta(locked=True, help="set in config/settings.toml or with --host"),
    "storage.data_dir": Meta(locked=True, help="set in config/settings.toml or with --data-dir"),
    "server.allowed_hosts": Meta(locked=True, help="set in config/settings.toml"),
    "server.auth_token": Meta(locked=True, help="set THEBOT_AUTH_TOKEN or server.auth_token in the file"),
    # Anything that can move money is switched on in the file, never by a click in the browser.
    "trading.mode": Meta(locked=True, help="set in config/settings.toml"),
    "trading.live_enabled": Meta(locked=True, help="set in config/settings.toml"),
    "signals.rules": _LIVE,
    "signals.patterns": _LIVE,
    "signals.provisional": Meta(help="also evaluate the forming candle (applies at the next start)"),
    "signals.macd_min_histogram": Meta(mark="live", minimum=0, maximum=1, unit="fraction of price"),
    "signals.lookback_bars": Meta(mark="live", unit="candles", minimum=1, maximum=500),
    "signals.cooldown_bars": Meta(mark="live", unit="candles", minimum=0, maximum=500),
    "signals.quality_horizon_bars": Meta(mark="live", unit="candles", minimum=1, maximum=1000),
    **{
        f"signals.{name}": Meta(mark="live", unit="candles", minimum=1, maximum=1000)
        for name in (
            "rsi_period",
            "macd_fast",
            "macd_slow",
            "macd_signal",
            "ema_fast",
            "ema_slow",
            "bollinger_period",
            "stochastic_fastk",
            "stochastic_slowk",
            "stochastic_slowd",
            "pattern_volume_period",
            "zone_period",
        )
    },
    **{
        f"signals.{name}": Meta(mark="live", minimum=0, maximum=100)
        for name in ("rsi_oversold", "rsi_overbought", "stochastic_oversold", "stochastic_overbought")
    },
    "signals.bollinger_deviations": Meta(mark="live", unit="σ"),
    "signals.pattern_volume_factor": Meta(mark="live", unit="x mean volume"),
    "signals.zone_factor": _LIVE,
    **{f"signals.rule_weights.{name}": _WEIGHT for name in RULE_FAMILIES},
    **{
        f"signals.timeframe_weights.{timeframe.name.lower()}": Meta(mark="live", minimum=0)
        for timeframe in Timeframe
    },
}

# Lists whose items come from a fixed set (the form offers them as a multi-select).
_LIST_CHOICES: dict[str, tuple[str, ...]] = {"signals.rules": RULE_FAMILIES}


@dataclass(frozen=True, slots=True)
class FieldInfo:
    key: str  # dotted, as in the TOML: "signals.rule_weights.rsi"
    section: str  # the TOML table: "signals.rule_weights"
    name: str
    kind: Kind
    item_kind: Kind | None
    label: str
    help: str
    unit: str
    minimum: float | None
    maximum: float | None
    choices: tuple[str, ...]
    mark: Mark
    secret: bool
    default: Any
    locked: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "section": self.section,
            "name": self.name,
            "kind": self.kind,
            "item_kind": self.item_kind,
            "label": self.label,
            "help": self.help,
            "unit": self.unit,
            "minimum": self.minimum,
            "maximum": self.maximum,
            "choices": list(self.choices),
            "mark": self.mark,
            "secret": self.secret,
            "locked": self.locked,
            "default": None if self.secret else self.default,
        }


def plain(value: Any) -> Any:
    """A settings value as TOML/JSON sees it: tuples become lists, enums their values, tables dicts."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {item.name: plain(getattr(value, item.name)) for item in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [plain(item) for item in value]
    if isinstance(value, enum.Enum):
        return value.value
    return value


def settings_to_dict(settings: Settings) -> dict[str, Any]:
    """Same sections and keys as the TOML file."""
    result = plain(settings)
    assert isinstance(result, dict)
    return result


def _kind_of(annotation: Any) -> tuple[Kind, Kind | None, tuple[str, ...]]:
    origin = typing.get_origin(annotation)
    if annotation is bool:
        return "bool", None, ()
    if annotation is int:
        return "int", None, ()
    if annotation is float:
        return "float", None, ()
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "choice", None, tuple(str(member.value) for member in annotation)
    if origin is Literal:
        return "choice", None, tuple(str(arg) for arg in typing.get_args(annotation))
    if origin is tuple:
        item_kind, _, choices = _kind_of(typing.get_args(annotation)[0])
        return "list", item_kind, choices
    if origin in (typing.Union, types.UnionType):
        options = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        return _kind_of(options[0])
    return "str", None, ()


_COMMENT = re.compile(r"^\s*#\s?(.*)$")
_TABLE = re.compile(r"^\s*\[([A-Za-z0-9_.]+)\]\s*$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_]+)\s*=")


def toml_comments(path: Path = DEFAULT_CONFIG_PATH) -> dict[str, str]:
    """The comment block right above each key of the defaults file, by dotted key."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return {}
    result: dict[str, str] = {}
    table = ""
    pending: list[str] = []
    for line in lines:
        if match := _TABLE.match(line):
            table, pending = match.group(1), []
        elif match := _COMMENT.match(line):
            pending.append(match.group(1).strip())
        elif match := _KEY.match(line):
            if pending and table:
                result[f"{table}.{match.group(1)}"] = " ".join(pending)
            pending = []
        elif not line.strip():
            pending = []
    return result


def _label(name: str) -> str:
    text = name.replace("_", " ")
    return text[:1].upper() + text[1:]


def _walk(cls: type[Any], prefix: str, defaults: Any, comments: dict[str, str]) -> list[FieldInfo]:
    hints = typing.get_type_hints(cls)
    result: list[FieldInfo] = []
    for item in dataclasses.fields(cls):
        key = f"{prefix}.{item.name}" if prefix else item.name
        annotation = hints[item.name]
        default = getattr(defaults, item.name)
        if dataclasses.is_dataclass(annotation):
            result.extend(_walk(annotation, key, default, comments))  # type: ignore[arg-type]
            continue
        kind, item_kind, choices = _kind_of(annotation)
        meta = MARKS.get(key, Meta())
        result.append(
            FieldInfo(
                key=key,
                section=prefix,
                name=item.name,
                kind=kind,
                item_kind=item_kind,
                label=meta.label or _label(item.name),
                help=meta.help or comments.get(key, ""),
                unit=meta.unit,
                minimum=meta.minimum,
                maximum=meta.maximum,
                choices=_LIST_CHOICES.get(key, choices),
                mark=meta.mark,
                secret=is_secret(key),
                default=plain(default),
                locked=meta.locked,
            )
        )
    return result


@cache
def schema_fields() -> tuple[FieldInfo, ...]:
    """Every leaf setting in the order of the dataclasses (the TOML file's order)."""
    return tuple(_walk(Settings, "", Settings(), toml_comments()))


def field_map() -> dict[str, FieldInfo]:
    return {info.key: info for info in schema_fields()}


def sections() -> list[str]:
    """TOML tables in order, sub-tables (`signals.rule_weights`) after their parent."""
    return list(dict.fromkeys(info.section for info in schema_fields()))


def mark_of(key: str) -> Mark:
    """`market.symbols[2]` and `market.symbols` share a mark; unknown keys are `restart`."""
    info = field_map().get(key.split("[", 1)[0])
    return "restart" if info is None else info.mark


_JSON_TYPES: dict[str, str] = {"bool": "boolean", "int": "integer", "float": "number", "str": "string"}


def _json_type(kind: Kind | None, choices: tuple[str, ...]) -> dict[str, Any]:
    if choices:
        return {"type": "string", "enum": list(choices)}
    return {"type": _JSON_TYPES.get(kind or "str", "string")}


def json_schema() -> dict[str, Any]:
    """A JSON Schema (draft 2020-12) of the settings document, with `x-mark` per field."""
    root: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "thebot settings",
        "type": "object",
        "additionalProperties": False,
        "properties": {},
    }
    for info in schema_fields():
        node = root
        for part in info.section.split("."):
            node = node["properties"].setdefault(
                part, {"type": "object", "additionalProperties": False, "properties": {}}
            )
        if info.kind == "list":
            prop: dict[str, Any] = {"type": "array", "items": _json_type(info.item_kind, info.choices)}
        elif info.kind == "choice":
            prop = _json_type(info.kind, info.choices)
        else:
            prop = _json_type(info.kind, ())
        if info.minimum is not None:
            prop["minimum"] = info.minimum
        if info.maximum is not None:
            prop["maximum"] = info.maximum
        prop.update({"title": info.label, "description": info.help, "x-mark": info.mark})
        if info.unit:
            prop["x-unit"] = info.unit
        if info.locked:
            prop["readOnly"] = True
        if info.secret:
            prop["writeOnly"] = True
        else:
            prop["default"] = info.default
        node["properties"][info.name] = prop
    return root
