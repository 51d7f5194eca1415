"""The analyst's pages in a real browser: Markets, Signals, Matrix, Compare and indicator parameters.

One app for the module (simulated venue at 60x, three symbols); each test opens its own page.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pandas as pd
import pytest
import requests
import talib

from tests.e2e.conftest import RunningApp, start_app, stop_app

pytestmark = pytest.mark.e2e

SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")

# A component's prop as the Dash renderer holds it (what callbacks and the chart read).
PROP = """([id, prop]) => {
    const state = window.store.getState();
    const path = state.paths.strs[id];
    if (!path) return undefined;
    let node = state.layout;
    for (const step of path) node = node[step];
    return node.props[prop];
}"""

# Rows in the order the grid shows them (after the user's filter and sort), all pages.
GRID_ROWS = """(id) => {
    const api = window.dash_ag_grid.getApi(id);
    const rows = [];
    api.forEachNodeAfterFilterAndSort((node) => rows.push(node.data));
    let total = 0;
    api.forEachNode(() => { total += 1; });
    return {rows: rows, total: total, filter: api.getFilterModel(),
            sort: api.getColumnState().filter((c) => c.sort).map((c) => [c.colId, c.sort])};
}"""


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    running = start_app(
        tmp_path_factory.mktemp("dashboard"),
        "--source",
        "sim",
        "--speed",
        "60",
        "--symbols",
        ",".join(SYMBOLS),
    )
    yield running
    stop_app(running)


def open_page(browser: Any, url: str, width: int = 1400) -> tuple[Any, list[str]]:
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.set_default_timeout(45_000)  # a shared 2-core machine can starve the app for a while
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto(url)
    return page, errors


def wait_grid(page: Any, grid: str, minimum: int, timeout: float = 30_000) -> None:
    page.wait_for_function(
        "([id, n]) => window.dash_ag_grid && (() => { try { const api = window.dash_ag_grid.getApi(id);"
        " let count = 0; api.forEachNode(() => { count += 1; }); return count >= n; }"
        " catch (e) { return false; } })()",
        arg=[grid, minimum],
        timeout=timeout,
    )


def wait_pushed(page: Any, component: str) -> None:
    """Until the page's push stream is up and has told the hub that it shows `component`."""
    page.wait_for_function(
        "(id) => { const p = window.thebotPush; return p && p.connected && (p.shows || []).includes(id); }",
        arg=component,
        timeout=30_000,
    )


def dash_requests(page: Any) -> list[str]:
    """The bodies of the page's Dash callback requests from now on."""
    bodies: list[str] = []
    page.on(
        "request",
        lambda request: (
            bodies.append(request.post_data or "") if "_dash-update-component" in request.url else None
        ),
    )
    return bodies


PRICES = """(id) => { const prices = {};
    window.dash_ag_grid.getApi(id).forEachNode((n) => { prices[n.data.symbol] = n.data.last_price; });
    return prices; }"""


def topic_builds(app: RunningApp) -> dict[str, int]:
    return dict(requests.get(f"{app.url}/api/health", timeout=10).json()["push"]["topic_builds"])


def test_markets_and_matrix_update_by_push_with_their_intervals_off(browser: Any, app: RunningApp) -> None:
    page, errors = open_page(browser, f"{app.url}/markets")
    wait_grid(page, "markets-grid", len(SYMBOLS))
    wait_pushed(page, "markets-grid")
    assert page.evaluate(PROP, ["markets-tick", "disabled"]) is True
    callbacks = dash_requests(page)
    builds = topic_builds(app)
    before = page.evaluate(PRICES, "markets-grid")
    page.wait_for_function(
        f"([id, before]) => {{ const now = ({PRICES})(id);"
        " return Object.keys(before).some((s) => now[s] !== before[s]); }",
        arg=["markets-grid", before],
        timeout=20_000,
    )
    assert page.evaluate(PROP, ["markets-tick", "disabled"]) is True
    assert not [body for body in callbacks if "markets-grid" in body], "rows came from a callback, not push"
    assert topic_builds(app)["markets"] > builds["markets"]

    # The matrix: redrawn by push (a candle closes every second at 60x), its interval off.
    page.goto(f"{app.url}/matrix")
    page.wait_for_function(
        "() => { const gd = document.querySelector('#matrix-graph .js-plotly-plot');"
        " if (!gd || !gd.on) return false; window.matrixDraws = 0;"
        " gd.on('plotly_afterplot', () => { window.matrixDraws += 1; }); return true; }",
    )
    wait_pushed(page, "matrix-graph")
    callbacks = dash_requests(page)
    page.wait_for_function("() => window.matrixDraws >= 2", timeout=30_000)
    assert page.evaluate(PROP, ["matrix-tick", "disabled"]) is True
    assert not [body for body in callbacks if "matrix-graph" in body]
    assert page.evaluate("() => window.thebotPush.shows") == ["matrix-graph"], "the Markets page was left"
    assert not errors, errors
    page.close()


