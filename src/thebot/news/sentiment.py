"""How a headline leans: VADER's lexicon scorer plus the project's crypto word list.

General-English VADER reads "hack" and "exploit" as neutral and has no "rug pull" or "ETF approval";
`crypto_lexicon.txt` adds them. Phrases are joined into one token before VADER splits the text on
spaces. The score is VADER's compound (−1..+1); the label uses VADER's own ±0.05 thresholds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from thebot.news.models import SentimentLabel

THRESHOLD = 0.05


@dataclass(frozen=True, slots=True)
class Sentiment:
    score: float
    label: SentimentLabel


def label_for(score: float) -> SentimentLabel:
    if score >= THRESHOLD:
        return "positive"
    if score <= -THRESHOLD:
        return "negative"
    return "neutral"


def load_lexicon(text: str) -> dict[str, float]:
    """`word<TAB>valence` lines; `#` comments and blank lines are skipped."""
    lexicon: dict[str, float] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        word, _, valence = stripped.rpartition("\t")
        try:
            value = float(valence)
        except ValueError:
            raise ValueError(
                f"crypto lexicon line {number}: expected '<word> TAB <valence>', got {line!r}"
            ) from None
        if not word or not -4.0 <= value <= 4.0:
            raise ValueError(f"crypto lexicon line {number}: valence must be within -4..4, got {line!r}")
        lexicon[word.strip().lower()] = value
    return lexicon


def crypto_lexicon() -> dict[str, float]:
    return load_lexicon(resources.files("thebot.news").joinpath("crypto_lexicon.txt").read_text("utf-8"))


class SentimentScorer:
    """One VADER analyzer with the crypto words merged in; `score` is thread-safe (read-only state)."""

    def __init__(self, extra: dict[str, float] | None = None) -> None:
        self._analyzer = SentimentIntensityAnalyzer()
        words = crypto_lexicon() if extra is None else extra
        self._phrases: list[tuple[re.Pattern[str], str]] = []
        for word, valence in words.items():
            token = word
            if " " in word:
                token = re.sub(r"[^a-z0-9]", "", word)
                pattern = r"\b" + r"\s+".join(re.escape(part) for part in word.split()) + r"\b"
                self._phrases.append((re.compile(pattern, re.IGNORECASE), token))
            self._analyzer.lexicon[token] = valence

    def score(self, text: str) -> Sentiment:
        for pattern, token in self._phrases:
            text = pattern.sub(token, text)
        compound = float(self._analyzer.polarity_scores(text)["compound"])
        return Sentiment(compound, label_for(compound))
