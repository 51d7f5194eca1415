"""A user opens the dashboard: the chart moves, appends, switches timeframe and keeps their zoom."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.e2e.conftest import RunningApp

pytestmark = pytest.mark.e2e

GRAPH = "#price-chart .js-plotly-plot"


def chart_tail(page: Any) -> dict[str, Any] | None:
    return page.evaluate(
        """(selector) => {
            const gd = document.querySelector(selector);
            if (!gd || !gd.data || !gd.data.length || !gd.data[0].x || !gd.data[0].x.length) return null;
            const trace = gd.data[0];
            const n = trace.x.length;
            return {n: n, x: trace.x[n - 1], close: trace.close[n - 1], high: trace.high[n - 1],
                    low: trace.low[n - 1], step: n > 1 ? trace.x[n - 1] - trace.x[n - 2] : null,
                    range: gd.layout.xaxis && gd.layout.xaxis.range ? gd.layout.xaxis.range.slice() : null};
        }""",
        GRAPH,
    )


def test_live_chart_end_to_end(browser: Any, sim_app: RunningApp) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(sim_app.url)
    page.wait_for_selector("#sim-badge", timeout=20_000)
    assert "Simulated market" in page.inner_text("#sim-badge")
    page.wait_for_function(
        "(s) => { const gd = document.querySelector(s); return gd && gd.data && gd.data.length"
        " && gd.data[0].x && gd.data[0].x.length > 10; }",
        arg=GRAPH,
        timeout=30_000,
    )

    # 1) The forming candle changes at least twice and a new candle is appended within 15 s.
    first = chart_tail(page)
    assert first is not None and first["step"] == 60_000
    seen_changes = 0
    appended = False
    previous = first
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not (seen_changes >= 2 and appended):
        time.sleep(0.2)
        current = chart_tail(page)
        assert current is not None
        if current["x"] == previous["x"] and (
            current["close"],
            current["high"],
            current["low"],
        ) != (previous["close"], previous["high"], previous["low"]):
            seen_changes += 1
        if current["x"] > first["x"]:
            appended = True
            assert current["x"] - first["x"] >= 60_000
        previous = current
    assert seen_changes >= 2, f"the forming candle changed only {seen_changes} times in 15 s"
    assert appended, "no new candle was appended within 15 s"

    # 2) A zoom survives live updates (uirevision + Patch updates leave the layout alone).
    tail = chart_tail(page)
    assert tail is not None
    zoom = [tail["x"] - 40 * 60_000, tail["x"] + 5 * 60_000]
    page.evaluate(
        "([s, r]) => window.Plotly.relayout(document.querySelector(s), {'xaxis.range': r})", [GRAPH, zoom]
    )
    before = chart_tail(page)
    page.wait_for_function(
        "([s, x]) => { const gd = document.querySelector(s); const n = gd.data[0].x.length;"
        " return gd.data[0].x[n - 1] > x; }",
        arg=[GRAPH, before["x"]],
        timeout=15_000,
    )
    after = chart_tail(page)
    assert after is not None and after["range"] is not None
    assert [round(float(v)) if not isinstance(v, str) else v for v in after["range"]] == [
        round(float(v)) if not isinstance(v, str) else v for v in before["range"]
    ], "the zoom was reset by a live update"

    # 3) Switching timeframe rebuilds the chart on 5-minute candles.
    page.click("label:has-text('5m')")
    page.wait_for_function(
        "(s) => { const gd = document.querySelector(s); const x = gd.data[0].x; const n = x.length;"
        " return n > 2 && x[n - 1] - x[n - 2] === 300000; }",
        arg=GRAPH,
        timeout=15_000,
    )

    # 4) The status badge reports a live connection and the metrics show a price.
    page.wait_for_function(
        "() => document.querySelector('#connection-status').innerText.trim() === 'Live'", timeout=15_000
    )
    assert page.inner_text("#metric-last-price").strip() not in ("", "—")
    page.close()
    assert errors == [], f"browser console errors: {errors}"
