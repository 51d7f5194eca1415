"""The backtest's figures equal quantstats' (the reference library) on the same returns."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from thebot.backtest import metrics

qs = pytest.importorskip(
    "quantstats", reason="quantstats is the test reference: pip install -r requirements-dev.txt"
)

PERIODS = 365


@pytest.fixture(params=[1, 2, 3])
def returns(request: pytest.FixtureRequest) -> pd.Series:
    rng = np.random.default_rng(request.param)
    values = rng.normal(0.0004, 0.02, 400)
    values[rng.random(400) < 0.3] = 0.0  # flat days, as a strategy out of the market has
    index = pd.date_range("2023-01-01", periods=400, freq="D")
    return pd.Series(values, index=index)


def test_return_and_risk_ratios_equal_quantstats(returns: pd.Series) -> None:
    values = returns.to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert metrics.total_return(values) == pytest.approx(qs.stats.comp(returns), rel=1e-9)
        assert metrics.cagr(values, PERIODS) == pytest.approx(
            qs.stats.cagr(returns, periods=PERIODS), rel=1e-9
        )
        assert metrics.sharpe(values, PERIODS) == pytest.approx(
            qs.stats.sharpe(returns, periods=PERIODS), rel=1e-9
        )
        assert metrics.sortino(values, PERIODS) == pytest.approx(
            qs.stats.sortino(returns, periods=PERIODS), rel=1e-9
        )
        assert metrics.max_drawdown(values) == pytest.approx(qs.stats.max_drawdown(returns), rel=1e-9)
        assert metrics.calmar(values, PERIODS) == pytest.approx(
            qs.stats.calmar(returns, periods=PERIODS), rel=1e-9
        )
        details = qs.stats.drawdown_details(qs.stats.to_drawdown_series(returns))
        assert metrics.max_drawdown_bars(values) == int(details["days"].max())
        assert math.ceil(float((values != 0).mean()) * 100) / 100 == qs.stats.exposure(returns)


def test_trade_statistics_equal_quantstats(returns: pd.Series) -> None:
    trades = returns[returns != 0]
    values = trades.to_numpy().tolist()
    assert metrics.win_rate(values) == pytest.approx(qs.stats.win_rate(trades), rel=1e-12)
    assert metrics.profit_factor(values) == pytest.approx(qs.stats.profit_factor(trades), rel=1e-12)
    rate = qs.stats.win_rate(trades)
    expected = rate * qs.stats.avg_win(trades) + (1 - rate) * qs.stats.avg_loss(trades)
    assert metrics.expectancy(values) == pytest.approx(expected, rel=1e-12)


def test_equity_returns_start_from_the_initial_capital() -> None:
    equity = np.array([10_100.0, 9_595.0, 10_554.5])
    assert metrics.returns_of(equity, 10_000.0).round(6).tolist() == [0.01, -0.05, 0.1]
    result = metrics.compute_metrics(
        equity,
        10_000.0,
        in_market=np.array([True, True, False]),
        trade_returns=[0.01, -0.05],
        buy_and_hold=0.2,
        bar_milliseconds=86_400_000,
    )
    assert result.total_return == pytest.approx(0.05545)
    assert result.max_drawdown == pytest.approx(9_595 / 10_100 - 1)
    assert result.max_drawdown_bars == 1 and result.max_drawdown_ms == 86_400_000
    assert result.exposure == pytest.approx(2 / 3)
    assert result.win_rate == 0.5 and result.profit_factor == pytest.approx(0.2)
    no_losses = metrics.compute_metrics(
        equity,
        10_000.0,
        in_market=np.ones(3, bool),
        trade_returns=[0.01],
        buy_and_hold=0.0,
        bar_milliseconds=60_000,
    )
    assert no_losses.as_dict()["profit_factor"] is None  # infinite: JSON has no inf
