"""The production server's security floor, against the real `python app.py` over loopback sockets.

One tokened app for the module (a token set on loopback is enforced too), plus a start that must refuse.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from thebot.bench._browser import free_port

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "s3cret-token-for-the-test-5f2a9c"


@dataclass
class Server:
    url: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def auth(**headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}", **headers}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("secure")
    port = free_port()
    log_path = tmp / "app.log"
    env = {**os.environ, "THEBOT_AUTH_TOKEN": TOKEN}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "app.py"), "--port", str(port), "--source", "sim", "--speed", "60",
             "--data-dir", str(tmp / "data"), "--log-level", "DEBUG"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"app exited with {process.returncode}:\n{log_path.read_text()}")
        try:
            if requests.get(f"{url}/api/health", headers=auth(), timeout=1).status_code == 200:
                break
        except requests.RequestException:
            pass
        time.sleep(0.2)
    else:
        process.kill()
        raise AssertionError(f"app did not answer:\n{log_path.read_text()}")
    yield Server(url, port, process, log_path)
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()


def test_non_loopback_bind_without_token_refuses_to_start(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if key != "THEBOT_AUTH_TOKEN"}
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, str(ROOT / "app.py"), "--host", "0.0.0.0", "--port", str(free_port()),
         "--source", "sim", "--data-dir", str(tmp_path / "data")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "refusing to listen on 0.0.0.0 without an auth token" in result.stderr
    assert "THEBOT_AUTH_TOKEN" in result.stderr
    assert time.monotonic() - started < 30  # refused before any service started


def test_requests_without_the_token_get_401(server: Server) -> None:
    for path in ("/", "/api/health", "/api/push", "/_dash-layout"):
        response = requests.get(server.url + path, timeout=5)
        assert response.status_code == 401, path
        assert response.json() == {"error": "missing or wrong auth token"}
    wrong = requests.get(server.url + "/api/health", headers={"Authorization": "Bearer nope"}, timeout=5)
    assert wrong.status_code == 401


def test_the_token_opens_everything_and_a_browser_gets_a_cookie(server: Server) -> None:
    assert requests.get(server.url + "/api/health", headers=auth(), timeout=5).status_code == 200
    session = requests.Session()
    first = session.get(f"{server.url}/?token={TOKEN}", allow_redirects=False, timeout=5)
    assert first.status_code == 303 and first.headers["location"] == "/"
    cookie = first.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    page = session.get(server.url + "/", timeout=5)
    assert page.status_code == 200 and "thebot" in page.text
    assert session.get(server.url + "/api/health", timeout=5).status_code == 200


def test_a_foreign_host_header_is_refused(server: Server) -> None:
    # DNS rebinding: evil.example resolved to 127.0.0.1 still says who it is in the Host header.
    response = requests.get(server.url + "/api/health", headers=auth(Host="evil.example"), timeout=5)
    assert response.status_code == 400
    assert "evil.example" in response.json()["error"]
    ok = requests.get(server.url + "/api/health", headers=auth(Host=f"localhost:{server.port}"), timeout=5)
    assert ok.status_code == 200


def test_state_changing_requests_must_be_same_origin_json(server: Server) -> None:
    body = '{"output": "x"}'
    endpoint = server.url + "/_dash-update-component"
    json_type = {"Content-Type": "application/json"}
    cross = requests.post(endpoint, data=body, headers=auth(**json_type, Origin="http://evil.example"))
    assert cross.status_code == 403
    site = requests.post(endpoint, data=body, headers=auth(**json_type, **{"Sec-Fetch-Site": "cross-site"}))
    assert site.status_code == 403
    for content_type in (
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ):
        response = requests.post(
            endpoint, data=body, headers=auth(**{"Content-Type": content_type}), timeout=5
        )
        assert response.status_code == 415, content_type
        assert response.json() == {"error": "send application/json"}
    no_type = requests.delete(server.url + "/api/health", headers=auth(), timeout=5)
    assert no_type.status_code == 415


def test_same_origin_json_reaches_dash_and_the_api_keeps_its_contract(server: Server) -> None:
    callback = {
        "output": "chart-full.data",
        "outputs": {"id": "chart-full", "property": "data"},
        "inputs": [
            {"id": "symbol-select", "property": "value", "value": "BTCUSDT"},
            {"id": "timeframe-select", "property": "value", "value": "1m"},
            {"id": "indicator-picker", "property": "value", "value": []},
            {"id": "chart-resync", "property": "data", "value": 0},
            {"id": "marker-strength", "property": "value", "value": 0.7},
            {"id": "marker-rules", "property": "value", "value": None},
            {"id": "theme", "property": "title", "value": "dark"},
        ],
        "changedPropIds": ["symbol-select.value"],
        "state": [],
    }
    response = requests.post(
        server.url + "/_dash-update-component",
        json=callback,
        headers=auth(Origin=server.url),
        timeout=30,
    )
    assert response.status_code == 200
    assert response.json()["response"]["chart-full"]["data"]["state"]["symbol"] == "BTCUSDT"
    klines = requests.get(
        server.url + "/api/klines?symbol=BTCUSDT&timeframe=1m&limit=3", headers=auth(), timeout=5
    )
    assert klines.status_code == 200
    assert set(klines.json()[0]) == {"open_time", "open", "high", "low", "close", "volume", "closed"}
    bad = requests.get(server.url + "/api/klines?symbol=NOPE&timeframe=1m", headers=auth(), timeout=5)
    assert bad.status_code == 400 and "unknown symbol 'NOPE'" in bad.json()["error"]


def test_the_push_stream_needs_the_token_and_speaks_sse(server: Server) -> None:
    with requests.get(server.url + "/api/push", headers=auth(), stream=True, timeout=10) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = response.iter_lines(decode_unicode=True)
        first_data = next(line for line in lines if line.startswith("data: "))
        assert '"connection-status"' in first_data


def test_the_token_never_reaches_the_log(server: Server) -> None:
    requests.get(f"{server.url}/api/health?token={TOKEN}", timeout=5)
    requests.get(server.url + "/api/health", headers={"Authorization": f"Bearer {TOKEN}x"}, timeout=5)
    log = server.log()
    assert "refused" in log  # the refusals are logged...
    assert TOKEN not in log  # ...without the token, even at DEBUG
