"""`python -m thebot.bench tabs`: the app's CPU seconds per second with 0, 1 and 10 Chromium tabs open.

The venue runs in its own process at speed 1 (not counted); the app's CPU time (all threads) comes from
/proc over `--seconds`, after every tab has drawn its page and `--warmup` seconds have passed. Each tab
shows the default chart page, or with `--page markets` the Markets page (`--symbols 100` streams that
many simulated symbols; the rows arrive by push, rebuilt at most once a second while a tab shows them).
Target (issue #8): CPU with 10 tabs ≤ 2 × CPU with 1 tab.

The browser's side is measured too: each tab's main-thread busy time (Chrome's `TaskDuration`, from the
DevTools protocol) per second, and every Chromium process's CPU time per second from /proc.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import time
from pathlib import Path
from typing import Any

import requests

from thebot.bench._browser import chromium, cpu_seconds, open_chart, running_stack

MARKETS_GRID = "markets-grid"


def app_cpu_per_second(pid: int, seconds: float) -> float:
    before, started = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return (cpu_seconds(pid) - before) / (time.monotonic() - started)


def symbol_names(count: int) -> list[str]:
    """`count` symbols for the simulated venue: the two real names first, then S002USDT, S003USDT, …"""
    names = ["BTCUSDT", "ETHUSDT"][:count]
    return names + [f"S{index:03d}USDT" for index in range(len(names), count)]


def open_markets(browser: Any, url: str, symbols: int) -> Any:
    """A tab on the Markets page, every symbol's row priced and with its sparkline."""
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(f"{url}/markets")
    page.wait_for_function(
        "([id, n]) => { if (!window.dash_ag_grid) return false; let api;"
        " try { api = window.dash_ag_grid.getApi(id); } catch (e) { return false; }"
        " const rows = []; api.forEachNode((node) => rows.push(node.data));"
        " return rows.length === n && rows.every((r) => r.last_price !== null && r.sparkline.length > 5); }",
        arg=[MARKETS_GRID, symbols],
        timeout=300_000,
    )
    page.wait_for_function(
        "(id) => { const p = window.thebotPush; return p && p.connected && (p.shows || []).includes(id); }",
        arg=MARKETS_GRID,
        timeout=60_000,
    )
    return page


