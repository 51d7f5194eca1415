"""A user adds RSI and Bollinger Bands from the picker and watches signals arrive on a fast venue."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import RunningApp, start_app, stop_app

pytestmark = pytest.mark.e2e

GRAPH = "#price-chart .js-plotly-plot"

TRACES = """(selector) => {
    const gd = document.querySelector(selector);
    if (!gd || !gd.data) return {};
    const out = {};
    for (const trace of gd.data) {
        out[trace.name] = {n: (trace.x || []).length, yaxis: trace.yaxis || 'y',
                           color: trace.marker ? trace.marker.color : null,
                           symbol: trace.marker ? trace.marker.symbol : null,
                           last: trace.y && trace.y.length ? trace.y[trace.y.length - 1] : null};
    }
    return out;
}"""


@pytest.fixture(scope="module")
def fast_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    app = start_app(tmp_path_factory.mktemp("fast"), "--source", "sim", "--speed", "120")
    yield app
    stop_app(app)


def pick(page: Any, name: str) -> None:
    page.click("#indicator-picker")
    page.wait_for_selector(".dash-dropdown-search", timeout=5_000)
    page.fill(".dash-dropdown-search", name)
    # Click the option itself: Enter would take whichever option the filter happens to list first.
    page.locator(".dash-dropdown-content").get_by_text(f"{name} · ", exact=False).first.click()
    page.keyboard.press("Escape")


def test_picker_indicators_and_live_signals(browser: Any, fast_app: RunningApp) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(fast_app.url)
    page.wait_for_function(
        "(s) => { const gd = document.querySelector(s); return gd && gd.data && gd.data.length"
        " && gd.data[0].x && gd.data[0].x.length > 50; }",
        arg=GRAPH,
        timeout=30_000,
    )

    pick(page, "RSI")
    page.wait_for_function(
        "(s) => document.querySelector(s).data.some((t) => t.name === 'RSI')", arg=GRAPH, timeout=15_000
    )
    pick(page, "BBANDS")
    page.wait_for_function(
        "(s) => document.querySelector(s).data.some((t) => t.name === 'BBANDS upperband')",
        arg=GRAPH,
        timeout=15_000,
    )
    traces = page.evaluate(TRACES, GRAPH)
    # RSI sits in its own panel below the price; the bands overlay the candles.
    assert traces["RSI"]["yaxis"] not in ("y", "y2")
    assert 0 <= traces["RSI"]["last"] <= 100
    for band in ("upperband", "middleband", "lowerband"):
        assert traces[f"BBANDS {band}"]["yaxis"] == "y"
        assert traces[f"BBANDS {band}"]["n"] == traces[next(iter(traces))]["n"]
    upper, lower = traces["BBANDS upperband"]["last"], traces["BBANDS lowerband"]["last"]
    assert upper > lower

    # Markers: green up-triangles for BUY, red down-triangles for SELL, and rows in the table.
    page.wait_for_function(
        "(s) => document.querySelector(s).data.some((t) => /signals$/.test(t.name) && t.x && t.x.length > 0)",
        arg=GRAPH,
        timeout=30_000,
    )
    traces = page.evaluate(TRACES, GRAPH)
    if "BUY signals" in traces:
        assert (
            traces["BUY signals"]["color"] == "#26a69a" and "triangle-up" in traces["BUY signals"]["symbol"]
        )
    if "SELL signals" in traces:
        assert (
            traces["SELL signals"]["color"] == "#ef5350"
            and "triangle-down" in traces["SELL signals"]["symbol"]
        )
    page.wait_for_selector("#signal-table tr.signal-row", timeout=30_000)
    first_row = page.inner_text("#signal-table tr.signal-row")

    # A new signal arrives live: the newest row changes while the venue runs at 120x.
    page.wait_for_function(
        "(text) => { const row = document.querySelector('#signal-table tr.signal-row');"
        " return row && row.innerText !== text; }",
        arg=first_row,
        timeout=60_000,
    )
    # Indicators stay on the chart through live updates.
    names = page.evaluate(TRACES, GRAPH).keys()
    assert "RSI" in names and "BBANDS lowerband" in names
    page.close()
    assert errors == [], f"browser console errors: {errors}"
