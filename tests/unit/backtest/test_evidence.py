"""Rule evidence: per rule, the live signals' hit rate and forward return, less a round trip's costs."""

from __future__ import annotations

import pytest

from tests.unit.backtest.candles import random_walk
from thebot.backtest.evidence import markdown_table, rule_evidence
from thebot.signals.settings import SignalSettings


def test_each_rule_row_counts_its_signals_and_nets_the_costs() -> None:
    candles = random_walk(1_500)
    rows = rule_evidence(candles, SignalSettings(), horizon=5, round_trip_cost=0.0024)
    by_rule = {row.rule: row for row in rows}
    total = by_rule.pop("all rules")
    assert {"rsi", "macd", "bollinger"} <= set(by_rule)
    assert total.signals == sum(row.signals for row in by_rule.values())
    for row in rows:
        assert row.expectancy == pytest.approx(row.mean_forward_return - 0.0024)
        assert 0.0 <= row.hit_rate <= 1.0 and row.candles == 1_500 and row.timeframe == "1m"
    calmer = rule_evidence(candles, SignalSettings(cooldown_bars=50), horizon=5, round_trip_cost=0.0)
    assert sum(row.signals for row in calmer if row.rule != "all rules") < total.signals
    table = markdown_table(rows)
    assert table.splitlines()[0].startswith("| rule | timeframe | signals |")
    assert "| **all rules** | 1m |" in table
