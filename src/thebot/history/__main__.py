"""`python -m thebot.history import FILE... --symbol BTCUSDT [--source binance]` and
`python -m thebot.history fetch --symbol BTCUSDT --timeframe 1m --from 2024-01-01 --to 2024-02-01`.

Both write into the app's candle store (`<data dir>/thebot.duckdb`) under a source, so the app restores
imported candles only when it runs against the same source. Stop the app first: DuckDB lets one process
write a database file.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from thebot.config import ConfigError, load_settings
from thebot.history.fetch import FetchError, FetchProgress, HistoryFetch, progress_bar, timeframe_of
from thebot.history.importer import BadRowsError, ImportResult, check_symbol, import_file
from thebot.history.klines import KlineFileError
from thebot.market.ccxt_client import BINANCE_REST_URL, make_binance_client
from thebot.market.models import StreamKey
from thebot.market.store import KlineStore


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m thebot.history", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", help="where the database lives (default: storage.data_dir, ./data)")
    parser.add_argument("--config", type=Path, help="settings file (default config/settings.toml)")
    commands = parser.add_subparsers(dest="command", required=True)
    importing = commands.add_parser("import", help="import kline CSV files (Binance dumps, zipped or not)")
    importing.add_argument("files", nargs="+", type=Path, metavar="FILE")
    importing.add_argument("--symbol", required=True, help="e.g. BTCUSDT")
    importing.add_argument("--source", default="binance", help="whose candles these are (default binance)")
    importing.add_argument("--timeframe", help="when the file name does not say (…-1m-…)")
    importing.add_argument(
        "--skip-bad", action="store_true", help="import the good rows of a file with bad ones"
    )
    importing.add_argument("--json", action="store_true", help="one JSON line per file instead of text")
    fetching = commands.add_parser("fetch", help="page through the exchange's REST klines")
    fetching.add_argument("--symbol", required=True)
    fetching.add_argument("--timeframe", required=True)
    fetching.add_argument("--from", dest="start", required=True, help="UTC date or time, e.g. 2024-01-01")
    fetching.add_argument("--to", dest="end", required=True, help="UTC date or time (inclusive)")
    fetching.add_argument("--rest-url", default=BINANCE_REST_URL, help="a Binance-compatible REST base URL")
    fetching.add_argument("--source", help="default: binance for Binance, else the venue's own identity")
    fetching.add_argument(
        "--pause-ms", type=int, help="between requests (default market_data.backfill_rate_limit_ms)"
    )
    return parser.parse_args(argv)


def utc_ms(text: str, option: str) -> int:
    try:
        stamp = pd.Timestamp(text)
    except ValueError:
        raise ValueError(
            f"{option} {text!r} is not a date; use e.g. 2024-01-31 or 2024-01-31T12:00"
        ) from None
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return int(stamp.value // 1_000_000)


def open_store(arguments: argparse.Namespace, source: str) -> KlineStore:
    data_dir = Path(arguments.data_dir or load_settings(arguments.config).storage.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        return KlineStore(str(data_dir / "thebot.duckdb"), source)
    except duckdb.IOException as error:
        raise ValueError(
            f"cannot open {data_dir / 'thebot.duckdb'} ({error}); is thebot running? stop it first"
        ) from None


def describe(result: ImportResult) -> dict[str, Any]:
    return {
        "file": result.path,
        "symbol": result.symbol,
        "timeframe": result.timeframe.value,
        "source": result.source,
        "written": result.written,
        "from": pd.Timestamp(result.first_open_time, unit="ms", tz="UTC").isoformat(),
        "to": pd.Timestamp(result.last_open_time, unit="ms", tz="UTC").isoformat(),
        "findings": result.report.lines(result.timeframe),
    }


def run_import(arguments: argparse.Namespace) -> int:
    symbol = check_symbol(arguments.symbol.upper())
    timeframe = None if arguments.timeframe is None else timeframe_of(arguments.timeframe)
    store = open_store(arguments, arguments.source)
    failures = 0
    try:
        for path in arguments.files:
            try:
                result = import_file(
                    store,
                    path,
                    symbol,
                    source=arguments.source,
                    timeframe=timeframe,
                    skip_bad=arguments.skip_bad,
                )
            except BadRowsError as error:
                failures += 1
                print(f"thebot.history: {error}", file=sys.stderr)
                for line in error.report.lines(error.timeframe):
                    print(f"  {line}", file=sys.stderr)
                continue
            except (KlineFileError, ValueError, duckdb.Error) as error:
                failures += 1
                print(f"thebot.history: {error}; nothing was written", file=sys.stderr)
                continue
            summary = describe(result)
            if arguments.json:
                print(json.dumps(summary))
            else:
                print(
                    f"{path.name}: {result.written:,} {symbol} {result.timeframe.value} candles as "
                    f"{result.source}, {summary['from']} to {summary['to']}"
                )
                for line in summary["findings"]:
                    print(f"  {line}")
    finally:
        store.close()
    return 1 if failures else 0


async def _fetch(arguments: argparse.Namespace) -> int:
    symbol = check_symbol(arguments.symbol.upper())
    timeframe = timeframe_of(arguments.timeframe)
    start, end = utc_ms(arguments.start, "--from"), utc_ms(arguments.end, "--to")
    if end < start:
        raise ValueError("--to is before --from")
    rest_url = arguments.rest_url.rstrip("/")
    source = arguments.source or ("binance" if rest_url == BINANCE_REST_URL else _venue_source(rest_url))
    settings = load_settings(arguments.config)
    pause_ms = (
        arguments.pause_ms if arguments.pause_ms is not None else settings.market_data.backfill_rate_limit_ms
    )
    store = open_store(arguments, source)
    client = make_binance_client(rest_url)
    try:
        fetch = HistoryFetch(
            store,
            client,
            StreamKey(symbol, timeframe),
            start,
            end,
            source=source,
            pause_seconds=max(0, pause_ms) / 1000,
            on_progress=_show,
        )
        resumed = fetch.resume_point()
        if resumed is not None:
            when = pd.Timestamp(resumed, unit="ms", tz="UTC").isoformat()
            print(f"resuming at {when} (an earlier run stopped there)", file=sys.stderr)
        time_reply = await client.publicGetTime()
        result = await fetch.run(server_time=int(time_reply["serverTime"]))
    finally:
        await client.close()
        store.close()
    print(file=sys.stderr)
    state = "complete" if result.complete else "up to the newest closed candle"
    print(
        f"{symbol} {timeframe.value} as {source}: {result.written:,} candles, "
        f"{result.requests} requests, {state}"
    )
    return 0


def _show(progress: FetchProgress) -> None:
    print(f"\r{progress_bar(progress)}", end="", file=sys.stderr, flush=True)


def _venue_source(rest_url: str) -> str:
    from thebot.services import venue_identity

    return venue_identity(rest_url)


def main(argv: list[str]) -> int:
    arguments = parse_args(argv)
    try:
        if arguments.command == "import":
            return run_import(arguments)
        return asyncio.run(_fetch(arguments))
    except (ValueError, ConfigError, FetchError) as error:
        print(f"\nthebot.history: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nthebot.history: stopped; run the same command to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
