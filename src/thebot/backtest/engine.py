"""The backtest: the live signal path over stored candles, then positions with costs and exits.

Signals come from the code that serves the live app, nothing re-implemented: `replay_history` (behind
`evaluate_history`, which the analytics service replays a stream's history with; the signal tests hold it
equal to the streaming evaluator) runs the enabled rules over the candles, and a `SignalAggregator` built
from the same settings accepts them (dedup, cooldown) and grades them, bar by bar. Every decision is taken
at a candle's close and filled at the next candle's open, so a candle can only act on what was known when
it closed.

Exits, in the order they are checked on each candle of an open position:
1. stop (the fixed stop-loss or the trailing stop, whichever is tighter), filled at the stop price, or at
   the open when the candle opened beyond it;
2. take-profit, likewise; a candle that reaches both is counted as a stop (we cannot know which came first);
3. the trailing stop then follows the candle's extreme (`RatchetTrailingStop`, shared with live trading);
4. time: after `max_bars` candles the position closes at that candle's close;
5. an opposite signal at a close exits (and reverses, when shorts are on) at the next open.
Fills pay slippage and the fee (`thebot.execution.costs`); a position left open at the end closes at the
last close.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from thebot.backtest.metrics import Metrics, compute_metrics, drawdown_series, returns_of
from thebot.backtest.models import BacktestRequest, EntryMode, ExitPolicy
from thebot.execution.costs import Side as OrderSide
from thebot.execution.costs import fee, size_by_risk, slipped_price
from thebot.execution.trailing import RatchetTrailingStop
from thebot.indicators import IndicatorFactory
from thebot.market.models import Candle, CandleSnapshot
from thebot.signals.aggregator import SignalAggregator
from thebot.signals.engine import replay_history, to_signal
from thebot.signals.models import Grade, RuleHit, Side, Signal, SignalEventKind, grade_of
from thebot.signals.rules import build_rules
from thebot.signals.settings import SignalSettings

logger = logging.getLogger(__name__)

Progress = Callable[[float, str], None]
BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]
CHART_POINTS = 2_000
_RANK = {Grade.STRONG_SELL: -2, Grade.SELL: -1, Grade.NEUTRAL: 0, Grade.BUY: 1, Grade.STRONG_BUY: 2}


def _no_progress(_share: float, _phase: str) -> None:
    return None


@dataclass(frozen=True, slots=True)
class Decisions:
    """Per candle, decided at its close: go long / go short (edges, not states)."""

    candles: CandleSnapshot
    long: BoolArray
    short: BoolArray
    signals: tuple[Signal, ...]  # every accepted signal, oldest first (markers, evidence)


def _selected(rule: str, chosen: Sequence[str]) -> bool:
    return not chosen or rule in chosen or rule.split(":", 1)[0] in chosen


def decide(
    candles: CandleSnapshot,
    settings: SignalSettings,
    request: BacktestRequest,
    progress: Progress = _no_progress,
) -> Decisions:
    """Run the live rules and aggregator over `candles` and turn their output into entry edges."""
    factory = IndicatorFactory()
    rules = build_rules(factory, settings)
    symbol, timeframe = candles.symbol, candles.timeframe
    progress(0.05, "indicators and rules")
    by_bar: dict[int, tuple[Candle, list[RuleHit]]] = {
        index: (candle, hits) for index, candle, hits in replay_history(factory, rules, candles)
    }
    progress(0.6, "aggregating signals")
    # Only the signals of the last `lookback_bars` count, so the aggregator never needs more than those.
    capacity = max(64, settings.lookback_bars * max(1, len(rules)) * 8)
    aggregator = SignalAggregator(settings, (timeframe,), history=None, capacity=capacity)
    count = len(candles)
    long = np.zeros(count, dtype=bool)
    short = np.zeros(count, dtype=bool)
    accepted_all: list[Signal] = []
    # The grade can change only where a signal is accepted or leaves the lookback window.
    points = set(by_bar)
    if request.entry is EntryMode.GRADE:
        points |= {
            index + settings.lookback_bars for index in by_bar if index + settings.lookback_bars < count
        }
    wanted = _RANK[request.grade]
    previous_rank = 0
    ordered = sorted(points)
    report_every = max(1, len(ordered) // 20)
    for step, index in enumerate(ordered):
        if step % report_every == 0:
            progress(0.6 + 0.25 * step / max(1, len(ordered)), "aggregating signals")
        candle, hits = by_bar.get(index) or (candles.candle(index), [])
        signals = [to_signal(hit, symbol, timeframe, candle, provisional=False) for hit in hits]
        events = aggregator.close_bar(symbol, timeframe, candle.open_time, signals)
        accepted = [event.signal for event in events if event.kind is SignalEventKind.NEW]
        accepted_all.extend(accepted)
        if request.entry is EntryMode.RULES:
            chosen = [signal for signal in accepted if _selected(signal.rule, request.rules)]
            buy = sum(signal.strength for signal in chosen if signal.side is Side.BUY)
            sell = sum(signal.strength for signal in chosen if signal.side is Side.SELL)
            long[index] = buy > sell
            short[index] = sell > buy
        else:
            rank = _RANK[grade_of(aggregator.assess(symbol, timeframe).signed)]
            long[index] = rank >= wanted > previous_rank
            short[index] = rank <= -wanted < previous_rank
            previous_rank = rank
    return Decisions(candles=candles, long=long, short=short, signals=tuple(accepted_all))


@dataclass(frozen=True, slots=True)
class Trade:
    side: str  # LONG or SHORT
    entry_time: int
    entry_price: float
    exit_time: int
    exit_price: float
    quantity: float
    pnl: float  # quote currency, after both fees
    return_fraction: float  # pnl over the entry notional
    bars: int
    exit_reason: str
    fees: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "side": self.side,
            "entry_time": self.entry_time,
            "entry_price": self.entry_price,
            "exit_time": self.exit_time,
            "exit_price": self.exit_price,
            "quantity": self.quantity,
            "pnl": self.pnl,
            "return": self.return_fraction,
            "bars": self.bars,
            "exit_reason": self.exit_reason,
            "fees": self.fees,
        }


@dataclass
class Simulation:
    first: int  # candle index range [first, last)
    last: int
    trades: list[Trade] = field(default_factory=list)
    equity: FloatArray = field(default_factory=lambda: np.zeros(0))
    in_market: BoolArray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    metrics: Metrics | None = None


@dataclass
class _Position:
    sign: int  # +1 long, −1 short
    quantity: float
    entry_index: int
    entry_price: float
    entry_fee: float
    stop: float | None
    take_profit: float | None
    trailing: RatchetTrailingStop | None


def simulate(
    decisions: Decisions, request: BacktestRequest, exits: ExitPolicy, first: int, last: int
) -> Simulation:
    """Positions over candles [first, last), starting flat with the request's capital."""
    candles = decisions.candles
    opens, highs, lows, closes = (
        candles.open.tolist(),
        candles.high.tolist(),
        candles.low.tolist(),
        candles.close.tolist(),
    )
    times = candles.open_time.tolist()
    long_at, short_at = decisions.long.tolist(), decisions.short.tolist()
    slip, fee_rate = request.slippage_fraction, request.fee_rate
    cash = request.initial_capital
    position: _Position | None = None
    pending = 0  # +1 open long / −1 open short at the next open; 2 = exit only
    equity = np.empty(last - first, dtype=np.float64)
    in_market = np.zeros(last - first, dtype=bool)
    trades: list[Trade] = []

    def close_position(index: int, price: float, reason: str, *, slipped: bool = True) -> None:
        nonlocal cash, position
        assert position is not None
        side = OrderSide.SELL if position.sign > 0 else OrderSide.BUY
        fill = slipped_price(price, side, slip) if slipped else price
        exit_fee = fee(position.quantity * fill, fee_rate)
        cash += position.sign * position.quantity * fill - exit_fee
        gross = position.sign * position.quantity * (fill - position.entry_price)
        pnl = gross - position.entry_fee - exit_fee
        trades.append(
            Trade(
                side="LONG" if position.sign > 0 else "SHORT",
                entry_time=times[position.entry_index],
                entry_price=position.entry_price,
                exit_time=times[index],
                exit_price=fill,
                quantity=position.quantity,
                pnl=pnl,
                return_fraction=pnl / (position.quantity * position.entry_price),
                bars=index - position.entry_index + 1,
                exit_reason=reason,
                fees=position.entry_fee + exit_fee,
            )
        )
        position = None

    def open_position(index: int, sign: int) -> None:
        nonlocal cash, position
        side = OrderSide.BUY if sign > 0 else OrderSide.SELL
        fill = slipped_price(opens[index], side, slip)
        equity_now = cash
        quantity = equity_now * request.position_fraction / (fill * (1 + fee_rate))
        stop = None if exits.stop_loss is None else fill * (1 - sign * exits.stop_loss)
        if request.risk_fraction is not None and stop is not None:
            quantity = min(quantity, size_by_risk(equity_now, request.risk_fraction, fill, stop))
        if quantity <= 0 or not math.isfinite(quantity):
            return
        entry_fee = fee(quantity * fill, fee_rate)
        cash -= sign * quantity * fill + entry_fee
        position = _Position(
            sign=sign,
            quantity=quantity,
            entry_index=index,
            entry_price=fill,
            entry_fee=entry_fee,
            stop=stop,
            take_profit=None if exits.take_profit is None else fill * (1 + sign * exits.take_profit),
            trailing=None
            if exits.trailing is None
            else RatchetTrailingStop.start(
                OrderSide.BUY if sign > 0 else OrderSide.SELL, fill, exits.trailing
            ),
        )

    for index in range(first, last):
        if pending:
            if position is not None:
                close_position(index, opens[index], "opposite signal")
            if pending in (1, -1):
                open_position(index, pending)
            pending = 0
        if position is not None:
            sign, high, low, open_price = position.sign, highs[index], lows[index], opens[index]
            stops = [
                level for level in (position.stop, position.trailing and position.trailing.stop) if level
            ]
            stop = (max(stops) if sign > 0 else min(stops)) if stops else None
            target = position.take_profit
            if stop is not None and (low <= stop if sign > 0 else high >= stop):
                beyond = open_price < stop if sign > 0 else open_price > stop
                reason = (
                    "trailing stop" if position.trailing and stop == position.trailing.stop else "stop loss"
                )
                close_position(index, open_price if beyond else stop, reason)
            elif target is not None and (high >= target if sign > 0 else low <= target):
                beyond = open_price > target if sign > 0 else open_price < target
                close_position(index, open_price if beyond else target, "take profit")
            else:
                if position.trailing is not None:
                    position.trailing.update(high, low)
                if exits.max_bars is not None and index - position.entry_index + 1 >= exits.max_bars:
                    close_position(index, closes[index], "time")
        if index + 1 < last:
            if position is None:
                if long_at[index]:
                    pending = 1
                elif short_at[index] and request.shorts:
                    pending = -1
            elif exits.opposite_signal:
                against = short_at[index] if position.sign > 0 else long_at[index]
                if against:
                    pending = -position.sign if request.shorts else 2
        if position is not None:
            in_market[index - first] = True
        equity[index - first] = cash + (
            0.0 if position is None else position.sign * position.quantity * closes[index]
        )
    if position is not None:
        close_position(last - 1, closes[last - 1], "end of data")
        equity[-1] = cash
    result = Simulation(first=first, last=last, trades=trades, equity=equity, in_market=in_market)
    result.metrics = compute_metrics(
        equity,
        request.initial_capital,
        in_market=in_market,
        trade_returns=[trade.return_fraction for trade in trades],
        buy_and_hold=float(closes[last - 1] / opens[first] - 1.0),
        bar_milliseconds=candles.timeframe.milliseconds,
    )
    return result


