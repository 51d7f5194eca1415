"""The chart page as an analyst uses it: badges, marker filter, zoom under live updates, light theme and
a 390 px phone. One app (simulated venue at speed 60) for the whole module."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.conftest import RunningApp

pytestmark = pytest.mark.e2e

GRAPH = "#price-chart .js-plotly-plot"
READY = (
    "(s) => { const gd = document.querySelector(s); return gd && gd.data && gd.data.length"
    " && gd.data[0].x && gd.data[0].x.length > 50; }"
)
MARKERS = """(s) => {
    const gd = document.querySelector(s);
    const out = [];
    for (const trace of gd.data) {
        if (trace.name === 'BUY signals' || trace.name === 'SELL signals') {
            (trace.text || []).forEach((text) => out.push(text));
        }
    }
    return out;
}"""
TAIL = """(s) => {
    const gd = document.querySelector(s);
    const x = gd.data[0].x;
    const ms = (v) => (typeof v === 'number' ? v : Date.parse(String(v).replace(' ', 'T') + 'Z'));
    const range = gd.layout.xaxis && !gd.layout.xaxis.autorange && gd.layout.xaxis.range;
    return {n: x.length, last: x[x.length - 1], range: range ? range.map(ms) : null,
            bg: gd.layout.paper_bgcolor, font: gd.layout.font && gd.layout.font.color,
            grid: gd.layout.xaxis && gd.layout.xaxis.gridcolor};
}"""


def open_chart(browser: Any, app: RunningApp, width: int = 1400, height: int = 900) -> tuple[Any, Any]:
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.goto(app.url, timeout=60_000)
    page.wait_for_function(READY, arg=GRAPH, timeout=90_000)
    return context, page


def strengths(texts: list[str]) -> list[float]:
    return [float(re.search(r"strength ([0-9.]+)", text).group(1)) for text in texts]  # type: ignore[union-attr]


def choose_strength(page: Any, label: str) -> None:
    page.click("#marker-strength")
    page.locator(".dash-dropdown-content").get_by_text(label, exact=True).first.click()


def test_badges_show_the_ticker_health_and_lag_against_the_venue_clock(
    browser: Any, sim_app: RunningApp
) -> None:
    context, page = open_chart(browser, sim_app)
    try:
        page.wait_for_function(
            "() => /[0-9]/.test(document.querySelector('#metric-volume').innerText)"
            " && /ms|s/.test(document.querySelector('#metric-lag').innerText)"
            " && /[0-9]/.test(document.querySelector('#metric-lag').innerText)",
            timeout=60_000,
        )
        text = {
            name: page.inner_text(f"#metric-{name}").strip()
            for name in ("last-price", "change", "range", "volume", "signals", "health", "lag")
        }
        assert re.fullmatch(r"[+-][0-9.]+%", text["change"]), text
        assert " / " in text["range"]
        assert re.fullmatch(r"[0-9.]+[kMBT]?", text["volume"]), text
        assert re.fullmatch(r"[0-9]+\+?", text["signals"]), text
        assert text["health"] == "Live"
        # Lag in venue ms, flagged with the venue clock's rate (about ×60 here).
        match = re.fullmatch(r"(-?[0-9,.]+) (ms|s) ×([0-9]+)", text["lag"])
        assert match is not None, text["lag"]
        assert 40 <= int(match.group(3)) <= 80
        assert page.locator("#confluence-badge .badge").count() == 1
        # The badges keep moving by push: the price or change moves within a few seconds.
        before = (text["last-price"], text["change"], text["lag"])
        page.wait_for_function(
            "(b) => [document.querySelector('#metric-last-price').innerText,"
            " document.querySelector('#metric-change').innerText,"
            " document.querySelector('#metric-lag').innerText].join('|') !== b.join('|')",
            arg=list(before),
            timeout=10_000,
        )
    finally:
        context.close()


def test_marker_filter_is_calm_by_default_kept_across_reloads_and_all_on_request(
    browser: Any, sim_app: RunningApp
) -> None:
    context, page = open_chart(browser, sim_app)
    try:
        page.wait_for_function(
            "(s) => { const gd = document.querySelector(s); return gd.data.some("
            "(t) => (t.name === 'BUY signals' || t.name === 'SELL signals') && t.x.length); }",
            arg=GRAPH,
            timeout=60_000,
        )
        calm = page.evaluate(MARKERS, GRAPH)
        assert calm and min(strengths(calm)) >= 0.7
        choose_strength(page, "all strengths")
        page.wait_for_function(
            "([s, n]) => { let c = 0; for (const t of document.querySelector(s).data) {"
            " if (t.name === 'BUY signals' || t.name === 'SELL signals') c += t.x.length; } return c > n; }",
            arg=[GRAPH, len(calm)],
            timeout=15_000,
        )
        everything = page.evaluate(MARKERS, GRAPH)
        assert min(strengths(everything)) < 0.7

        # Rules off: untick every rule family; no marker is left.
        page.click(".marker-rules-summary")
        for box in page.locator("#marker-rules input[type=checkbox]").all():
            if box.is_checked():
                box.click()
        page.wait_for_function(
            "(s) => document.querySelector(s).data.filter("
            "(t) => t.name === 'BUY signals' || t.name === 'SELL signals').every((t) => !t.x.length)",
            arg=GRAPH,
            timeout=15_000,
        )
        # Kept in local storage: a reload shows the same choice.
        page.reload()
        page.wait_for_function(READY, arg=GRAPH, timeout=90_000)
        page.wait_for_timeout(1_500)
        assert page.evaluate(MARKERS, GRAPH) == []
        assert "all strengths" in page.inner_text("#marker-strength")
        page.click(".marker-rules-summary")
        for box in page.locator("#marker-rules input[type=checkbox]").all():
            box.click()
        choose_strength(page, "strength ≥ 0.70")
    finally:
        context.close()


def test_zoom_survives_ten_seconds_of_live_updates_and_a_theme_change(
    browser: Any, sim_app: RunningApp
) -> None:
    context, page = open_chart(browser, sim_app)
    try:
        tail = page.evaluate(TAIL, GRAPH)
        assert tail["bg"] == "#131722"  # dark by default
        # Zoom as a user does: the mouse wheel over the plot (scrollZoom is on).
        box = page.locator("#price-chart .nsewdrag").first.bounding_box()
        assert box is not None
        page.mouse.move(box["x"] + box["width"] * 0.7, box["y"] + box["height"] / 2)
        for _ in range(4):
            page.mouse.wheel(0, -240)
            page.wait_for_timeout(150)
        page.wait_for_function(
            "(s) => { const a = document.querySelector(s).layout.xaxis;"
            " return a && !a.autorange && a.range; }",
            arg=GRAPH,
            timeout=10_000,
        )
        page.wait_for_timeout(500)
        start = page.evaluate(TAIL, GRAPH)
        span = start["range"][1] - start["range"][0]
        assert span < 0.8 * (
            tail["last"] - page.evaluate("(s) => document.querySelector(s).data[0].x[0]", GRAPH)
        )
        time.sleep(10)
        after = page.evaluate(TAIL, GRAPH)
        assert after["last"] >= start["last"] + 5 * 60_000, "no new candles arrived in 10 s at speed 60"
        assert after["range"] == start["range"], "the zoom moved under live updates"

        # A live theme change redraws the figure in light colours and keeps the zoom.
        response = requests.patch(f"{sim_app.url}/api/settings", json={"ui": {"theme": "light"}}, timeout=5)
        assert response.status_code == 200, response.text
        try:
            page.wait_for_function(
                "(s) => document.querySelector(s).layout.paper_bgcolor === '#ffffff'",
                arg=GRAPH,
                timeout=10_000,
            )
            light = page.evaluate(TAIL, GRAPH)
            assert light["font"] == "#1d2330" and light["grid"] == "#e3e6ee"
            assert light["range"] == start["range"]
            assert page.evaluate("() => document.documentElement.classList.contains('theme-light')")
        finally:
            requests.patch(f"{sim_app.url}/api/settings", json={"ui": {"theme": "dark"}}, timeout=5)
        page.wait_for_function(
            "(s) => document.querySelector(s).layout.paper_bgcolor === '#131722'", arg=GRAPH, timeout=10_000
        )
    finally:
        context.close()


def test_phone_width_has_no_horizontal_overflow(browser: Any, sim_app: RunningApp, tmp_path: Path) -> None:
    context, page = open_chart(browser, sim_app, width=390, height=844)
    try:
        page.wait_for_function(
            "() => /[0-9]/.test(document.querySelector('#metric-last-price').innerText)", timeout=20_000
        )
        page.wait_for_timeout(1_000)
        widths = page.evaluate(
            "() => ({doc: document.documentElement.scrollWidth, body: document.body.scrollWidth,"
            " chart: document.querySelector('#price-chart').getBoundingClientRect().width})"
        )
        shot = tmp_path / "chart-390.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
        assert widths["doc"] <= 390, widths
        assert widths["body"] <= 390, widths
        assert 300 <= widths["chart"] <= 390, widths
        # The marker filter opened on a phone still fits.
        page.click(".marker-rules-summary")
        page.wait_for_timeout(300)
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    finally:
        context.close()
