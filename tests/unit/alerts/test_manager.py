"""The AlertManager on events: firing, history, states, restart without re-fire, health and signals."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.alerts.conftest import Clock, close
from thebot.alerts.coalesce import coalesce
from thebot.alerts.models import AlertStatus, AlertType
from thebot.alerts.rules import RuleError
from thebot.alerts.settings import AlertSettings
from thebot.events import (
    AlertFired,
    BackfillProgress,
    ConnectionChanged,
    EventBus,
    SignalRaised,
    StreamFresh,
    StreamStale,
)

PRICE_RULE: dict[str, Any] = {
    "kind": "price",
    "symbol": "BTCUSDT",
    "timeframe": "1m",
    "condition": "crossing_up",
    "value": 100.0,
    "trigger": "once_per_bar_close",
    "message": "{{symbol}} {{timeframe}} closed at {{close}} on {{time}}",
}


def feed(manager: Any, prices: list[float], start_bar: int = 0, clock: Clock | None = None) -> None:
    for offset, price in enumerate(prices):
        if clock is not None:
            clock.now += 60_000
        manager.process(close(price, start_bar + offset))


def test_price_rule_fires_on_the_crossing_close_with_placeholders(make_manager: Any) -> None:
    manager = make_manager()
    rule = manager.create_rule(PRICE_RULE)
    feed(manager, [98.0, 99.0, 101.0, 102.0])
    [alert] = manager.history()
    assert alert.rule_id == rule.id
    assert alert.alert_type is AlertType.INFO
    assert alert.status is AlertStatus.ACTIVE
    assert alert.value == 101.0
    assert alert.message == "BTCUSDT 1m closed at 101 on 2023-11-14 22:15 UTC"
    assert alert.bar_open_time == 1_700_000_000_000 + 2 * 60_000


def test_rule_created_past_the_level_does_not_fire(make_manager: Any) -> None:
    manager = make_manager()
    manager.create_rule(PRICE_RULE)
    feed(manager, [105.0, 106.0, 107.0])  # already above when the rule started listening
    assert manager.history() == []


def test_duplicate_close_is_evaluated_once(make_manager: Any) -> None:
    manager = make_manager()
    manager.create_rule({**PRICE_RULE, "condition": "above"})
    manager.process(close(101.0, 0))
    manager.process(close(101.0, 0))  # the same close published twice
    assert len(manager.history()) == 1


def test_restart_does_not_fire_again_and_keeps_history(make_manager: Any) -> None:
    manager = make_manager()
    rule = manager.create_rule({**PRICE_RULE, "trigger": "once"})
    feed(manager, [99.0, 101.0])
    assert len(manager.history()) == 1
    manager.store.close()
    again = make_manager()  # same database file
    assert [r.id for r in again.rules()] == [rule.id]
    assert again.rule_status(again.rules()[0])["status"] == "done"
    feed(again, [99.0, 101.0, 99.0, 102.0], start_bar=1)  # the replayed bar 1, then new crossings
    assert len(again.history()) == 1


def test_restart_replaying_the_fired_close_does_not_duplicate(make_manager: Any) -> None:
    manager = make_manager()
    manager.create_rule(PRICE_RULE)
    feed(manager, [99.0, 101.0])
    manager.store.close()
    again = make_manager()
    feed(again, [99.0, 101.0])  # the same two closes again (a backfill replay after restart)
    assert len(again.history()) == 1
    feed(again, [99.0, 101.0], start_bar=2)  # a new crossing does fire
    assert len(again.history()) == 2


def test_paused_and_expired_rules_stay_quiet(make_manager: Any, clock: Clock) -> None:
    manager = make_manager()
    paused = manager.create_rule({**PRICE_RULE, "paused": True})
    expiring = manager.create_rule({**PRICE_RULE, "expires_at": clock.now + 150_000})
    feed(manager, [99.0, 101.0], clock=clock)  # within the expiry
    feed(manager, [99.0, 101.0], start_bar=2, clock=clock)  # after it
    fired = [alert.rule_id for alert in manager.history()]
    assert fired == [expiring.id]
    assert manager.rule_status(manager.rule(expiring.id))["status"] == "expired"
    manager.update_rule(paused.id, {"paused": False})
    feed(manager, [99.0, 101.0], start_bar=4, clock=clock)
    assert paused.id in [alert.rule_id for alert in manager.history()]


def test_alerts_expire_and_can_be_dismissed(make_manager: Any, clock: Clock) -> None:
    manager = make_manager(AlertSettings(expire_after_minutes=10))
    manager.create_rule({**PRICE_RULE, "condition": "above", "value": 0.0})
    feed(manager, [1.0, 2.0, 3.0], clock=clock)
    first, second, third = sorted(manager.history(), key=lambda alert: alert.id)
    assert manager.dismiss(first.id)
    assert not manager.dismiss(first.id)  # already dismissed
    clock.now = second.time + 10 * 60_000
    statuses = {alert.id: alert.status for alert in manager.history()}
    assert statuses == {
        first.id: AlertStatus.DISMISSED,
        second.id: AlertStatus.EXPIRED,
        third.id: AlertStatus.ACTIVE,
    }
    assert manager.dismiss_all() == 1
    assert {alert.status for alert in manager.history(status="ACTIVE")} == set()


def test_history_filters(make_manager: Any, clock: Clock) -> None:
    manager = make_manager()
    manager.create_rule({**PRICE_RULE, "condition": "above", "value": 0.0})
    manager.create_rule(
        {**PRICE_RULE, "symbol": "ETHUSDT", "condition": "above", "value": 0.0, "type": "BUY"}
    )
    feed(manager, [1.0, 2.0], clock=clock)
    for bar in range(2):
        manager.process(close(5.0, bar, symbol="ETHUSDT"))
    assert len(manager.history()) == 4
    assert {a.symbol for a in manager.history(symbol="ETHUSDT")} == {"ETHUSDT"}
    assert len(manager.history(alert_type="BUY")) == 2
    assert len(manager.history(limit=1)) == 1
    newest = manager.history()[0]
    assert manager.history()[0].id > manager.history()[-1].id
    assert all(a.time >= newest.time for a in manager.history(since=newest.time))


def test_moving_percent_uses_the_close_n_bars_back(make_manager: Any) -> None:
    manager = make_manager()
    manager.create_rule({**PRICE_RULE, "condition": "moving_up_percent", "value": 5.0, "bars": 3})
    feed(manager, [100.0, 101.0, 102.0, 104.0, 106.0])
    # bar 3 is +4 % on bar 0; bar 4 is +4.95 % on bar 1: neither; then bar 5 is +5.9 % on bar 2
    assert manager.history() == []
    feed(manager, [108.0], start_bar=5)
    [alert] = manager.history()
    assert alert.value == 108.0


def test_bad_rules_name_the_field(make_manager: Any) -> None:
    manager = make_manager()
    cases = {
        "kind": {**PRICE_RULE, "kind": "volume"},
        "symbol": {**PRICE_RULE, "symbol": "DOGEUSDT"},
        "timeframe": {**PRICE_RULE, "timeframe": "7m"},
        "condition": {**PRICE_RULE, "condition": "near"},
        "value": {**PRICE_RULE, "value": "high"},
        "value2": {**PRICE_RULE, "condition": "entering_channel"},
        "trigger": {**PRICE_RULE, "trigger": "always"},
        "expires_at": {**PRICE_RULE, "expires_at": 5},
        "notify": {**PRICE_RULE, "notify": ["pager"]},
        "hysteresis": {**PRICE_RULE, "hysteresis": -1},
        "colour": {**PRICE_RULE, "colour": "red"},
        "indicator": {**PRICE_RULE, "kind": "indicator"},
    }
    for field, body in cases.items():
        with pytest.raises(RuleError) as caught:
            manager.create_rule(body)
        assert caught.value.field == field, (field, str(caught.value))
    assert manager.rules() == []


def _indicator_rows(values: dict[int, dict[str, float | None]]) -> Any:
    def series(symbol: str, timeframe: str, name: str, params: Any, limit: Any) -> list[dict[str, Any]]:
        return [{"open_time": 1_700_000_000_000 + bar * 60_000, "values": v} for bar, v in values.items()]

    return series


def test_indicator_rule_crossing_another_output(make_manager: Any) -> None:
    rows = {
        0: {"macd": None, "macdsignal": None},
        1: {"macd": 1.0, "macdsignal": 1.2},
        2: {"macd": 1.5, "macdsignal": 1.3},
        3: {"macd": 1.6, "macdsignal": 1.4},
    }
    manager = make_manager(indicator_series=_indicator_rows(rows))
    manager.create_rule(
        {
            "kind": "indicator",
            "symbol": "BTCUSDT",
            "timeframe": "1m",
            "indicator": "MACD",
            "output": "macd",
            "output2": "macdsignal",
            "condition": "crossing_up",
            "trigger": "once_per_bar",
        }
    )
    feed(manager, [1.0, 1.0, 1.0, 1.0])
    [alert] = manager.history()
    assert alert.bar_open_time == 1_700_000_000_000 + 2 * 60_000
    assert alert.value == 1.5
    assert "MACD macd crossing up macdsignal" in alert.title


def test_signal_rules_skip_provisional_and_weak_signals(make_manager: Any) -> None:
    grades = iter(["NEUTRAL", "NEUTRAL", "STRONG_BUY", "STRONG_BUY"])  # one look per settled signal
    manager = make_manager(grade_of=lambda symbol: next(grades))
    manager.create_rule(
        {"kind": "signal", "symbol": "BTCUSDT", "timeframe": "1m", "condition": "sell", "value": 0.5}
    )
    grade_rule = manager.create_rule(
        {
            "kind": "signal",
            "symbol": "BTCUSDT",
            "timeframe": "1m",
            "condition": "grade",
            "output": "STRONG_BUY",
        }
    )

    def signal(side: str, strength: float, time: int, provisional: bool = False) -> SignalRaised:
        return SignalRaised("BTCUSDT", "1m", time, side, "rsi", strength, 100.0, "RSI crossed", provisional)

    manager.process(signal("SELL", 0.9, 1, provisional=True))  # may be withdrawn: ignored
    manager.process(signal("SELL", 0.3, 2))  # too weak
    manager.process(signal("SELL", 0.8, 3))  # fires (grade NEUTRAL)
    manager.process(signal("BUY", 0.8, 4))  # grade becomes STRONG_BUY: fires
    manager.process(signal("BUY", 0.8, 5))  # grade stays STRONG_BUY: no change, no alert
    alerts = sorted(manager.history(), key=lambda a: a.id)
    assert [(a.alert_type, a.rule_id == grade_rule.id) for a in alerts] == [
        (AlertType.SELL, False),
        (AlertType.BUY, True),
    ]


def test_health_alerts(make_manager: Any, clock: Clock) -> None:
    manager = make_manager(AlertSettings(connection_lost_seconds=0.2))
    manager.process(StreamStale("BTCUSDT", "1m", 90_000))
    manager.process(StreamStale("BTCUSDT", "1m", 95_000))  # still the same stale spell
    manager.process(StreamFresh("BTCUSDT", "1m"))
    manager.process(StreamStale("BTCUSDT", "1m", 90_000))  # a new spell
    manager.process(BackfillProgress(False, "BTCUSDT 1m", 0, 0, failed=1, error="HTTP 418"))
    manager.process(BackfillProgress(False, "BTCUSDT 1m", 0, 0, failed=1, error="HTTP 418"))
    manager.start()
    manager._on_event(ConnectionChanged(False, 1, "closed"))
    import time

    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and not manager.history(alert_type="WARNING", limit=10)[
        0
    ].title.startswith("Connection"):
        time.sleep(0.05)
    titles = [a.title for a in sorted(manager.history(), key=lambda a: a.id)]
    assert titles == ["BTCUSDT 1m stale", "BTCUSDT 1m stale", "Backfill failed", "Connection lost"]
    assert {a.alert_type for a in manager.history()} == {AlertType.WARNING}


def test_alert_fired_is_published_after_the_row_is_written(make_manager: Any) -> None:
    bus = EventBus()
    seen: list[tuple[AlertFired, bool]] = []
    manager = make_manager(bus=bus)
    bus.subscribe(
        AlertFired, lambda event: seen.append((event, manager.store.get(event.id) is not None)), name="t"
    )
    manager.create_rule({**PRICE_RULE, "condition": "above", "value": 0.0})
    manager.process(close(1.0, 0))
    assert bus.wait_idle(2)
    [(event, stored)] = seen
    assert stored
    assert event.symbol == "BTCUSDT"
    bus.close()


def test_type_modes_off_and_silent(make_manager: Any) -> None:
    manager = make_manager(AlertSettings(info="silent", buy="off"))
    manager.create_rule(
        {**PRICE_RULE, "condition": "above", "value": 0.0, "notify": ["toast", "sound", "webhook"]}
    )
    manager.create_rule({**PRICE_RULE, "condition": "above", "value": 0.0, "type": "BUY"})
    manager.process(close(1.0, 0))
    channels = {a.alert_type: a.channels for a in manager.history()}
    assert channels == {AlertType.INFO: ("toast",), AlertType.BUY: ()}


def test_coalescing_turns_a_burst_into_one_toast(make_manager: Any, clock: Clock) -> None:
    manager = make_manager()
    for value in range(6):
        manager.create_rule({**PRICE_RULE, "condition": "above", "value": float(value)})
    manager.process(close(10.0, 0))
    clock.now += 60_000
    manager.create_rule({**PRICE_RULE, "condition": "above", "value": 50.0, "type": "SELL"})
    manager.process(close(100.0, 1))
    alerts = manager.since(0)
    assert len(alerts) == 13  # the history keeps every one
    groups = coalesce(alerts, max_count=4, window_ms=5_000)
    assert [len(group.alerts) for group in groups] == [6, 7]
    assert groups[1].alert_type is AlertType.SELL
    single = coalesce(alerts[:3], max_count=4, window_ms=5_000)
    assert [group.summary for group in single] == [False, False, False]


def test_every_stream_stale_is_one_feed_down_warning(make_manager: Any) -> None:
    from types import SimpleNamespace

    streams = [("BTCUSDT", "1m"), ("BTCUSDT", "5m")]
    datastream = SimpleNamespace(keys=lambda: streams, add_update_observer=lambda observer: None)
    manager = make_manager(datastream=datastream)
    manager.process(StreamStale("BTCUSDT", "1m", 90_000))
    manager.process(StreamStale("BTCUSDT", "5m", 400_000))  # now all: the feed is down
    manager.process(StreamFresh("BTCUSDT", "5m"))
    manager.process(StreamStale("BTCUSDT", "5m", 400_000))  # still the same outage: no second one
    titles = [a.title for a in sorted(manager.history(), key=lambda a: a.id)]
    assert titles == ["BTCUSDT 1m stale", "Feed down"]


def test_calendar_event_becomes_an_info_alert(make_manager: Any) -> None:
    from thebot.events import CalendarEventSoon

    manager = make_manager()
    start = 1_700_000_000_000 + 30 * 60_000
    manager.process(CalendarEventSoon("fomc-1", "FOMC rate decision", start, "US", "high", 30.0))
    [alert] = manager.history()
    assert (alert.alert_type, alert.title) == (AlertType.INFO, "FOMC rate decision")
    assert alert.message == "FOMC rate decision (US, high importance) starts at 22:43 UTC, in 30 min."


def test_forming_prices_fire_per_bar_rules_but_never_bar_close_rules(make_manager: Any) -> None:
    import dataclasses

    from thebot.market.datastream import DataStream
    from thebot.market.models import Candle
    from thebot.market.timeframe import Timeframe

    stream = DataStream(["BTCUSDT"], [Timeframe.M1], capacity=100)
    base = 1_700_000_000_000
    stream.update("BTCUSDT", Timeframe.M1, Candle(base, 99, 99, 99, 99.0, 1, True))
    manager = make_manager(datastream=stream).start()
    assert stream._update_observers == []  # no forming rule yet: the socket's hot path stays lean
    per_bar = manager.create_rule({**PRICE_RULE, "trigger": "once_per_bar"})
    on_close = manager.create_rule(PRICE_RULE)
    assert stream._update_observers == [manager._on_update]

    forming = Candle(base + 60_000, 99, 101, 99, 101.0, 1, False)
    stream.update("BTCUSDT", Timeframe.M1, forming)  # crosses 100 while forming
    assert manager.wait_idle()
    final = dataclasses.replace(forming, close=99.5, closed=True)
    stream.update("BTCUSDT", Timeframe.M1, final)  # ...and closes below: the crossing never happened
    manager.process(close(99.5, 1))
    assert manager.wait_idle()
    fired = [alert.rule_id for alert in manager.history()]
    assert fired == [per_bar.id]
    assert on_close.id not in fired


def test_an_edited_once_rule_may_fire_once_more(make_manager: Any, clock: Clock) -> None:
    manager = make_manager()
    rule = manager.create_rule({**PRICE_RULE, "trigger": "once"})
    feed(manager, [99.0, 101.0], clock=clock)
    manager.update_rule(rule.id, {"paused": True})
    manager.update_rule(rule.id, {"paused": False})
    feed(manager, [99.0, 101.0], start_bar=2, clock=clock)  # pausing does not re-arm a done rule
    assert len(manager.history()) == 1
    manager.update_rule(rule.id, {"value": 200.0})  # a new level is a new rule
    feed(manager, [199.0, 201.0], start_bar=4, clock=clock)
    assert len(manager.history()) == 2
    manager.store.close()
    again = make_manager()  # and the edit survives a restart
    feed(again, [199.0, 201.0], start_bar=6, clock=clock)
    assert len(again.history()) == 2