@dataclass
class BacktestResult:
    request: BacktestRequest
    exits: ExitPolicy
    candles: int
    first_open_time: int
    last_open_time: int
    full: Simulation
    in_sample: Simulation | None
    out_of_sample: Simulation | None
    signals: int
    chart: dict[str, list[Any]]  # downsampled equity, buy & hold and drawdown for the page
    split_time: int | None = None  # walk-forward: the first out-of-sample candle

    def as_dict(self, trades_limit: int = 2_000) -> dict[str, Any]:
        assert self.full.metrics is not None
        trades = self.full.trades
        result: dict[str, Any] = {
            "request": self.request.as_dict(),
            "exits": self.exits.describe(),
            "candles": self.candles,
            "first_open_time": self.first_open_time,
            "last_open_time": self.last_open_time,
            "signals": self.signals,
            "metrics": self.full.metrics.as_dict(),
            "trades_total": len(trades),
            "trades": [trade.as_dict() for trade in trades[-trades_limit:]],
            "chart": self.chart,
        }
        if self.in_sample is not None and self.out_of_sample is not None:
            assert self.in_sample.metrics is not None and self.out_of_sample.metrics is not None
            result["walk_forward"] = {
                "split_time": self.split_time,
                "in_sample": self.in_sample.metrics.as_dict(),
                "out_of_sample": self.out_of_sample.metrics.as_dict(),
            }
        return result


