"""Browser tests: the real app in a subprocess (simulated venue on loopback) and Debian's Chromium.

Under CI=true a missing browser is a failure, never a skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from thebot.bench._browser import CHROMIUM, CHROMIUM_ARGS, free_port

ROOT = Path(__file__).resolve().parents[2]

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "ROOT", "RunningApp", "free_port", "start_app", "stop_app"]


@dataclass
class RunningApp:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_app(tmp_path: Path, *extra: str, timeout: float = 60.0, port: int | None = None) -> RunningApp:
    port = port or free_port()
    log_path = tmp_path / f"app-{port}.log"
    log_file = log_path.open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "app.py"),
            "--port",
            str(port),
            "--data-dir",
            str(tmp_path / "data"),
            *extra,
        ],
        cwd=ROOT,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"app exited with {process.returncode}:\n{log_path.read_text()}")
        try:
            if requests.get(f"{url}/api/health", timeout=1).status_code == 200:
                return RunningApp(url, process, log_path)
        except requests.RequestException:
            pass
        time.sleep(0.2)
    process.kill()
    raise AssertionError(f"app did not answer within {timeout} s:\n{log_path.read_text()}")


def stop_app(app: RunningApp) -> None:
    app.process.terminate()
    try:
        app.process.wait(10)
    except subprocess.TimeoutExpired:
        app.process.kill()
        app.process.wait(5)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Per module: Playwright's sync API keeps an asyncio loop running in the main thread while it lives,
    and tests after the browser tests need `asyncio.run` there."""
    executable = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    if executable is None:
        message = "Chromium not found at /usr/bin/chromium: apt-get install -y chromium"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def sim_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    app = start_app(tmp_path_factory.mktemp("app"), "--source", "sim", "--speed", "60")
    yield app
    stop_app(app)
