"""Shared by the page benchmarks (`latency`, `tabs`): a venue and the app as child processes, Chromium.

The venue runs on its own (`python -m thebot.venue`) and the app connects to it with `--venue`, so the
benchmark can open its own socket to the same kline stream and the app's CPU time excludes the venue.
Needs the test tooling (Playwright) and Debian's Chromium at /usr/bin/chromium.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[3]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    # Every tab is a visible page: no background throttling of timers or animation frames.
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]
GRAPH = "#price-chart .js-plotly-plot"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Stack:
    venue_url: str
    app_url: str
    app: subprocess.Popen[bytes]


def _wait_http(url: str, process: subprocess.Popen[bytes], what: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not answer within {timeout:g} s")


@contextmanager
def running_stack(
    speed: float, symbols: str = "BTCUSDT,ETHUSDT", app_args: tuple[str, ...] = ()
) -> Iterator[Stack]:
    """A venue and the app (with `app_args`, e.g. `--config FILE`) as child processes."""
    venue_port, app_port = free_port(), free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    with tempfile.TemporaryDirectory(prefix="thebot-bench-") as data_dir:
        venue = subprocess.Popen(
            [sys.executable, "-m", "thebot.venue", "--port", str(venue_port), "--symbols", symbols,
             "--speed", str(speed), "--history-days", "2", "--log-level", "WARNING"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        app: subprocess.Popen[bytes] | None = None
        try:
            venue_url = f"http://127.0.0.1:{venue_port}"
            _wait_http(f"{venue_url}/api/v3/ping", venue, "venue")
            app = subprocess.Popen(
                [sys.executable, str(ROOT / "app.py"), "--venue", venue_url, "--port", str(app_port),
                 "--symbols", symbols, "--data-dir", data_dir, "--log-level", "WARNING", *app_args],
                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            app_url = f"http://127.0.0.1:{app_port}"
            _wait_http(f"{app_url}/api/health", app, "app")
            yield Stack(venue_url=venue_url, app_url=app_url, app=app)
        finally:
            for process in (app, venue):
                if process is not None:
                    process.terminate()
                    try:
                        process.wait(15)
                    except subprocess.TimeoutExpired:
                        process.kill()


@contextmanager
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"Chromium not found at {CHROMIUM}: apt-get install -y chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def open_chart(browser: Any, url: str, picks: list[str] | None = None) -> Any:
    """A tab on the chart page, its chart drawn (with `picks` added the way the picker adds them)."""
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(url)
    page.wait_for_function(
        "(s) => { const gd = document.querySelector(s); return gd && gd.data && gd.data.length"
        " && gd.data[0].close && gd.data[0].close.length > 10; }",
        arg=GRAPH,
        timeout=90_000,
    )
    if picks:
        page.evaluate("(v) => window.dash_clientside.set_props('indicator-picker', {value: v})", picks)
        page.wait_for_function(
            "([s, n]) => document.querySelector(s).data.length >= n",
            arg=[GRAPH, 2 + len(picks)],
            timeout=30_000,
        )
    return page


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks
