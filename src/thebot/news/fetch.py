"""Bring one feed's bytes home, with the limits feedparser's own fetcher lacks.

feedparser has no timeout and no size cap, so a response that never ends or a 50 MB body would hang or
bloat a worker. httpx gives the timeouts and the redirect limit; the body is streamed and cut at
`max_bytes` (counted after gzip decoding, so a gzip bomb stops at the same cap) and at a total deadline
(a server that trickles one byte per second never trips a read timeout). ETag/Last-Modified go back as
If-None-Match/If-Modified-Since: a 304 costs one round trip and no parsing.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx

logger = logging.getLogger(__name__)


ACCEPT = "application/rss+xml, application/atom+xml, application/xml, text/xml, text/calendar, */*;q=0.5"


class FetchError(Exception):
    """The feed could not be read; the message says why and what to do, and goes to the feed's status."""


@dataclass(frozen=True, slots=True)
class FetchResult:
    content: bytes
    not_modified: bool = False
    content_type: str = ""
    # ETag and Last-Modified of this response, sent back on the next fetch
    validators: dict[str, str] = field(default_factory=dict)
    final_url: str = ""


@dataclass(frozen=True, slots=True)
class FetchLimits:
    timeout_seconds: float = 10.0
    max_bytes: int = 5_000_000
    max_redirects: int = 5
    user_agent: str = "thebot-news/0.1"


def is_local(source: str) -> bool:
    scheme = urlsplit(source).scheme
    return scheme in {"file", ""} or (len(scheme) == 1 and source[1:3] in (":\\", ":/"))


def _local_path(source: str) -> Path:
    parts = urlsplit(source)
    return Path(unquote(parts.path)) if parts.scheme == "file" else Path(source)


def fetch_local(source: str, limits: FetchLimits, validators: dict[str, str] | None = None) -> FetchResult:
    """A file path: the modification time plays the part of Last-Modified."""
    path = _local_path(source)
    try:
        stat = path.stat()
    except OSError as error:
        raise FetchError(f"cannot read {path}: {error.strerror or error}; check news.feeds") from None
    stamp = f"{stat.st_mtime_ns}:{stat.st_size}"
    if validators and validators.get("file") == stamp:
        return FetchResult(b"", not_modified=True, validators=validators, final_url=source)
    if stat.st_size > limits.max_bytes:
        raise FetchError(f"file is {stat.st_size} bytes, above news.max_bytes ({limits.max_bytes})")
    try:
        content = path.read_bytes()
    except OSError as error:
        raise FetchError(f"cannot read {path}: {error.strerror or error}") from None
    return FetchResult(content, validators={"file": stamp}, final_url=source)


def new_client(limits: FetchLimits) -> httpx.Client:
    """One client per service: keeps connections alive between refreshes of the same host."""
    return httpx.Client(
        timeout=httpx.Timeout(limits.timeout_seconds),
        follow_redirects=True,
        max_redirects=limits.max_redirects,
        headers={"User-Agent": limits.user_agent, "Accept-Encoding": "gzip, deflate"},
        limits=httpx.Limits(max_connections=8, max_keepalive_connections=4),
    )


def fetch_http(
    client: httpx.Client, url: str, limits: FetchLimits, validators: dict[str, str] | None = None
) -> FetchResult:
    headers = {"Accept": ACCEPT}
    if validators:
        if validators.get("etag"):
            headers["If-None-Match"] = validators["etag"]
        if validators.get("last_modified"):
            headers["If-Modified-Since"] = validators["last_modified"]
    deadline = time.monotonic() + limits.timeout_seconds
    try:
        with client.stream("GET", url, headers=headers) as response:
            if response.status_code == 304:
                return FetchResult(b"", not_modified=True, validators=validators or {}, final_url=url)
            if response.status_code >= 400:
                advice = (
                    "check the feed URL"
                    if response.status_code < 500
                    else "the server failed; retrying later"
                )
                raise FetchError(f"HTTP {response.status_code} {response.reason_phrase}; {advice}")
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > limits.max_bytes:
                raise FetchError(
                    f"response is {int(declared)} bytes, above news.max_bytes ({limits.max_bytes})"
                )
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > limits.max_bytes:
                    raise FetchError(f"response is larger than news.max_bytes ({limits.max_bytes} bytes)")
                if time.monotonic() > deadline:
                    raise FetchError(
                        f"response did not finish within {limits.timeout_seconds:g} s (news.timeout_seconds)"
                    )
                chunks.append(chunk)
            new_validators: dict[str, str] = {}
            if response.headers.get("ETag"):
                new_validators["etag"] = response.headers["ETag"]
            if response.headers.get("Last-Modified"):
                new_validators["last_modified"] = response.headers["Last-Modified"]
            return FetchResult(
                b"".join(chunks),
                content_type=response.headers.get("Content-Type", ""),
                validators=new_validators,
                final_url=str(response.url),
            )
    except httpx.TooManyRedirects:
        raise FetchError(
            f"more than {limits.max_redirects} redirects (news.max_redirects); the feed URL loops"
        ) from None
    except httpx.TimeoutException:
        raise FetchError(
            f"no answer within {limits.timeout_seconds:g} s (news.timeout_seconds); "
            "the server is slow or down"
        ) from None
    except httpx.DecodingError as error:
        raise FetchError(f"the response could not be decoded ({error})") from None
    except httpx.HTTPError as error:
        reason = str(error) or type(error).__name__
        raise FetchError(f"cannot reach the feed: {reason}") from None


def fetch(
    client: httpx.Client, source: str, limits: FetchLimits, validators: dict[str, str] | None = None
) -> FetchResult:
    """A URL or a local file path, with the same limits and the same conditional-read contract."""
    if is_local(source):
        return fetch_local(source, limits, validators)
    scheme = urlsplit(source).scheme
    if scheme not in ("http", "https"):
        raise FetchError(f"unsupported scheme '{scheme}'; use http(s) URLs or file paths")
    return fetch_http(client, source, limits, validators)


def fetch_base_assets(
    client: httpx.Client, rest_url: str, symbols: tuple[str, ...], limits: FetchLimits
) -> dict[str, str]:
    """`symbol → baseAsset` from the venue's `GET /api/v3/exchangeInfo?symbols=[...]` (Binance's shape).

    Raw answer (abridged): `{"symbols": [{"symbol": "BTCUSDT", "baseAsset": "BTC", "quoteAsset": "USDT"}]}`.
    Asking for the streamed symbols only keeps the answer small (the full list is megabytes)."""
    if not symbols:
        return {}
    wanted = "[" + ",".join(f'"{symbol}"' for symbol in symbols) + "]"
    try:
        response = client.get(f"{rest_url.rstrip('/')}/api/v3/exchangeInfo", params={"symbols": wanted})
        response.raise_for_status()
        if len(response.content) > limits.max_bytes:
            raise FetchError("exchangeInfo answer is larger than news.max_bytes")
        payload = response.json()
    except (httpx.HTTPError, ValueError) as error:
        raise FetchError(f"exchangeInfo unavailable ({type(error).__name__}: {error})") from None
    result: dict[str, str] = {}
    for entry in payload.get("symbols", []) if isinstance(payload, dict) else []:
        if (
            isinstance(entry, dict)
            and isinstance(entry.get("symbol"), str)
            and isinstance(entry.get("baseAsset"), str)
        ):
            result[entry["symbol"]] = entry["baseAsset"]
    return result
