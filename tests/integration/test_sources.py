"""Choosing the market source: auto falls back to the simulated venue, --venue connects to a running one."""

from __future__ import annotations

import time

import pytest

from thebot.config import load_settings, with_overrides
from thebot.services import Services, build_services, venue_endpoints
from thebot.venue import VenueConfig, run_venue_in_thread


def wait_for_candles(services: Services, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if services.market.datastream.last_candle("BTCUSDT", services.settings.market.timeframes[0]):
            return
        time.sleep(0.1)
    raise AssertionError("no candle arrived")


def test_auto_falls_back_to_sim_within_the_probe_time() -> None:
    settings = with_overrides(
        load_settings(),
        market={
            "source": "auto",
            # Nothing listens on port 9 of loopback: the probe fails as Binance does when unreachable.
            "binance_ws_url": "ws://127.0.0.1:9",
            "auto_probe_seconds": 1.0,
            "symbols": ("BTCUSDT",),
        },
        ui={"default_symbol": "BTCUSDT"},
        venue={"speed": 60.0, "history_days": 0.5},
    )
    started = time.monotonic()
    services = build_services(settings, store_path=":memory:")
    try:
        assert time.monotonic() - started < 3.0
        assert services.simulated and services.endpoints.source == "sim"
        assert services.venue is not None
        services.start()
        wait_for_candles(services)
    finally:
        services.stop()


def test_venue_flag_connects_to_a_running_venue_and_starts_none() -> None:
    venue = run_venue_in_thread(VenueConfig(symbols=("BTCUSDT", "ETHUSDT"), speed=60.0, history_days=0.5))
    try:
        settings = with_overrides(load_settings(), market={"source": "sim"})
        services = build_services(settings, venue_url=venue.http_url, store_path=":memory:")
        try:
            assert services.venue is None and services.simulated
            assert services.endpoints.ws_url == venue.ws_url
            services.start()
            wait_for_candles(services)
        finally:
            services.stop()
    finally:
        venue.stop()


@pytest.mark.parametrize("url", ["127.0.0.1:9555", "ftp://127.0.0.1:9555", "http://"])
def test_bad_venue_url_is_rejected_with_an_example(url: str) -> None:
    with pytest.raises(ValueError, match=r"http://127\.0\.0\.1:9555"):
        venue_endpoints(url)


def test_venue_url_maps_to_rest_and_websocket() -> None:
    endpoints = venue_endpoints("http://127.0.0.1:9555/")
    assert (endpoints.rest_url, endpoints.ws_url) == ("http://127.0.0.1:9555", "ws://127.0.0.1:9555")