def test_the_interval_takes_over_only_while_push_is_down(browser: Any, app: RunningApp) -> None:
    page, errors = open_page(browser, f"{app.url}/markets")
    wait_grid(page, "markets-grid", len(SYMBOLS))
    wait_pushed(page, "markets-grid")
    page.route("**/api/push*", lambda route: route.abort())
    page.evaluate("() => window.thebotPush.reopen()")  # the stream breaks; reconnecting fails
    page.wait_for_selector("#push-status.push-down", timeout=10_000)
    page.wait_for_function(f"() => ({PROP})(['markets-tick', 'disabled']) === false", timeout=10_000)
    callbacks = dash_requests(page)
    before = page.evaluate(PRICES, "markets-grid")
    page.wait_for_function(
        f"([id, before]) => {{ const now = ({PRICES})(id);"
        " return Object.keys(before).some((s) => now[s] !== before[s]); }",
        arg=["markets-grid", before],
        timeout=30_000,
    )
    assert [body for body in callbacks if "markets-grid" in body], "the fallback interval refreshed the rows"
    page.unroute("**/api/push*")
    page.wait_for_function("() => window.thebotPush.connected", timeout=30_000)
    page.wait_for_function(f"() => ({PROP})(['markets-tick', 'disabled']) === true", timeout=10_000)
    assert not page.locator("#push-status.push-down").count()
    assert not [error for error in errors if "push" not in error and "ERR_" not in error], errors
    page.close()


def test_watchlist_sorts_and_opens_a_chart(browser: Any, app: RunningApp) -> None:
    page, errors = open_page(browser, f"{app.url}/markets")
    wait_grid(page, "markets-grid", len(SYMBOLS))
    page.wait_for_function(
        "(id) => { const rows = []; window.dash_ag_grid.getApi(id).forEachNode((n) => rows.push(n.data));"
        " return rows.every((r) => r.change_percent !== null && r.sparkline.length > 5); }",
        arg="markets-grid",
        timeout=30_000,
    )
    page.locator("#markets-grid .ag-header-cell", has_text="24 h %").click()
    page.wait_for_function(
        "(id) => window.dash_ag_grid.getApi(id).getColumnState().some((c) => c.sort === 'asc')",
        arg="markets-grid",
    )
    shown = page.evaluate(GRID_ROWS, "markets-grid")
    changes = [row["change_percent"] for row in shown["rows"]]
    assert changes == sorted(changes) and {row["symbol"] for row in shown["rows"]} == set(SYMBOLS)
    assert all(len(row["sparkline"]) > 5 for row in shown["rows"])
    # The sparkline is drawn as a small SVG line in each row.
    assert page.locator("#markets-grid svg.sparkline polyline").count() == len(SYMBOLS)
    # The rendered first row is the smallest change.
    first = page.locator("#markets-grid .ag-pinned-left-cols-container .ag-row[row-index='0']")
    assert first.inner_text().strip() == shown["rows"][0]["symbol"]

    page.locator("#markets-grid .ag-pinned-left-cols-container .ag-cell", has_text="ETHUSDT").click()
    page.wait_for_url("**/?symbol=ETHUSDT&timeframe=1m", timeout=10_000)
    page.wait_for_selector("#price-chart", state="attached", timeout=10_000)  # the chart page
    assert page.evaluate(PROP, ["symbol-select", "value"]) == "ETHUSDT"
    assert not errors, errors
    page.close()


