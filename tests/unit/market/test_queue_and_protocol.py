"""The queue drops only superseded forming updates; the fast parser agrees with the strict one."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from thebot.config import ConfigError, settings_from_dict
from thebot.market.protocol import (
    InvalidMessage,
    KlineValues,
    _parse_kline_strict,
    kline_values,
    values_of,
)
from thebot.market.queueing import EventQueue
from thebot.market.timeframe import Timeframe

T0 = 1_677_628_800_000


def values(index: int, closed: bool) -> KlineValues:
    return ("BTCUSDT", Timeframe.M1, T0 + index * 60_000, 1.0, 2.0, 0.5, 1.5, 3.0, closed, 4.0, 5, 1.0)


def test_full_queue_drops_the_oldest_forming_update_and_keeps_closed_candles() -> None:
    async def scenario() -> EventQueue:
        queue = EventQueue(capacity=10)
        queue.put(values(0, closed=True))
        for index in range(1, 10):
            queue.put(values(index, closed=False))
        queue.put(values(10, closed=True))  # full: the oldest forming update (1) goes
        queue.put(values(11, closed=False))  # full: forming update 2 goes
        return queue

    queue = asyncio.run(scenario())
    kept = queue.pop_batch(100)
    assert [item[2] for item in kept] == [T0 + index * 60_000 for index in (0, *range(3, 12))]
    assert queue.dropped == 2
    assert all(item[8] for item in kept if item[2] in (T0, T0 + 600_000))


def test_a_queue_full_of_closed_candles_grows_rather_than_lose_one() -> None:
    async def scenario() -> EventQueue:
        queue = EventQueue(capacity=10)
        for index in range(12):
            queue.put(values(index, closed=True))
        queue.put(values(12, closed=False))  # nothing forming to drop: the new forming update goes
        return queue

    queue = asyncio.run(scenario())
    assert len(queue) == 12
    assert queue.overflow == 2
    assert queue.dropped == 1


SAMPLE: dict[str, Any] = {
    "e": "kline",
    "E": 1672515782136,
    "s": "BNBBTC",
    "k": {
        "t": 1672515780000,
        "T": 1672515839999,
        "s": "BNBBTC",
        "i": "1m",
        "f": 100,
        "L": 200,
        "o": "0.0010",
        "c": "0.0020",
        "h": "0.0025",
        "l": "0.0010",
        "v": "1000",
        "n": 100,
        "x": False,
        "q": "1.0000",
        "V": "500",
        "Q": "0.500",
        "B": "123456",
    },
}

odd_values = st.one_of(
    st.sampled_from(["0.0015", "-1", "0", "NaN", "inf", "1e400", "abc", "", " 0.002 ", "0.003"]),
    st.integers(-5, 5),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=1),
)


@settings(max_examples=300, deadline=None)
@given(
    field=st.sampled_from(["o", "h", "l", "c", "v", "q", "V", "t", "n", "x", "i", "E", "s"]),
    value=odd_values,
    drop=st.booleans(),
)
def test_fast_parser_accepts_and_rejects_exactly_what_the_strict_parser_does(
    field: str, value: Any, drop: bool
) -> None:
    payload = copy.deepcopy(SAMPLE)
    target = payload if field in ("E", "s") else payload["k"]
    if drop:
        del target[field]
    else:
        target[field] = value
    try:
        strict = values_of(_parse_kline_strict(payload))
    except InvalidMessage:
        strict = None
    fast = kline_values(payload)
    if fast is not None:
        assert strict is not None, f"fast path accepted what the strict parser rejects: {field}={value!r}"
        assert fast[1] == strict


def test_market_data_settings_errors_name_the_key() -> None:
    with pytest.raises(ConfigError, match=r"market_data\.control_messages_per_second"):
        settings_from_dict({"market_data": {"control_messages_per_second": 6.0}})
    with pytest.raises(ConfigError, match=r"market_data\.retention_days.*'2x'"):
        settings_from_dict({"market_data": {"retention_days": ["2x=5"]}})
    with pytest.raises(ConfigError, match=r"market_data\.max_streams_per_connection"):
        settings_from_dict({"market_data": {"max_streams_per_connection": 2000}})
    with pytest.raises(ConfigError, match=r"market_data\.watchdg_seconds"):
        settings_from_dict({"market_data": {"watchdg_seconds": 3}})
    assert settings_from_dict({"market_data": {"watchdog_seconds": 2}}).market_data.watchdog_seconds == 2.0
