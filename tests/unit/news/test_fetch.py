"""The fetcher's limits against a local server: every hostile response ends as a clear FetchError."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.unit.news.feeds import Entry, rss
from thebot.bench._feedserver import FeedServer
from thebot.news.fetch import FetchError, FetchLimits, fetch, new_client

LIMITS = FetchLimits(timeout_seconds=1.0, max_bytes=200_000, max_redirects=3)


@pytest.fixture(scope="module")
def server() -> Iterator[FeedServer]:
    with FeedServer() as running:
        yield running


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with new_client(LIMITS) as opened:
        yield opened


def test_conditional_get_answers_304_the_second_time(server: FeedServer, client: httpx.Client) -> None:
    url = server.add("/cond.xml", rss([Entry("Bitcoin climbs", link="https://e.com/1")]))
    first = fetch(client, url, LIMITS)
    assert b"Bitcoin climbs" in first.content and first.validators.get("etag")
    second = fetch(client, url, LIMITS, first.validators)
    assert second.not_modified and second.content == b""
    assert server.count("/cond.xml", 304) == 1
    server.add("/cond.xml", rss([Entry("Bitcoin falls", link="https://e.com/2")]))
    third = fetch(client, url, LIMITS, first.validators)
    assert not third.not_modified and b"Bitcoin falls" in third.content


def test_gzip_is_requested_and_decoded(server: FeedServer, client: httpx.Client) -> None:
    url = server.add("/gz.xml", rss([Entry("Compressed story", link="https://e.com/gz")]), gzip=True)
    result = fetch(client, url, LIMITS)
    assert b"Compressed story" in result.content
    assert "gzip" in server.requests[-1][1]["accept-encoding"]


@pytest.mark.parametrize(("status", "words"), [(404, "HTTP 404"), (500, "HTTP 500")])
def test_error_status_names_the_status(
    server: FeedServer, client: httpx.Client, status: int, words: str
) -> None:
    url = server.behave(f"/status{status}", "status", status=status)
    with pytest.raises(FetchError, match=words):
        fetch(client, url, LIMITS)


def test_response_that_never_ends_stops_at_the_timeout(server: FeedServer, client: httpx.Client) -> None:
    url = server.behave("/forever", "never_ends")
    started = time.monotonic()
    with pytest.raises(FetchError, match="did not finish within 1 s"):
        fetch(client, url, LIMITS)
    assert time.monotonic() - started < 3.0


def test_huge_body_stops_at_the_size_cap(server: FeedServer, client: httpx.Client) -> None:
    url = server.behave("/huge", "huge", size=50_000_000)
    with pytest.raises(FetchError, match="max_bytes"):
        fetch(client, url, LIMITS)


def test_huge_body_without_length_stops_at_the_size_cap(server: FeedServer, client: httpx.Client) -> None:
    url = server.add("/big.xml", b"<rss>" + b"x" * 300_000 + b"</rss>", gzip=True)  # gzip hides the size
    with pytest.raises(FetchError, match="max_bytes"):
        fetch(client, url, LIMITS)


def test_redirect_loop_is_cut_at_the_limit(server: FeedServer, client: httpx.Client) -> None:
    url = server.behave("/loop", "redirect_loop")
    with pytest.raises(FetchError, match="more than 3 redirects"):
        fetch(client, url, LIMITS)
    assert server.count("/loop") == 4


def test_unreachable_host_fails_fast(client: httpx.Client) -> None:
    started = time.monotonic()
    with pytest.raises(FetchError, match="cannot reach the feed"):
        fetch(client, "http://127.0.0.1:9/feed.xml", LIMITS)
    assert time.monotonic() - started < 2.0


def test_local_file_and_its_change(tmp_path: Path, client: httpx.Client) -> None:
    path = tmp_path / "local.xml"
    path.write_bytes(rss([Entry("Local story")]))
    first = fetch(client, str(path), LIMITS)
    assert b"Local story" in first.content
    assert fetch(client, str(path), LIMITS, first.validators).not_modified
    path.write_bytes(rss([Entry("Local story, updated")]))
    assert b"updated" in fetch(client, path.as_uri(), LIMITS, first.validators).content
    with pytest.raises(FetchError, match="cannot read"):
        fetch(client, str(tmp_path / "missing.xml"), LIMITS)


def test_unsupported_scheme(client: httpx.Client) -> None:
    with pytest.raises(FetchError, match="unsupported scheme 'ftp'"):
        fetch(client, "ftp://example.com/feed", LIMITS)
