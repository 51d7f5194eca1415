"""Rule evidence: per rule × timeframe, how often it fired and what followed, over any stored range.

The signals are the live ones (the backtest's `decide`: the enabled rules through the aggregator, so
cooldown and dedup apply as on the page); what followed is `signal_quality`, the same measure the page's
in-memory hit rate uses, over the whole range instead of the last 1,000 candles:
- signals: accepted signals; per 100 candles says how noisy the rule is on that timeframe;
- hit rate: share of signals whose close `horizon` candles later moved the signal's way;
- mean forward return: that move, signed by the signal's side (positive = the signal paid);
- expectancy: the mean forward return less a round trip's costs (two fees and two slippages), i.e. what
  acting on every signal and holding `horizon` candles would have earned per trade.

`python -m thebot.backtest.evidence --symbol BTCUSDT --source binanceus --timeframes 1m,15m,1h --markdown`
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from thebot.backtest.data import load_candles
from thebot.backtest.engine import decide
from thebot.backtest.models import BacktestInputError, BacktestRequest
from thebot.config import ConfigError, load_settings
from thebot.market.models import CandleSnapshot
from thebot.market.store import KlineStore
from thebot.market.timeframe import Timeframe
from thebot.signals.quality import signal_quality
from thebot.signals.settings import SignalSettings


@dataclass(frozen=True, slots=True)
class RuleEvidence:
    rule: str
    timeframe: str
    candles: int
    signals: int
    hit_rate: float
    mean_forward_return: float
    expectancy: float
    horizon_bars: int

    @property
    def per_100_candles(self) -> float:
        return 100 * self.signals / self.candles if self.candles else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "timeframe": self.timeframe,
            "candles": self.candles,
            "signals": self.signals,
            "per_100_candles": self.per_100_candles,
            "hit_rate": self.hit_rate,
            "mean_forward_return": self.mean_forward_return,
            "expectancy": self.expectancy,
            "horizon_bars": self.horizon_bars,
        }


def rule_evidence(
    candles: CandleSnapshot, settings: SignalSettings, *, horizon: int, round_trip_cost: float
) -> list[RuleEvidence]:
    """One row per rule that fired on `candles` (one symbol, one timeframe), plus an `all rules` row."""
    request = BacktestRequest(symbol=candles.symbol, timeframe=candles.timeframe)
    decisions = decide(candles, settings, request)
    qualities = signal_quality(list(decisions.signals), candles, horizon)
    rows = [
        RuleEvidence(
            rule=quality.rule,
            timeframe=quality.timeframe,
            candles=len(candles),
            signals=quality.signals,
            hit_rate=quality.hit_rate,
            mean_forward_return=quality.mean_forward_return,
            expectancy=quality.mean_forward_return - round_trip_cost,
            horizon_bars=horizon,
        )
        for quality in qualities
    ]
    total = sum(row.signals for row in rows)
    if total:
        mean = sum(row.mean_forward_return * row.signals for row in rows) / total
        rows.append(
            RuleEvidence(
                rule="all rules",
                timeframe=candles.timeframe.value,
                candles=len(candles),
                signals=total,
                hit_rate=sum(row.hit_rate * row.signals for row in rows) / total,
                mean_forward_return=mean,
                expectancy=mean - round_trip_cost,
                horizon_bars=horizon,
            )
        )
    return rows


def markdown_table(rows: Sequence[RuleEvidence]) -> str:
    lines = [
        "| rule | timeframe | signals | per 100 candles | hit rate | mean forward return | expectancy |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        name = f"**{row.rule}**" if row.rule == "all rules" else row.rule
        lines.append(
            f"| {name} | {row.timeframe} | {row.signals:,} | {row.per_100_candles:.2f} "
            f"| {row.hit_rate * 100:.1f} % | {row.mean_forward_return * 100:+.3f} % "
            f"| {row.expectancy * 100:+.3f} % |"
        )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m thebot.backtest.evidence", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--symbol", required=True)
    parser.add_argument("--source", required=True)
    parser.add_argument("--timeframes", default="1m,5m,15m,1h")
    parser.add_argument("--from", dest="start", type=int, help="open time in ms (default: first stored)")
    parser.add_argument("--to", dest="end", type=int, help="open time in ms (default: last stored)")
    parser.add_argument("--horizon", type=int, help="candles ahead (default signals.quality_horizon_bars)")
    parser.add_argument("--data-dir")
    parser.add_argument("--config", type=Path)
    parser.add_argument("--markdown", action="store_true")
    arguments = parser.parse_args(argv)
    try:
        settings = load_settings(arguments.config)
        horizon = arguments.horizon or settings.signals.quality_horizon_bars
        cost = 2 * settings.backtest.fee_rate + 2 * settings.backtest.slippage_bps / 10_000
        path = Path(arguments.data_dir or settings.storage.data_dir) / "thebot.duckdb"
        store = KlineStore(str(path), arguments.source)
        rows: list[RuleEvidence] = []
        try:
            for name in arguments.timeframes.split(","):
                try:
                    timeframe = Timeframe(name.strip())
                except ValueError:
                    raise BacktestInputError("timeframes", f"unknown timeframe '{name}'") from None
                candles = load_candles(
                    store, arguments.source, arguments.symbol, timeframe,
                    start=arguments.start, end=arguments.end, limit=settings.backtest.max_candles,
                )  # fmt: skip
                rows.extend(rule_evidence(candles, settings.signals, horizon=horizon, round_trip_cost=cost))
        finally:
            store.close()
    except (BacktestInputError, ConfigError) as error:
        print(f"thebot.backtest.evidence: {error}", file=sys.stderr)
        return 2
    if arguments.markdown:
        print(markdown_table(rows))
    else:
        import json

        print(json.dumps([row.as_dict() for row in rows]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
