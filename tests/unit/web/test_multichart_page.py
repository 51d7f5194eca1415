"""The Multi page's URL: what a shared link opens, and the link the page writes back."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import orjson

from dash_modules.multichart_page import Pane, default_panes, panes_from_query, panes_query

SYMBOLS = ["BTCUSDT", "ETHUSDT"]
TIMEFRAMES = ["1m", "5m", "15m", "1h", "4h", "1d"]


def test_without_a_query_four_panes_of_the_default_symbol_in_1m_15m_1h_4h() -> None:
    count, panes = panes_from_query("", SYMBOLS, TIMEFRAMES, "BTCUSDT")
    assert count == 4
    assert panes == [Pane("BTCUSDT", frame) for frame in ("1m", "15m", "1h", "4h")]
    assert [pane.timeframe for pane in default_panes("ETHUSDT", ["5m", "1d"])] == ["5m", "1d", "1d", "1d"]


def test_a_shared_link_opens_its_panes_and_drops_what_is_not_streamed() -> None:
    count, panes = panes_from_query("?symbol=ethusdt&timeframes=5m,1h", SYMBOLS, TIMEFRAMES, "BTCUSDT")
    assert count == 2 and panes[:2] == [Pane("ETHUSDT", "5m"), Pane("ETHUSDT", "1h")]
    count, panes = panes_from_query(
        "?symbols=BTCUSDT,ETHUSDT,DOGEUSDT&timeframes=1m,1m,7m", SYMBOLS, TIMEFRAMES, "BTCUSDT"
    )
    assert count == 3
    assert panes[:3] == [Pane("BTCUSDT", "1m"), Pane("ETHUSDT", "1m"), Pane("BTCUSDT", "1h")]
    count, _ = panes_from_query("?timeframes=1m,5m,15m,1h,4h,1d", SYMBOLS, TIMEFRAMES, "BTCUSDT")
    assert count == 4


def test_the_written_link_opens_the_same_panes() -> None:
    for shown in (
        [Pane("BTCUSDT", "1m"), Pane("BTCUSDT", "15m")],
        [Pane("BTCUSDT", "1m"), Pane("ETHUSDT", "1m"), Pane("ETHUSDT", "4h")],
    ):
        query = panes_query(shown)
        count, panes = panes_from_query("?" + query, SYMBOLS, TIMEFRAMES, "BTCUSDT")
        assert panes[:count] == shown, query
    assert panes_query([Pane("BTCUSDT", "1m"), Pane("BTCUSDT", "1h")]) == "symbol=BTCUSDT&timeframes=1m,1h"


def test_the_page_has_no_refresh_timer() -> None:
    """Panes move by push only."""
    from dash_modules import multichart_page
    from thebot.market.timeframe import Timeframe

    services: Any = SimpleNamespace(
        market=SimpleNamespace(symbols=lambda: SYMBOLS, datastream=SimpleNamespace(timeframes=[Timeframe.M1]))
    )
    rendered = orjson.dumps(
        multichart_page.layout(services), default=lambda component: component.to_plotly_json()
    ).decode()
    assert rendered.count('"type":"Graph"') == 4
    assert '"type":"Interval"' not in rendered
