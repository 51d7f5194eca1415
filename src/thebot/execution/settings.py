"""The `[trading]` section: which broker, the paper account, and the risk limits every order passes.

Live trading needs two deliberate steps: `mode = "live"` and `live_enabled = true`, plus the API key and
secret in the environment (`THEBOT_BINANCE_API_KEY`, `THEBOT_BINANCE_API_SECRET`). Keys never live in a
settings file, so a shared or committed config can never carry them.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass
from typing import Literal

from thebot.config_errors import require

TradingMode = Literal["paper", "venue", "live"]
TRADING_MODES: tuple[str, ...] = typing.get_args(TradingMode)

API_KEY_ENV = "THEBOT_BINANCE_API_KEY"
API_SECRET_ENV = "THEBOT_BINANCE_API_SECRET"


@dataclass(frozen=True, slots=True)
class TradingSettings:
    mode: TradingMode = "paper"
    live_enabled: bool = False
    paper_starting_balance: float = 10_000.0
    paper_quote_asset: str = "USDT"
    # paper market orders fill this far beyond the next price (basis points), and pay this fee rate
    paper_slippage_bps: float = 2.0
    paper_fee_rate: float = 0.001
    max_order_notional: float = 5_000.0
    max_position_notional: float = 10_000.0
    max_concurrent_positions: int = 3
    max_open_orders: int = 10
    daily_loss_pct: float = 5.0
    daily_loss_warnings_pct: tuple[float, ...] = (2.0, 3.0, 4.0)
    # a request to the exchange that takes longer is treated as "outcome unknown", never resent
    request_timeout_seconds: float = 5.0
    # open exchange orders are polled this often for fills (the venue and Binance REST have no push here)
    order_poll_seconds: float = 2.0
    journal_file: str = "trading.sqlite"

    def __post_init__(self) -> None:
        require(self.mode in TRADING_MODES, "trading.mode", f"must be one of {', '.join(TRADING_MODES)}")
        require(
            self.mode != "live" or self.live_enabled,
            "trading.live_enabled",
            'mode = "live" sends real orders; set live_enabled = true as well to confirm',
        )
        require(
            0 < self.paper_starting_balance <= 1e12,
            "trading.paper_starting_balance",
            "must be above 0 (quote currency, e.g. 10000 USDT)",
        )
        require(
            self.paper_quote_asset.isalnum() and self.paper_quote_asset.isupper(),
            "trading.paper_quote_asset",
            "an upper-case asset such as USDT",
        )
        require(0 <= self.paper_slippage_bps <= 1_000, "trading.paper_slippage_bps", "must be 0..1000")
        require(0 <= self.paper_fee_rate < 0.1, "trading.paper_fee_rate", "must be 0..0.1 (0.001 = 0.1 %)")
        require(self.max_order_notional > 0, "trading.max_order_notional", "must be positive")
        require(self.max_position_notional > 0, "trading.max_position_notional", "must be positive")
        require(self.max_concurrent_positions >= 1, "trading.max_concurrent_positions", "must be at least 1")
        require(self.max_open_orders >= 1, "trading.max_open_orders", "must be at least 1")
        require(0 < self.daily_loss_pct <= 100, "trading.daily_loss_pct", "must be above 0 and at most 100")
        for level in self.daily_loss_warnings_pct:
            require(
                0 < level < self.daily_loss_pct,
                "trading.daily_loss_warnings_pct",
                f"each warning must be above 0 and below daily_loss_pct ({self.daily_loss_pct:g}), "
                f"got {level:g}",
            )
        require(
            0.1 <= self.request_timeout_seconds <= 60,
            "trading.request_timeout_seconds",
            "must be between 0.1 and 60 seconds",
        )
        require(0.2 <= self.order_poll_seconds <= 60, "trading.order_poll_seconds", "must be 0.2..60 seconds")
        require(
            bool(self.journal_file) and "/" not in self.journal_file and "\\" not in self.journal_file,
            "trading.journal_file",
            "a file name inside storage.data_dir, e.g. trading.sqlite",
        )
