"""`python -m thebot.bench tabs`: the app's CPU seconds per second with 0, 1 and 10 Chromium tabs open.

The venue runs in its own process at speed 1 (not counted); the app's CPU time (all threads) comes from
/proc over `--seconds`, after every tab has drawn its chart and `--warmup` seconds have passed. Each tab
shows the default chart page. Target (issue #8): CPU with 10 tabs ≤ 2 × CPU with 1 tab.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from thebot.bench._browser import chromium, cpu_seconds, open_chart, running_stack


def app_cpu_per_second(pid: int, seconds: float) -> float:
    before, started = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return (cpu_seconds(pid) - before) / (time.monotonic() - started)


def run(argv: list[str]) -> dict[str, object]:
    parser = argparse.ArgumentParser(prog="python -m thebot.bench tabs")
    parser.add_argument("--seconds", type=float, default=30.0, help="measured time per step (default 30)")
    parser.add_argument("--warmup", type=float, default=10.0, help="settling time after opening tabs")
    parser.add_argument("--tabs", type=int, default=10)
    args = parser.parse_args(argv)
    result: dict[str, Any] = {"seconds": args.seconds, "tabs": args.tabs}
    with running_stack(1.0) as stack, chromium() as browser:
        pid = stack.app.pid
        time.sleep(args.warmup)
        result["cpu_0_tabs"] = round(app_cpu_per_second(pid, args.seconds), 4)
        pages = [open_chart(browser, stack.app_url)]
        time.sleep(args.warmup)
        result["cpu_1_tab"] = round(app_cpu_per_second(pid, args.seconds), 4)
        pages += [open_chart(browser, stack.app_url) for _ in range(args.tabs - 1)]
        time.sleep(args.warmup)
        result[f"cpu_{args.tabs}_tabs"] = round(app_cpu_per_second(pid, args.seconds), 4)
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
        for page in pages:
            page.close()
    ratio = result[f"cpu_{args.tabs}_tabs"] / max(result["cpu_1_tab"], 1e-9)
    result["ratio_many_to_one"] = round(ratio, 3)
    result["meets_target"] = ratio <= 2.0
    return result
