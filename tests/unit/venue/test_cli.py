"""`python -m thebot.venue` runs the venue alone and tells the user where it listens."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.unit.venue.venue_helpers import http
from thebot.venue.__main__ import main, parse_arguments

ROOT = Path(__file__).resolve().parents[3]


def test_flags_become_the_venue_config(tmp_path: Path) -> None:
    config = parse_arguments(
        [
            "--port",
            "9555",
            "--symbols",
            "btcusdt, ETHUSDT,SOLUSDT",
            "--speed",
            "60",
            "--seed",
            "3",
            "--history-days",
            "2",
            "--state",
            str(tmp_path / "state.json"),
            "--account",
            "alice:alice-secret",
            "--account",
            "bob:bob:secret",
            "--slippage-bps",
            "5",
        ]
    )
    assert config.port == 9555 and config.speed == 60.0 and config.seed == 3 and config.history_days == 2.0
    assert config.symbols == ("BTCUSDT", "ETHUSDT", "SOLUSDT")
    assert config.accounts == (("alice", "alice-secret"), ("bob", "bob:secret"))
    assert config.state == tmp_path / "state.json"
    assert config.slippage_bps == 5.0 and config.fee_rate == 0.001


@pytest.mark.parametrize(
    "arguments",
    [["--account", "no-secret"], ["--speed", "0"], ["--symbols", "BTC-USDT"], ["--port", "70000"]],
)
def test_bad_flags_stop_with_a_message(arguments: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        parse_arguments(arguments)
    assert stopped.value.code == 2
    assert "error" in capsys.readouterr().err


def test_running_alone_prints_its_urls_and_serves() -> None:
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "thebot.venue",
            "--port",
            "0",
            "--history-days",
            "0.1",
            "--symbols",
            "BTCUSDT",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=environment,
        cwd=ROOT,
    )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 20
        url = None
        while url is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            if line.startswith("REST"):
                url = line.split()[1].removesuffix("/api/v3/")
        assert url is not None and url.startswith("http://127.0.0.1:")
        assert http(url, "/api/v3/ping") == (200, {})
        streams = process.stdout.readline()
        assert "ws://127.0.0.1:" in streams and "/stream?streams=" in streams
    finally:
        process.terminate()
        process.wait(10)


def test_a_busy_port_or_a_bad_replay_file_stops_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(SystemExit) as stopped:
            main(["--port", str(port), "--history-days", "0.1", "--symbols", "BTCUSDT"])
    assert stopped.value.code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err
    bad = tmp_path / "BTCUSDT-bad.csv"
    bad.write_text("open_time,open,high\n1,2,3\n")
    with pytest.raises(SystemExit):
        main(["--port", "0", "--replay", str(bad), "--symbols", "BTCUSDT"])
    assert "missing column(s) close, low, volume" in capsys.readouterr().err
