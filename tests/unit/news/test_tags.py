"""Symbol tags: tickers and names of the streamed symbols' base assets, whole words only."""

from __future__ import annotations

import pytest

from thebot.news.settings import NewsSettings
from thebot.news.tags import SymbolTagger, base_asset

SYMBOLS = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "ETHBTC"]


@pytest.fixture(scope="module")
def tagger() -> SymbolTagger:
    return SymbolTagger(SYMBOLS, NewsSettings().name_table())


@pytest.mark.parametrize(
    ("text", "symbols"),
    [
        ("Bitcoin tops $100k", ("BTCUSDT",)),
        ("BTC and ETH slide", ("BTCUSDT", "ETHUSDT", "ETHBTC")),
        ("$SOL, #BTC: weekend movers", ("BTCUSDT", "SOLUSDT")),
        ("ether staking yields", ("ETHUSDT", "ETHBTC")),
        ("ETHICS of crypto lending", ()),
        ("A bitcoiner's diary", ()),
        ("SOLAR miners expand", ()),
        ("sol y sombra", ()),  # lower-case tickers are ordinary words
        ("Cardano upgrade ships", ()),  # ADA is not streamed
    ],
)
def test_whole_words(tagger: SymbolTagger, text: str, symbols: tuple[str, ...]) -> None:
    assert tagger.tag(text) == symbols


def test_summary_counts_too(tagger: SymbolTagger) -> None:
    assert tagger.tag("Markets today", "Solana leads the gains") == ("SOLUSDT",)


def test_base_assets() -> None:
    assert [base_asset(symbol) for symbol in ("BTCUSDT", "ETHBTC", "PEPEFDUSD", "XYZ")] == [
        "BTC",
        "ETH",
        "PEPE",
        "XYZ",
    ]
    assert base_asset("1000SATSUSDT", {"1000SATSUSDT": "1000SATS"}) == "1000SATS"


def test_exchange_info_base_assets_win() -> None:
    tagger = SymbolTagger(["WBTCBTC"], {}, base_assets={"WBTCBTC": "WBTC"})
    assert tagger.tag("WBTC supply grows") == ("WBTCBTC",)
    assert tagger.tag("BTC supply grows") == ()
