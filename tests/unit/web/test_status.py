"""The status strip's words for backfill progress and prices."""

from __future__ import annotations

from dash_modules.status import backfill_text, format_price


def test_backfill_progress_is_shown_while_running_and_hidden_after() -> None:
    running = {"running": True, "queued": 3, "current": "BTCUSDT@1m (start) 2,000 candles", "candles": 4000}
    assert (
        backfill_text(running)
        == "Backfilling BTCUSDT@1m (start) 2,000 candles (+3 queued) · 4,000 candles so far"
    )
    assert backfill_text({"running": False, "jobs_failed": 0, "last_error": None}) == ""


def test_a_failed_backfill_says_why() -> None:
    text = backfill_text({"running": False, "jobs_failed": 1, "last_error": "NetworkError: refused"})
    assert text == "Backfill failed: NetworkError: refused"


def test_prices_are_readable_at_every_scale() -> None:
    assert format_price(29_841.3412) == "29,841.34"
    assert format_price(1.23456789) == "1.2346"
    assert format_price(0.000123456) == "0.000123456"
