"""Apply a Dash Patch in Python the way the browser does, so tests can compare patched and rebuilt figures."""

from __future__ import annotations

import json
from typing import Any

from dash import Patch


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
