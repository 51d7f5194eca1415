"""Rule evidence as the signal details and the alerts form show it: a small table of each rule's record
(signals, hit rate, mean forward return, expectancy) over a stream's stored candles.

Pure builders from `StoredEvidence` to components; the numbers come from the backtest's evidence cache
(`BacktestJobs.stored_evidence`), which never makes a callback wait.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import dash_bootstrap_components as dbc
from dash import html

from thebot.backtest.evidence import RuleEvidence
from thebot.backtest.evidence_cache import StoredEvidence

if TYPE_CHECKING:
    from thebot.services import Services

ALL_RULES = "all rules"
COMPUTING = "The record over the stored history is being computed; open this again in a few seconds."
HEADERS = ("Rule", "Signals", "Per 100 candles", "Hit rate", "Mean forward return", "Expectancy")


def _day(milliseconds: int | None) -> str:
    if milliseconds is None:
        return "?"
    return datetime.fromtimestamp(milliseconds / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M")


def evidence_caption(evidence: StoredEvidence) -> str:
    horizon = evidence.rows[0].horizon_bars if evidence.rows else 0
    return (
        f"{evidence.symbol} {evidence.timeframe.value}, {evidence.candles:,} stored candles "
        f"{_day(evidence.first_open_time)} → {_day(evidence.last_open_time)} UTC; "
        f"forward return {horizon} candles ahead, expectancy after a round trip's fees and slippage"
    )


def evidence_rows(evidence: StoredEvidence, rules: Sequence[str] | None = None) -> list[RuleEvidence]:
    """The rows to show: `rules` (in that order, those that fired) and the all-rules total; every row
    when `rules` is None."""
    if rules is None:
        return list(evidence.rows)
    picked = [row for rule in rules if (row := evidence.for_rule(rule)) is not None]
    total = evidence.for_rule(ALL_RULES)
    return picked + ([total] if total is not None and ALL_RULES not in rules else [])


def _cells(row: RuleEvidence) -> list[str]:
    return [
        row.rule,
        f"{row.signals:,}",
        f"{row.per_100_candles:.2f}",
        f"{row.hit_rate * 100:.1f} %",
        f"{row.mean_forward_return * 100:+.3f} %",
        f"{row.expectancy * 100:+.3f} %",
    ]


def evidence_block(
    evidence: StoredEvidence | None, rules: Sequence[str] | None = None, *, empty: str = ""
) -> Any:
    """The table (or the sentence saying why there is none) for `rules` on one stream."""
    if evidence is None:
        return html.P(COMPUTING, className="small text-muted evidence-pending")
    if evidence.error:
        return html.P(f"No record: {evidence.error}.", className="small text-muted evidence-missing")
    rows = evidence_rows(evidence, rules)
    if not rows or (all(row.rule == ALL_RULES for row in rows) and rules and ALL_RULES not in rules):
        message = empty or "This rule never fired on the stored candles."
        return html.P(message, className="small text-muted evidence-missing")
    return html.Div(
        [
            dbc.Table(
                [
                    html.Thead(html.Tr([html.Th(name) for name in HEADERS])),
                    html.Tbody(
                        [
                            html.Tr(
                                [html.Td(cell) for cell in _cells(row)],
                                className="evidence-total" if row.rule == ALL_RULES else "evidence-rule",
                            )
                            for row in rows
                        ]
                    ),
                ],
                size="sm",
                color="dark",
                className="detail-table evidence-table",
            ),
            html.Div(evidence_caption(evidence), className="small text-muted evidence-caption"),
        ],
        className="rule-evidence",
    )


def signal_alert_evidence(evidence: StoredEvidence | None) -> Any:
    """The alerts form's evidence for a signal alert: it fires on any rule's accepted signal on the
    stream, so every rule's record is shown, with the total."""
    return html.Div(
        [
            html.Div(
                "A signal alert fires on any rule's signal on this stream. Each rule's record:",
                className="small",
            ),
            evidence_block(evidence, None, empty="No rule fired on the stored candles."),
        ]
    )


def warm_evidence(services: Services) -> None:
    """Queue every streamed symbol × timeframe, so the record is usually ready when a page asks."""
    if services.backtests is None:
        return
    for symbol in services.market.symbols():
        for timeframe in services.market.datastream.timeframes:
            services.backtests.stored_evidence(symbol, timeframe)
