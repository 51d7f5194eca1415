"""The simulated venue: a Binance look-alike on loopback (REST, market streams, orders, faults)."""

from thebot.venue.server import SimulatedVenue
from thebot.venue.settings import VenueConfig
from thebot.venue.thread import RunningVenue, run_venue_in_thread

__all__ = ["RunningVenue", "SimulatedVenue", "VenueConfig", "run_venue_in_thread"]
