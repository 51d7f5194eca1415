"""What a backtest is asked to do, checked before anything runs: every problem names its field."""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import Any

from thebot.backtest.settings import BacktestSettings
from thebot.market.timeframe import Timeframe
from thebot.signals.models import Grade
from thebot.signals.settings import RULE_FAMILIES

SWEEPABLE = ("stop_loss", "take_profit", "trailing", "max_bars")


class BacktestInputError(ValueError):
    """A request field is wrong; `field` names it (the page marks it, the API answers 400)."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


class EntryMode(StrEnum):
    RULES = "rules"  # enter on an accepted signal of the chosen rules
    GRADE = "grade"  # enter when the aggregate grade reaches the chosen grade


@dataclass(frozen=True, slots=True)
class ExitPolicy:
    """Fractions of the entry price (0.01 = 1 %); None switches an exit off."""

    opposite_signal: bool = True
    stop_loss: float | None = None
    take_profit: float | None = None
    trailing: float | None = None
    max_bars: int | None = None

    def describe(self) -> str:
        parts = ["opposite signal"] if self.opposite_signal else []
        for name, value in (
            ("stop", self.stop_loss),
            ("take profit", self.take_profit),
            ("trail", self.trailing),
        ):
            if value is not None:
                parts.append(f"{name} {value * 100:g} %")
        if self.max_bars is not None:
            parts.append(f"{self.max_bars} bars")
        return ", ".join(parts) or "end of data only"


@dataclass(frozen=True, slots=True)
class BacktestRequest:
    symbol: str
    timeframe: Timeframe
    start: int | None = None  # open times (ms), inclusive; None = all stored
    end: int | None = None
    source: str = ""  # whose candles; "" = the running app's source
    entry: EntryMode = EntryMode.RULES
    rules: tuple[str, ...] = ()  # rule names (`pattern:CDLHAMMER`) or families (`rsi`); () = all enabled
    grade: Grade = Grade.BUY  # grade mode: long at this grade or stronger, short at its mirror
    shorts: bool = False
    exits: ExitPolicy = field(default_factory=ExitPolicy)
    fee_rate: float = 0.001
    slippage_bps: float = 2.0
    initial_capital: float = 10_000.0
    position_fraction: float = 1.0  # share of equity put into each position
    risk_fraction: float | None = None  # with a stop loss: size so the stop loses this share of equity
    in_sample: float | None = None  # walk-forward: the share of bars in-sample, the rest out-of-sample

    @property
    def slippage_fraction(self) -> float:
        return self.slippage_bps / 10_000

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["timeframe"] = self.timeframe.value
        data["entry"] = self.entry.value
        data["grade"] = self.grade.value
        data["rules"] = list(self.rules)
        return data


def _number(data: dict[str, Any], name: str, default: float | None, low: float, high: float) -> float | None:
    value = data.get(name, default)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise BacktestInputError(name, f"expected a number, got {value!r}")
    if not low <= value <= high:
        raise BacktestInputError(name, f"must be between {low:g} and {high:g}, got {value:g}")
    return float(value)


def _time(data: dict[str, Any], name: str) -> int | None:
    value = data.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise BacktestInputError(name, "expected an open time in ms or an ISO date such as 2023-03-01")
    if isinstance(value, int):
        return value
    from datetime import UTC, datetime

    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BacktestInputError(
            name, f"{value!r} is not a date such as 2023-03-01 or 2023-03-01T12:00"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


def request_from_dict(
    data: dict[str, Any], settings: BacktestSettings, enabled_rules: tuple[str, ...]
) -> BacktestRequest:
    """A checked request from JSON (API, page, CLI); raises `BacktestInputError` naming the field."""
    known = {
        "symbol", "timeframe", "start", "end", "source", "entry", "rules", "grade", "shorts", "exits",
        "fee_rate", "slippage_bps", "initial_capital", "position_fraction", "risk_fraction", "in_sample",
        "sweep",
    }  # fmt: skip
    unknown = sorted(set(data) - known)
    if unknown:
        raise BacktestInputError(unknown[0], f"unknown field; known fields: {', '.join(sorted(known))}")
    symbol = data.get("symbol")
    if not isinstance(symbol, str) or not (symbol.isalnum() and symbol.isupper()):
        raise BacktestInputError("symbol", f"{symbol!r} is not an upper-case symbol such as BTCUSDT")
    try:
        timeframe = Timeframe(str(data.get("timeframe")))
    except ValueError:
        allowed = ", ".join(item.value for item in Timeframe)
        raise BacktestInputError(
            "timeframe", f"unknown timeframe {data.get('timeframe')!r}; use one of {allowed}"
        ) from None
    start, end = _time(data, "start"), _time(data, "end")
    if start is not None and end is not None and end < start:
        raise BacktestInputError("end", "the range is empty: the end is before the start")
    try:
        entry = EntryMode(data.get("entry", "rules"))
    except ValueError:
        raise BacktestInputError(
            "entry", "use 'rules' (a rule's signal) or 'grade' (the confluence grade)"
        ) from None
    rules = data.get("rules") or []
    if not isinstance(rules, list) or not all(isinstance(rule, str) for rule in rules):
        raise BacktestInputError("rules", "expected a list of rule names such as ['rsi', 'macd']")
    for rule in rules:
        family = rule.split(":", 1)[0]
        if family not in RULE_FAMILIES:
            raise BacktestInputError("rules", f"unknown rule '{rule}'; rules are: {', '.join(RULE_FAMILIES)}")
        if family not in enabled_rules:
            raise BacktestInputError(
                "rules", f"rule '{rule}' is switched off in signals.rules; enable it first"
            )
    try:
        grade = Grade(str(data.get("grade", "BUY")).upper())
    except ValueError:
        raise BacktestInputError("grade", "use BUY or STRONG_BUY (shorts take the mirror grade)") from None
    if grade not in (Grade.BUY, Grade.STRONG_BUY):
        raise BacktestInputError("grade", "use BUY or STRONG_BUY (shorts take the mirror grade)")
    exits_data = data.get("exits") or {}
    if not isinstance(exits_data, dict):
        raise BacktestInputError("exits", 'expected an object such as {"stop_loss": 0.01}')
    exits = exit_policy(exits_data)
    source = data.get("source") or ""
    if not isinstance(source, str):
        raise BacktestInputError("source", "expected a source name such as binance or sim:seed=7")
    request = BacktestRequest(
        symbol=symbol,
        timeframe=timeframe,
        start=start,
        end=end,
        source=source,
        entry=entry,
        rules=tuple(rules),
        grade=grade,
        shorts=bool(data.get("shorts", False)),
        exits=exits,
        fee_rate=_number(data, "fee_rate", settings.fee_rate, 0.0, 0.05) or 0.0,
        slippage_bps=_number(data, "slippage_bps", settings.slippage_bps, 0.0, 500.0) or 0.0,
        initial_capital=_number(data, "initial_capital", settings.initial_capital, 1.0, 1e12) or 0.0,
        position_fraction=_number(data, "position_fraction", 1.0, 0.01, 1.0) or 1.0,
        risk_fraction=_number(data, "risk_fraction", None, 0.0001, 1.0),
        in_sample=_number(data, "in_sample", None, 0.1, 0.9),
    )
    if request.risk_fraction is not None and exits.stop_loss is None:
        raise BacktestInputError("risk_fraction", "risk-based sizing needs a stop loss (exits.stop_loss)")
    return request


def exit_policy(data: dict[str, Any]) -> ExitPolicy:
    unknown = sorted(set(data) - {"opposite_signal", *SWEEPABLE})
    if unknown:
        raise BacktestInputError(
            f"exits.{unknown[0]}", "unknown exit; use opposite_signal, " + ", ".join(SWEEPABLE)
        )
    try:
        fractions = {
            name: _number(data, name, None, 0.0001, 0.99) for name in ("stop_loss", "take_profit", "trailing")
        }
        bars = _number(data, "max_bars", None, 1, 1_000_000)
    except BacktestInputError as error:
        raise BacktestInputError(f"exits.{error.field}", error.message) from None
    return ExitPolicy(
        opposite_signal=bool(data.get("opposite_signal", True)),
        max_bars=None if bars is None else int(bars),
        **fractions,
    )


def sweep_variants(data: dict[str, Any], base: ExitPolicy, limit: int) -> list[ExitPolicy]:
    """`{"stop_loss": [0.005, 0.01], "take_profit": [0.01, 0.02]}` → the 4 exit policies to run."""
    sweep = data.get("sweep") or {}
    if not isinstance(sweep, dict):
        raise BacktestInputError("sweep", 'expected an object of lists such as {"stop_loss": [0.005, 0.01]}')
    names = sorted(sweep)
    for name in names:
        if name not in SWEEPABLE:
            raise BacktestInputError("sweep", f"'{name}' cannot be swept; sweep {', '.join(SWEEPABLE)}")
        values = sweep[name]
        if not isinstance(values, list) or not values:
            raise BacktestInputError(f"sweep.{name}", "expected a non-empty list of values")
    size = math.prod(len(sweep[name]) for name in names) if names else 1
    if size > limit:
        raise BacktestInputError(
            "sweep", f"{size:,} runs asked for; at most {limit} (backtest.max_sweep_runs). Sweep fewer values"
        )
    variants = []
    for combination in itertools.product(*(sweep[name] for name in names)):
        values = {**{n: getattr(base, n) for n in SWEEPABLE}, **dict(zip(names, combination, strict=True))}
        checked = exit_policy({"opposite_signal": base.opposite_signal, **values})
        variants.append(replace(base, **{n: getattr(checked, n) for n in SWEEPABLE}))
    return variants
