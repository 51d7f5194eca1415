"""Feed bytes to plain-text items: formats, hostile markup, broken documents, encodings, dates."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.unit.news.feeds import HTML_PAGE, MALFORMED, XSS_SUMMARY, Entry, atom, rss
from thebot.news.parse import ParseError, parse_feed, plain_text


def utc_ms(*args: int) -> int:
    return int(dt.datetime(*args, tzinfo=dt.UTC).timestamp() * 1000)


def test_rss_items_with_time_normalised_to_utc() -> None:
    parsed = parse_feed(
        rss(
            [
                Entry(
                    "Bitcoin tops $100k",
                    link="https://e.com/a",
                    guid="a-1",
                    summary="<p>ETF <b>inflows</b></p>",
                )
            ]
        )
    )
    assert parsed.title == "Test Wire"
    [item] = parsed.items
    assert (item.title, item.link, item.guid, item.summary) == (
        "Bitcoin tops $100k",
        "https://e.com/a",
        "a-1",
        "ETF inflows",
    )
    assert item.published == utc_ms(2026, 11, 21, 8, 30)  # 09:30 +0100


def test_atom_entries_and_their_offset() -> None:
    parsed = parse_feed(
        atom([Entry("Solana upgrade", link="https://e.com/s", date="2026-11-21T10:00:00-05:00", summary="x")])
    )
    [item] = parsed.items
    assert parsed.title == "Atom Desk"
    assert item.published == utc_ms(2026, 11, 21, 15, 0)


def test_script_img_onerror_and_javascript_links_become_text() -> None:
    parsed = parse_feed(
        rss(
            [
                Entry(
                    "<script>alert(1)</script>Hack <img src=x onerror=alert(2)>",
                    link="javascript:alert(3)",
                    summary=XSS_SUMMARY,
                )
            ]
        )
    )
    [item] = parsed.items
    for text in (item.title, item.summary):
        assert "<" not in text and "onerror" not in text and "__pwned" not in text
    assert item.title == "Hack"
    assert item.summary == "Markets calm today click"
    assert item.link == ""  # never clickable


def test_escaped_markup_in_a_title_stays_text() -> None:
    # "&amp;lt;script&amp;gt;" in the XML is the literal text "&lt;script&gt;" in the title
    assert plain_text("Tom &amp; Jerry &lt;b&gt;", 100) == "Tom & Jerry <b>"  # shown as text, never markup


def test_entries_without_dates_or_links_are_kept() -> None:
    parsed = parse_feed(
        rss([Entry("No date, no link", date=None), Entry("", date=None, summary="Only a summary here")])
    )
    assert [(item.title, item.link, item.published) for item in parsed.items] == [
        ("No date, no link", "", None),
        ("Only a summary here", "", None),
    ]


def test_malformed_but_readable_feed_is_kept_with_a_warning() -> None:
    body = rss([Entry("Readable story", link="https://e.com/r")]).replace(
        b"</channel></rss>", b"<oops></channel>"
    )
    parsed = parse_feed(body)
    assert [item.title for item in parsed.items] == ["Readable story"]
    assert "malformed but readable" in parsed.warning


def test_malformed_xml_without_items_is_an_error() -> None:
    with pytest.raises(ParseError, match="cannot parse the feed"):
        parse_feed(MALFORMED + b"<<<")


def test_html_page_is_an_error_that_says_so() -> None:
    with pytest.raises(ParseError, match="HTML page, not a feed"):
        parse_feed(HTML_PAGE, "text/html")


def test_non_utf8_bytes() -> None:
    latin = rss([Entry("Bitcoin à 100 000 € café", link="https://e.com/l")], encoding="iso-8859-15")
    assert parse_feed(latin).items[0].title == "Bitcoin à 100 000 € café"
    # bytes that are not valid in the declared encoding: the feed is still read, the bad bytes replaced
    broken = rss([Entry("Ether news", link="https://e.com/b")]).replace(b"Ether news", b"Ether \xff\xfe news")
    [item] = parse_feed(broken).items
    assert item.title.startswith("Ether") and item.title.endswith("news")


def test_long_text_is_cut() -> None:
    assert len(plain_text("word " * 1000, 300)) == 300


def test_plain_text_edge_cases() -> None:
    assert plain_text('<img alt="a > b" src=x>Price <b>up</b>', 100) == "Price up"
    assert plain_text("Intro<script>steal()", 100) == "Intro"  # unclosed: dropped to the end
    assert plain_text("A<!-- hidden <b> -->B<br/>C", 100) == "AB C"
    assert plain_text("in<b>flows</b> &amp; 3 < 5", 100) == "inflows & 3 < 5"
    assert plain_text("<STYLE>p{}</STYLE><P>One</P><P>Two</P>", 100) == "One Two"
