"""Backtest positions: fills at the next open, exits (stop, take-profit, the seed-004 trailing stop, time,
opposite signal), costs and sizing, the walk-forward split, and decisions that never see the future."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from tests.unit.backtest.candles import random_walk, snapshot
from thebot.backtest.engine import Decisions, decide, run_backtest, simulate
from thebot.backtest.models import BacktestRequest, EntryMode, ExitPolicy
from thebot.market.models import CandleSnapshot
from thebot.market.timeframe import Timeframe
from thebot.signals.settings import SignalSettings

FREE = BacktestRequest(symbol="BTCUSDT", timeframe=Timeframe.M1, fee_rate=0.0, slippage_bps=0.0)


def decisions(candles: CandleSnapshot, long: list[int] = (), short: list[int] = ()) -> Decisions:  # type: ignore[assignment]
    count = len(candles)
    wants_long, wants_short = np.zeros(count, bool), np.zeros(count, bool)
    wants_long[list(long)] = True
    wants_short[list(short)] = True
    return Decisions(candles=candles, long=wants_long, short=wants_short, signals=())


def run(
    rows: list[tuple[float, float, float, float]],
    exits: ExitPolicy,
    request: BacktestRequest = FREE,
    **marks: list[int],
):  # type: ignore[no-untyped-def]
    candles = snapshot(rows)
    return simulate(decisions(candles, **marks), request, exits, 0, len(candles))


FLAT = (100.0, 100.0, 100.0, 100.0)


def test_seed_004_trailing_stop_exits_at_plus_1_49_percent() -> None:
    rows = [
        (50_000.0, 50_000.0, 50_000.0, 50_000.0),  # a BUY at this close
        (50_000.0, 50_500.0, 49_900.0, 50_400.0),  # filled at the open; stop 49,750 → 50,247.50
        (50_400.0, 51_000.0, 50_300.0, 50_900.0),  # → 50,745
        (50_900.0, 50_950.0, 50_600.0, 50_700.0),  # through 50,745
        (50_700.0, 50_800.0, 50_600.0, 50_700.0),
    ]
    result = run(rows, ExitPolicy(opposite_signal=False, trailing=0.005), long=[0])
    (trade,) = result.trades
    assert (trade.entry_price, trade.exit_price, trade.exit_reason) == (50_000.0, 50_745.0, "trailing stop")
    assert trade.return_fraction == pytest.approx(0.0149)
    assert trade.bars == 3 and result.equity[-1] == pytest.approx(10_000 * 1.0149)


def test_stop_loss_fills_at_the_stop_or_at_a_worse_open() -> None:
    touched = run([FLAT, FLAT, (100.0, 100.5, 97.0, 99.0), FLAT], ExitPolicy(stop_loss=0.02), long=[0])
    assert [(t.exit_price, t.exit_reason) for t in touched.trades] == [(98.0, "stop loss")]
    gapped = run([FLAT, FLAT, (96.0, 96.5, 95.0, 96.0), FLAT], ExitPolicy(stop_loss=0.02), long=[0])
    assert gapped.trades[0].exit_price == 96.0
    short = run(
        [FLAT, FLAT, (100.0, 103.0, 99.0, 102.0), FLAT],
        ExitPolicy(stop_loss=0.02),
        replace(FREE, shorts=True),
        short=[0],
    )
    assert [(t.side, t.exit_price) for t in short.trades] == [("SHORT", 102.0)]
    assert short.trades[0].pnl == pytest.approx(-0.02 * 10_000)


def test_take_profit_and_a_candle_reaching_both_counts_as_the_stop() -> None:
    exits = ExitPolicy(stop_loss=0.02, take_profit=0.03)
    profit = run([FLAT, FLAT, (100.0, 104.0, 99.5, 103.5), FLAT], exits, long=[0])
    assert [(t.exit_price, t.exit_reason) for t in profit.trades] == [(103.0, "take profit")]
    both = run([FLAT, FLAT, (100.0, 104.0, 97.0, 100.0), FLAT], exits, long=[0])
    assert both.trades[0].exit_reason == "stop loss"


def test_time_exit_and_opposite_signal_with_and_without_reversal() -> None:
    rows = [
        FLAT,
        (100.0, 101.0, 99.0, 100.0),
        (100.0, 101.0, 99.0, 101.0),
        (101.0, 102.0, 100.0, 102.0),
        (102.0, 102.0, 102.0, 102.0),
        FLAT,
    ]
    timed = run(rows, ExitPolicy(opposite_signal=False, max_bars=2), long=[0])
    assert [(t.exit_price, t.exit_reason, t.bars) for t in timed.trades] == [(101.0, "time", 2)]
    flat = run(rows, ExitPolicy(), long=[0], short=[2])
    assert [(t.side, t.exit_price, t.exit_reason) for t in flat.trades] == [
        ("LONG", 101.0, "opposite signal")
    ]
    reversed_ = run(rows, ExitPolicy(), replace(FREE, shorts=True), long=[0], short=[2])
    assert [(t.side, t.entry_price, t.exit_reason) for t in reversed_.trades] == [
        ("LONG", 100.0, "opposite signal"),
        ("SHORT", 101.0, "end of data"),
    ]


def test_fees_slippage_and_risk_sizing_reach_the_equity() -> None:
    costly = replace(FREE, fee_rate=0.001, slippage_bps=10.0)
    rows = [FLAT, FLAT, (110.0, 110.0, 110.0, 110.0), FLAT]
    result = run(rows, ExitPolicy(), costly, long=[0], short=[1])
    (trade,) = result.trades
    assert trade.entry_price == pytest.approx(100.1) and trade.exit_price == pytest.approx(109.89)
    quantity = 10_000 / (100.1 * 1.001)
    fees = 0.001 * quantity * (100.1 + 109.89)
    assert trade.pnl == pytest.approx(quantity * (109.89 - 100.1) - fees)
    assert result.equity[-1] == pytest.approx(10_000 + trade.pnl)
    risk = replace(FREE, risk_fraction=0.01)
    sized = run([FLAT, FLAT, (100.0, 100.0, 97.0, 97.0), FLAT], ExitPolicy(stop_loss=0.02), risk, long=[0])
    assert sized.trades[0].quantity == pytest.approx(50.0)  # 1 % of 10,000 over a 2-point stop
    assert sized.equity[-1] == pytest.approx(9_900.0)


def test_future_candles_do_not_change_past_decisions() -> None:
    candles = random_walk(3_000)
    split = 2_000
    changed = random_walk(3_000, seed=99)
    future = snapshot([(0.0, 0.0, 0.0, 0.0)] * 3_000)
    for name in ("open_time", "closed"):
        getattr(future, name)[:] = getattr(candles, name)
    for name in ("open", "high", "low", "close", "volume", "quote_volume", "taker_buy_volume"):
        values = getattr(candles, name).copy()
        values[split:] = getattr(changed, name)[split:] * 1.3
        getattr(future, name)[:] = values
    settings = SignalSettings()
    for entry in (EntryMode.RULES, EntryMode.GRADE):
        request = replace(FREE, entry=entry)
        original, perturbed = decide(candles, settings, request), decide(future, settings, request)
        assert original.long.sum() > 10 and original.short.sum() > 10  # there are decisions to compare
        assert original.long[:split].tolist() == perturbed.long[:split].tolist()
        assert original.short[:split].tolist() == perturbed.short[:split].tolist()
        cut = int(candles.open_time[split])
        assert [s for s in original.signals if s.time < cut] == [s for s in perturbed.signals if s.time < cut]
        assert original.long[split:].tolist() != perturbed.long[split:].tolist()  # the future did change


def test_walk_forward_reports_in_and_out_of_sample_side_by_side() -> None:
    candles = random_walk(2_000)
    request = replace(FREE, in_sample=0.7, exits=ExitPolicy(stop_loss=0.01))
    (result,) = run_backtest(candles, SignalSettings(), request)
    assert result.in_sample is not None and result.out_of_sample is not None
    assert (result.in_sample.first, result.in_sample.last) == (0, 1_400)
    assert (result.out_of_sample.first, result.out_of_sample.last) == (1_400, 2_000)
    split = int(candles.open_time[1_400])
    assert result.split_time == split
    assert all(trade.entry_time >= split for trade in result.out_of_sample.trades)
    assert all(trade.exit_time < split for trade in result.in_sample.trades)
    report = result.as_dict()["walk_forward"]
    assert set(report) == {"split_time", "in_sample", "out_of_sample"}
    assert report["in_sample"]["trades"] == len(result.in_sample.trades) > 0
    assert report["out_of_sample"]["trades"] == len(result.out_of_sample.trades) > 0


def test_a_sweep_shares_the_signals_and_runs_each_exit_policy() -> None:
    candles = random_walk(1_500)
    variants = [ExitPolicy(stop_loss=0.002), ExitPolicy(stop_loss=0.02)]
    tight, loose = run_backtest(candles, SignalSettings(), FREE, variants)
    assert tight.signals == loose.signals
    assert sum(t.exit_reason == "stop loss" for t in tight.full.trades) > sum(
        t.exit_reason == "stop loss" for t in loose.full.trades
    )
