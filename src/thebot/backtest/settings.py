"""The `[backtest]` section: default costs and capital of a run, and the limits that keep a request sane."""

from __future__ import annotations

from dataclasses import dataclass

from thebot.config_errors import require


@dataclass(frozen=True, slots=True)
class BacktestSettings:
    initial_capital: float = 10_000.0
    # Binance spot's default commission and the simulated venue's market-order slippage
    fee_rate: float = 0.001
    slippage_bps: float = 2.0
    # a request over more candles than this is refused (one year of 1m candles is 525,600)
    max_candles: int = 1_100_000
    # a parameter sweep may ask for at most this many runs
    max_sweep_runs: int = 50
    # finished runs kept in memory for the page and the API (oldest dropped)
    jobs_kept: int = 20

    def __post_init__(self) -> None:
        require(self.initial_capital > 0, "backtest.initial_capital", "must be above 0")
        require(0 <= self.fee_rate < 0.1, "backtest.fee_rate", "must be at least 0 and below 0.1 (10 %)")
        require(0 <= self.slippage_bps <= 1_000, "backtest.slippage_bps", "must be between 0 and 1000")
        require(1_000 <= self.max_candles <= 10_000_000, "backtest.max_candles", "must be 1000 to 10,000,000")
        require(1 <= self.max_sweep_runs <= 1_000, "backtest.max_sweep_runs", "must be between 1 and 1000")
        require(1 <= self.jobs_kept <= 1_000, "backtest.jobs_kept", "must be between 1 and 1000")
