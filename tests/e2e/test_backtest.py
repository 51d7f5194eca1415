"""A user runs a backtest from the Backtest page: the progress bar, then the equity curve and the trades."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from tests.e2e.conftest import RunningApp

pytestmark = pytest.mark.e2e

CHART = "#backtest-chart .js-plotly-plot"


def wait_for_stored_candles(app: RunningApp, timeout: float = 30.0) -> None:
    """The app stores backfilled candles within a flush interval of starting."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        streams = requests.get(f"{app.url}/api/backtests/sources", timeout=5).json()["streams"]
        if any(
            row["symbol"] == "BTCUSDT" and row["timeframe"] == "1m" and row["candles"] > 300
            for row in streams
        ):
            return
        time.sleep(0.3)
    raise AssertionError(f"no stored 1m candles after {timeout} s:\n{app.log()[-2000:]}")


def test_a_backtest_runs_from_the_page(browser: Any, sim_app: RunningApp) -> None:
    wait_for_stored_candles(sim_app)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{sim_app.url}/backtest")
    page.wait_for_selector("#backtest-run", timeout=20_000)
    page.fill("#backtest-stop-loss", "0.5")
    page.fill("#backtest-in-sample", "70")
    page.click("#backtest-run")

    page.wait_for_selector("#backtest-progress .progress-bar", timeout=15_000)
    # Polled on a timer: requestAnimationFrame polling stalls while Plotly lays out a large figure.
    page.wait_for_function(
        "(s) => { const gd = document.querySelector(s); return gd && gd.data && gd.data.length > 5; }",
        arg=CHART,
        timeout=30_000,
        polling=250,
    )
    assert "done in" in page.inner_text("#backtest-progress")
    # Progress and results came by push: the page's interval (the fallback) stayed off.
    assert page.evaluate("() => window.thebotPush.connected")
    assert (
        page.evaluate(
            "(id) => { const s = window.store.getState(); let node = s.layout;"
            " for (const step of s.paths.strs[id]) node = node[step]; return node.props.disabled; }",
            "backtest-tick",
        )
        is True
    )
    equity = page.evaluate(
        "(s) => { const gd = document.querySelector(s); const t = gd.data.find(d => d.name === 'strategy');"
        " return t ? t.y.length : 0; }",
        CHART,
    )
    assert equity > 100, "the equity curve has no points"
    page.wait_for_selector("#backtest-trades td.dash-cell", timeout=10_000)
    sides = page.locator("#backtest-trades td[data-dash-column='side']").all_inner_texts()
    assert sides and set(sides) <= {"LONG", "SHORT"}, "no trades in the table"
    cards = page.inner_text(".bt-metrics").lower()
    assert "total return" in cards and "sharpe" in cards and "max drawdown" in cards
    assert "out-of-sample" in page.inner_text(".bt-walk")
    # The finished run is listed for comparison; ticking it draws its curve.
    page.locator("#backtest-compare input").first.check()
    page.wait_for_function(
        "() => { const gd = document.querySelector('#backtest-compare-chart .js-plotly-plot');"
        " return gd && gd.data && gd.data.length === 1; }",
        timeout=10_000,
        polling=250,
    )
    assert errors == []
    page.close()