def test_signal_grid_filters_keeps_them_while_rows_arrive_and_shows_details(
    browser: Any, app: RunningApp
) -> None:
    page, errors = open_page(browser, f"{app.url}/signals")
    wait_grid(page, "signals-grid", 20)
    symbol_filter = page.get_by_label("Symbol Filter Input")
    symbol_filter.fill("ETHUSDT")
    page.locator("#signals-grid .ag-header-cell", has_text="Strength").click()  # sort by strength
    page.wait_for_function(
        "(id) => { const api = window.dash_ag_grid.getApi(id); const rows = [];"
        " api.forEachNodeAfterFilterAndSort((n) => rows.push(n.data));"
        " return api.getColumnState().some((c) => c.colId === 'strength' && c.sort)"
        " && rows.length > 0 && rows.every((r) => r.symbol === 'ETHUSDT'); }",
        arg="signals-grid",
    )
    before = page.evaluate(GRID_ROWS, "signals-grid")
    assert before["rows"] and all(row["symbol"] == "ETHUSDT" for row in before["rows"])
    # Rows arrive by push: the page's interval is off while the push stream is up.
    wait_pushed(page, "signals-feed")
    assert page.evaluate(PROP, ["signals-tick", "disabled"]) is True
    # New signals arrive (three symbols, a 1m candle closing every second).
    page.wait_for_function(
        "([id, n]) => { let count = 0; window.dash_ag_grid.getApi(id).forEachNode(() => { count += 1; });"
        " return count > n; }",
        arg=["signals-grid", before["total"]],
        timeout=45_000,
    )
    after = page.evaluate(GRID_ROWS, "signals-grid")
    assert after["total"] > before["total"]
    assert after["filter"] == before["filter"] and "symbol" in after["filter"]
    assert after["sort"] == before["sort"] == [["strength", "asc"]]
    assert all(row["symbol"] == "ETHUSDT" for row in after["rows"])
    strengths = [row["strength"] for row in after["rows"]]
    assert strengths == sorted(strengths)
    assert symbol_filter.input_value() == "ETHUSDT"
    assert page.evaluate(PROP, ["signals-tick", "disabled"]) is True
    # Pushed transactions applied in the page itself, without asking the server.
    assert page.evaluate("() => window.thebotSignals.applied") > 0

    # Details of one signal: clear the symbol filter, keep the RSI rule's rows, open the first.
    symbol_filter.fill("")

    page.get_by_label("Rule Filter Input").fill("rsi")
    page.wait_for_function(
        "(id) => { const rows = []; window.dash_ag_grid.getApi(id).forEachNodeAfterFilterAndSort("
        "(n) => rows.push(n.data)); return rows.length > 0 && rows.every((r) => r.rule === 'rsi'); }",
        arg="signals-grid",
    )
    row = page.evaluate(GRID_ROWS, "signals-grid")["rows"][0]
    page.locator(
        "#signals-grid .ag-center-cols-container .ag-row[row-index='0'] .ag-cell[col-id='reason']"
    ).click()
    modal = page.locator(".signal-modal")
    modal.wait_for(state="visible", timeout=30_000)
    page.wait_for_selector(".detail-indicator-value", timeout=30_000)
    assert row["reason"].replace(" (provisional)", "") in modal.inner_text()
    shown = float(page.locator(".detail-indicator-value").first.inner_text().replace(",", ""))
    answer = requests.get(
        f"{app.url}/api/indicators",
        params={
            "symbol": row["symbol"],
            "timeframe": row["timeframe"],
            "name": "RSI",
            "timeperiod": 14,
            "limit": 5000,
        },
        timeout=10,
    ).json()
    expected = next(item["values"]["real"] for item in answer if item["open_time"] == row["time"])
    assert shown == pytest.approx(expected, abs=1e-4)
    close = float(page.locator(".detail-candle-value").nth(3).inner_text().replace(",", ""))
    assert close == pytest.approx(row["price"], rel=1e-6)
    assert "Hit rate" in modal.inner_text() or "Not enough later candles" in modal.inner_text()
    link = page.locator(".detail-link").get_attribute("href")
    query = parse_qs(urlsplit(link).query)
    assert query == {"symbol": [row["symbol"]], "timeframe": [row["timeframe"]], "t": [str(row["time"])]}
    # The rule's record over the stored history: computed off the callback (the page queued it when it
    # loaded); while it computes (or before the store held candles) the modal says so, and opening an
    # RSI signal again shows the table.
    for _ in range(20):
        page.wait_for_selector(".detail-evidence p, .detail-evidence .evidence-table")
        if page.locator(".detail-evidence .evidence-table").count():
            break
        page.locator(".signal-modal .btn-close").click()
        modal.wait_for(state="hidden")
        page.wait_for_timeout(1_000)
        page.locator(
            "#signals-grid .ag-center-cols-container .ag-row[row-index='0'] .ag-cell[col-id='reason']"
        ).click()
        modal.wait_for(state="visible")
    record = page.locator(".detail-evidence .evidence-rule").first.inner_text().split()
    assert record[0] == "rsi" and int(record[1].replace(",", "")) > 0 and record[4] == "%"
    assert page.locator(".detail-evidence .evidence-total").inner_text().startswith("all rules")
    # (the grid moved on while the modal was reopened: compare with the signal the modal shows)
    title = page.locator(".signal-modal .detail-title").inner_text()
    symbol, timeframe = title.split(" · ")[1].split()
    caption = page.locator(".detail-evidence .evidence-caption").inner_text()
    assert caption.startswith(f"{symbol} {timeframe}, ") and "stored candles" in caption
    assert not errors, errors
    page.close()


