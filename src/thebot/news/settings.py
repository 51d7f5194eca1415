"""The `[news]` section: which feeds and calendars to read, how often, and how much to trust them.

Kept apart from `thebot.config` so the news package does not depend on the composition root; the config
loader checks the types from the annotations and `__post_init__` checks the ranges.
"""

from __future__ import annotations

from dataclasses import dataclass

from thebot.config_errors import require

# The well-known crypto news feeds; on a machine without internet they fail fast with a clear status.
DEFAULT_FEEDS: tuple[str, ...] = (
    "https://www.coindesk.com/arc/outboundfeeds/rss/",
    "https://cointelegraph.com/rss",
    "https://decrypt.co/feed",
    "https://www.theblock.co/rss.xml",
    "https://bitcoinmagazine.com/.rss/full/",
)

# Common names of the largest assets; a headline says "Bitcoin" more often than "BTC".
DEFAULT_NAMES: tuple[str, ...] = (
    "Bitcoin=BTC",
    "Ethereum=ETH",
    "Ether=ETH",
    "Solana=SOL",
    "Ripple=XRP",
    "Cardano=ADA",
    "Dogecoin=DOGE",
    "Polkadot=DOT",
    "Avalanche=AVAX",
    "Chainlink=LINK",
    "Litecoin=LTC",
    "Polygon=POL",
    "Tron=TRX",
    "Toncoin=TON",
    "Binance Coin=BNB",
    "Shiba Inu=SHIB",
    "Uniswap=UNI",
    "Stellar=XLM",
    "Cosmos=ATOM",
    "Arbitrum=ARB",
    "Optimism=OP",
    "Aptos=APT",
    "Sui=SUI",
    "Pepe=PEPE",
)


def _check(condition: bool, key: str, reason: str) -> None:
    require(condition, f"news.{key}", reason)


def pairs(entries: tuple[str, ...], key: str) -> dict[str, str]:
    """`"URL=seconds"` or `"Name=TICKER"` entries as a dict; raises ConfigError naming the bad entry."""
    result: dict[str, str] = {}
    for entry in entries:
        name, separator, value = entry.rpartition("=")
        _check(
            bool(separator and name.strip() and value.strip()),
            key,
            f"'{entry}' is not of the form <name>=<value>",
        )
        result[name.strip()] = value.strip()
    return result


@dataclass(frozen=True, slots=True)
class NewsSettings:
    enabled: bool = True
    # RSS 2.0 / Atom 1.0 URLs or local file paths
    feeds: tuple[str, ...] = DEFAULT_FEEDS
    refresh_seconds: float = 300.0
    # "<feed>=<seconds>" for feeds that need their own interval
    feed_refresh_seconds: tuple[str, ...] = ()
    # each refresh waits a random extra 0..jitter fraction of the interval, so feeds do not fetch together
    jitter: float = 0.1
    # after a failure the next try waits interval x 2^failures, at most backoff_max_seconds
    backoff_max_seconds: float = 3600.0
    timeout_seconds: float = 10.0
    max_bytes: int = 5_000_000
    max_redirects: int = 5
    # items kept in memory and in the cache, newest first
    max_items: int = 2000
    # .ics files or RSS calendar feeds (URLs or local paths)
    calendars: tuple[str, ...] = ()
    calendar_refresh_seconds: float = 3600.0
    # publish CalendarEventSoon this many minutes before an important event
    calendar_alert_minutes: float = 30.0
    # "<Name>=<TICKER>" names that tag an item with the symbol of that base asset
    names: tuple[str, ...] = DEFAULT_NAMES
    user_agent: str = "thebot-news/0.1"
    # parse in this many worker processes (0: in the fetching thread, which shares the app's GIL)
    parse_workers: int = 1
    parse_timeout_seconds: float = 30.0

    def __post_init__(self) -> None:
        for index, feed in enumerate((*self.feeds, *self.calendars)):
            _check(bool(feed.strip()), f"feeds[{index}]", "is empty; give a URL or a file path")
        _check(len(set(self.feeds)) == len(self.feeds), "feeds", "feeds repeat")
        _check(
            10 <= self.refresh_seconds <= 86_400, "refresh_seconds", "must be between 10 and 86400 seconds"
        )
        for feed, seconds in pairs(self.feed_refresh_seconds, "feed_refresh_seconds").items():
            try:
                value = float(seconds)
            except ValueError:
                value = -1.0
            _check(
                1 <= value <= 86_400,
                "feed_refresh_seconds",
                f"'{feed}={seconds}': seconds must be a number between 1 and 86400",
            )
        _check(0 <= self.jitter <= 1, "jitter", "must be between 0 and 1 (a fraction of the interval)")
        _check(self.backoff_max_seconds >= 1, "backoff_max_seconds", "must be at least 1 second")
        _check(0.1 <= self.timeout_seconds <= 120, "timeout_seconds", "must be between 0.1 and 120 seconds")
        _check(
            10_000 <= self.max_bytes <= 100_000_000,
            "max_bytes",
            "must be between 10000 and 100000000 bytes",
        )
        _check(0 <= self.max_redirects <= 20, "max_redirects", "must be between 0 and 20")
        _check(10 <= self.max_items <= 100_000, "max_items", "must be between 10 and 100000")
        _check(
            10 <= self.calendar_refresh_seconds <= 86_400,
            "calendar_refresh_seconds",
            "must be between 10 and 86400 seconds",
        )
        _check(
            0 < self.calendar_alert_minutes <= 1440,
            "calendar_alert_minutes",
            "must be above 0 and at most 1440 minutes",
        )
        _check(0 <= self.parse_workers <= 8, "parse_workers", "must be between 0 and 8 processes")
        _check(
            1 <= self.parse_timeout_seconds <= 600,
            "parse_timeout_seconds",
            "must be between 1 and 600 seconds",
        )
        for name, ticker in pairs(self.names, "names").items():
            _check(
                ticker.isalnum() and ticker.isupper(),
                "names",
                f"'{name}={ticker}': the ticker must be upper-case letters and digits, e.g. Bitcoin=BTC",
            )

    def interval_for(self, feed: str) -> float:
        overrides = pairs(self.feed_refresh_seconds, "feed_refresh_seconds")
        return float(overrides[feed]) if feed in overrides else self.refresh_seconds

    def name_table(self) -> dict[str, str]:
        return pairs(self.names, "names")
