"""`python app.py`: start thebot's services and serve the dashboard.

Flags override `config/settings.toml`; run `python app.py --help` for the list.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from thebot.config import SOURCES, ConfigError, Settings, load_settings, with_overrides
from thebot.settings_store import SettingsStore

logger = logging.getLogger("thebot.app")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python app.py", description="thebot: real-time crypto market analytics dashboard"
    )
    parser.add_argument(
        "--source",
        choices=SOURCES,
        help="market data: auto tries Binance for a few seconds and falls back to the simulated venue "
        "(default from config: auto)",
    )
    parser.add_argument(
        "--venue", metavar="URL", help="connect to a running simulated venue, e.g. http://127.0.0.1:9555"
    )
    parser.add_argument("--speed", type=float, help="simulated seconds per real second (sim only)")
    parser.add_argument("--host", help="address the dashboard listens on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port the dashboard listens on (default 8050)")
    parser.add_argument("--config", type=Path, help="settings file (default config/settings.toml)")
    parser.add_argument("--data-dir", help="where the database lives (default ./data)")
    parser.add_argument("--symbols", help="comma-separated symbols, e.g. BTCUSDT,ETHUSDT")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    return parser.parse_args(argv)


def run_overrides(args: argparse.Namespace, defaults: Settings) -> dict[str, dict[str, Any]]:
    """The flags as a partial settings document: they win over both files for this run only."""
    market: dict[str, Any] = {}
    if args.source:
        market["source"] = args.source
    if args.venue:
        market["source"] = "sim"
    if args.symbols:
        symbols = [symbol.strip().upper() for symbol in args.symbols.split(",") if symbol.strip()]
        market["symbols"] = symbols
    venue: dict[str, Any] = {}
    if args.speed is not None:
        venue["speed"] = args.speed
    server: dict[str, Any] = {}
    if args.host:
        server["host"] = args.host
    if args.port is not None:
        server["port"] = args.port
    storage: dict[str, Any] = {}
    if args.data_dir:
        storage["data_dir"] = args.data_dir
    ui: dict[str, Any] = {}
    if "symbols" in market and defaults.ui.default_symbol not in market["symbols"]:
        ui["default_symbol"] = market["symbols"][0]
    sections = {"market": market, "venue": venue, "server": server, "storage": storage, "ui": ui}
    return {name: values for name, values in sections.items() if values}


def store_from_args(args: argparse.Namespace) -> SettingsStore:
    """Defaults from the TOML file, the panel's user file from the data directory over them, then the
    flags; the store persists only what the panel changes."""
    defaults = load_settings(args.config)
    overrides = run_overrides(args, defaults)
    # Validate the flags on their own first, so a bad flag is named as such.
    with_overrides(defaults, **overrides)
    data_dir = Path(overrides.get("storage", {}).get("data_dir") or defaults.storage.data_dir)
    return SettingsStore(defaults, data_dir=data_dir, run_overrides=overrides)


def settings_from_args(args: argparse.Namespace) -> Settings:
    return store_from_args(args).current()


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s", datefmt="%H:%M:%S"
    )
    try:
        settings_store = store_from_args(args)
    except ConfigError as error:
        print(f"thebot: {error}", file=sys.stderr)
        return 2
    settings = settings_store.current()
    for warning in settings_store.warnings:
        print(f"thebot: warning: {warning}", file=sys.stderr)

    from dash_modules.application import create_app
    from dash_modules.push import PushHub
    from dash_modules.security import SecurityError
    from dash_modules.server import build_asgi, security_policy, serve
    from thebot.services import build_services

    host, port = settings.server.host, settings.server.port
    try:
        # Checked before anything starts: no token, no listening beyond this machine.
        policy = security_policy(settings.server)
    except SecurityError as error:
        print(f"thebot: {error}", file=sys.stderr)
        return 2
    try:
        services = build_services(settings, venue_url=args.venue, settings_store=settings_store)
    except ValueError as error:
        print(f"thebot: {error}", file=sys.stderr)
        return 2
    services.start()
    try:
        hub = PushHub(services)
        app = create_app(services, hub)
        asgi = build_asgi(app, hub, policy)
        source = "simulated venue" if services.simulated else "Binance"
        print(f"thebot: market data from {source} ({services.endpoints.ws_url})", flush=True)
        print(f"thebot: dashboard at http://{host}:{port}/  (Ctrl+C to stop)", flush=True)
        serve(asgi, host, port)
    finally:
        services.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
