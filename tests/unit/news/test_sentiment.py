"""Sentiment on labelled headlines: the crypto words change what plain VADER would say."""

from __future__ import annotations

import pytest
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from thebot.news.sentiment import SentimentScorer, label_for, load_lexicon

LABELLED = [
    ("Exchange hacked, $200M drained from hot wallet", "negative"),
    ("DeFi protocol suffers exploit", "negative"),
    ("Rug pull: memecoin developers vanish", "negative"),
    ("Traders face mass liquidation as Bitcoin slides", "negative"),
    ("SEC grants ETF approval for Solana", "positive"),
    ("Bitcoin rallies to record high on inflows", "positive"),
    ("Ethereum developers meet on Thursday", "neutral"),
    ("Binance publishes its quarterly report", "neutral"),
]


@pytest.fixture(scope="module")
def scorer() -> SentimentScorer:
    return SentimentScorer()


@pytest.mark.parametrize(("headline", "label"), LABELLED)
def test_labelled_headlines(scorer: SentimentScorer, headline: str, label: str) -> None:
    result = scorer.score(headline)
    assert result.label == label, (headline, result)
    assert -1.0 <= result.score <= 1.0


def test_crypto_words_are_what_turns_these_negative(scorer: SentimentScorer) -> None:
    plain = SentimentIntensityAnalyzer()
    for headline in ("Rug pull on memecoin", "Mass liquidation hits traders", "Bitcoin halving arrives"):
        assert plain.polarity_scores(headline)["compound"] > -0.05  # plain VADER misses it
        assert scorer.score(headline).label != "neutral"


def test_thresholds() -> None:
    assert [label_for(value) for value in (0.05, 0.049, -0.049, -0.05)] == [
        "positive",
        "neutral",
        "neutral",
        "negative",
    ]


def test_lexicon_file_errors_name_the_line() -> None:
    assert load_lexicon("# c\nhack\t-2.5\n\nrug pull\t-3\n") == {"hack": -2.5, "rug pull": -3.0}
    with pytest.raises(ValueError, match="line 2"):
        load_lexicon("ok\t1\nbroken line\n")
    with pytest.raises(ValueError, match=r"within -4\.\.4"):
        load_lexicon("moon\t9\n")
