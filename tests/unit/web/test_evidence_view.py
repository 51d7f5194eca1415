"""The rule record the signal details and the alerts form show: which rows, which words, which numbers."""

from __future__ import annotations

from typing import Any

from dash_modules.evidence_view import COMPUTING, evidence_block, evidence_rows, signal_alert_evidence
from dash_modules.signals_page import details_body
from thebot.analysis.signal_details import SignalDetails
from thebot.backtest.evidence import RuleEvidence
from thebot.backtest.evidence_cache import StoredEvidence
from thebot.market.timeframe import Timeframe
from thebot.signals.models import Side, Signal

T0 = 1_677_628_800_000


def row(rule: str, signals: int, hit_rate: float, forward: float) -> RuleEvidence:
    return RuleEvidence(
        rule=rule,
        timeframe="15m",
        candles=2_000,
        signals=signals,
        hit_rate=hit_rate,
        mean_forward_return=forward,
        expectancy=forward - 0.0024,
        horizon_bars=5,
    )


EVIDENCE = StoredEvidence(
    "BTCUSDT",
    Timeframe.M15,
    (row("rsi", 40, 0.55, 0.001), row("zone", 10, 0.4, -0.002), row("all rules", 50, 0.52, 0.0004)),
    first_open_time=T0,
    last_open_time=T0 + 1_999 * 900_000,
)


def text(component: Any) -> str:
    """Every string in a component tree, joined."""
    if component is None:
        return ""
    if isinstance(component, str | int | float):
        return str(component)
    if isinstance(component, list | tuple):
        return " ".join(text(item) for item in component)
    return text(getattr(component, "children", None))


def test_a_rule_shows_its_own_row_then_the_total() -> None:
    assert [item.rule for item in evidence_rows(EVIDENCE, ["zone"])] == ["zone", "all rules"]
    assert [item.rule for item in evidence_rows(EVIDENCE, None)] == ["rsi", "zone", "all rules"]
    shown = text(evidence_block(EVIDENCE, ["zone"]))
    assert "zone 10 0.50 40.0 % -0.200 % -0.440 %" in shown
    assert "all rules 50 2.50 52.0 % +0.040 % -0.200 %" in shown
    assert "rsi" not in shown.split("UTC")[0].split("Expectancy")[1]
    assert "BTCUSDT 15m, 2,000 stored candles 2023-03-01 00:00 → 2023-03-21 19:45 UTC" in shown
    assert "5 candles ahead" in shown


def test_missing_computing_and_failed_records_say_so() -> None:
    assert text(evidence_block(None, ["rsi"])) == COMPUTING
    assert "never fired" in text(evidence_block(EVIDENCE, ["pattern:CDLDOJI"]))
    failed = StoredEvidence("BTCUSDT", Timeframe.M1, (), error="no stored candles of BTCUSDT yet")
    assert text(evidence_block(failed, ["rsi"])) == "No record: no stored candles of BTCUSDT yet."


def test_a_signal_alert_shows_every_rule() -> None:
    shown = text(signal_alert_evidence(EVIDENCE))
    assert "fires on any rule's signal" in shown
    assert "rsi 40" in shown and "zone 10" in shown and "all rules 50" in shown


def test_the_signal_details_carry_the_rules_record() -> None:
    signal = Signal(
        time=T0,
        symbol="BTCUSDT",
        timeframe=Timeframe.M15,
        side=Side.BUY,
        rule="rsi",
        strength=0.7,
        price=23_000.0,
        reason="RSI rose out of oversold",
        provisional=False,
    )
    details = SignalDetails(signal=signal, candle=None, indicators=(), quality=None, link="/chart")
    shown = text(details_body(details, EVIDENCE))
    assert "Record over the stored history" in shown and "rsi 40 2.00 55.0 % +0.100 %" in shown
    assert COMPUTING in text(details_body(details, None))
