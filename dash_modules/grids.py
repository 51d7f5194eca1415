"""What the analyst pages' AG Grids share: the dark theme and the formatters (see assets/20_dashboard.js).

dash-ag-grid serves AG Grid from its own package (the app runs with `serve_locally=True`), and since
AG Grid 33 the theme is JavaScript (no stylesheet to fetch), so the grids load nothing from a CDN.
"""

from __future__ import annotations

from typing import Any

# AG Grid's Quartz theme in the page's palette (assets/10_thebot.css).
GRID_THEME = {
    "function": (
        "themeQuartz.withParams({backgroundColor: '#131722', foregroundColor: '#c7ccd8',"
        " headerBackgroundColor: '#1b2030', borderColor: '#262c3d', accentColor: '#26a69a',"
        " chromeBackgroundColor: '#1b2030', oddRowBackgroundColor: '#161b27', fontSize: 13,"
        " browserColorScheme: 'dark', headerFontWeight: 500, spacing: 6})"
    )
}


def formatter(function: str, field: str = "params.value") -> dict[str, Any]:
    """A valueFormatter calling one of `dashAgGridFunctions` from assets/20_dashboard.js."""
    return {"function": f"{function}({field})"}


SIGNED_CLASSES = {"cell-up": "params.value > 0", "cell-down": "params.value < 0"}
SIDE_CLASSES = {"cell-up": "params.value === 'BUY'", "cell-down": "params.value === 'SELL'"}
