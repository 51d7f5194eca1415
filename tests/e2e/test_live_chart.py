"""A user opens the dashboard: the chart moves, appends, switches timeframe and keeps their zoom."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.conftest import RunningApp, start_app, stop_app

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


def test_live_chart_end_to_end(browser: Any, sim_app: RunningApp, tmp_path: Path) -> None:
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

    # 4b) A click on the chart offers an alert at that price; the link opens the alert form for it.
    box = page.locator(f"{GRAPH} .nsewdrag").first.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    page.wait_for_selector("#chart-alert-link a", timeout=10_000)
    href = page.get_attribute("#chart-alert-link a", "href")
    assert href is not None and href.startswith("/alerts?symbol=BTCUSDT&timeframe=5m&price=")
    assert "Alert when BTCUSDT crosses" in page.inner_text("#chart-alert-link")
    alerts_page = browser.new_page()
    alerts_page.goto(sim_app.url + href)
    alerts_page.wait_for_selector("#nav-alerts.active", timeout=20_000)
    alerts_page.close()

    # 5) The push channel is what moves the chart: no dcc.Interval anywhere in the page, the chart's
    #    last close is the last pushed close, and every chart update came as a small pushed message.
    layout = requests.get(f"{sim_app.url}/_dash-layout", timeout=10).text
    assert '"type":"Interval"' not in layout.replace(" ", "")
    pushed = page.evaluate(
        "(s) => { const p = window.thebotPush.stats; const gd = document.querySelector(s);"
        " const n = gd.data[0].close.length; const last = p.applied[p.applied.length - 1];"
        " return {messages: p.chartMessages, last: last, shown: gd.data[0].close[n - 1],"
        " bytes: p.chartBytes.slice().sort((a, b) => a - b)}; }",
        GRAPH,
    )
    assert pushed["messages"] >= 5
    page.wait_for_function(
        "(s) => { const p = window.thebotPush.stats; const gd = document.querySelector(s);"
        " const last = p.applied[p.applied.length - 1]; const c = gd.data[0].close;"
        " return last && c[c.length - 1] === last.close; }",
        arg=GRAPH,
        timeout=10_000,
    )
    median = pushed["bytes"][len(pushed["bytes"]) // 2]
    assert median < 2_000, f"median pushed chart message {median} bytes"

    # 6) The server goes away: the page says so at once, and when a server is back on the same address it
    #    reconnects by itself, asks for a fresh figure and the chart moves again.
    port = int(sim_app.url.rsplit(":", 1)[1])
    stop_app(sim_app)
    page.wait_for_function(
        "() => document.querySelector('#push-status').classList.contains('push-down')", timeout=20_000
    )
    assert "reconnecting" in page.inner_text("#push-status")
    restarted = start_app(tmp_path, "--source", "sim", "--speed", "60", port=port)
    try:
        page.wait_for_function(
            "() => !document.querySelector('#push-status').classList.contains('push-down')", timeout=30_000
        )
        count = page.evaluate("() => window.thebotPush.stats.chartMessages")
        page.wait_for_function("(n) => window.thebotPush.stats.chartMessages > n", arg=count, timeout=20_000)
    finally:
        stop_app(restarted)
    page.close()
    # While the server was down the browser logged its failed requests; nothing else may be there.
    expected = ("ERR_CONNECTION_REFUSED", "ERR_INCOMPLETE_CHUNKED_ENCODING", "ERR_EMPTY_RESPONSE", "500")
    errors = [error for error in errors if not any(code in error for code in expected)]
    assert errors == [], f"browser console errors: {errors}"
