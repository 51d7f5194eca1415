"""Turning a user's JSON into a validated `Rule`; every refusal names the field and the fix."""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from thebot.alerts.models import (
    CHANNEL_CONDITIONS,
    CHANNELS,
    AlertType,
    Condition,
    Rule,
    RuleKind,
    SignalCondition,
    Trigger,
)
from thebot.alerts.store import rule_from_dict

GRADES: tuple[str, ...] = ("STRONG_SELL", "SELL", "NEUTRAL", "BUY", "STRONG_BUY")
FIELDS: tuple[str, ...] = (
    "kind",
    "symbol",
    "timeframe",
    "condition",
    "value",
    "value2",
    "indicator",
    "params",
    "output",
    "output2",
    "bars",
    "trigger",
    "expires_at",
    "message",
    "notify",
    "cooldown_seconds",
    "hysteresis",
    "type",
    "paused",
    "title",
)
MAX_BARS = 1000
MAX_MESSAGE = 500

# (name, params) -> the indicator's outputs; raises ValueError naming the culprit.
IndicatorCheck = Callable[[str, Mapping[str, Any]], Sequence[str]]


class RuleError(ValueError):
    """A rule field is missing or wrong; `field` is the JSON key, the message says what to send."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"'{field}': {reason}")
        self.field = field


def _number(data: Mapping[str, Any], name: str, *, required: bool, default: float | None = None) -> Any:
    value = data.get(name)
    if value is None:
        if required:
            raise RuleError(name, "is required: a number")
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise RuleError(name, f"must be a finite number, got {value!r}")
    return float(value)


def _choice(data: Mapping[str, Any], name: str, allowed: Sequence[str], default: str | None = None) -> str:
    value = data.get(name, default)
    if value is None:
        raise RuleError(name, f"is required: one of {', '.join(allowed)}")
    if not isinstance(value, str) or value not in allowed:
        raise RuleError(name, f"{value!r} is not one of {', '.join(allowed)}")
    return value


def parse_rule(
    data: Mapping[str, Any],
    *,
    symbols: Sequence[str],
    timeframes: Sequence[str],
    now_ms: int,
    check_indicator: IndicatorCheck | None = None,
    rule_id: str | None = None,
    created_at: int | None = None,
) -> Rule:
    unknown = [key for key in data if key not in FIELDS and key not in ("id", "created_at")]
    if unknown:
        raise RuleError(unknown[0], f"unknown field; known fields: {', '.join(FIELDS)}")
    kind = RuleKind(_choice(data, "kind", [kind.value for kind in RuleKind]))
    symbol = data.get("symbol")
    if not isinstance(symbol, str) or symbol.upper() not in symbols:
        raise RuleError("symbol", f"{symbol!r} is not streamed; use one of {', '.join(symbols)}")
    timeframe = _choice(data, "timeframe", list(timeframes))
    body: dict[str, Any] = {
        "id": rule_id or uuid.uuid4().hex[:12],
        "kind": kind.value,
        "symbol": symbol.upper(),
        "timeframe": timeframe,
        "created_at": created_at if created_at is not None else now_ms,
        "trigger": _choice(data, "trigger", [t.value for t in Trigger], Trigger.ONCE_PER_BAR_CLOSE.value),
    }
    if kind is RuleKind.SIGNAL:
        condition = _choice(data, "condition", [c.value for c in SignalCondition])
        body["condition"] = condition
        body["value"] = _number(data, "value", required=False, default=0.0)
        if not 0 <= body["value"] <= 1:
            raise RuleError("value", "is the minimum signal strength, between 0 and 1")
        if condition == SignalCondition.GRADE:
            body["output"] = _choice(data, "output", GRADES)
    else:
        condition = _choice(data, "condition", [c.value for c in Condition])
        body["condition"] = condition
        body["value"] = _number(data, "value", required=data.get("output2") is None, default=0.0)
        body["value2"] = _number(data, "value2", required=Condition(condition) in CHANNEL_CONDITIONS)
        bars = data.get("bars", 1)
        if isinstance(bars, bool) or not isinstance(bars, int) or not 1 <= bars <= MAX_BARS:
            raise RuleError("bars", f"must be an integer between 1 and {MAX_BARS}, got {bars!r}")
        body["bars"] = bars
        if condition in (Condition.MOVING_UP_PERCENT, Condition.MOVING_DOWN_PERCENT) and body["value"] <= 0:
            raise RuleError("value", "is the move in percent and must be above 0")
    if kind is RuleKind.INDICATOR:
        _indicator_fields(data, body, check_indicator)
    body["expires_at"] = _expiry(data.get("expires_at"), now_ms)
    message = data.get("message", "")
    if not isinstance(message, str) or len(message) > MAX_MESSAGE:
        raise RuleError("message", f"must be text of at most {MAX_MESSAGE} characters")
    body["message"] = message
    title = data.get("title", "")
    if not isinstance(title, str) or len(title) > 120:
        raise RuleError("title", "must be text of at most 120 characters")
    body["title"] = title
    notify = data.get("notify", ["toast", "sound"])
    if not isinstance(notify, list) or any(item not in CHANNELS for item in notify):
        raise RuleError("notify", f"must be a list of: {', '.join(CHANNELS)}")
    body["notify"] = list(dict.fromkeys(notify))
    for name in ("cooldown_seconds", "hysteresis"):
        body[name] = _number(data, name, required=False, default=0.0)
        if body[name] < 0:
            raise RuleError(name, "must be 0 or more")
    body["type"] = _choice(data, "type", [t.value for t in AlertType], _default_type(kind, body))
    paused = data.get("paused", False)
    if not isinstance(paused, bool):
        raise RuleError("paused", "must be true or false")
    body["paused"] = paused
    return rule_from_dict(body)


def _indicator_fields(data: Mapping[str, Any], body: dict[str, Any], check: IndicatorCheck | None) -> None:
    name = data.get("indicator")
    if not isinstance(name, str) or not name:
        raise RuleError("indicator", "is required for an indicator rule, e.g. RSI")
    params = data.get("params") or {}
    if not isinstance(params, dict):
        raise RuleError("params", 'must be an object, e.g. {"timeperiod": 14}')
    outputs: Sequence[str] = ()
    if check is not None:
        try:
            outputs = check(name, params)
        except ValueError as error:
            field = "params" if getattr(error, "parameter", None) else "indicator"
            raise RuleError(field, str(error)) from None
    output = data.get("output") or (outputs[0] if outputs else None)
    if not isinstance(output, str) or (outputs and output not in outputs):
        raise RuleError("output", f"{output!r} is not an output of {name}; outputs: {', '.join(outputs)}")
    output2 = data.get("output2")
    if output2 is not None and (not isinstance(output2, str) or (outputs and output2 not in outputs)):
        raise RuleError("output2", f"{output2!r} is not an output of {name}; outputs: {', '.join(outputs)}")
    body.update(indicator=name.upper(), params=params, output=output, output2=output2)


def _expiry(value: Any, now_ms: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise RuleError("expires_at", "must be a time in epoch milliseconds, or null for open-ended")
    if value <= now_ms:
        raise RuleError("expires_at", "is in the past; give a future time in epoch milliseconds")
    return value


def _default_type(kind: RuleKind, body: Mapping[str, Any]) -> str:
    if kind is RuleKind.SIGNAL:
        condition = body["condition"]
        if condition == SignalCondition.SELL or "SELL" in str(body.get("output", "")):
            return AlertType.SELL.value
        if condition == SignalCondition.BUY or "BUY" in str(body.get("output", "")):
            return AlertType.BUY.value
    return AlertType.INFO.value
