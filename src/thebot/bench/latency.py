"""`python -m thebot.bench latency`: tick → screen latency of the chart, and bytes per chart update.

The method of issue #8: a venue at speed 1 streams BTCUSDT 1m klines; this benchmark opens its own socket
to the same stream and stamps every frame on arrival (wall clock, ms); the page stamps the chart's last
close on every animation frame in which it changed (same clock); a frame and a stamp are matched by the
close value, the frame's close first seen on screen at or after it arrived. Frames whose close did not
change cannot be seen and are skipped. Run twice: the default page, and with RSI, BBANDS and MACD picked.
Bytes: the median size of the pushed chart messages the page applied (the whole message, metrics
included). Targets: p50 ≤ 100 ms and p95 ≤ 250 ms; median ≤ 1 KB (default) and ≤ 2 KB (three indicators).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import orjson
from websockets.asyncio.client import connect

from thebot.bench._browser import GRAPH, chromium, open_chart, running_stack

STAMP_SCRIPT = """(s) => {
    window.__stamps = [];
    let last = null;
    const loop = () => {
        const gd = document.querySelector(s);
        if (gd && gd.data && gd.data[0] && gd.data[0].close) {
            const c = gd.data[0].close;
            const v = c[c.length - 1];
            if (v !== last) {
                last = v;
                window.__stamps.push([v, performance.timeOrigin + performance.now()]);
            }
        }
        requestAnimationFrame(loop);
    };
    requestAnimationFrame(loop);
    window.thebotPush.stats.chartBytes = [];
}"""


class FrameRecorder:
    """Our own socket to the venue's kline stream, stamping each frame as it arrives."""

    def __init__(self, ws_url: str) -> None:
        self.frames: list[tuple[float, float]] = []
        self._url = ws_url
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    async def _run(self) -> None:
        async with connect(self._url) as socket:
            while not self._stop.is_set():
                try:
                    raw = await asyncio.wait_for(socket.recv(), 0.5)
                except TimeoutError:
                    continue
                arrived = time.time() * 1000
                message = orjson.loads(raw)
                kline = message.get("k") or message.get("data", {}).get("k")
                if kline:
                    self.frames.append((float(kline["c"]), arrived))

    def __enter__(self) -> FrameRecorder:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(5)


def match(frames: list[tuple[float, float]], stamps: list[tuple[float, float]]) -> tuple[list[float], int]:
    """Latencies (ms) of the frames whose close changed, and how many of those were never seen."""
    latencies: list[float] = []
    missed = 0
    previous: float | None = None
    start = 0
    for close, arrived in frames:
        if close == previous:
            continue
        previous = close
        found = None
        for index in range(start, len(stamps)):
            value, shown = stamps[index]
            if shown >= arrived - 1 and abs(value - close) <= abs(close) * 1e-10:
                found = index
                break
        if found is None:
            missed += 1
            continue
        latencies.append(stamps[found][1] - arrived)
        start = found
    return latencies, missed


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def measure(browser: Any, app_url: str, ws_url: str, picks: list[str], seconds: float) -> dict[str, Any]:
    page = open_chart(browser, app_url, picks)
    time.sleep(2)  # let the first full figure and its follow-up settle
    page.evaluate(STAMP_SCRIPT, GRAPH)
    with FrameRecorder(ws_url) as recorder:
        time.sleep(seconds)
    stamps = [(float(value), float(at)) for value, at in page.evaluate("() => window.__stamps")]
    sizes = page.evaluate("() => window.thebotPush.stats.chartBytes.slice()")
    page.close()
    latencies, missed = match(recorder.frames, stamps)
    result: dict[str, Any] = {"frames": len(recorder.frames), "matched": len(latencies), "missed": missed}
    if latencies:
        result.update(
            p50_ms=round(percentile(latencies, 0.5), 1),
            p95_ms=round(percentile(latencies, 0.95), 1),
            max_ms=round(max(latencies), 1),
        )
    result["median_update_bytes"] = int(statistics.median(sizes)) if sizes else None
    result["updates"] = len(sizes)
    return result


def run(argv: list[str]) -> dict[str, object]:
    parser = argparse.ArgumentParser(prog="python -m thebot.bench latency")
    parser.add_argument("--seconds", type=float, default=60.0, help="measured time per page (default 60)")
    parser.add_argument("--speed", type=float, default=1.0, help="venue speed (default 1)")
    args = parser.parse_args(argv)
    configs = {"default": [], "rsi_bbands_macd": ["RSI", "BBANDS", "MACD"]}
    results: dict[str, object] = {"seconds": args.seconds, "speed": args.speed}
    with running_stack(args.speed) as stack, chromium() as browser:
        venue = urlsplit(stack.venue_url)
        ws_url = f"ws://{venue.netloc}/ws/btcusdt@kline_1m"
        for name, picks in configs.items():
            results[name] = measure(browser, stack.app_url, ws_url, picks, args.seconds)
    default, picked = results["default"], results["rsi_bbands_macd"]
    assert isinstance(default, dict) and isinstance(picked, dict)
    results["meets_targets"] = (
        all(
            item.get("p50_ms") is not None and item["p50_ms"] <= 100 and item["p95_ms"] <= 250
            for item in (default, picked)
        )
        and (default["median_update_bytes"] or 0) <= 1024
        and (picked["median_update_bytes"] or 0) <= 2048
    )
    return results
