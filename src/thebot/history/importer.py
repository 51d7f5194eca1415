"""Kline files into the store: one transaction per file, so an import killed halfway wrote all or nothing."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

from thebot.history.klines import KlineFileError, KlineReport, read_kline_file
from thebot.market.models import StreamKey
from thebot.market.store import KlineStore
from thebot.market.timeframe import Timeframe

logger = logging.getLogger(__name__)

_SYMBOL_IN_NAME = re.compile(r"^([A-Z0-9]{5,20})-")


class BadRowsError(ValueError):
    """The file has bad rows and the import was not asked to skip them: nothing was written."""

    def __init__(self, message: str, report: KlineReport, timeframe: Timeframe) -> None:
        super().__init__(message)
        self.report = report
        self.timeframe = timeframe


@dataclass(frozen=True, slots=True)
class ImportResult:
    path: str
    symbol: str
    timeframe: Timeframe
    source: str
    written: int
    first_open_time: int
    last_open_time: int
    report: KlineReport


def check_symbol(symbol: str) -> str:
    if not (symbol.isalnum() and symbol.isupper()):
        raise ValueError(f"'{symbol}' is not an upper-case symbol such as BTCUSDT")
    return symbol


def import_file(
    store: KlineStore,
    path: Path,
    symbol: str,
    *,
    source: str,
    timeframe: Timeframe | None = None,
    skip_bad: bool = False,
) -> ImportResult:
    """Check the whole file first, then write its good rows in one transaction.

    Raises `KlineFileError` (not klines), `BadRowsError` (bad rows and not `skip_bad`), `ValueError` (a
    symbol that does not match the file name) or `duckdb.Error` (the store refused it); none writes.
    """
    check_symbol(symbol)
    named = _SYMBOL_IN_NAME.match(path.name)
    if named and named.group(1) != symbol:
        raise ValueError(f"{path.name} names {named.group(1)}, not {symbol}; pass --symbol {named.group(1)}")
    parsed = read_kline_file(path, timeframe)
    report = parsed.report
    if report.bad_rows and not skip_bad:
        raise BadRowsError(
            f"{path.name}: {report.bad_rows} of {report.rows} rows are bad; nothing was written. "
            "Fix the file, or pass --skip-bad to import the good rows only",
            report,
            parsed.timeframe,
        )
    open_times = parsed.columns["open_time"]
    if open_times.shape[0] == 0:
        raise KlineFileError(f"{path.name}: no good rows to import")
    written = store.import_columns(StreamKey(symbol, parsed.timeframe), parsed.columns, source=source)
    logger.info(
        "imported %d %s %s candles from %s as %s", written, symbol, parsed.timeframe.value, path, source
    )
    return ImportResult(
        path=str(path),
        symbol=symbol,
        timeframe=parsed.timeframe,
        source=source,
        written=written,
        first_open_time=int(open_times[0]),
        last_open_time=int(open_times[-1]),
        report=report,
    )
