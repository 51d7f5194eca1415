"""The simulated venue: a Binance look-alike on loopback (REST, market streams, orders, faults).

It exists so the product has a market when Binance is out of reach, and so our clients (and ccxt) are
tested against a peer that speaks Binance's protocol. One listener serves everything::

    venue = run_venue_in_thread(VenueConfig(speed=60.0))   # or: await SimulatedVenue(config).start()
    venue.http_url  # http://127.0.0.1:PORT  -> /api/v3/klines, /api/v3/order, ... and /admin/* faults
    venue.ws_url    # ws://127.0.0.1:PORT    -> /ws, /ws/<stream>, /stream?streams=a/b
    venue.stop()

The venue knows nothing else of thebot; `python -m thebot.venue --help` runs it alone.
"""

from thebot.venue.server import SimulatedVenue
from thebot.venue.settings import VenueConfig
from thebot.venue.thread import RunningVenue, run_venue_in_thread

__all__ = ["RunningVenue", "SimulatedVenue", "VenueConfig", "run_venue_in_thread"]
