"""How a simulated venue is started (the command line and `app.py --source sim` both build one)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

DEMO_API_KEY = "sim-key"
DEMO_SECRET = "sim-secret"
DEMO_QUOTE_BALANCE = "10000"


@dataclass(frozen=True)
class VenueConfig:
    host: str = "127.0.0.1"
    port: int = 0  # 0 = pick a free port
    symbols: tuple[str, ...] = ("BTCUSDT", "ETHUSDT")
    speed: float = 1.0  # simulated seconds per real second
    seed: int = 7
    history_days: float = 7.0
    replay: Path | None = None
    state: Path | None = None
    accounts: tuple[tuple[str, str], ...] = ()  # (api_key, secret); empty = the demo account
    slippage_bps: float = 2.0  # market orders fill this far beyond the last trade
    fee_rate: float = 0.001  # 0.1 %, Binance's default spot commission

    def __post_init__(self) -> None:
        if not self.symbols:
            raise ValueError("venue.symbols: list at least one symbol, e.g. BTCUSDT")
        for symbol in self.symbols:
            if not (symbol.isalnum() and symbol.isupper()):
                raise ValueError(f"venue.symbols: '{symbol}' is not an upper-case symbol such as BTCUSDT")
        if len(set(self.symbols)) != len(self.symbols):
            raise ValueError("venue.symbols: symbols repeat")
        if not 0 < self.speed <= 100_000:
            raise ValueError("venue.speed: must be above 0 and at most 100000")
        if not 0 <= self.history_days <= 3650:
            raise ValueError("venue.history_days: must be between 0 and 3650")
        if not 0 <= self.slippage_bps <= 1_000:
            raise ValueError("venue.slippage_bps: must be between 0 and 1000")
        if not 0 <= self.fee_rate < 0.1:
            raise ValueError("venue.fee_rate: must be between 0 and 0.1")
        if not 0 <= self.port <= 65_535:
            raise ValueError("venue.port: must be a TCP port number (0-65535)")

    @property
    def credentials(self) -> tuple[tuple[str, str], ...]:
        return self.accounts or ((DEMO_API_KEY, DEMO_SECRET),)


def source_identity(config: VenueConfig) -> str:
    """What a client stores this venue's candles under: two venues with different prices never share it.

    `sim:seed=7` for simulated prices; `sim:replay=<file name>#<12 hex of its SHA-256>` for a replay, so an
    edited file with the same name is another source.
    """
    if config.replay is None:
        return f"sim:seed={config.seed}"
    try:
        digest = hashlib.sha256(config.replay.read_bytes()).hexdigest()[:12]
    except OSError:
        return f"sim:replay={config.replay.name}"  # the replay loader reports the unreadable file
    return f"sim:replay={config.replay.name}#{digest}"
