"""Build the trading service for `trading.mode`: the one place that picks a broker and reads API keys.

- paper: `PaperBroker` on the journal, filled by the live stream;
- venue: `CcxtBroker` on the simulated venue (`rest_url`) with its demo key `sim-key`/`sim-secret`;
- live: `CcxtBroker` on Binance with `THEBOT_BINANCE_API_KEY`/`THEBOT_BINANCE_API_SECRET` from the
  environment, only when `trading.live_enabled` is true. The keys go to ccxt and nowhere else: no log line,
  no page and no API answer carries them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path

from thebot.events import EventBus
from thebot.execution.broker import Broker
from thebot.execution.ccxt_broker import CcxtBroker
from thebot.execution.journal import Journal
from thebot.execution.paper import PaperBroker
from thebot.execution.service import TradingService
from thebot.execution.settings import API_KEY_ENV, API_SECRET_ENV, TradingSettings
from thebot.market.ccxt_client import BINANCE_REST_URL
from thebot.venue.settings import DEMO_API_KEY, DEMO_SECRET

logger = logging.getLogger(__name__)


class TradingSetupError(ValueError):
    """The trading mode cannot start as configured; the message says what to set."""


def make_broker(
    settings: TradingSettings,
    journal: Journal,
    *,
    symbols: tuple[str, ...],
    rest_url: str,
    simulated: bool,
    environ: Mapping[str, str] | None = None,
) -> Broker:
    if settings.mode == "paper":
        return PaperBroker(
            journal,
            symbols,
            starting_balance=settings.paper_starting_balance,
            quote_asset=settings.paper_quote_asset,
            slippage_bps=settings.paper_slippage_bps,
            fee_rate=settings.paper_fee_rate,
        )
    if settings.mode == "venue":
        if not simulated:
            raise TradingSetupError(
                'trading.mode = "venue" trades on the simulated venue: start with --source sim or --venue URL'
            )
        return CcxtBroker(
            rest_url,
            DEMO_API_KEY,
            DEMO_SECRET,
            timeout_seconds=settings.request_timeout_seconds,
            name="venue",
        )
    environment = os.environ if environ is None else environ
    key, secret = environment.get(API_KEY_ENV, ""), environment.get(API_SECRET_ENV, "")
    if not settings.live_enabled:
        raise TradingSetupError('trading.mode = "live" also needs trading.live_enabled = true')
    if not key or not secret:
        raise TradingSetupError(f"live trading needs {API_KEY_ENV} and {API_SECRET_ENV} in the environment")
    logger.warning("LIVE trading on Binance: real orders, real money")
    return CcxtBroker(
        BINANCE_REST_URL, key, secret, timeout_seconds=settings.request_timeout_seconds, name="binance"
    )


def build_trading_service(
    settings: TradingSettings,
    bus: EventBus,
    *,
    data_dir: str | Path,
    symbols: tuple[str, ...],
    rest_url: str,
    simulated: bool,
    price_lookup: Callable[[str], float | None] | None = None,
    environ: Mapping[str, str] | None = None,
    ephemeral_exchange: bool = False,
) -> TradingService:
    """Not started: `start()` loads the exchange's rules and reconciles (network calls).

    `ephemeral_exchange`: the venue was started in this process without a state file, so its account
    starts afresh every run; a journal kept across runs would hold positions that account never had.
    """
    # One journal per mode: paper orders never mix with the venue's or Binance's.
    name = Path(settings.journal_file)
    in_memory = ephemeral_exchange and settings.mode == "venue"
    journal = Journal(
        ":memory:" if in_memory else Path(data_dir) / f"{name.stem}-{settings.mode}{name.suffix}"
    )
    try:
        broker = make_broker(
            settings, journal, symbols=symbols, rest_url=rest_url, simulated=simulated, environ=environ
        )
    except BaseException:
        journal.close()
        raise
    return TradingService(settings, broker, journal, bus, symbols=symbols, price_lookup=price_lookup)