def chart_series(candles: CandleSnapshot, simulation: Simulation, initial: float) -> dict[str, list[Any]]:
    """At most `CHART_POINTS` points: the page draws the curve, not every one of 525,600 bars."""
    count = simulation.last - simulation.first
    step = max(1, math.ceil(count / CHART_POINTS))
    picked = np.unique(np.concatenate([np.arange(0, count, step), [count - 1]]))
    times = candles.open_time[simulation.first : simulation.last]
    closes = candles.close[simulation.first : simulation.last]
    hold = initial * closes / float(candles.open[simulation.first])
    drawdown = drawdown_series(returns_of(simulation.equity, initial))
    return {
        "time": times[picked].tolist(),
        "price": closes[picked].tolist(),
        "equity": simulation.equity[picked].round(2).tolist(),
        "buy_and_hold": hold[picked].round(2).tolist(),
        "drawdown": drawdown[picked].round(5).tolist(),
    }


def run_backtest(
    candles: CandleSnapshot,
    settings: SignalSettings,
    request: BacktestRequest,
    exit_variants: Sequence[ExitPolicy] = (),
    progress: Progress = _no_progress,
) -> list[BacktestResult]:
    """One result per exit policy (the request's own when `exit_variants` is empty); signals are
    computed once and shared, so a sweep costs one simulation per variant."""
    decisions = decide(candles, settings, request, progress)
    count = len(candles)
    split = None
    if request.in_sample is not None:
        split = int(count * request.in_sample)
        if not 2 <= split <= count - 2:
            split = None
    results = []
    variants = list(exit_variants) or [request.exits]
    for number, exits in enumerate(variants):
        progress(0.85 + 0.15 * number / len(variants), "simulating trades")
        full = simulate(decisions, request, exits, 0, count)
        chart = chart_series(candles, full, request.initial_capital)
        in_sample = out_of_sample = None
        if split is not None:
            in_sample = simulate(decisions, request, exits, 0, split)
            out_of_sample = simulate(decisions, request, exits, split, count)
        results.append(
            BacktestResult(
                request=request,
                exits=exits,
                candles=count,
                first_open_time=int(candles.open_time[0]),
                last_open_time=int(candles.open_time[-1]),
                full=full,
                in_sample=in_sample,
                out_of_sample=out_of_sample,
                signals=len(decisions.signals),
                chart=chart,
                split_time=None if split is None else int(candles.open_time[split]),
            )
        )
    progress(1.0, "done")
    return results
