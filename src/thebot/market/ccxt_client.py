"""One way to build a ccxt Binance client, for real Binance and for the simulated venue alike.

The venue speaks Binance's spot REST API, so the only difference is the base URL: pointing ccxt's spot
endpoints at it keeps backfill and order code on exactly the code path that runs against Binance.
"""

from __future__ import annotations

import logging
from typing import Any

import ccxt.async_support as ccxt_async

logger = logging.getLogger(__name__)

BINANCE_REST_URL = "https://api.binance.com"

# ccxt's binance URL keys that address the spot API (`/api/v3`, `/api/v1`) and the wallet (`/sapi`).
_SPOT_ENDPOINTS = {
    "public": "/api/v3",
    "private": "/api/v3",
    "v1": "/api/v1",
    "sapi": "/sapi/v1",
}


def make_binance_client(rest_url: str, api_key: str | None = None, secret: str | None = None) -> Any:
    """An async ccxt binance client limited to spot markets, talking to `rest_url`.

    Must be created on the event loop that will use it (ccxt opens its aiohttp session lazily there)
    and closed with `await client.close()`.
    """
    config: dict[str, Any] = {
        "enableRateLimit": True,
        "options": {
            "defaultType": "spot",
            "fetchMarkets": {"types": ["spot"]},
            # Wallet currency details need an account on Binance and do not exist on the venue.
            "fetchCurrencies": False,
            "adjustForTimeDifference": False,
        },
    }
    if api_key is not None:
        config["apiKey"] = api_key
    if secret is not None:
        config["secret"] = secret
    client = ccxt_async.binance(config)
    client.has["fetchCurrencies"] = False
    base = rest_url.rstrip("/")
    if base != BINANCE_REST_URL:
        api_urls = dict(client.urls["api"])
        for key, path in _SPOT_ENDPOINTS.items():
            api_urls[key] = base + path
        client.urls["api"] = api_urls
        logger.info("ccxt binance client pointed at %s", base)
    return client
