"""A user trades on the simulated venue from the Trading page: buy, watch a trailing stop take them out,
and see a risk check refuse a ticket by name."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from dash_modules import trading_page as ids
from tests.e2e.conftest import ROOT, RunningApp, start_app, stop_app

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def venue_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    directory = tmp_path_factory.mktemp("trading")
    config = directory / "settings.toml"
    text = (ROOT / "config" / "settings.toml").read_text()
    config.write_text(text.replace('mode = "paper"', 'mode = "venue"'))
    # The app runs this checkout's code (an editable install may point elsewhere).
    previous = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT), *filter(None, [previous])])
    try:
        app = start_app(directory, "--source", "sim", "--speed", "60", "--config", str(config))
    finally:
        if previous is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = previous
    yield app
    stop_app(app)


def wait_for(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_trade_on_the_venue_from_the_ticket(browser: Any, venue_app: RunningApp, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{venue_app.url}/trading")
    page.wait_for_selector(f"#{ids.PREVIEW_BUTTON}", timeout=20_000)
    assert page.inner_text(f"#{ids.MODE_BADGE}") == "VENUE"

    # A market buy with a tight trailing stop: preview, confirm.
    page.fill(f"#{ids.SIZE}", "0.01")
    # At speed 60 price moves ~0.07 % a second: a 0.3 % trail leaves the position on the page for the
    # checks below (a drawdown that deep takes ~20 s on average) and still exits well within the wait.
    page.fill(f"#{ids.TRAILING}", "0.3")
    page.click(f"#{ids.PREVIEW_BUTTON}")
    page.wait_for_selector(".trading-checks .check-pass", timeout=10_000)
    assert page.locator(".trading-checks .check-fail").count() == 0
    assert "0.01" in page.inner_text(".trading-preview-table")
    page.click(f"#{ids.CONFIRM_BUTTON}")
    page.wait_for_selector(".trading-placed", timeout=10_000)
    assert "Order filled: BUY 0.01 BTCUSDT" in page.inner_text(f"#{ids.TICKET_MESSAGE}")

    # The position shows the venue's fill price and the fee it charged (0.1 %, taken in BTC).
    [fill] = [
        item for item in requests.get(f"{venue_app.url}/api/fills", timeout=5).json() if item["side"] == "BUY"
    ]
    page.wait_for_selector(".position-price", timeout=10_000)
    assert page.inner_text(".position-price") == f"{fill['price']:,.2f}"
    assert page.inner_text(".position-quantity") == "0.00999"
    assert page.inner_text(".position-fees") == f"{0.00001 * fill['price']:,.4f}"
    assert f"{fill['price']:,.2f}" in page.inner_text(f"#{ids.FILLS}")

    # The trailing stop ratchets and, at speed 60, soon exits the position on the venue.
    wait_for(lambda: "No open position." in page.inner_text(f"#{ids.POSITIONS}"), 120, "the trailing exit")
    fills = requests.get(f"{venue_app.url}/api/fills", timeout=5).json()
    assert [item["side"] for item in fills] == ["SELL", "BUY"]
    closed = requests.get(f"{venue_app.url}/api/orders?status=closed", timeout=5).json()
    assert any(order["role"] == "trailing" and order["status"] == "FILLED" for order in closed)

    # Too big for the risk limits: the ticket names the check that refused it.
    page.fill(f"#{ids.SIZE}", "1")
    page.fill(f"#{ids.TRAILING}", "")
    page.click(f"#{ids.PREVIEW_BUTTON}")
    page.wait_for_selector(".trading-refused", timeout=10_000)
    assert "max_order_notional" in page.inner_text(f"#{ids.TICKET_MESSAGE}")
    assert "max_order_notional" in page.inner_text(".trading-checks .check-fail")
    assert page.is_disabled(f"#{ids.CONFIRM_BUTTON}")

    # A resting limit order far below the market appears under open orders and is canceled from there.
    page.fill(f"#{ids.SIZE}", "0.01")
    page.locator(f"#{ids.TYPE}").get_by_text("LIMIT", exact=True).click()
    price = float(fill["price"]) * 0.8
    page.fill(f"#{ids.PRICE}", f"{price:.2f}")
    page.click(f"#{ids.PREVIEW_BUTTON}")
    page.wait_for_selector(f"#{ids.CONFIRM_BUTTON}:not([disabled])", timeout=10_000)
    page.click(f"#{ids.CONFIRM_BUTTON}")
    page.wait_for_selector(f"#{ids.ORDERS} button", timeout=10_000)
    assert "LIMIT" in page.inner_text(f"#{ids.ORDERS}") and "NEW" in page.inner_text(f"#{ids.ORDERS}")
    page.click(f"#{ids.ORDERS} button")
    wait_for(lambda: "No open order." in page.inner_text(f"#{ids.ORDERS}"), 10, "the cancel")
    assert "Canceled BTCUSDT" in page.inner_text(f"#{ids.CONTROL_MESSAGE}")

    # Pause asks first; then entries are refused by name until resumed.
    page.on("dialog", lambda dialog: dialog.accept())
    page.click(f"#{ids.PAUSE} button")
    wait_for(lambda: "PAUSED" in page.inner_text(f"#{ids.ACCOUNT}"), 10, "the pause")
    page.click(f"#{ids.PREVIEW_BUTTON}")
    wait_for(
        lambda: "Refused by paused" in page.inner_text(f"#{ids.TICKET_MESSAGE}"), 10, "the paused refusal"
    )
    page.click(f"#{ids.RESUME} button")
    wait_for(lambda: "RUNNING" in page.inner_text(f"#{ids.ACCOUNT}"), 10, "the resume")
    assert errors == []
    page.close()
