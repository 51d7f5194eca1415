"""`python -m thebot.bench orders`: an order's round trip through the whole trading chain.

The chain is what a click on "Confirm order" runs: parse and size the ticket, round to the lot step, every
risk check, write the order to the journal (SQLite, committed) before sending, one ccxt `create_order` to
the simulated venue, then journal the answer and its fill, update the portfolio and publish the event.
The baseline, measured in the same run against the same venue process, is a bare ccxt `create_order`
with the same client settings. Rounds alternate (chain, bare, chain, ...) so drift hits both equally.
Target (issue 11): p50 ratio chain / bare at most 1.3.

The market price a market ticket is checked against comes from the stream in the app; here it is the
venue's ticker, fetched once before the clock starts (no REST call on the timed path, as in the app).
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from thebot.events import EventBus
from thebot.execution.ccxt_broker import CcxtBroker, make_binance
from thebot.execution.journal import Journal
from thebot.execution.service import TradingService
from thebot.execution.settings import TradingSettings

SYMBOL = "BTCUSDT"
QUANTITY = 0.0002


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def run(argv: list[str]) -> dict[str, object]:
    parser = argparse.ArgumentParser(prog="python -m thebot.bench orders")
    parser.add_argument("--rounds", type=int, default=200, help="timed orders per side (chain and bare)")
    parser.add_argument("--warmup", type=int, default=20)
    arguments = parser.parse_args(argv)
    # The venue runs as its own process, as an exchange does: sharing this interpreter's GIL would charge
    # its request handling to whichever side happens to be waiting.
    venue = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "thebot.venue",
            "--port",
            "0",
            "--history-days",
            "0.05",
            "--log-level",
            "WARNING",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert venue.stdout is not None
        first = venue.stdout.readline()  # "REST      http://127.0.0.1:PORT/api/v3/"
        if not first.startswith("REST"):
            raise RuntimeError(f"the venue did not start: {first!r}")
        url = first.split()[1].removesuffix("/api/v3/")
        with tempfile.TemporaryDirectory() as directory:
            return _measure(url, Path(directory), arguments.rounds, arguments.warmup)
    finally:
        venue.terminate()
        venue.wait(10)


def _measure(url: str, directory: Path, rounds: int, warmup: int) -> dict[str, object]:
    settings = dataclasses.replace(
        TradingSettings(), mode="venue", max_position_notional=1e9, request_timeout_seconds=10.0
    )
    bare = make_binance(url, "sim-key", "sim-secret", settings.request_timeout_seconds)
    bare.load_markets()
    price = float(bare.fetch_ticker("BTC/USDT")["last"])
    broker = CcxtBroker(url, "sim-key", "sim-secret", timeout_seconds=settings.request_timeout_seconds)
    bus = EventBus()
    service = TradingService(
        settings,
        broker,
        Journal(directory / "journal.sqlite"),
        bus,
        symbols=(SYMBOL,),
        price_lookup=lambda _symbol: price,
    ).start(subscribe=False)
    ticket: dict[str, Any] = {"symbol": SYMBOL, "side": "BUY", "type": "MARKET", "quantity": QUANTITY}
    chain: list[float] = []
    baseline: list[float] = []
    try:
        for index in range(warmup + rounds):
            started = time.perf_counter()
            order = service.place(ticket)
            chain_seconds = time.perf_counter() - started
            if order.status.value != "FILLED":
                raise RuntimeError(f"chain order ended {order.status}: {order.reason}")
            started = time.perf_counter()
            answer = bare.create_order("BTC/USDT", "market", "buy", QUANTITY)
            bare_seconds = time.perf_counter() - started
            if answer["status"] != "closed":
                raise RuntimeError(f"bare order ended {answer['status']}")
            if index >= warmup:
                chain.append(chain_seconds * 1000)
                baseline.append(bare_seconds * 1000)
    finally:
        service.stop()
        bare.session.close()
        bus.close()
    chain_p50, bare_p50 = statistics.median(chain), statistics.median(baseline)
    return {
        "rounds": rounds,
        "chain_p50_ms": round(chain_p50, 3),
        "chain_p95_ms": round(_percentile(chain, 0.95), 3),
        "bare_ccxt_p50_ms": round(bare_p50, 3),
        "bare_ccxt_p95_ms": round(_percentile(baseline, 0.95), 3),
        "ratio_p50": round(chain_p50 / bare_p50, 3),
        "ratio_p95": round(_percentile(chain, 0.95) / _percentile(baseline, 0.95), 3),
        "target_ratio": 1.3,
    }