def test_matrix_drills_into_a_chart(browser: Any, app: RunningApp) -> None:
    page, errors = open_page(browser, f"{app.url}/matrix")
    page.wait_for_function(
        "() => { const gd = document.querySelector('#matrix-graph .js-plotly-plot');"
        " return gd && gd._fullLayout && gd.data && gd.data[0].z.length === 3; }",
        timeout=20_000,
    )
    symbols = page.evaluate("() => document.querySelector('#matrix-graph .js-plotly-plot').data[0].y")
    assert [label.split()[0] for label in symbols] == list(SYMBOLS)
    assert all(any(grade in label for grade in ("BUY", "SELL", "NEUTRAL")) for label in symbols)
    # The cell of the second symbol and the third timeframe (15m), in page coordinates.
    point = page.evaluate(
        """() => { const gd = document.querySelector('#matrix-graph .js-plotly-plot');
        const box = gd.getBoundingClientRect(); const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
        return {x: box.left + xa._offset + xa.l2p(2),
                y: box.top + ya._offset + ya.l2p(1), timeframe: gd.data[0].x[2]}; }"""
    )
    page.mouse.click(point["x"], point["y"])
    page.wait_for_url(f"**/?symbol=ETHUSDT&timeframe={point['timeframe']}", timeout=10_000)
    page.wait_for_selector("#price-chart", state="attached", timeout=10_000)
    assert page.evaluate(PROP, ["symbol-select", "value"]) == "ETHUSDT"
    assert page.evaluate(PROP, ["timeframe-select", "value"]) == point["timeframe"]
    assert not errors, errors
    page.close()


def test_compare_rebases_to_100_and_correlation_equals_pandas(browser: Any, app: RunningApp) -> None:
    page, errors = open_page(browser, f"{app.url}/compare")
    page.wait_for_selector("#compare-window-span", timeout=30_000)
    page.wait_for_function(
        "() => ['#compare-performance', '#compare-correlation'].every((s) => {"
        " const gd = document.querySelector(s + ' .js-plotly-plot');"
        " return gd && gd.data && gd.data.length; })",
        timeout=30_000,
    )
    span = page.locator("#compare-window-span")
    start, end = int(span.get_attribute("data-start")), int(span.get_attribute("data-end"))
    symbols = span.get_attribute("data-symbols").split(",")
    timeframe = span.get_attribute("data-timeframe")
    assert symbols == list(SYMBOLS)
    lines = page.evaluate("() => document.querySelector('#compare-performance .js-plotly-plot').data")
    assert [line["name"] for line in lines] == symbols
    assert all(line["y"][0] == 100 for line in lines)
    assert len({len(line["x"]) for line in lines}) == 1 and lines[0]["x"][0] == start
    shown = page.evaluate("() => document.querySelector('#compare-correlation .js-plotly-plot').data[0].z")

    closes = {}
    for symbol in symbols:
        candles = requests.get(
            f"{app.url}/api/klines",
            params={"symbol": symbol, "timeframe": timeframe, "start": start, "end": end, "limit": 5000},
            timeout=10,
        ).json()
        closes[symbol] = pd.Series(
            {candle["open_time"]: candle["close"] for candle in candles if candle["closed"]}
        )
    frame = pd.DataFrame(closes).dropna()
    assert len(frame) == len(lines[0]["x"])
    expected = frame.pct_change().corr().to_numpy()
    np.testing.assert_allclose(np.asarray(shown, dtype=float), expected, rtol=0, atol=1e-9)
    # Indicators of the first symbol side by side, each with its statistics.
    page.wait_for_selector(".compare-stats-table tbody tr", timeout=10_000)
    names = page.locator(".compare-stats-table tbody tr td:first-child").all_inner_texts()
    assert names == ["RSI", "MFI", "CCI"]
    assert not errors, errors
    page.close()


