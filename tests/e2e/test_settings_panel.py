"""A user changes the running system from the Settings page (issue 9, "Done when"): adds SOLUSDT and
charts it without a restart, changes a rule weight and sees the confluence use it, gets an inline error
for a bad value with nothing changed, restarts on the same data directory and still has SOLUSDT, then
reverts the change from the history and the symbol goes away live. Two tabs end in one state."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.e2e.conftest import RunningApp, start_app, stop_app

pytestmark = pytest.mark.e2e

GRAPH = "#price-chart .js-plotly-plot"
ARGS = ("--source", "sim", "--speed", "60")


class Holder:
    """One app per module, restarted once on the same data directory."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.app: RunningApp = start_app(tmp_path, *ARGS)

    def restart(self) -> RunningApp:
        stop_app(self.app)
        self.app = start_app(self.tmp_path, *ARGS)
        return self.app


@pytest.fixture(scope="module")
def holder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Holder]:
    held = Holder(tmp_path_factory.mktemp("settings"))
    yield held
    stop_app(held.app)


def wait_backfilled(app: RunningApp, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        backfill = requests.get(f"{app.url}/api/health", timeout=5).json()["backfill"]
        if not backfill["running"] and backfill["queued"] == 0:
            return
        time.sleep(0.5)
    raise AssertionError("the start backfill did not finish")


def field(key: str) -> str:
    return f'[data-key="{key}"]'


def open_page(browser: Any, url: str, errors: list[str]) -> Any:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url)
    return page


def open_settings(browser: Any, app: RunningApp, errors: list[str]) -> Any:
    page = open_page(browser, f"{app.url}/settings", errors)
    page.wait_for_selector(field("market.symbols"), timeout=15_000)
    return page


def set_number(page: Any, key: str, value: str) -> None:
    page.fill(f"{field(key)} input.form-control", value)


def save(page: Any) -> None:
    page.wait_for_selector("#settings-save:not([disabled])", timeout=5_000)
    page.click("#settings-save")


def saved(page: Any) -> None:
    """The change was applied and the form re-rendered from the store (safe to edit again)."""
    page.wait_for_selector(".result-applied", timeout=10_000)
    page.wait_for_function(
        "() => document.querySelector('#settings-diff').innerText.includes('No unsaved changes')",
        timeout=10_000,
    )


def settings(app: RunningApp) -> dict[str, Any]:
    answer: dict[str, Any] = requests.get(f"{app.url}/api/settings", timeout=5).json()
    return answer


def picker_options(page: Any) -> str:
    page.click("#symbol-select")
    content = page.locator(".dash-dropdown-content").last
    content.wait_for(state="visible", timeout=5_000)
    text: str = content.inner_text(timeout=5_000)
    page.keyboard.press("Escape")
    return text


