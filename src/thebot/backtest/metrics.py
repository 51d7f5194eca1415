"""Performance figures of a backtest as pure functions of its per-bar returns, equity and trade returns.

Definitions follow quantstats (the reference in the tests, equal on the same returns):
- returns r_t are per bar (equity_t / equity_{t−1} − 1, the first against the initial capital);
  `periods` is bars per year (crypto trades all year: 525,600 one-minute bars);
- total return = Π(1 + r) − 1; CAGR = (1 + total)^(periods / bars) − 1;
- Sharpe = mean(r) / std(r, ddof=1) · √periods (risk-free rate 0);
- Sortino = mean(r) / √(Σ r² over r < 0 / bars) · √periods;
- max drawdown = min(equity / running peak) − 1, the initial capital counting as the first peak;
  its duration is the longest run of bars below a previous peak; Calmar = CAGR / |max drawdown|;
- over trade returns: win rate = wins / non-zero trades, profit factor = Σ gains / |Σ losses|,
  expectancy = mean return of the non-zero trades (= win rate · mean win + loss rate · mean loss).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
MINUTES_PER_YEAR = 365 * 24 * 60


def periods_per_year(bar_milliseconds: int) -> float:
    return MINUTES_PER_YEAR * 60_000 / bar_milliseconds


def returns_of(equity: FloatArray, initial: float) -> FloatArray:
    previous = np.concatenate([[initial], equity[:-1]])
    returns: FloatArray = equity / previous - 1.0
    return returns


def total_return(returns: FloatArray) -> float:
    return float(np.prod(1.0 + returns) - 1.0) if returns.size else 0.0


def cagr(returns: FloatArray, periods: float) -> float:
    if returns.size == 0:
        return 0.0
    wealth = 1.0 + total_return(returns)
    if wealth <= 0:
        return math.nan if wealth < 0 else -1.0
    exponent = math.log(wealth) * periods / returns.size
    return math.inf if exponent > 700 else math.expm1(exponent)  # a few bars annualised can overflow


def sharpe(returns: FloatArray, periods: float) -> float:
    if returns.size < 2:
        return math.nan
    deviation = float(np.std(returns, ddof=1))
    return math.nan if deviation == 0 else float(np.mean(returns)) / deviation * math.sqrt(periods)


def sortino(returns: FloatArray, periods: float) -> float:
    if returns.size == 0:
        return math.nan
    downside = math.sqrt(float(np.sum(np.square(returns[returns < 0]))) / returns.size)
    return math.nan if downside == 0 else float(np.mean(returns)) / downside * math.sqrt(periods)


def drawdown_series(returns: FloatArray) -> FloatArray:
    """Per bar: equity below its running peak (≤ 0), the starting capital being the first peak."""
    wealth = np.cumprod(1.0 + returns)
    peaks = np.maximum.accumulate(np.concatenate([[1.0], wealth]))[1:]
    return wealth / peaks - 1.0


def max_drawdown(returns: FloatArray) -> float:
    return float(min(0.0, drawdown_series(returns).min())) if returns.size else 0.0


def max_drawdown_bars(returns: FloatArray) -> int:
    """The longest run of consecutive bars under water (from the first bar below a peak to the last)."""
    under = drawdown_series(returns) < 0
    longest = current = 0
    for below in under.tolist():
        current = current + 1 if below else 0
        longest = max(longest, current)
    return longest


def calmar(returns: FloatArray, periods: float) -> float:
    drawdown = max_drawdown(returns)
    return math.nan if drawdown == 0 else cagr(returns, periods) / abs(drawdown)


def win_rate(trade_returns: Sequence[float]) -> float:
    values = np.asarray(trade_returns, dtype=np.float64)
    nonzero = values[values != 0]
    return float((nonzero > 0).sum() / nonzero.size) if nonzero.size else 0.0


def profit_factor(trade_returns: Sequence[float]) -> float:
    values = np.asarray(trade_returns, dtype=np.float64)
    gains, losses = float(values[values >= 0].sum()), abs(float(values[values < 0].sum()))
    if losses == 0:
        return 0.0 if gains == 0 else math.inf
    return gains / losses


def expectancy(trade_returns: Sequence[float]) -> float:
    values = np.asarray(trade_returns, dtype=np.float64)
    nonzero = values[values != 0]
    return float(nonzero.mean()) if nonzero.size else 0.0


@dataclass(frozen=True, slots=True)
class Metrics:
    total_return: float
    cagr: float
    exposure: float  # share of bars with a position
    trades: int
    win_rate: float
    profit_factor: float
    expectancy: float  # mean return per trade
    sharpe: float
    sortino: float
    calmar: float
    max_drawdown: float
    max_drawdown_bars: int
    max_drawdown_ms: int
    buy_and_hold: float  # total return of holding the symbol over the same bars, no costs
    final_equity: float

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe: NaN and ±inf become None."""
        return {
            name: (None if isinstance(value, float) and not math.isfinite(value) else value)
            for name, value in asdict(self).items()
        }


def compute_metrics(
    equity: FloatArray,
    initial: float,
    *,
    in_market: npt.NDArray[np.bool_],
    trade_returns: Sequence[float],
    buy_and_hold: float,
    bar_milliseconds: int,
) -> Metrics:
    returns = returns_of(equity, initial)
    periods = periods_per_year(bar_milliseconds)
    bars_under = max_drawdown_bars(returns)
    return Metrics(
        total_return=total_return(returns),
        cagr=cagr(returns, periods),
        exposure=float(in_market.mean()) if in_market.size else 0.0,
        trades=len(trade_returns),
        win_rate=win_rate(trade_returns),
        profit_factor=profit_factor(trade_returns),
        expectancy=expectancy(trade_returns),
        sharpe=sharpe(returns, periods),
        sortino=sortino(returns, periods),
        calmar=calmar(returns, periods),
        max_drawdown=max_drawdown(returns),
        max_drawdown_bars=bars_under,
        max_drawdown_ms=bars_under * bar_milliseconds,
        buy_and_hold=buy_and_hold,
        final_equity=float(equity[-1]) if equity.size else initial,
    )
