"""Comparing symbols: prices rebased to 100 at a chosen start, and the correlation of their returns.

Only closed candles are compared: a forming close moves with every trade, so a correlation that includes
it would change between two looks at the same page. Symbols are aligned on the open times they all have
(an inner join), and correlation is Pearson's on simple returns with pairwise-complete observations,
which is what pandas' `DataFrame.pct_change().corr()` computes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from thebot.market.models import CandleSnapshot

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class AlignedCloses:
    """Closes of several symbols on their common open times: `closes[i, j]` is symbol j at `times[i]`."""

    symbols: tuple[str, ...]
    times: IntArray
    closes: FloatArray

    def __len__(self) -> int:
        return int(self.times.shape[0])


@dataclass(frozen=True, slots=True)
class SeriesStatistics:
    count: int
    last: float
    mean: float
    std: float
    minimum: float
    maximum: float
    last_percentile: float  # share of the window's values at or below the last one, 0..100

    def as_dict(self) -> dict[str, float | int]:
        return {
            "count": self.count,
            "last": self.last,
            "mean": self.mean,
            "std": self.std,
            "min": self.minimum,
            "max": self.maximum,
            "last_percentile": self.last_percentile,
        }


def closed_closes(snapshot: CandleSnapshot) -> tuple[IntArray, FloatArray]:
    """Open times and closes of the closed candles only."""
    mask = snapshot.closed
    return snapshot.open_time[mask], snapshot.close[mask]


def align(series: Mapping[str, tuple[IntArray, FloatArray]], start: int | None = None) -> AlignedCloses:
    """Inner-join the series on open time, keeping times ≥ `start` when given."""
    symbols = tuple(series)
    if not symbols:
        return AlignedCloses((), np.empty(0, dtype=np.int64), np.empty((0, 0)))
    common: IntArray | None = None
    for times, _ in series.values():
        common = times if common is None else np.intersect1d(common, times, assume_unique=True)
    assert common is not None
    if start is not None:
        common = common[common >= start]
    columns = []
    for times, closes in series.values():
        positions = np.searchsorted(times, common)
        columns.append(np.asarray(closes, dtype=np.float64)[positions])
    matrix = np.column_stack(columns) if len(common) else np.empty((0, len(symbols)))
    return AlignedCloses(symbols, np.asarray(common, dtype=np.int64), matrix)


def rebase(closes: FloatArray, base: float = 100.0) -> FloatArray:
    """Each column divided by its first value, times `base`: every line starts at 100 at the start."""
    if closes.shape[0] == 0:
        return closes.copy()
    first = closes[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(closes / first * base, dtype=np.float64)


def simple_returns(closes: FloatArray) -> FloatArray:
    """close[t] / close[t-1] - 1 per column, one row shorter than `closes` (pandas' pct_change minus its
    first, all-NaN row)."""
    if closes.shape[0] < 2:
        return np.empty((0, closes.shape[1] if closes.ndim == 2 else 0))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(closes[1:] / closes[:-1] - 1.0, dtype=np.float64)


def correlation(returns: FloatArray) -> FloatArray:
    """Pearson correlation of every pair of columns over the rows where both are finite; NaN where a pair
    has fewer than two such rows or no variance (as pandas' `corr()` answers)."""
    count = returns.shape[1]
    result = np.full((count, count), np.nan)
    finite = np.isfinite(returns)
    for i in range(count):
        for j in range(i, count):
            both = finite[:, i] & finite[:, j]
            if int(both.sum()) < 2:
                continue
            x = returns[both, i]
            y = returns[both, j]
            dx = x - x.mean()
            dy = y - y.mean()
            denominator = math.sqrt(float(dx @ dx) * float(dy @ dy))
            if denominator == 0.0:
                continue
            value = float(dx @ dy) / denominator
            value = max(-1.0, min(1.0, value))
            result[i, j] = result[j, i] = value
    return result


def statistics(values: Sequence[float] | FloatArray) -> SeriesStatistics | None:
    """Count, last, mean, sample standard deviation, range and where the last value sits in the window,
    over the finite values (an indicator's warm-up is NaN); None when there are none."""
    array = np.asarray(values, dtype=np.float64)
    array = array[np.isfinite(array)]
    if array.size == 0:
        return None
    last = float(array[-1])
    return SeriesStatistics(
        count=int(array.size),
        last=last,
        mean=float(array.mean()),
        std=float(array.std(ddof=1)) if array.size > 1 else math.nan,
        minimum=float(array.min()),
        maximum=float(array.max()),
        last_percentile=float((array <= last).mean() * 100.0),
    )
