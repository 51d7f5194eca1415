"""`python -m thebot.backtest --symbol BTCUSDT --timeframe 15m --from 2023-03-01 --to 2023-03-21 --json`

Backtests stored candles (see `python -m thebot.history` to import or fetch them) with the live rules.
Stop the app first, or point `--data-dir` at a copy: DuckDB lets one process open a database for writing.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import duckdb

from thebot.backtest.data import load_candles
from thebot.backtest.engine import run_backtest
from thebot.backtest.models import BacktestInputError, request_from_dict, sweep_variants
from thebot.config import ConfigError, load_settings
from thebot.market.store import KlineStore


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m thebot.backtest", description=__doc__.split("\n\n")[0])
    parser.add_argument("--symbol", required=True)
    parser.add_argument("--timeframe", required=True, help="e.g. 1m, 15m, 1h (built from 1m when not stored)")
    parser.add_argument("--from", dest="start", help="UTC date or time; default: the first stored candle")
    parser.add_argument("--to", dest="end", help="UTC date or time (inclusive); default: the last one")
    parser.add_argument("--source", help="whose candles (default: the only source holding the symbol)")
    parser.add_argument("--entry", choices=["rules", "grade"], default="rules")
    parser.add_argument("--rules", help="comma-separated rules or families, e.g. rsi,macd (default: all)")
    parser.add_argument("--grade", choices=["BUY", "STRONG_BUY"], default="BUY")
    parser.add_argument("--shorts", action="store_true", help="also sell short on SELL signals")
    parser.add_argument("--stop-loss", type=float, help="fraction of the entry, e.g. 0.01")
    parser.add_argument("--take-profit", type=float)
    parser.add_argument("--trailing", type=float, help="ratchet trailing stop distance, e.g. 0.005")
    parser.add_argument("--max-bars", type=int, help="close a position after this many candles")
    parser.add_argument("--no-opposite", action="store_true", help="do not exit on an opposite signal")
    parser.add_argument("--fee-rate", type=float)
    parser.add_argument("--slippage-bps", type=float)
    parser.add_argument("--capital", type=float, dest="initial_capital")
    parser.add_argument("--risk", type=float, dest="risk_fraction", help="risk per trade with --stop-loss")
    parser.add_argument("--in-sample", type=float, help="walk-forward: in-sample share, e.g. 0.7")
    parser.add_argument("--sweep", help='JSON, e.g. {"stop_loss": [0.005, 0.01]}')
    parser.add_argument("--data-dir", help="where the database lives (default: storage.data_dir)")
    parser.add_argument("--config", type=Path)
    parser.add_argument("--json", action="store_true", help="print the results as one JSON line")
    return parser.parse_args(argv)


def request_data(arguments: argparse.Namespace, source: str) -> dict[str, Any]:
    exits = {
        "opposite_signal": not arguments.no_opposite,
        "stop_loss": arguments.stop_loss,
        "take_profit": arguments.take_profit,
        "trailing": arguments.trailing,
        "max_bars": arguments.max_bars,
    }
    data: dict[str, Any] = {
        "symbol": arguments.symbol.upper(),
        "timeframe": arguments.timeframe,
        "start": arguments.start,
        "end": arguments.end,
        "source": source,
        "entry": arguments.entry,
        "rules": [rule.strip() for rule in (arguments.rules or "").split(",") if rule.strip()],
        "grade": arguments.grade,
        "shorts": arguments.shorts,
        "exits": exits,
        "risk_fraction": arguments.risk_fraction,
        "in_sample": arguments.in_sample,
    }
    for name in ("fee_rate", "slippage_bps", "initial_capital"):
        if getattr(arguments, name) is not None:
            data[name] = getattr(arguments, name)
    if arguments.sweep:
        try:
            data["sweep"] = json.loads(arguments.sweep)
        except ValueError:
            raise BacktestInputError("sweep", 'not JSON; e.g. {"stop_loss": [0.005, 0.01]}') from None
    return data


def pick_source(store: KlineStore, symbol: str, wanted: str | None) -> str:
    if wanted:
        return wanted
    sources = sorted({str(row["source"]) for row in store.inventory() if row["symbol"] == symbol})
    if len(sources) == 1:
        return sources[0]
    if not sources:
        raise BacktestInputError(
            "symbol", f"no stored candles of {symbol}; import or fetch them (python -m thebot.history)"
        )
    raise BacktestInputError(
        "source", f"{symbol} is stored from {', '.join(sources)}; pick one with --source"
    )


def summary(result: dict[str, Any]) -> str:
    metrics = result["metrics"]

    def percent(value: float | None) -> str:
        return "n/a" if value is None else f"{value * 100:+.2f} %"

    def number(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.2f}"

    lines = [
        f"{result['request']['symbol']} {result['request']['timeframe']} from {result['request']['source']}: "
        f"{result['candles']:,} candles, {result['signals']:,} signals, exits: {result['exits']}",
        f"  total {percent(metrics['total_return'])}  buy & hold {percent(metrics['buy_and_hold'])}  "
        f"CAGR {percent(metrics['cagr'])}  max drawdown {percent(metrics['max_drawdown'])} "
        f"({metrics['max_drawdown_bars']:,} candles)",
        f"  trades {metrics['trades']:,}  win rate {percent(metrics['win_rate'])}  profit factor "
        f"{number(metrics['profit_factor'])}  expectancy {percent(metrics['expectancy'])}  exposure "
        f"{percent(metrics['exposure'])}",
        f"  Sharpe {number(metrics['sharpe'])}  Sortino {number(metrics['sortino'])}  "
        f"Calmar {number(metrics['calmar'])}",
    ]
    walk = result.get("walk_forward")
    if walk:
        for part in ("in_sample", "out_of_sample"):
            figures = walk[part]
            lines.append(
                f"  {part.replace('_', '-'):>13}: total {percent(figures['total_return'])}, "
                f"{figures['trades']} trades, win rate {percent(figures['win_rate'])}, "
                f"Sharpe {number(figures['sharpe'])}"
            )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    arguments = parse_args(argv)
    try:
        settings = load_settings(arguments.config)
        data_dir = Path(arguments.data_dir or settings.storage.data_dir)
        path = data_dir / "thebot.duckdb"
        if not path.exists():
            raise BacktestInputError(
                "data-dir", f"{path} does not exist; import history first (python -m thebot.history)"
            )
        try:
            store = KlineStore(str(path), "unknown")
        except duckdb.IOException as error:
            raise BacktestInputError(
                "data-dir", f"cannot open {path} ({error}); is thebot running? stop it first"
            ) from None
        try:
            source = pick_source(store, arguments.symbol.upper(), arguments.source)
            data = request_data(arguments, source)
            request = request_from_dict(data, settings.backtest, settings.signals.rules)
            variants = sweep_variants(data, request.exits, settings.backtest.max_sweep_runs)
            candles = load_candles(
                store, source, request.symbol, request.timeframe, start=request.start, end=request.end,
                limit=settings.backtest.max_candles,
            )  # fmt: skip
        finally:
            store.close()
    except (BacktestInputError, ConfigError) as error:
        print(f"thebot.backtest: {error}", file=sys.stderr)
        return 2
    started = time.perf_counter()

    def progress(share: float, phase: str) -> None:
        if not arguments.json:
            print(f"\r{share * 100:5.1f} %  {phase:<24}", end="", file=sys.stderr, flush=True)

    results = [
        result.as_dict() for result in run_backtest(candles, settings.signals, request, variants, progress)
    ]
    if arguments.json:
        print(json.dumps({"seconds": round(time.perf_counter() - started, 3), "results": results}))
    else:
        print(file=sys.stderr)
        for result in results:
            print(summary(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
