"""Kline files as an exchange publishes them, read into store columns and checked row by row.

Two formats:
- Binance's public dumps (data.binance.vision), 12 columns, no header (newer dumps add one)::

      1677628800000,23141.57,23180.00,23120.10,23161.80,812.4,1677628859999,18801234.5,9876,401.2,9290000.1,0

  Open times are milliseconds (dumps from 2025 on use microseconds; both are read).
- The 6-column research CSV with a header, ISO 8601 open times::

      open_time,open,high,low,close,volume
      2023-03-01 00:00:00+00:00,23140.48,23150.77,23128.52,23142.31,2.131777

  It has no quote volume, trade count or taker-buy volume: the quote volume becomes volume × the mean of
  OHLC and the taker-buy volume half the volume (no buy/sell pressure either way), as the venue's replay
  does, and the report says so.

Bad rows are reported by reason with their line numbers, never silently repaired: a row with high < low,
a price outside [low, high], a negative volume, a duplicate or out-of-order open time, or an open time off
the timeframe's grid. Gaps are reported too, though the rows around them are fine.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from thebot.market.models import KLINE_COLUMNS
from thebot.market.timeframe import Timeframe

Columns = dict[str, np.ndarray[Any, Any]]

BINANCE_FIELDS = 12
SIX_COLUMNS = ("open_time", "open", "high", "low", "close", "volume")
_EXAMPLES = 5
_TIMEFRAME_IN_NAME = re.compile(r"-(1m|3m|5m|15m|30m|1h|2h|4h|6h|8h|12h|1d|3d|1w)-")
_MICROSECONDS_FROM = 10**14  # open times above this are microseconds (2025+ dumps)


class KlineFileError(ValueError):
    """The file is not klines at all (or cannot be read): nothing of it is written."""


@dataclass
class KlineReport:
    """What was wrong with which rows. `bad` maps a reason to (count, first line numbers)."""

    rows: int = 0
    bad: dict[str, tuple[int, list[int]]] = field(default_factory=dict)
    gaps: list[tuple[int, int]] = field(default_factory=list)  # (first missing, last missing) open times
    notes: list[str] = field(default_factory=list)

    @property
    def bad_rows(self) -> int:
        return sum(count for count, _ in self.bad.values())

    def add(self, reason: str, lines: np.ndarray[Any, Any]) -> None:
        if lines.size:
            count, examples = self.bad.get(reason, (0, []))
            self.bad[reason] = (count + int(lines.size), (examples + lines[:_EXAMPLES].tolist())[:_EXAMPLES])

    def missing_candles(self, timeframe: Timeframe) -> int:
        return sum((last - first) // timeframe.milliseconds + 1 for first, last in self.gaps)

    def lines(self, timeframe: Timeframe) -> list[str]:
        """Human-readable, one finding a line."""
        result = []
        for reason, (count, examples) in sorted(self.bad.items()):
            more = ", ..." if count > len(examples) else ""
            result.append(f"{count} row(s) {reason} (line {', '.join(map(str, examples))}{more})")
        if self.gaps:
            shown = ", ".join(f"{_iso(first)} to {_iso(last)}" for first, last in self.gaps[:_EXAMPLES])
            result.append(
                f"{len(self.gaps)} gap(s), {self.missing_candles(timeframe)} missing {timeframe.value} "
                f"candle(s): {shown}{', ...' if len(self.gaps) > _EXAMPLES else ''}"
            )
        return result + self.notes


@dataclass
class KlineFile:
    timeframe: Timeframe
    columns: Columns  # the good rows, oldest first (store columns)
    report: KlineReport


def _iso(open_time: int) -> str:
    return pd.Timestamp(open_time, unit="ms", tz="UTC").strftime("%Y-%m-%d %H:%M")


def _read_text(path: Path) -> str:
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                names = [name for name in archive.namelist() if name.lower().endswith(".csv")]
                if not names:
                    raise KlineFileError(f"{path.name}: the zip archive holds no .csv file")
                return archive.read(names[0]).decode("utf-8")
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError, zipfile.BadZipFile) as error:
        raise KlineFileError(f"{path.name}: cannot be read as a kline CSV ({error})") from None


def _table(text: str, name: str) -> tuple[pd.DataFrame, int, bool]:
    """The raw cells as strings, the line number of the first data row, and whether it is Binance's."""
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise KlineFileError(f"{name}: the file is empty; expected klines")
    first = [cell.strip().lower() for cell in lines[0].split(",")]
    header = not _is_number(first[0])
    width = len(first)
    if width == BINANCE_FIELDS:
        binance = True
    elif header and tuple(first[:6]) == SIX_COLUMNS:
        binance = False
    else:
        raise KlineFileError(
            f"{name}: line 1 has {width} column(s) ({lines[0][:60]!r}); expected Binance's 12-column klines "
            "or a header open_time,open,high,low,close,volume"
        )
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            header=None,
            skiprows=1 if header else 0,
            dtype=str,
            keep_default_na=False,
            names=list(range(width)),
            on_bad_lines="error",
            engine="c",
        )
    except (pd.errors.ParserError, ValueError) as error:
        raise KlineFileError(f"{name}: rows do not all have {width} columns ({error})") from None
    if frame.empty:
        raise KlineFileError(f"{name}: no rows after the header; expected klines")
    return frame, 2 if header else 1, binance


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _open_times(cells: pd.Series) -> np.ndarray[Any, Any]:
    """Milliseconds; NaN-free int64 with -1 for a cell that is no time."""
    numeric = pd.to_numeric(cells, errors="coerce")
    if numeric.notna().all():
        values = numeric.to_numpy(dtype=np.float64)
        values = np.where(values >= _MICROSECONDS_FROM, values / 1000, values)
        return values.astype(np.int64)
    parsed = pd.to_datetime(cells, utc=True, errors="coerce", format="ISO8601")
    result = np.full(len(cells), -1, dtype=np.int64)
    valid = parsed.notna().to_numpy()
    # Through a timedelta: pandas picks the datetime resolution (s, ms, us or ns) from the text.
    elapsed = parsed[valid] - pd.Timestamp(0, tz="UTC")
    result[valid] = (elapsed // pd.Timedelta(milliseconds=1)).to_numpy(dtype=np.int64)
    return result


def infer_timeframe(name: str, open_times: np.ndarray[Any, Any]) -> Timeframe:
    match = _TIMEFRAME_IN_NAME.search(name)
    if match:
        return Timeframe(match.group(1))
    steps = np.diff(np.unique(open_times[open_times >= 0]))
    if steps.size == 0:
        raise KlineFileError(f"{name}: cannot tell the timeframe from one candle; pass --timeframe")
    step = int(np.min(steps))
    for timeframe in Timeframe:
        if timeframe.milliseconds == step:
            return timeframe
    raise KlineFileError(f"{name}: candles {step} ms apart match no timeframe; pass --timeframe")


def read_kline_file(path: Path, timeframe: Timeframe | None = None) -> KlineFile:
    """Parse and check `path`; raises `KlineFileError` when it is not klines."""
    frame, first_line, binance = _table(_read_text(path), path.name)
    report = KlineReport(rows=len(frame))
    line_numbers = np.arange(first_line, first_line + len(frame))
    open_times = _open_times(frame[0])
    numbers = {
        name: pd.to_numeric(frame[index], errors="coerce").to_numpy(dtype=np.float64)
        for index, name in enumerate(("open", "high", "low", "close", "volume"), start=1)
    }
    if binance:
        numbers["quote_volume"] = pd.to_numeric(frame[7], errors="coerce").to_numpy(dtype=np.float64)
        numbers["trades"] = pd.to_numeric(frame[8], errors="coerce").to_numpy(dtype=np.float64)
        numbers["taker_buy_volume"] = pd.to_numeric(frame[9], errors="coerce").to_numpy(dtype=np.float64)
    else:
        mean = (numbers["open"] + numbers["high"] + numbers["low"] + numbers["close"]) / 4
        numbers["quote_volume"] = numbers["volume"] * mean
        numbers["trades"] = np.zeros(len(frame))
        numbers["taker_buy_volume"] = numbers["volume"] / 2
        report.notes.append(
            "no quote volume, trades or taker-buy columns: quote volume = volume × mean price, "
            "taker-buy volume = half the volume (volume delta reads 0)"
        )
    unreadable = (open_times < 0) | np.any([np.isnan(column) for column in numbers.values()], axis=0)
    if unreadable.all():
        raise KlineFileError(f"{path.name}: no row holds a time and numbers; expected klines")
    frame_timeframe = timeframe or infer_timeframe(path.name, open_times[~unreadable])
    high, low = numbers["high"], numbers["low"]
    ok = ~unreadable
    reasons = [
        ("unreadable (a time or a number is missing)", unreadable),
        ("with high below low", ok & (high < low)),
        (
            "with open or close outside [low, high]",
            ok
            & (high >= low)
            & (
                (numbers["open"] > high)
                | (numbers["open"] < low)
                | (numbers["close"] > high)
                | (numbers["close"] < low)
            ),
        ),
        (
            "with a negative volume",
            ok
            & ((numbers["volume"] < 0) | (numbers["quote_volume"] < 0) | (numbers["taker_buy_volume"] < 0)),
        ),
        ("off the timeframe's grid", ok & (open_times % frame_timeframe.milliseconds != 0)),
    ]
    bad = np.zeros(len(frame), dtype=bool)
    for reason, mask in reasons:
        report.add(reason, line_numbers[mask])
        bad |= mask
    # Order problems among the rows that are otherwise fine: a time seen before, or one going back.
    duplicate = np.zeros(len(frame), dtype=bool)
    unsorted = np.zeros(len(frame), dtype=bool)
    seen: set[int] = set()
    newest = -1
    for index in np.flatnonzero(~bad).tolist():
        open_time = int(open_times[index])
        if open_time in seen:
            duplicate[index] = True
        elif open_time < newest:
            unsorted[index] = True
        seen.add(open_time)
        newest = max(newest, open_time)
    report.add("repeating an earlier open time", line_numbers[duplicate])
    report.add("out of order (older than a row above)", line_numbers[unsorted])
    good = ~(bad | duplicate | unsorted)
    kept_times = open_times[good]
    step = frame_timeframe.milliseconds
    jumps = np.flatnonzero(np.diff(kept_times) > step)
    report.gaps = [(int(kept_times[i]) + step, int(kept_times[i + 1]) - step) for i in jumps.tolist()]
    columns: Columns = {"open_time": kept_times}
    for name in KLINE_COLUMNS[1:]:
        values = numbers[name][good]
        columns[name] = values.astype(np.int64) if name == "trades" else values
    return KlineFile(frame_timeframe, columns, report)
