"""Signal quality: how often each rule was right, and by how much, N candles after it fired.

The analyst's evidence for the rule weights. A BUY is a hit when the close N candles later is above the
signal's close; a SELL when below. The forward return is signed the same way (positive = the signal paid).
Signals without N later candles in the data are not counted yet.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from thebot.market.models import CandleSnapshot
from thebot.signals.models import Signal


@dataclass(frozen=True, slots=True)
class RuleQuality:
    rule: str
    timeframe: str
    signals: int
    hit_rate: float
    mean_forward_return: float
    horizon_bars: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "timeframe": self.timeframe,
            "signals": self.signals,
            "hit_rate": self.hit_rate,
            "mean_forward_return": self.mean_forward_return,
            "horizon_bars": self.horizon_bars,
        }


def signal_quality(signals: Sequence[Signal], candles: CandleSnapshot, horizon: int) -> list[RuleQuality]:
    """Per rule, over the signals whose candle and the candle `horizon` later are both in `candles`."""
    index_of = {int(open_time): index for index, open_time in enumerate(candles.open_time.tolist())}
    closes = candles.close
    returns: dict[str, list[float]] = defaultdict(list)
    for signal in signals:
        if signal.provisional or signal.timeframe is not candles.timeframe or signal.symbol != candles.symbol:
            continue
        index = index_of.get(signal.time)
        if index is None or index + horizon >= len(candles) or not candles.closed[index + horizon]:
            continue
        change = float(closes[index + horizon]) / float(closes[index]) - 1.0
        returns[signal.rule].append(change * signal.side.sign)
    result = []
    for rule in sorted(returns):
        values = np.asarray(returns[rule])
        result.append(
            RuleQuality(
                rule=rule,
                timeframe=candles.timeframe.value,
                signals=len(values),
                hit_rate=float((values > 0).mean()),
                mean_forward_return=float(values.mean()),
                horizon_bars=horizon,
            )
        )
    return result
