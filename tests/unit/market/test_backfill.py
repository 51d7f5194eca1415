"""Backfill through a ccxt-shaped fake: pagination, the forming last candle, gaps, coalescing, retries."""

from __future__ import annotations

import asyncio
from typing import Any

from thebot.market.backfill import Backfiller
from thebot.market.datastream import DataStream
from thebot.market.models import Candle, StreamKey
from thebot.market.timeframe import Timeframe

MINUTE = 60_000
T0 = 1_677_628_800_000
KEY = StreamKey("BTCUSDT", Timeframe.M1)


class FakeExchange:
    """Serves candles 0..`newest` (the newest still forming) the way Binance's klines endpoint does."""

    def __init__(self, newest: int, failures: int = 0) -> None:
        self.newest = newest
        self.failures = failures
        self.calls: list[tuple[int | None, dict[str, Any]]] = []
        self.markets_by_id = {"BTCUSDT": [{"symbol": "BTC/USDT", "id": "BTCUSDT"}]}
        self.closed = False

    async def load_markets(self) -> None:
        return None

    def row(self, index: int) -> list[Any]:
        """Binance's 12-field kline row, numbers as strings where Binance sends strings."""
        # The forming candle's close differs from its final value: a repaint would show.
        close = 100.0 + index + (0.5 if index == self.newest else 0.0)
        volume = 10.0 + index
        open_time = T0 + index * MINUTE
        return [
            open_time, "100.0", str(close + 1), "99.0", str(close), str(volume), open_time + MINUTE - 1,
            str(volume * 100), 7 + index, str(volume * 0.25), str(volume * 25), "0",
        ]  # fmt: skip

    async def publicGetKlines(self, request: dict[str, Any]) -> list[list[Any]]:
        assert request["symbol"] == "BTCUSDT" and request["interval"] == "1m"
        since = request.get("startTime")
        limit = int(request["limit"])
        params = {key: value for key, value in request.items() if key == "endTime"}
        self.calls.append((since, params))
        if self.failures:
            self.failures -= 1
            raise ConnectionError("venue hiccup")
        end_time = params.get("endTime")
        last = self.newest if end_time is None else min(self.newest, (end_time - T0) // MINUTE)
        first = (since - T0) // MINUTE if since is not None else last - limit + 1
        if since is not None:
            last = min(last, first + limit - 1)
        first = max(first, 0)
        return [self.row(index) for index in range(first, last + 1)]

    async def close(self) -> None:
        self.closed = True


def run_backfill(
    exchange: FakeExchange,
    datastream: DataStream,
    requests: list[tuple[int | None, int | None]],
    page_size: int = 10,
) -> tuple[Backfiller, list[Candle]]:
    stored: list[Candle] = []

    async def scenario() -> Backfiller:
        backfiller = Backfiller(
            datastream,
            lambda: exchange,
            page_size=page_size,
            pause_seconds=0,
            on_closed=lambda key, closed: stored.extend(closed),
        )
        await backfiller.start()
        for since, until in requests:
            backfiller.request(KEY, since, until, "test")
        for _ in range(1000):
            await asyncio.sleep(0.01)
            if backfiller.idle():
                break
        await backfiller.stop()
        return backfiller

    return asyncio.run(scenario()), stored


def test_start_fills_the_buffer_from_the_newest_pages() -> None:
    exchange = FakeExchange(newest=100)
    datastream = DataStream(["BTCUSDT"], [Timeframe.M1], capacity=25)
    backfiller, stored = run_backfill(exchange, datastream, [(None, None)])
    snapshot = datastream.snapshot("BTCUSDT", Timeframe.M1)
    assert snapshot.open_time.tolist() == [T0 + index * MINUTE for index in range(76, 101)]
    assert snapshot.closed.tolist() == [True] * 24 + [False]
    assert snapshot.close[-1] == 200.5
    # The whole Binance row survives: volume delta needs the taker-buy volume.
    assert snapshot.taker_buy_volume.tolist() == [(10.0 + index) * 0.25 for index in range(76, 101)]
    assert snapshot.quote_volume[0] == 8_600.0 and snapshot.trades[0] == 83
    assert all(candle.taker_buy_volume == candle.volume * 0.25 for candle in stored)
    # Only closed candles go to the store; the forming one is not history yet.
    assert T0 + 100 * MINUTE not in {candle.open_time for candle in stored}
    assert all(candle.closed for candle in stored)
    assert backfiller.progress().jobs_done == 1
    assert len(exchange.calls) == 3  # three pages of 10 walking back from now
    assert exchange.closed


def test_catch_up_paginates_forward_and_leaves_the_newest_candle_forming() -> None:
    exchange = FakeExchange(newest=40)
    datastream = DataStream(["BTCUSDT"], [Timeframe.M1], capacity=100)
    # 31 candles from 10 to 40: pages of 10 and the newest forming.
    _, stored = run_backfill(exchange, datastream, [(T0 + 10 * MINUTE, None)])
    snapshot = datastream.snapshot("BTCUSDT", Timeframe.M1)
    assert snapshot.open_time.tolist() == [T0 + index * MINUTE for index in range(10, 41)]
    assert not snapshot.closed[-1]
    assert sorted({candle.open_time for candle in stored}) == [T0 + index * MINUTE for index in range(10, 40)]
    # A full page's last candle is fetched again with the next page, never stored as closed too early.
    stored_closes = {candle.open_time: candle.close for candle in stored}
    assert stored_closes[T0 + 39 * MINUTE] == 139.0


def test_a_gap_fetches_only_its_range_and_repairs_an_unconfirmed_candle() -> None:
    exchange = FakeExchange(newest=60)
    datastream = DataStream(["BTCUSDT"], [Timeframe.M1], capacity=100)
    datastream.update(
        "BTCUSDT", Timeframe.M1, Candle(T0 + 20 * MINUTE, 100.0, 130.0, 99.0, 111.0, 1.0, False)
    )
    datastream.update(
        "BTCUSDT", Timeframe.M1, Candle(T0 + 25 * MINUTE, 100.0, 130.0, 99.0, 125.0, 1.0, False)
    )
    _, stored = run_backfill(exchange, datastream, [(T0 + 20 * MINUTE, T0 + 24 * MINUTE)])
    snapshot = datastream.snapshot("BTCUSDT", Timeframe.M1)
    assert snapshot.open_time.tolist() == [T0 + index * MINUTE for index in range(20, 26)]
    # Candle 20 closed without x=true at 111.0; REST's final value 120.0 replaced it.
    assert snapshot.close.tolist()[:5] == [120.0, 121.0, 122.0, 123.0, 124.0]
    assert snapshot.close[-1] == 125.0 and not snapshot.closed[-1]
    assert sorted(candle.open_time for candle in stored) == [T0 + index * MINUTE for index in range(20, 25)]


def test_requests_for_one_stream_are_coalesced_into_the_widest_range() -> None:
    exchange = FakeExchange(newest=30)
    datastream = DataStream(["BTCUSDT"], [Timeframe.M1], capacity=100)

    async def scenario() -> Backfiller:
        backfiller = Backfiller(datastream, lambda: exchange, page_size=100, pause_seconds=0)
        await backfiller.start()
        backfiller.request(KEY, T0 + 5 * MINUTE, T0 + 8 * MINUTE, "gap")
        backfiller.request(KEY, T0 + 2 * MINUTE, T0 + 6 * MINUTE, "gap")
        assert backfiller.progress().queued == 1
        for _ in range(500):
            if backfiller.idle():
                break
            await asyncio.sleep(0.01)
        await backfiller.stop()
        return backfiller

    backfiller = asyncio.run(scenario())
    assert exchange.calls == [(T0 + 2 * MINUTE, {})]
    assert datastream.snapshot("BTCUSDT", Timeframe.M1).open_time.tolist() == [
        T0 + index * MINUTE for index in range(2, 9)
    ]
    assert backfiller.progress().jobs_done == 1


def test_a_failing_request_is_retried() -> None:
    exchange = FakeExchange(newest=5, failures=1)
    datastream = DataStream(["BTCUSDT"], [Timeframe.M1], capacity=100)
    backfiller, _ = run_backfill(exchange, datastream, [(T0, None)], page_size=100)
    progress = backfiller.progress()
    assert progress.jobs_done == 1
    assert progress.jobs_failed == 0
    assert progress.requests == 2
    assert len(datastream.snapshot("BTCUSDT", Timeframe.M1)) == 6


class AnySymbolExchange(FakeExchange):
    """The same candles for every symbol; records which symbol each request asked for."""

    def __init__(self, symbols: list[str]) -> None:
        super().__init__(newest=5)
        self.markets_by_id = {symbol: [{"symbol": symbol, "id": symbol}] for symbol in symbols}
        self.order: list[str] = []

    async def publicGetKlines(self, request: dict[str, Any]) -> list[list[Any]]:
        self.order.append(request["symbol"])
        return [self.row(index) for index in range(6)]


def test_an_urgent_request_runs_before_the_queued_ones() -> None:
    """A symbol added from the settings panel is backfilled before the start backfill of the others."""
    symbols = ["BTCUSDT", "ETHUSDT", "SOLUSDT"]
    exchange = AnySymbolExchange(symbols)
    datastream = DataStream(symbols, [Timeframe.M1], capacity=100)

    async def scenario() -> None:
        backfiller = Backfiller(datastream, lambda: exchange, page_size=100, pause_seconds=0)
        await backfiller.start()
        backfiller.request(StreamKey("BTCUSDT", Timeframe.M1), None, None, "start")
        backfiller.request(StreamKey("ETHUSDT", Timeframe.M1), None, None, "start")
        backfiller.request(StreamKey("SOLUSDT", Timeframe.M1), None, None, "added", urgent=True)
        for _ in range(500):
            if backfiller.idle():
                break
            await asyncio.sleep(0.01)
        await backfiller.stop()

    asyncio.run(scenario())
    assert exchange.order == ["SOLUSDT", "BTCUSDT", "ETHUSDT"]
