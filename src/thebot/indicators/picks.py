"""Indicator picks as text: `"EMA"` (defaults) or `"EMA?timeperiod=50"` (URL-query style, TA-Lib names).

The chart's picker holds picks as plain strings so that one indicator can be picked twice with different
parameters (EMA 20 and EMA 50), a pick fits in a URL, and a reload restores it from local storage.
Only the parameters that differ from the defaults are written, so one choice has one spelling.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

from thebot.indicators.errors import IndicatorError
from thebot.indicators.factory import IndicatorFactory
from thebot.indicators.metadata import ParameterValue

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def _number(text: str) -> ParameterValue:
    try:
        return int(text)
    except ValueError:
        pass
    value = float(text)  # raises ValueError on anything that is not a number
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def parse_pick(text: str) -> tuple[str, dict[str, ParameterValue]]:
    """`"EMA?timeperiod=50"` → `("EMA", {"timeperiod": 50})`; raises `ValueError` saying what is wrong.

    Names are upper-cased (TA-Lib's spelling); numbers stay as written (`50` an int, `2.5` a float).
    The factory, not this parser, decides whether a name or a value is acceptable."""
    name, _, query = text.strip().partition("?")
    name = name.strip().upper()
    if not _NAME.match(name):
        raise ValueError(f"indicator pick {text!r}: expected a name such as EMA or EMA?timeperiod=50")
    params: dict[str, ParameterValue] = {}
    for item in query.split("&") if query else ():
        key, equals, raw = item.partition("=")
        key = key.strip()
        if not equals or not _NAME.match(key):
            raise ValueError(f"indicator pick {text!r}: '{item}' is not parameter=value")
        if key in params:
            raise ValueError(f"indicator pick {text!r}: parameter '{key}' is given twice")
        try:
            params[key] = _number(raw.strip())
        except ValueError:
            raise ValueError(f"indicator pick {text!r}: '{key}' must be a number, got '{raw}'") from None
    return name, params


def _text(value: ParameterValue) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"a parameter value must be a finite number, got {value!r}")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value) if isinstance(value, int) else repr(value)


def format_pick(name: str, params: Mapping[str, ParameterValue] | None = None) -> str:
    """`("EMA", {"timeperiod": 50})` → `"EMA?timeperiod=50"`; no parameters → `"EMA"`."""
    upper = name.strip().upper()
    if not _NAME.match(upper):
        raise ValueError(f"{name!r} is not an indicator name")
    items = []
    for key, value in (params or {}).items():
        if not _NAME.match(key):
            raise ValueError(f"{key!r} is not a parameter name")
        items.append(f"{key}={_text(value)}")
    return upper if not items else f"{upper}?{'&'.join(items)}"


def canonical_pick(factory: IndicatorFactory, name: str, params: Mapping[str, object] | None = None) -> str:
    """Validate with the factory (raises `IndicatorError` with its message) and spell the pick with the
    parameters that differ from the defaults, in the catalog's order."""
    spec = factory.spec(name, params)
    info = factory.info(spec.name)
    defaults = {parameter.name: parameter.default for parameter in info.parameters}
    changed = {key: value for key, value in spec.params if value != defaults.get(key)}
    return format_pick(spec.name, changed)


def validate_pick(factory: IndicatorFactory, text: str) -> str:
    """A pick from a URL or storage, checked and spelled canonically; raises `IndicatorError`."""
    try:
        name, params = parse_pick(text)
    except ValueError as error:
        raise IndicatorError(str(error)) from None
    return canonical_pick(factory, name, params)


def pick_label(text: str) -> str:
    """What the picker shows: `EMA · timeperiod=50`."""
    name, params = parse_pick(text)
    if not params:
        return name
    return f"{name} · " + ", ".join(f"{key}={_text(value)}" for key, value in params.items())
