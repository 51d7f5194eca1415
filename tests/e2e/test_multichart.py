"""A user opens four charts side by side: each pane draws its stream, the 1m pane moves by push alone."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.e2e.conftest import RunningApp

pytestmark = pytest.mark.e2e

TIMEFRAMES = ("1m", "5m", "15m", "1h")
STEPS = {"1m": 60_000, "5m": 300_000, "15m": 900_000, "1h": 3_600_000}


def wait_for_panes(page: Any, count: int) -> None:
    """Until the first `count` panes each draw a few candles."""
    page.wait_for_function(
        """(count) => [...Array(count).keys()].every((index) => {
            const gd = document.querySelector('#multi-graph-' + index + ' .js-plotly-plot');
            return gd && gd.data && gd.data.length && gd.data[0].x && gd.data[0].x.length > 2;
        })""",
        arg=count,
        timeout=40_000,
    )


def pane_tails(page: Any) -> list[dict[str, Any] | None]:
    return page.evaluate(
        """() => [0, 1, 2, 3].map((index) => {
            const gd = document.querySelector('#multi-graph-' + index + ' .js-plotly-plot');
            if (!gd || !gd.data || !gd.data.length || !gd.data[0].x || gd.data[0].x.length < 2) return null;
            const trace = gd.data[0];
            const n = trace.x.length;
            const box = gd.getBoundingClientRect();
            return {n: n, x: trace.x[n - 1], close: trace.close[n - 1], step: trace.x[n - 1] - trace.x[n - 2],
                    left: box.left, top: box.top, width: box.width, height: box.height};
        })"""
    )


def test_four_panes_side_by_side_update_live_by_push(browser: Any, sim_app: RunningApp) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    requests: list[str] = []
    page.on("request", lambda request: requests.append(f"{request.url} {request.post_data or ''}"))
    page.goto(f"{sim_app.url}/multi?symbol=BTCUSDT&timeframes={','.join(TIMEFRAMES)}")
    wait_for_panes(page, 4)

    # Four charts, each of its timeframe, laid out 2x2.
    tails = pane_tails(page)
    assert all(tail is not None for tail in tails), tails
    assert [tail["step"] for tail in tails if tail] == [STEPS[frame] for frame in TIMEFRAMES]
    boxes = [(round(tail["left"]), round(tail["top"])) for tail in tails if tail]
    assert boxes[0][1] == boxes[1][1] and boxes[0][0] < boxes[1][0], boxes  # first row: side by side
    assert boxes[2][1] > boxes[0][1] and boxes[2][0] == boxes[0][0], boxes  # second row under it
    assert "/multi?symbol=BTCUSDT&timeframes=1m,5m,15m,1h" in page.url

    # The 1m pane's last candle changes within a few seconds, applied from pushed messages: the pane's
    # counter in the push script grows and no Dash callback request is made meanwhile (nothing polls).
    first = tails[0]
    assert first is not None
    pushed_before = page.evaluate(
        "() => (window.thebotPush.paneStats['multi-graph-0'] || {}).chartMessages || 0"
    )
    requests.clear()
    changed = False
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline and not changed:
        time.sleep(0.2)
        current = pane_tails(page)[0]
        assert current is not None
        changed = (current["x"], current["close"]) != (first["x"], first["close"])
    assert changed, "the 1m pane's last candle did not change within 8 s"
    stats = page.evaluate("() => window.thebotPush.paneStats['multi-graph-0']")
    assert stats["chartMessages"] > pushed_before
    assert stats["last"] is not None
    # (The toast layer's callback may run on a stream (re)connect; no callback of the panes may.)
    chart_calls = [item for item in requests if "_dash-update-component" in item and "multi-" in item]
    assert not chart_calls, chart_calls

    # Two panes: the grid becomes 2x1 and the address bar follows; the hidden panes stop being followed.
    page.click("#multi-count label:has-text('2')")
    page.wait_for_function(
        "() => window.location.search === '?symbol=BTCUSDT&timeframes=1m,5m'", timeout=10_000
    )
    page.wait_for_function(
        "() => Object.keys(window.thebotPush.panes).sort().join() === 'multi-graph-0,multi-graph-1'",
        timeout=10_000,
    )
    visible = page.evaluate(
        "() => [0, 1, 2, 3].map((i) => document.getElementById('multi-graph-' + i).offsetParent !== null)"
    )
    assert visible == [True, True, False, False]

    # A pane's timeframe changes: it redraws in that timeframe and keeps moving.
    page.click("#multi-timeframe-1")
    page.locator(".dash-dropdown-content").get_by_text("15m", exact=True).click()
    page.wait_for_function(
        """() => { const gd = document.querySelector('#multi-graph-1 .js-plotly-plot');
            const x = gd && gd.data && gd.data[0] && gd.data[0].x;
            return x && x.length > 2 && x[x.length - 1] - x[x.length - 2] === 900000; }""",
        timeout=15_000,
    )
    page.wait_for_function(
        "() => window.location.search === '?symbol=BTCUSDT&timeframes=1m,15m'", timeout=10_000
    )
    assert not [error for error in errors if "favicon" not in error], errors

    # A pane's "open" link leads to the Chart page on its stream.
    page.click("#multi-open-1")
    page.wait_for_function(
        """() => { const gd = document.querySelector('#price-chart .js-plotly-plot');
            const x = gd && gd.data && gd.data[0] && gd.data[0].x;
            return window.location.pathname === '/' && x && x.length > 2
                && x[x.length - 1] - x[x.length - 2] === 900000; }""",
        timeout=20_000,
    )
    page.close()


def test_a_phone_stacks_the_panes(browser: Any, sim_app: RunningApp) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{sim_app.url}/multi?symbol=ETHUSDT&timeframes=1m,5m")
    wait_for_panes(page, 2)
    tails = pane_tails(page)
    first, second = tails[0], tails[1]
    assert first is not None and second is not None
    assert second["top"] > first["top"] + first["height"] - 1, "the panes are not stacked"
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    page.close()
