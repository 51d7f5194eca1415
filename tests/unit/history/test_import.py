"""History import: Binance's kline dumps (zipped or not) and the research CSV; bad rows reported by reason."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from thebot.history.__main__ import main
from thebot.history.importer import BadRowsError, import_file
from thebot.history.klines import KlineFileError
from thebot.market.store import KlineStore
from thebot.market.timeframe import Timeframe

T0 = 1_677_628_800_000  # 2023-03-01 00:00 UTC
MINUTE = 60_000
SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "BTCUSDT-1m-2023-03.csv"


def binance_row(index: int, close: float = 100.5, volume: float = 2.0, open_time: int | None = None) -> str:
    start = T0 + index * MINUTE if open_time is None else open_time
    return (
        f"{start},100.0,101.0,99.0,{close},{volume},{start + MINUTE - 1},{volume * 100},{7 + index},"
        f"{volume / 4},{volume * 25},0"
    )


def write(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture
def store(tmp_path: Path) -> KlineStore:
    return KlineStore(str(tmp_path / "thebot.duckdb"), "binance")


def test_a_zipped_binance_dump_is_imported_with_every_column(tmp_path: Path, store: KlineStore) -> None:
    csv = write(tmp_path / "BTCUSDT-1m-2023-03-01.csv", [binance_row(index) for index in range(120)])
    archive = tmp_path / "BTCUSDT-1m-2023-03-01.zip"
    with zipfile.ZipFile(archive, "w") as packed:
        packed.write(csv, csv.name)
    result = import_file(store, archive, "BTCUSDT", source="binance")
    assert result.timeframe is Timeframe.M1 and result.written == 120
    columns = store.read("BTCUSDT", Timeframe.M1)
    assert columns["open_time"][0] == T0 and columns["open_time"][-1] == T0 + 119 * MINUTE
    assert columns["trades"][:3].tolist() == [7, 8, 9]
    assert columns["taker_buy_volume"][0] == 0.5 and columns["quote_volume"][0] == 200.0
    assert result.report.lines(Timeframe.M1) == []


def test_microsecond_open_times_of_newer_dumps_are_read_as_milliseconds(
    tmp_path: Path, store: KlineStore
) -> None:
    rows = [binance_row(index, open_time=(T0 + index * MINUTE) * 1000) for index in range(3)]
    import_file(store, write(tmp_path / "BTCUSDT-1m-2025-01-01.csv", rows), "BTCUSDT", source="binance")
    assert store.read("BTCUSDT", Timeframe.M1)["open_time"].tolist() == [T0, T0 + MINUTE, T0 + 2 * MINUTE]


def test_bad_rows_are_reported_by_reason_and_nothing_is_written(tmp_path: Path, store: KlineStore) -> None:
    rows = [binance_row(index) for index in range(10)]
    rows[2] = rows[2].replace("101.0,99.0", "98.0,99.0")  # high below low
    rows[4] = binance_row(4, volume=-1.0)
    rows[6] = binance_row(5)  # the open time of line 6 again
    rows.append(binance_row(2))  # going back in time (line 3's own row was bad)
    rows.append(binance_row(20))  # after a gap of 10 candles
    path = write(tmp_path / "BTCUSDT-1m-2023-03-01.csv", rows)
    with pytest.raises(BadRowsError) as raised:
        import_file(store, path, "BTCUSDT", source="binance")
    found = raised.value.report.lines(Timeframe.M1)
    assert "1 row(s) with high below low (line 3)" in found
    assert "1 row(s) with a negative volume (line 5)" in found
    assert "1 row(s) repeating an earlier open time (line 7)" in found
    assert "1 row(s) out of order (older than a row above) (line 11)" in found
    assert any("gap(s)" in line and "2023-03-01 00:10 to 2023-03-01 00:19" in line for line in found)
    assert store.count() == 0
    skipped = import_file(store, path, "BTCUSDT", source="binance", skip_bad=True)
    assert skipped.written == 8 and store.count() == 8
    assert 4 not in [(t - T0) // MINUTE for t in store.read("BTCUSDT", Timeframe.M1)["open_time"].tolist()]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("", "empty"),
        ("name,price\nBTC,3\n", r"line 1 has 2 column\(s\)"),
        ("open_time,open,high,low,close,volume\nyesterday,a,b,c,d,e\n", "no row holds a time and numbers"),
    ],
)
def test_a_file_that_is_not_klines_is_named_and_nothing_is_written(
    tmp_path: Path, store: KlineStore, content: str, problem: str
) -> None:
    path = tmp_path / "BTCUSDT-1m-x.csv"
    path.write_text(content)
    with pytest.raises(KlineFileError, match=problem):
        import_file(store, path, "BTCUSDT", source="binance")
    assert store.count() == 0


def test_the_command_line_imports_the_research_month_under_its_source(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if not SHARED.exists():
        pytest.skip(f"{SHARED} is absent (a fresh clone without ../shared/data)")
    code = main(
        ["--data-dir", str(tmp_path), "import", str(SHARED), "--symbol", "BTCUSDT", "--source", "binanceus"]
    )
    assert code == 0, capsys.readouterr().err
    assert "30,240 BTCUSDT 1m candles as binanceus" in capsys.readouterr().out
    store = KlineStore(str(tmp_path / "thebot.duckdb"), "binance")
    try:
        assert store.count() == 0  # not Binance's: never restored into a Binance run
        closes = store.read("BTCUSDT", Timeframe.M1, source="binanceus", limit=1, newest=False)["close"]
        assert closes.tolist() == [23142.31]
    finally:
        store.close()
    wrong = main(["--data-dir", str(tmp_path), "import", str(SHARED), "--symbol", "ETHUSDT"])
    assert wrong == 1 and "names BTCUSDT, not ETHUSDT" in capsys.readouterr().err
