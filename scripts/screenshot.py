"""Start the app on the simulated venue and save a screenshot of the dashboard (for the README).

Usage: python scripts/screenshot.py [--out docs/screenshot.png] [--seconds 8] [--path /?...]
       [-- extra app flags]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, start_app, stop_app  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshot.png")
    parser.add_argument("--seconds", type=float, default=8.0, help="let the chart run this long first")
    parser.add_argument("--width", type=int, default=1440)
    parser.add_argument("--height", type=int, default=900)
    parser.add_argument(
        "--path",
        default="/?symbol=BTCUSDT&timeframe=1m&indicators=EMA?timeperiod=20,EMA?timeperiod=50,BBANDS,RSI",
        help="the page to show (a shareable chart URL by default)",
    )
    args, app_flags = parser.parse_known_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        app = start_app(Path(tmp), "--source", "sim", "--speed", "60", *app_flags)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
                )
                page = browser.new_page(viewport={"width": args.width, "height": args.height})
                page.goto(app.url + args.path)
                page.wait_for_function(
                    "() => { const gd = document.querySelector('#price-chart .js-plotly-plot');"
                    " return gd && gd.data && gd.data.length > 0; }",
                    timeout=30_000,
                )
                time.sleep(args.seconds)
                args.out.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(args.out), full_page=True)
                browser.close()
        finally:
            stop_app(app)
    print(f"saved {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
