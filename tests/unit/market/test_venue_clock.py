"""The venue clock sampler against a venue whose clock runs 60 times faster than the wall's."""

from __future__ import annotations

import asyncio
import contextlib
import time

from aiohttp import web

from thebot.market.clock import VenueClock, sample_forever

SPEED = 60.0
START_MS = 1_700_000_000_000


async def _sample_fast_venue() -> tuple[VenueClock, float]:
    started = time.monotonic()

    async def server_time(_request: web.Request) -> web.Response:
        return web.json_response({"serverTime": int(START_MS + (time.monotonic() - started) * 1000 * SPEED)})

    app = web.Application()
    app.router.add_get("/api/v3/time", server_time)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    clock = VenueClock()
    task = asyncio.create_task(sample_forever(clock, f"http://127.0.0.1:{port}/"))
    try:
        await asyncio.sleep(2.5)  # three samples a second apart
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await runner.cleanup()
    return clock, started


def test_the_sampled_clock_follows_a_venue_at_speed_60() -> None:
    clock, started = asyncio.run(_sample_fast_venue())
    assert 55 <= clock.rate() <= 65
    now = time.monotonic()
    truth = START_MS + (now - started) * 1000 * SPEED
    estimate = clock.now_ms(now)
    assert estimate is not None
    # Within 60 venue ms per wall ms of round-trip uncertainty: a loaded machine gets a wide margin.
    assert abs(estimate - truth) < 0.05 * 1000 * SPEED


def test_an_unreachable_venue_leaves_the_clock_unknown() -> None:
    async def run() -> VenueClock:
        clock = VenueClock()
        task = asyncio.create_task(sample_forever(clock, "http://127.0.0.1:9/"))
        await asyncio.sleep(0.3)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return clock

    assert asyncio.run(run()).now_ms() is None