def wait_picker(page: Any, wanted: bool, symbol: str, timeout: float = 15.0) -> None:
    """Open the navbar's symbol picker until `symbol` is (or is no longer) offered."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if (symbol in picker_options(page)) == wanted:
                return
        except PlaywrightTimeout:  # the list re-rendered while opening (options refresh): look again
            page.keyboard.press("Escape")
        page.wait_for_timeout(300)
    raise AssertionError(f"{symbol} {'never appeared in' if wanted else 'stayed in'} the symbol picker")


def choose_symbol(page: Any, symbol: str) -> None:
    page.click("#symbol-select")
    page.locator(".dash-dropdown-content").get_by_text(symbol, exact=True).first.click()


def chart_shows(page: Any, symbol: str, timeout: float = 15_000) -> None:
    page.wait_for_function(
        "([s, symbol]) => { const gd = document.querySelector(s); return gd && gd.data && gd.data.length"
        " && gd.data[0].name === symbol && gd.data[0].x && gd.data[0].x.length > 50; }",
        arg=[GRAPH, symbol],
        timeout=timeout,
    )


def test_settings_change_the_running_system(browser: Any, holder: Holder) -> None:
    app = holder.app
    errors: list[str] = []
    page = open_settings(browser, app, errors)

    # Add SOLUSDT from the venue's list, see the diff, save: applied live.
    page.click(f"{field('market.symbols')} .setting-select")
    page.fill(".dash-dropdown-search", "SOL")
    page.locator(".dash-dropdown-content").get_by_text("SOLUSDT", exact=True).first.click()
    page.keyboard.press("Escape")
    page.wait_for_function(
        "() => document.querySelector('#settings-diff').innerText.includes('SOLUSDT')", timeout=5_000
    )
    assert "applies now" in page.inner_text("#settings-diff")
    save(page)
    saved(page)
    assert "market.symbols applied" in page.inner_text("#settings-result")

    # Within 15 s it is in the chart's symbol picker and its chart fills with history.
    page.click("#nav-chart")
    wait_picker(page, True, "SOLUSDT")
    choose_symbol(page, "SOLUSDT")
    chart_shows(page, "SOLUSDT")

    # A rule weight changed in the panel is what /api/confluence uses.
    page.click("#nav-settings")
    page.wait_for_selector(field("signals.rule_weights.rsi"), timeout=10_000)
    set_number(page, "signals.rule_weights.rsi", "0.15")
    save(page)
    saved(page)
    assert "signals.rule_weights.rsi applied" in page.inner_text("#settings-result")

    def rsi_weight() -> float:
        confluence = requests.get(f"{app.url}/api/confluence?symbol=BTCUSDT", timeout=5).json()
        return float(confluence["rule_weights"]["rsi"])

    deadline = time.monotonic() + 5  # the analytics worker takes it between two candles
    while rsi_weight() != 0.15 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert rsi_weight() == 0.15

    # An invalid value shows the field's message and changes nothing.
    set_number(page, "ui.chart_candles", "5")
    save(page)
    page.wait_for_function(
        "(s) => document.querySelector(s).innerText.includes('between 10 and 5000')",
        arg=f"{field('ui.chart_candles')} .setting-error",
        timeout=5_000,
    )
    assert "Nothing was saved" in page.inner_text("#settings-result")
    after = settings(app)
    assert after["ui"]["chart_candles"] == 300
    assert after["signals"]["rule_weights"]["rsi"] == 0.15
    assert after["market"]["symbols"] == ["BTCUSDT", "ETHUSDT", "SOLUSDT"]
    page.close()

    # Restart on the same data directory: SOLUSDT is still streamed and its chart fills again.
    app = holder.restart()
    assert settings(app)["market"]["symbols"] == ["BTCUSDT", "ETHUSDT", "SOLUSDT"]
    page = open_page(browser, app.url, errors)
    page.wait_for_selector("#symbol-select", timeout=10_000)
    wait_picker(page, True, "SOLUSDT", timeout=10.0)
    choose_symbol(page, "SOLUSDT")
    chart_shows(page, "SOLUSDT", timeout=30_000)

    # Revert the symbol change from the history: SOLUSDT goes away live.
    page.click("#nav-settings")
    page.wait_for_selector(".settings-history", timeout=10_000)
    row = page.locator(".settings-history tr", has_text="market.symbols").filter(has_text="SOLUSDT").last
    row.get_by_role("button", name="Revert").click()
    page.wait_for_selector(".result-applied", timeout=5_000)
    assert settings(app)["market"]["symbols"] == ["BTCUSDT", "ETHUSDT"]

    def streamed() -> set[str]:
        health = requests.get(f"{app.url}/api/health", timeout=5).json()
        return {stream["symbol"] for stream in health["streams"]}

    deadline = time.monotonic() + 10
    while "SOLUSDT" in streamed() and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    assert streamed() == {"BTCUSDT", "ETHUSDT"}, "SOLUSDT still streamed after the revert"
    page.click("#nav-chart")
    wait_picker(page, False, "SOLUSDT", timeout=10.0)
    page.close()
    assert not errors, errors


def test_two_tabs_end_in_one_state(browser: Any, holder: Holder) -> None:
    app = holder.app
    errors: list[str] = []
    first = open_settings(browser, app, errors)
    second = open_settings(browser, app, errors)
    set_number(first, "signals.rule_weights.macd", "0.35")
    set_number(second, "signals.rule_weights.zone", "0.25")
    save(first)
    save(second)
    for page in (first, second):
        page.wait_for_selector(".result-applied", timeout=5_000)
    answer = settings(app)
    assert answer["signals"]["rule_weights"]["macd"] == 0.35
    assert answer["signals"]["rule_weights"]["zone"] == 0.25
    # Both tabs refresh to the one state (the second saved after the first, so only the first is stale).
    for page in (first, second):
        for key, value in (("signals.rule_weights.macd", "0.35"), ("signals.rule_weights.zone", "0.25")):
            page.wait_for_function(
                "([s, v]) => document.querySelector(s).value === v",
                arg=[f"{field(key)} input.form-control", value],
                timeout=6_000,
            )
    # Last write wins per key: the first tab now sets zone again and wins.
    set_number(first, "signals.rule_weights.zone", "0.45")
    save(first)
    saved(first)
    second.wait_for_function(
        "([s, v]) => document.querySelector(s).value === v",
        arg=[f"{field('signals.rule_weights.zone')} input.form-control", "0.45"],
        timeout=6_000,
    )
    assert settings(app)["signals"]["rule_weights"]["zone"] == 0.45

    # The theme switches live on every open page, here changed through the JSON API.
    response = requests.patch(f"{app.url}/api/settings", json={"ui": {"theme": "light"}}, timeout=5)
    assert response.status_code == 200, response.text
    for page in (first, second):
        page.wait_for_function(
            "() => document.documentElement.classList.contains('theme-light')", timeout=5_000
        )
    background = first.evaluate("() => getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(246, 247, 249)"
    requests.patch(f"{app.url}/api/settings", json={"ui": {"theme": "dark"}}, timeout=5)
    first.wait_for_function(
        "() => !document.documentElement.classList.contains('theme-light')", timeout=5_000
    )
    assert not errors, errors


def test_a_timeframe_added_live_is_streamed_and_charted(browser: Any, holder: Holder) -> None:
    """`market.timeframes` applies without a restart: the picker offers the new timeframe on the open page
    (pushed), its chart fills from the backfill, the confluence counts it; dropped, it leaves the picker
    and a page showing it moves to one still streamed."""
    app = holder.app
    errors: list[str] = []
    page = open_page(browser, f"{app.url}/", errors)
    chart_shows(page, "BTCUSDT", timeout=30_000)
    timeframes = settings(app)["market"]["timeframes"]
    assert "3m" not in timeframes
    response = requests.patch(
        f"{app.url}/api/settings", json={"market": {"timeframes": [*timeframes, "3m"]}}, timeout=5
    )
    assert response.status_code == 200, response.text
    assert "market.timeframes" not in response.json()["pending_restart"]
    page.get_by_text("3m", exact=True).wait_for(timeout=5_000)
    page.get_by_text("3m", exact=True).click()
    page.wait_for_url("**timeframe=3m**", timeout=5_000)

    def klines(timeframe: str) -> list[dict[str, Any]]:
        answer = requests.get(
            f"{app.url}/api/klines",
            params={"symbol": "BTCUSDT", "timeframe": timeframe, "limit": 200},
            timeout=5,
        )
        assert answer.status_code == 200, answer.text
        rows: list[dict[str, Any]] = answer.json()
        return rows

    deadline = time.monotonic() + 20
    while len(klines("3m")) < 200 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert len(klines("3m")) == 200
    page.wait_for_function(
        "(s) => { const g = document.querySelector(s); return g && g.data && g.data[0].x.length >= 100; }",
        arg=GRAPH,
        timeout=10_000,
    )
    confluence = requests.get(f"{app.url}/api/confluence", params={"symbol": "BTCUSDT"}, timeout=5).json()
    assert "3m" in [item["timeframe"] for item in confluence["timeframes"]]
    # A reload builds the page from the current settings, not the ones the app started with.
    page.reload()
    page.get_by_text("3m", exact=True).wait_for(timeout=10_000)

    response = requests.patch(
        f"{app.url}/api/settings", json={"market": {"timeframes": timeframes}}, timeout=5
    )
    assert response.status_code == 200, response.text
    page.wait_for_function(
        "() => ![...document.querySelectorAll('#timeframe-select label')].some((l) => l.innerText === '3m')",
        timeout=5_000,
    )
    page.wait_for_url(f"**timeframe={timeframes[0]}**", timeout=5_000)
    assert (
        requests.get(
            f"{app.url}/api/klines", params={"symbol": "BTCUSDT", "timeframe": "3m"}, timeout=5
        ).status_code
        == 400
    )
    assert not errors, errors
    page.close()
