"""The venue's clock, as seen from here: how far behind the venue's own time a stream's frames arrive.

A frame's event time `E` is the venue's clock when it sent the frame. Comparing it with this machine's
clock means nothing when the clocks differ, and nothing at all on the simulated venue, whose clock runs
`--speed` times faster than the wall's. So the venue's clock is sampled (`GET /api/v3/time`, answer
`{"serverTime": 1672515782136}`, every 5 s) and extrapolated between samples at the rate it was seen to run; a
frame's lag is the venue's estimated time when the frame arrived minus its `E`, in the venue's
milliseconds (at speed 60, 60 venue ms pass per wall ms, and the badge says so).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass

import aiohttp

logger = logging.getLogger(__name__)

# 16 samples 5 s apart: the rate comes from a 75 s span, so a few ms of jitter in one round trip moves it
# by ~1e-4 and the 5 s extrapolated from the newest sample by well under a venue second even at speed 60.
SAMPLES = 16
SAMPLE_PERIOD_SECONDS = 5.0
FIRST_SAMPLES_GAP_SECONDS = 1.0
FIRST_SAMPLES = 6  # a second apart, so the rate is usable within seconds of the start
# Two samples closer than this give a rate too noisy to extrapolate with.
MIN_RATE_SPAN_SECONDS = 0.5
TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class ClockSample:
    """The venue's time `server_ms` at this machine's monotonic `local_s` (mid-point of the request)."""

    server_ms: int
    local_s: float
    round_trip_s: float


class VenueClock:
    """Thread-safe: samples are added on the market loop, estimates read from web workers."""

    def __init__(self) -> None:
        self._samples: deque[ClockSample] = deque(maxlen=SAMPLES)
        self._lock = threading.Lock()

    def add_sample(self, server_ms: int, sent_s: float, received_s: float) -> None:
        sample = ClockSample(server_ms, (sent_s + received_s) / 2, received_s - sent_s)
        with self._lock:
            self._samples.append(sample)

    def rate(self) -> float:
        """Venue ms per local ms between the oldest and newest kept samples (1.0 until two are far enough
        apart: the real venue's rate)."""
        with self._lock:
            if len(self._samples) < 2:
                return 1.0
            first, last = self._samples[0], self._samples[-1]
        span = last.local_s - first.local_s
        if span < MIN_RATE_SPAN_SECONDS:
            return 1.0
        return max(0.0, (last.server_ms - first.server_ms) / (span * 1000.0))

    def now_ms(self, local_s: float | None = None) -> int | None:
        """The venue's time at monotonic `local_s` (default: now), or None before the first sample."""
        with self._lock:
            if not self._samples:
                return None
            last = self._samples[-1]
        at = time.monotonic() if local_s is None else local_s
        return int(last.server_ms + (at - last.local_s) * 1000.0 * self.rate())

    def lag_ms(self, event_time: int, received_s: float) -> int | None:
        """How far behind the venue's clock a frame stamped `event_time` arrived at `received_s`."""
        now = self.now_ms(received_s)
        return None if now is None else now - event_time


async def sample_forever(clock: VenueClock, rest_url: str) -> None:
    """Sample the venue's clock: a second apart at first (for a rate), then every 5 s. Runs on
    the market loop until cancelled; a failed request is logged once and tried again next period."""
    url = rest_url.rstrip("/") + "/api/v3/time"
    failing = False
    count = 0
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT_SECONDS)) as session:
        while True:
            try:
                sent = time.monotonic()
                async with session.get(url) as response:
                    response.raise_for_status()
                    body = await response.json()
                received = time.monotonic()
                clock.add_sample(int(body["serverTime"]), sent, received)
                count += 1
                failing = False
            except (aiohttp.ClientError, TimeoutError, KeyError, TypeError, ValueError) as error:
                if not failing:
                    logger.warning("venue clock: %s failed (%s); lag unknown until it answers", url, error)
                failing = True
            await asyncio.sleep(FIRST_SAMPLES_GAP_SECONDS if count < FIRST_SAMPLES else SAMPLE_PERIOD_SECONDS)
