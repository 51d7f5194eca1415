"""Apply a Dash Patch in Python the way the browser does, so tests can compare patched and rebuilt figures."""

from __future__ import annotations

import json
from typing import Any

import orjson
from dash import Patch

from dash_modules.figures import DOWN_COLOR, UP_COLOR
from dash_modules.push import PushClient


def apply_patch(figure: dict[str, Any], patch: Patch) -> dict[str, Any]:
    """Assign, Extend and Delete by position: the operations the chart and its decorations send."""
    result: dict[str, Any] = json.loads(json.dumps(figure))
    for operation in patch.to_plotly_json()["operations"]:
        *path, last = operation["location"]
        target: Any = result
        for step in path:
            target = target[step]
        kind = operation["operation"]
        if kind == "Assign":
            target[last] = operation["params"]["value"]
        elif kind == "Extend":
            target[last].extend(operation["params"]["value"])
        elif kind == "Delete":
            del target[last]
        else:
            raise AssertionError(f"unexpected patch operation {kind}")
    return result


def apply_chart_message(figure: dict[str, Any], chart: dict[str, Any]) -> dict[str, Any]:
    """Apply a pushed chart update the way `assets/30_push.js` (`addChartOps`) does."""
    result: dict[str, Any] = json.loads(json.dumps(figure))
    data = result["data"]
    names = ("x", "open", "high", "low", "close")
    rows = chart.get("rows") or []
    indicators = chart.get("ind") or []
    at = chart.get("at")
    if rows:
        first = rows[0]
        for position in range(1, 5):
            data[0][names[position]][at] = first[position]
        data[1]["y"][at] = first[5]
        data[1]["marker"]["color"][at] = UP_COLOR if first[4] >= first[1] else DOWN_COLOR
    added = rows[1:]
    for position, name in enumerate(names):
        data[0][name].extend(row[position] for row in added)
    data[1]["x"].extend(row[0] for row in added)
    data[1]["y"].extend(row[5] for row in added)
    data[1]["marker"]["color"].extend(UP_COLOR if row[4] >= row[1] else DOWN_COLOR for row in added)
    for offset, values in enumerate(indicators):
        if values:
            trace = data[2 + offset]
            trace["y"][at] = values[0]
            trace["x"].extend(row[0] for row in added)
            trace["y"].extend(values[1:])
    for _ in range(chart.get("trim", 0)):
        for name in names:
            del data[0][name][0]
        for key in ("x", "y"):
            del data[1][key][0]
        del data[1]["marker"]["color"][0]
        for offset in range(len(indicators)):
            del data[2 + offset]["x"][0]
            del data[2 + offset]["y"][0]
    if "clip" in chart:
        result["layout"]["xaxis"]["autorangeoptions"] = chart["clip"]
    for offset, trace in enumerate(chart.get("markers") or []):
        data[chart["marker_index"] + offset] = trace
    return result


def drain(client: PushClient) -> list[dict[str, Any]]:
    """The messages queued for one page, decoded from their server-sent-event frames."""
    messages = []
    while not client.queue.empty():
        raw = client.queue.get_nowait()
        messages.append(orjson.loads(raw.split(b"data: ", 1)[1]))
    return messages
