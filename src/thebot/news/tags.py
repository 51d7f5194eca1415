"""Which streamed symbols an item is about: base-asset tickers and common names, whole words only.

"BTC" and "Bitcoin" tag BTCUSDT; "ETHICS", "bitcoiner" and "SOLAR" tag nothing. Tickers match in upper
case only ("SOL" yes, "sol" no: short tickers are often ordinary words); names match in any case.
The base asset of a symbol comes from the venue's exchangeInfo when known, else from stripping a known
quote asset (BTCUSDT → BTC).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

QUOTE_ASSETS: tuple[str, ...] = (
    "FDUSD",
    "USDT",
    "USDC",
    "BUSD",
    "TUSD",
    "DAI",
    "EUR",
    "TRY",
    "BRL",
    "GBP",
    "JPY",
    "BTC",
    "ETH",
    "BNB",
)

_BOUNDARY_BEFORE = r"(?<![0-9A-Za-z])"
_BOUNDARY_AFTER = r"(?![0-9A-Za-z])"


def base_asset(symbol: str, known: Mapping[str, str] | None = None) -> str:
    if known and symbol in known:
        return known[symbol]
    for quote in QUOTE_ASSETS:
        if symbol.endswith(quote) and len(symbol) > len(quote):
            return symbol[: -len(quote)]
    return symbol


class SymbolTagger:
    """Built once per set of symbols; `tag` is a few regex searches per item."""

    def __init__(
        self,
        symbols: Iterable[str],
        names: Mapping[str, str],
        base_assets: Mapping[str, str] | None = None,
    ) -> None:
        self.symbols = tuple(symbols)
        self._base_of = {symbol: base_asset(symbol, base_assets) for symbol in self.symbols}
        by_base = set(self._base_of.values())
        self._ticker: re.Pattern[str] | None = None
        self._name: re.Pattern[str] | None = None
        self._name_to_base: dict[str, str] = {}
        if by_base:
            tickers = sorted(by_base, key=len, reverse=True)
            # "$BTC" and "#BTC" count: the boundary only excludes letters and digits.
            self._ticker = re.compile(
                _BOUNDARY_BEFORE + "(" + "|".join(map(re.escape, tickers)) + ")" + _BOUNDARY_AFTER
            )
            wanted = {name.lower(): base for name, base in names.items() if base in by_base}
            self._name_to_base = wanted
            if wanted:
                alternatives = sorted(wanted, key=len, reverse=True)
                self._name = re.compile(
                    _BOUNDARY_BEFORE
                    + "("
                    + "|".join(r"\s+".join(map(re.escape, name.split())) for name in alternatives)
                    + ")"
                    + _BOUNDARY_AFTER,
                    re.IGNORECASE,
                )

    def tag(self, *texts: str) -> tuple[str, ...]:
        bases: set[str] = set()
        for text in texts:
            if self._ticker is not None:
                bases.update(match.group(1) for match in self._ticker.finditer(text))
            if self._name is not None:
                for match in self._name.finditer(text):
                    base = self._name_to_base.get(" ".join(match.group(1).lower().split()))
                    if base is not None:
                        bases.add(base)
        return tuple(symbol for symbol in self.symbols if self._base_of[symbol] in bases)
