"""The pre-trade check chain and the daily-loss breaker.

Every order runs through every check; the preview shows them all, the order is refused at the first that
fails, and the refusal names the check and its numbers ("max_order_notional: 6,000.00 USDT is above the
limit of 5,000.00"). Exits (selling what is held) pass pause, the breaker and the position limits: a
stop must be able to get out when nothing may get in.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from thebot.execution.broker import Side
from thebot.execution.filters import SymbolFilters
from thebot.execution.settings import TradingSettings

KILL_SWITCH = "kill_switch"
PAUSED = "paused"
DAILY_LOSS = "daily_loss_breaker"
LOT_SIZE = "LOT_SIZE"
PRICE_FILTER = "PRICE_FILTER"
NOTIONAL = "NOTIONAL"
MAX_ORDER_NOTIONAL = "max_order_notional"
MAX_POSITION = "max_position_per_symbol"
MAX_POSITIONS = "max_concurrent_positions"
MAX_OPEN_ORDERS = "max_open_orders"
BALANCE = "balance"

CHECKS: tuple[str, ...] = (
    KILL_SWITCH,
    PAUSED,
    DAILY_LOSS,
    LOT_SIZE,
    PRICE_FILTER,
    NOTIONAL,
    MAX_ORDER_NOTIONAL,
    MAX_POSITION,
    MAX_POSITIONS,
    MAX_OPEN_ORDERS,
    BALANCE,
)


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    passed: bool
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "passed": self.passed, "detail": self.detail}


class RiskRejected(Exception):
    """A ticket failed a check (or is malformed: `check` is then the field name)."""

    def __init__(self, check: str, message: str) -> None:
        super().__init__(message)
        self.check = check
        self.message = message


@dataclass(frozen=True, slots=True)
class RiskInput:
    """Everything the checks look at, gathered by the service under its lock."""

    symbol: str
    side: Side
    quantity: float  # after rounding to the step
    reference_price: float  # what one unit costs: the limit price, or the last price for a market order
    prices_to_check: tuple[tuple[str, float], ...]  # (field, price) sent or held: price, stop_loss, ...
    filters: SymbolFilters
    is_exit: bool  # sells no more than the position held
    opens_position: bool
    position_notional: float  # this symbol's position before the order, marked
    open_positions: int
    open_orders: int
    new_resting_orders: int  # orders the ticket leaves open (a limit entry, protective legs)
    free_quote: float
    free_base: float
    fee_rate: float
    paused: bool
    killed: bool
    breaker_tripped: bool
    day_loss_pct: float


def _money(value: float) -> str:
    return f"{value:,.2f}"


def evaluate(item: RiskInput, limits: TradingSettings) -> list[CheckResult]:
    """All checks, in chain order."""
    filters = item.filters
    quote = filters.quote_asset
    notional = item.quantity * item.reference_price
    results: list[CheckResult] = []

    def add(name: str, passed: bool, detail: str) -> None:
        results.append(CheckResult(name, passed, detail))

    add(
        KILL_SWITCH,
        item.is_exit or not item.killed,
        "the kill switch stopped trading; resume to place new entries" if item.killed else "off",
    )
    add(
        PAUSED,
        item.is_exit or not item.paused,
        "trading is paused: exits only; resume to place new entries" if item.paused else "running",
    )
    add(
        DAILY_LOSS,
        item.is_exit or not item.breaker_tripped,
        (
            f"the day's loss {item.day_loss_pct:.2f} % reached the limit of {limits.daily_loss_pct:g} %; "
            "new entries are blocked until 00:00 UTC"
        )
        if item.breaker_tripped
        else f"day's loss {item.day_loss_pct:.2f} % of {limits.daily_loss_pct:g} % allowed",
    )
    step = f"{filters.step_size:g}"
    if item.quantity < filters.min_qty or item.quantity <= 0:
        add(
            LOT_SIZE,
            False,
            f"quantity {item.quantity:g} is below the minimum {filters.min_qty:g} (step {step})",
        )
    elif filters.max_qty and item.quantity > filters.max_qty:
        add(LOT_SIZE, False, f"quantity {item.quantity:g} is above the maximum {filters.max_qty:g}")
    else:
        add(LOT_SIZE, True, f"quantity {item.quantity:g} on step {step}")
    off_tick = [(name, price) for name, price in item.prices_to_check if not filters.on_tick(price)]
    out_of_range = [
        (name, price)
        for name, price in item.prices_to_check
        if price < filters.min_price or (filters.max_price and price > filters.max_price)
    ]
    if off_tick:
        name, price = off_tick[0]
        add(PRICE_FILTER, False, f"{name} {price:.12g} is not a multiple of the tick {filters.tick_size:g}")
    elif out_of_range:
        name, price = out_of_range[0]
        add(
            PRICE_FILTER,
            False,
            f"{name} {price:g} is outside {filters.min_price:g}..{filters.max_price:g}",
        )
    else:
        add(PRICE_FILTER, True, f"tick {filters.tick_size:g}")
    if notional < filters.min_notional:
        add(
            NOTIONAL,
            False,
            f"notional {_money(notional)} {quote} is below the minimum {_money(filters.min_notional)}",
        )
    elif filters.max_notional and notional > filters.max_notional:
        add(NOTIONAL, False, f"notional {_money(notional)} {quote} is above {_money(filters.max_notional)}")
    else:
        add(NOTIONAL, True, f"{_money(notional)} {quote} ≥ {_money(filters.min_notional)}")
    add(
        MAX_ORDER_NOTIONAL,
        notional <= limits.max_order_notional,
        f"{_money(notional)} {quote} "
        + ("is above" if notional > limits.max_order_notional else "within")
        + f" the limit of {_money(limits.max_order_notional)}",
    )
    after = item.position_notional + (notional if item.side is Side.BUY else -notional)
    add(
        MAX_POSITION,
        item.is_exit or after <= limits.max_position_notional,
        f"{item.symbol} position would be {_money(after)} {quote}, "
        f"limit {_money(limits.max_position_notional)}",
    )
    positions_after = item.open_positions + (1 if item.opens_position else 0)
    add(
        MAX_POSITIONS,
        item.is_exit or positions_after <= limits.max_concurrent_positions,
        f"{positions_after} open position(s) after this order, limit {limits.max_concurrent_positions}",
    )
    orders_after = item.open_orders + item.new_resting_orders
    add(
        MAX_OPEN_ORDERS,
        item.new_resting_orders == 0 or orders_after <= limits.max_open_orders,
        f"{orders_after} open order(s) after this ticket, limit {limits.max_open_orders}",
    )
    if item.side is Side.BUY:
        needed = notional * (1 + item.fee_rate)
        add(
            BALANCE,
            needed <= item.free_quote,
            f"needs {_money(needed)} {quote} with the fee, {_money(item.free_quote)} {quote} free",
        )
    else:
        add(
            BALANCE,
            item.quantity <= item.free_base * (1 + 1e-9),
            f"sells {item.quantity:g} {filters.base_asset}, {item.free_base:g} {filters.base_asset} held",
        )
    return results


def first_failure(results: list[CheckResult]) -> CheckResult | None:
    return next((result for result in results if not result.passed), None)


def utc_day(now_ms: int) -> str:
    return dt.datetime.fromtimestamp(now_ms / 1000, tz=dt.UTC).strftime("%Y-%m-%d")


@dataclass
class DailyLossBreaker:
    """Trips when equity falls `limit_pct` below the UTC day's starting equity; stays tripped until the next
    UTC day begins (and across restarts: its state is saved by the service). Warnings fire once per level."""

    limit_pct: float
    warnings_pct: tuple[float, ...]
    day: str = ""
    start_equity: float = 0.0
    tripped: bool = False
    warned: list[float] = field(default_factory=list)

    def loss_pct(self, equity: float) -> float:
        if self.start_equity <= 0:
            return 0.0
        return max(0.0, (self.start_equity - equity) / self.start_equity * 100)

    def observe(self, equity: float, now_ms: int) -> list[tuple[str, str]]:
        """Roll the day if needed, then compare; returns (level, message) for each newly crossed level."""
        events: list[tuple[str, str]] = []
        today = utc_day(now_ms)
        if today != self.day:
            if self.tripped:
                events.append(("info", f"new UTC day {today}: the daily-loss breaker is reset"))
            self.day, self.start_equity, self.tripped, self.warned = today, equity, False, []
        loss = self.loss_pct(equity)
        for level in sorted(self.warnings_pct):
            if loss >= level and level not in self.warned:
                self.warned.append(level)
                events.append(("warning", f"the day's loss reached {loss:.2f} % (warning at {level:g} %)"))
        if loss >= self.limit_pct and not self.tripped:
            self.tripped = True
            events.append(
                (
                    "critical",
                    f"daily-loss breaker tripped: the day's loss is {loss:.2f} % "
                    f"(limit {self.limit_pct:g} %); new entries are blocked until 00:00 UTC",
                )
            )
        return events

    def to_dict(self) -> dict[str, Any]:
        return {
            "day": self.day,
            "start_equity": self.start_equity,
            "tripped": self.tripped,
            "warned": list(self.warned),
        }

    def load(self, state: dict[str, Any] | None) -> None:
        if not state:
            return
        self.day = str(state.get("day", ""))
        self.start_equity = float(state.get("start_equity", 0.0))
        self.tripped = bool(state.get("tripped", False))
        self.warned = [float(level) for level in state.get("warned", [])]
