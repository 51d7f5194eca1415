"""The two page parts that let a page follow pushed changes (assets/31_push_pages.js does the rest).

A page that changes with the data gets its updates from a hub topic (`dash_modules/push.py`): either the
props themselves, or a nudge written into a hidden carrier's `title` (the page's own callback then reads
what is new to it, e.g. with its filters applied). A timer remains only as the fallback where push is
unavailable: `fallback_interval` starts disabled and the page's script turns it on while the push stream
is down, off again when it is back.
"""

from __future__ import annotations

from typing import Any

from dash import dcc, html

FALLBACK_MS = 5_000
FALLBACK_ATTRIBUTE = "data-push-fallback"


def fallback_interval(interval_id: str, interval_ms: int = FALLBACK_MS) -> Any:
    """A disabled `dcc.Interval` that runs only while the push stream is down. An Interval renders no
    element, so a hidden wrapper names it for the script."""
    return html.Div(
        dcc.Interval(id=interval_id, interval=interval_ms, n_intervals=0, disabled=True),
        hidden=True,
        **{FALLBACK_ATTRIBUTE: interval_id},
    )


def carrier(component_id: str) -> Any:
    """A hidden element whose `title` a topic sets to say "something changed" (its callbacks take it as
    an Input). It renders an element, so the push script applies it only on pages that show it."""
    return html.Div(id=component_id, hidden=True, title="")


__all__ = ["FALLBACK_ATTRIBUTE", "FALLBACK_MS", "carrier", "fallback_interval"]