def test_indicator_with_parameters_is_added_validated_and_kept(browser: Any, app: RunningApp) -> None:
    page, errors = open_page(browser, app.url)
    page.wait_for_selector("#indicator-form-name", timeout=20_000)
    page.click("#indicator-form-name")
    page.fill(".dash-dropdown-search", "EMA")
    page.locator(".dash-dropdown-content").get_by_text(re.compile("^EMA · ")).first.click()
    page.keyboard.press("Escape")
    field = page.locator("input[id*='timeperiod']")
    field.wait_for(timeout=10_000)
    assert field.input_value() == "30"  # TA-Lib's default, from the catalog

    field.fill("0")
    page.click("#indicator-form-add")
    page.wait_for_selector("#indicator-form-message.text-warning", timeout=10_000)
    assert "timeperiod" in page.inner_text("#indicator-form-message")
    assert page.evaluate(PROP, ["indicator-picker", "value"]) == []

    field.fill("50")
    page.click("#indicator-form-add")
    page.wait_for_function(
        "(prop) => { const v = (" + PROP + ")(prop); return v && v.includes('EMA?timeperiod=50'); }",
        arg=["indicator-picker", "value"],
        timeout=10_000,
    )
    field.fill("20")
    page.click("#indicator-form-add")
    page.wait_for_function(
        "(prop) => { const v = (" + PROP + ")(prop); return v && v.length === 2; }",
        arg=["indicator-picker", "value"],
        timeout=10_000,
    )
    assert page.evaluate(PROP, ["indicator-picker", "value"]) == ["EMA?timeperiod=50", "EMA?timeperiod=20"]
    assert "EMA · timeperiod=50" in page.inner_text("#indicator-picker")

    # The chart draws EMA 50 with TA-Lib's values (closes from the API, EMA computed here).
    page.wait_for_function(
        "() => { const gd = document.querySelector('#price-chart .js-plotly-plot'); return gd && gd.data"
        " && ['EMA(50)', 'EMA(20)'].every((n) => gd.data.some("
        "(t) => t.name === n && t.y.some((v) => v !== null))); }",
    )
    drawn = page.evaluate(
        "() => { const t = document.querySelector('#price-chart .js-plotly-plot').data"
        ".find((t) => t.name === 'EMA(50)'); return {x: t.x, y: t.y}; }"
    )
    symbol = page.evaluate(PROP, ["symbol-select", "value"])
    timeframe = page.evaluate(PROP, ["timeframe-select", "value"])
    candles = requests.get(
        f"{app.url}/api/klines", params={"symbol": symbol, "timeframe": timeframe, "limit": 5000}, timeout=10
    ).json()
    closes = np.array([candle["close"] for candle in candles], dtype=float)
    expected = dict(
        zip((c["open_time"] for c in candles), talib.EMA(closes, timeperiod=50).tolist(), strict=True)
    )
    pairs = [(x, y) for x, y in zip(drawn["x"][:-1], drawn["y"][:-1], strict=True) if y is not None][-50:]
    assert len(pairs) == 50  # the forming candle (last) is left out: its close moves
    for open_time, value in pairs:
        assert value == pytest.approx(expected[open_time], rel=1e-6)

    page.reload()
    page.wait_for_function(
        "(prop) => { try { const v = ("
        + PROP
        + ")(prop); return v && v.length === 2; } catch (e) { return false; } }",
        arg=["indicator-picker", "value"],
        timeout=20_000,
    )
    assert page.evaluate(PROP, ["indicator-picker", "value"]) == ["EMA?timeperiod=50", "EMA?timeperiod=20"]
    assert json.loads(page.evaluate("() => localStorage.getItem('indicator-picks-store')")) == [
        "EMA?timeperiod=50",
        "EMA?timeperiod=20",
    ]
    assert not [error for error in errors if "indicator" in error.lower()], errors
    page.close()


def test_pages_fit_a_phone_and_load_nothing_from_elsewhere(browser: Any, app: RunningApp) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.set_default_timeout(45_000)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{app.url}/markets")
    for path in ("/markets", "/signals", "/compare", "/matrix"):
        page.click(f".page-nav a[href='{path}']")  # the router swaps the page body, no reload
        page.wait_for_selector(f".{path.strip('/')}-page .page-title", timeout=20_000)
        page.wait_for_timeout(300)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} is {width} px wide on a 390 px phone"
        assert page.locator(".page-nav").bounding_box()["width"] <= 390
    assert all(url.startswith(app.url) for url in requested), requested
    assert any("dash_ag_grid" in url for url in requested)  # the grid's code, from this server
    # AG Grid Enterprise (commercial licence) ships in the package but is never loaded.
    assert not [url for url in requested if "enterprise" in url]
    page.close()
