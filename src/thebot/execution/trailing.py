"""A ratchet trailing stop: it follows the best price by a fixed fraction and never moves back.

Seed 004: trail 0.5 %, long entry 50,000 → stop 49,750; high 50,500 → 50,247.50; high 51,000 → 50,745;
a drop through 50,745 exits at +1.49 %. A short mirrors it from the lowest low.
"""

from __future__ import annotations

from dataclasses import dataclass

from thebot.execution.costs import Side


@dataclass(slots=True)
class RatchetTrailingStop:
    side: Side
    trail_fraction: float
    best: float
    stop: float

    @classmethod
    def start(cls, side: Side, entry: float, trail_fraction: float) -> RatchetTrailingStop:
        """`side` is the position's side: BUY for a long (stop below), SELL for a short (stop above)."""
        if not 0 < trail_fraction < 1:
            raise ValueError(f"trail must be between 0 and 100 %, got {trail_fraction * 100:g} %")
        stop = cls._stop_for(side, entry, trail_fraction)
        return cls(side=side, trail_fraction=trail_fraction, best=entry, stop=stop)

    @staticmethod
    def _stop_for(side: Side, best: float, trail_fraction: float) -> float:
        return best * (1 - trail_fraction) if side is Side.BUY else best * (1 + trail_fraction)

    def update(self, high: float, low: float) -> float:
        """Move the stop after a new candle (or tick: high = low = price); returns the stop."""
        if self.side is Side.BUY and high > self.best:
            self.best = high
            self.stop = max(self.stop, self._stop_for(self.side, high, self.trail_fraction))
        elif self.side is Side.SELL and low < self.best:
            self.best = low
            self.stop = min(self.stop, self._stop_for(self.side, low, self.trail_fraction))
        return self.stop

    def hit(self, high: float, low: float) -> bool:
        """True when price reached the stop (a long's low at or below it, a short's high at or above)."""
        return low <= self.stop if self.side is Side.BUY else high >= self.stop
