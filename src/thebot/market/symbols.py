"""The symbols a venue trades, from its `exchangeInfo` (Binance's or the simulated venue's).

The settings panel offers these and the settings store rejects anything else, so nobody subscribes to a
stream that will never send. Binance's answer is several megabytes, hence the cache. A raw entry:

    {"symbol": "SOLUSDT", "status": "TRADING", "baseAsset": "SOL", "quoteAsset": "USDT", ...}
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request
from typing import Any, Protocol

logger = logging.getLogger(__name__)

DEFAULT_TTL_SECONDS = 600.0
DEFAULT_TIMEOUT_SECONDS = 5.0


class CatalogUnavailable(RuntimeError):
    """The venue's symbol list could not be read; the message says why and what to do."""


class SymbolCatalog(Protocol):
    def trading_symbols(self) -> frozenset[str]:
        """Symbols with status TRADING; raises `CatalogUnavailable`."""
        ...


def trading_symbols_of(payload: Any) -> frozenset[str]:
    """The TRADING symbols of an exchangeInfo answer (entries of another shape are skipped)."""
    if not isinstance(payload, dict) or not isinstance(payload.get("symbols"), list):
        raise CatalogUnavailable("the venue's exchangeInfo has no 'symbols' list")
    return frozenset(
        entry["symbol"]
        for entry in payload["symbols"]
        if isinstance(entry, dict)
        and isinstance(entry.get("symbol"), str)
        and entry.get("status") == "TRADING"
    )


class ExchangeInfoCatalog:
    """Reads `{rest_url}/api/v3/exchangeInfo` at most once per `ttl_seconds`; safe from any thread."""

    def __init__(
        self,
        rest_url: str,
        *,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self._url = f"{rest_url.rstrip('/')}/api/v3/exchangeInfo"
        self._ttl = ttl_seconds
        self._timeout = timeout_seconds
        self._lock = threading.Lock()
        self._symbols: frozenset[str] | None = None
        self._fetched_at = 0.0

    def trading_symbols(self) -> frozenset[str]:
        with self._lock:
            if self._symbols is not None and time.monotonic() - self._fetched_at < self._ttl:
                return self._symbols
            try:
                with urllib.request.urlopen(self._url, timeout=self._timeout) as answer:
                    payload = json.loads(answer.read())
            except (OSError, urllib.error.URLError, ValueError) as error:
                if self._symbols is not None:
                    logger.warning("exchangeInfo refresh failed (%s); keeping the previous list", error)
                    return self._symbols
                raise CatalogUnavailable(
                    f"could not read the venue's symbol list ({error}); check the connection and try again"
                ) from None
            self._symbols = trading_symbols_of(payload)
            self._fetched_at = time.monotonic()
            return self._symbols


class FixedCatalog:
    """A known list (tests, and runs without a venue)."""

    def __init__(self, symbols: frozenset[str] | set[str] | tuple[str, ...]) -> None:
        self._symbols = frozenset(symbols)

    def trading_symbols(self) -> frozenset[str]:
        return self._symbols
