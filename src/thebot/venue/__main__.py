"""`python -m thebot.venue --port 9555 --symbols BTCUSDT,ETHUSDT --speed 60 --seed 7` runs the venue alone."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from pathlib import Path

from thebot.venue.server import SimulatedVenue
from thebot.venue.settings import VenueConfig


def _account(text: str) -> tuple[str, str]:
    key, separator, secret = text.partition(":")
    if not separator or not key or not secret:
        raise argparse.ArgumentTypeError(f"expected KEY:SECRET, got {text!r}")
    return key, secret


def parse_arguments(argv: list[str] | None = None) -> VenueConfig:
    parser = argparse.ArgumentParser(prog="python -m thebot.venue", description="Simulated Binance venue")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9555, help="0 picks a free port")
    parser.add_argument("--symbols", default="BTCUSDT,ETHUSDT", help="comma separated, e.g. BTCUSDT,ETHUSDT")
    parser.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--history-days", type=float, default=7.0)
    parser.add_argument("--replay", type=Path, help="CSV of 1m candles to play instead of simulated prices")
    parser.add_argument("--state", type=Path, help="file where orders and balances survive a restart")
    parser.add_argument(
        "--account", type=_account, action="append", default=[], help="KEY:SECRET (repeatable)"
    )
    parser.add_argument(
        "--slippage-bps", type=float, default=2.0, help="market-order slippage in basis points"
    )
    parser.add_argument("--fee-rate", type=float, default=0.001, help="commission per fill (0.001 = 0.1 %%)")
    parser.add_argument("--log-level", default="INFO")
    arguments = parser.parse_args(argv)
    logging.basicConfig(
        level=arguments.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    try:
        return VenueConfig(
            host=arguments.host,
            port=arguments.port,
            symbols=tuple(
                symbol.strip().upper() for symbol in arguments.symbols.split(",") if symbol.strip()
            ),
            speed=arguments.speed,
            seed=arguments.seed,
            history_days=arguments.history_days,
            replay=arguments.replay,
            state=arguments.state,
            accounts=tuple(arguments.account),
            slippage_bps=arguments.slippage_bps,
            fee_rate=arguments.fee_rate,
        )
    except ValueError as error:
        parser.error(str(error))


async def serve(config: VenueConfig) -> None:
    venue = SimulatedVenue(config)
    await venue.start()
    print(f"REST      {venue.http_url}/api/v3/", flush=True)
    print(f"streams   {venue.ws_url}/ws  {venue.ws_url}/stream?streams=", flush=True)
    print(f"symbols   {', '.join(config.symbols)}  speed {config.speed:g}  seed {config.seed}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await venue.stop()


def main(argv: list[str] | None = None) -> None:
    config = parse_arguments(argv)
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve(config))
    except OSError as error:
        print(
            f"cannot listen on {config.host}:{config.port}: {error.strerror or error}; pick another --port",
            file=sys.stderr,
        )
        raise SystemExit(1) from None
    except ValueError as error:  # a bad --replay file
        print(f"cannot start the venue: {error}", file=sys.stderr)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