def wait_backfilled(app_url: str, timeout: float = 900.0) -> float:
    """Seconds until the app's backfill has nothing running or queued (its CPU would swamp the figures)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        backfill = requests.get(f"{app_url}/api/health", timeout=10).json().get("backfill", {})
        if not backfill.get("running") and not backfill.get("queued"):
            break
        time.sleep(1.0)
    return round(time.monotonic() - started, 1)


def analytics_status(app_url: str) -> dict[str, int]:
    """Streams the analytics has opened of those it follows: with many symbols the start-up replay runs
    for minutes after the backfill, and the app's CPU figures include it until `streams_open` reaches
    `streams` (reported so a reader knows)."""
    status: dict[str, int] = requests.get(f"{app_url}/api/health", timeout=10).json().get("analytics", {})
    return status


def chromium_pids() -> list[int]:
    """Every Chromium process started under this one (Playwright's driver starts the browser)."""
    parents: dict[int, int] = {}
    names: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
        names[int(entry.name)] = name
    mine = {os.getpid()}
    changed = True
    while changed:
        changed = False
        for pid, parent in parents.items():
            if parent in mine and pid not in mine:
                mine.add(pid)
                changed = True
    return [pid for pid in mine if "chrom" in names.get(pid, "")]


def browser_cpu_seconds() -> float:
    total = 0.0
    for pid in chromium_pids():
        with contextlib.suppress(OSError):  # a process that ended in between
            total += cpu_seconds(pid)
    return total


def measure(pid: int, seconds: float, pages: list[Any], app_url: str) -> dict[str, Any]:
    """Over `seconds`: the app's CPU s/s, each tab's main-thread busy s/s, all Chromium's CPU s/s and the
    push hub's topic builds per second."""
    sessions = []
    for page in pages:
        session = page.context.new_cdp_session(page)
        session.send("Performance.enable")
        sessions.append(session)

    def task_seconds() -> list[float]:
        return [
            next(
                m["value"] for m in s.send("Performance.getMetrics")["metrics"] if m["name"] == "TaskDuration"
            )
            for s in sessions
        ]

    def builds() -> dict[str, int]:
        stats = requests.get(f"{app_url}/api/health", timeout=10).json().get("push", {})
        return dict(stats.get("topic_builds", {}))

    tasks, browser_before, builds_before = task_seconds(), browser_cpu_seconds(), builds()
    app_before, started = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - started
    app = (cpu_seconds(pid) - app_before) / elapsed
    tab = [(after - before) / elapsed for before, after in zip(tasks, task_seconds(), strict=True)]
    browser = (browser_cpu_seconds() - browser_before) / elapsed
    builds_after = builds()
    for session in sessions:
        session.detach()
    return {
        "app": round(app, 4),
        "tabs": [round(value, 4) for value in tab],
        "browser": round(browser, 4),
        "builds_per_s": {
            name: round((count - builds_before.get(name, 0)) / elapsed, 2)
            for name, count in builds_after.items()
            if count != builds_before.get(name, 0)
        },
    }


def run(argv: list[str]) -> dict[str, object]:
    parser = argparse.ArgumentParser(prog="python -m thebot.bench tabs")
    parser.add_argument("--seconds", type=float, default=30.0, help="measured time per step (default 30)")
    parser.add_argument("--warmup", type=float, default=10.0, help="settling time after opening tabs")
    parser.add_argument("--tabs", type=int, default=10)
    parser.add_argument("--page", choices=("chart", "markets"), default="chart")
    parser.add_argument("--symbols", type=int, default=2, help="simulated symbols streamed (default 2)")
    args = parser.parse_args(argv)
    names = symbol_names(args.symbols)
    result: dict[str, Any] = {
        "page": args.page,
        "symbols": len(names),
        "seconds": args.seconds,
        "tabs": args.tabs,
        "load_average_at_start": round(os.getloadavg()[0], 2),
    }
    with running_stack(1.0, ",".join(names)) as stack, chromium() as browser:
        pid = stack.app.pid

        def opener() -> Any:
            if args.page == "markets":
                return open_markets(browser, stack.app_url, len(names))
            return open_chart(browser, stack.app_url)

        # With many symbols the app is still backfilling for a while: wait until it is done.
        first = opener()
        first.close()
        result["backfill_seconds"] = wait_backfilled(stack.app_url)
        result["analytics_at_start"] = analytics_status(stack.app_url)
        time.sleep(args.warmup)
        result["cpu_0_tabs"] = round(app_cpu_per_second(pid, args.seconds), 4)
        pages = [opener()]
        time.sleep(args.warmup)
        one = measure(pid, args.seconds, pages, stack.app_url)
        result["cpu_1_tab"] = one["app"]
        result["tab_cpu_1_tab"] = one["tabs"][0]
        result["browser_cpu_1_tab"] = one["browser"]
        result["builds_per_s_1_tab"] = one["builds_per_s"]
        pages += [opener() for _ in range(args.tabs - 1)]
        time.sleep(args.warmup)
        many = measure(pid, args.seconds, pages, stack.app_url)
        result[f"cpu_{args.tabs}_tabs"] = many["app"]
        result[f"tab_cpu_{args.tabs}_tabs"] = many["tabs"]
        result[f"browser_cpu_{args.tabs}_tabs"] = many["browser"]
        result[f"builds_per_s_{args.tabs}_tabs"] = many["builds_per_s"]
        if args.page == "chart":
            stats = [
                page.evaluate(
                    "() => { const s = window.thebotPush.stats;"
                    " return {messages: s.chartMessages, resyncs: s.resyncs, reasons: s.resyncReasons}; }"
                )
                for page in pages
            ]
            result["chart_messages_per_tab"] = [item["messages"] for item in stats]
            result["full_figures_asked_per_tab"] = [item["resyncs"] for item in stats]
            result["full_figure_reasons"] = [item["reasons"] for item in stats]
        else:
            result["fallback_interval_disabled_per_tab"] = [
                page.evaluate(
                    "() => { const s = window.store.getState(); const path = s.paths.strs['markets-tick'];"
                    " let node = s.layout; for (const step of path) node = node[step];"
                    " return node.props.disabled; }"
                )
                for page in pages
            ]
        result["analytics_at_end"] = analytics_status(stack.app_url)
        for page in pages:
            page.close()
    ratio = result[f"cpu_{args.tabs}_tabs"] / max(result["cpu_1_tab"], 1e-9)
    result["ratio_many_to_one"] = round(ratio, 3)
    result["meets_target"] = ratio <= 2.0
    result["load_average_at_end"] = round(os.getloadavg()[0], 2)
    return result
