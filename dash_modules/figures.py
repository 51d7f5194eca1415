"""Pure figure building: candle data in, Plotly figure dicts and patch plans out.

Nothing here touches Dash's runtime or a service, so every function is tested without a browser.
Times go to Plotly as epoch milliseconds on a date axis: smaller payloads than ISO strings.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from thebot.market.models import CandleSnapshot

UP_COLOR = "#26a69a"
DOWN_COLOR = "#ef5350"
BACKGROUND = "#131722"
PANEL = "#1b2030"
GRID = "#262c3d"
TEXT = "#c7ccd8"
MUTED = "#7a8194"

CANDLE_TRACE = 0
VOLUME_TRACE = 1

Figure = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ChartTheme:
    """The colours a chart figure takes from the page's theme (`ui.theme`). Candles and volume keep
    their green and red in both: a trader reads them by colour."""

    name: str
    background: str
    grid: str
    text: str
    muted: str


DARK_THEME = ChartTheme("dark", BACKGROUND, GRID, TEXT, MUTED)
# The light page's panel, border, text and muted colours (assets/20_settings.css, `html.theme-light`).
LIGHT_THEME = ChartTheme("light", "#ffffff", "#e3e6ee", "#1d2330", "#5c6476")
_THEMES = {theme.name: theme for theme in (DARK_THEME, LIGHT_THEME)}


def chart_theme(name: str | None) -> ChartTheme:
    """The chart's colours for a `ui.theme` value; anything unknown is dark (the app's default)."""
    return _THEMES.get(name or "", DARK_THEME)


def axis_style(theme: ChartTheme) -> dict[str, Any]:
    return {
        "gridcolor": theme.grid,
        "zerolinecolor": theme.grid,
        "linecolor": theme.grid,
        "tickfont": {"color": theme.muted},
    }


def volume_colors(open_: np.ndarray[Any, Any], close: np.ndarray[Any, Any]) -> list[str]:
    return [UP_COLOR if c >= o else DOWN_COLOR for o, c in zip(open_.tolist(), close.tolist(), strict=True)]


SIGNIFICANT_DIGITS = 10


def significant(values: np.ndarray[Any, Any], digits: int = SIGNIFICANT_DIGITS) -> np.ndarray[Any, Any]:
    """`digits` significant digits, vectorised: keeps every real price exact and drops float noise from
    the payload (`29841.340000000004` → `29841.34`). Scaling by an exact power of ten, rounding and
    scaling back gives the double nearest the rounded decimal, as `float(f"{v:.10g}")` does, at numpy's
    speed (a 5,000-candle figure has some 75,000 numbers). NaN stays NaN."""
    array = np.asarray(values, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        magnitude = np.floor(np.log10(np.abs(array)))
        shift = digits - 1 - np.where(np.isfinite(magnitude), magnitude, 0.0)
        scale = 10.0 ** np.abs(shift)
        return np.where(shift >= 0, np.round(array * scale) / scale, np.round(array / scale) * scale)


def significant_list(values: np.ndarray[Any, Any]) -> list[float | None]:
    """`significant` as a JSON-ready list: None where a value is undefined (NaN or infinite)."""
    rounded = significant(values)
    missing = ~np.isfinite(rounded)
    if not missing.any():
        return rounded.tolist()  # type: ignore[no-any-return]
    cells = rounded.astype(object)
    cells[missing] = None
    return cells.tolist()  # type: ignore[no-any-return]


def _rounded(values: np.ndarray[Any, Any]) -> list[float]:
    return significant(values).tolist()  # type: ignore[no-any-return]


def candle_columns(snapshot: CandleSnapshot) -> dict[str, list[Any]]:
    return {
        "x": snapshot.open_time.tolist(),
        "open": _rounded(snapshot.open),
        "high": _rounded(snapshot.high),
        "low": _rounded(snapshot.low),
        "close": _rounded(snapshot.close),
        "volume": _rounded(snapshot.volume),
        "volume_color": volume_colors(snapshot.open, snapshot.close),
    }


def empty_figure(message: str, theme: ChartTheme = DARK_THEME) -> Figure:
    return {
        "data": [],
        "layout": {
            **_base_layout(theme),
            "xaxis": {"visible": False},
            "yaxis": {"visible": False},
            "annotations": [
                {
                    "text": message,
                    "showarrow": False,
                    "font": {"size": 16, "color": theme.muted},
                    "xref": "paper",
                    "yref": "paper",
                    "x": 0.5,
                    "y": 0.5,
                }
            ],
        },
    }


def _base_layout(theme: ChartTheme) -> dict[str, Any]:
    return {
        "paper_bgcolor": theme.background,
        "plot_bgcolor": theme.background,
        "font": {
            "color": theme.text,
            "family": "Inter, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif",
            "size": 12,
        },
        "margin": {"l": 10, "r": 60, "t": 10, "b": 30},
        "showlegend": False,
        "hovermode": "x unified",
        "hoverlabel": {"bgcolor": theme.background, "bordercolor": theme.grid, "font": {"color": theme.text}},
        "dragmode": "pan",
    }


def time_axis_clip(first_open_time: int, last_open_time: int, interval_ms: int) -> dict[str, int]:
    """Bounds for the time axis's autorange. Marker traces (signals) would otherwise pad it by 5 % on
    each side, leaving empty minutes beside the candles; a user's zoom is not affected."""
    half = interval_ms // 2
    return {"clipmin": first_open_time - half, "clipmax": last_open_time + half}


def candlestick_figure(
    snapshot: CandleSnapshot, *, title: str = "", theme: ChartTheme = DARK_THEME
) -> Figure:
    """Candles on top, volume below, sharing one date axis; `uirevision` keeps the user's zoom
    across updates of the same symbol and timeframe (a new full figure included: a theme or marker
    filter change) and resets it when either changes."""
    columns = candle_columns(snapshot)
    candle_trace = {
        "type": "candlestick",
        "name": title or snapshot.symbol,
        "x": columns["x"],
        "open": columns["open"],
        "high": columns["high"],
        "low": columns["low"],
        "close": columns["close"],
        "xaxis": "x",
        "yaxis": "y",
        "increasing": {"line": {"color": UP_COLOR, "width": 1}, "fillcolor": UP_COLOR},
        "decreasing": {"line": {"color": DOWN_COLOR, "width": 1}, "fillcolor": DOWN_COLOR},
        "whiskerwidth": 0,
    }
    volume_trace = {
        "type": "bar",
        "name": "Volume",
        "x": columns["x"],
        "y": columns["volume"],
        "xaxis": "x",
        "yaxis": "y2",
        "marker": {"color": columns["volume_color"], "line": {"width": 0}},
        "opacity": 0.55,
        "hovertemplate": "%{y:,.4f}<extra>Volume</extra>",
    }
    axes = axis_style(theme)
    layout = {
        **_base_layout(theme),
        "uirevision": f"{snapshot.symbol}:{snapshot.timeframe.value}",
        "xaxis": {
            **axes,
            "type": "date",
            "anchor": "y2",
            "autorangeoptions": time_axis_clip(
                int(snapshot.open_time[0]), int(snapshot.open_time[-1]), snapshot.timeframe.milliseconds
            ),
            "rangeslider": {"visible": False},
            "showspikes": True,
            "spikemode": "across",
            "spikecolor": theme.muted,
            "spikethickness": 1,
        },
        "yaxis": {
            **axes,
            "domain": [0.24, 1.0],
            "side": "right",
            "tickformat": ",.2f",
            "fixedrange": False,
        },
        "yaxis2": {
            **axes,
            "domain": [0.0, 0.2],
            "side": "right",
            "showgrid": False,
            "tickformat": "~s",
        },
    }
    return {"data": [candle_trace, volume_trace], "layout": layout}


@dataclass(frozen=True, slots=True)
class ChartState:
    """What the browser is showing: the push channel patches from exactly this state (and the page
    asks for a full figure when a patch's base is not its state)."""

    symbol: str
    timeframe: str
    version: int
    first_open_time: int
    last_open_time: int
    count: int
    picks: tuple[str, ...] = ()
    signals_version: int = -1
    markers: str = ""
    # The marker filter the page chose (pushed marker traces use the same one as its full figure).
    min_strength: float = 0.0
    hidden_rules: tuple[str, ...] = ()

    @classmethod
    def of(
        cls,
        snapshot: CandleSnapshot,
        picks: tuple[str, ...] = (),
        signals_version: int = -1,
        markers: str = "",
        *,
        min_strength: float = 0.0,
        hidden_rules: tuple[str, ...] = (),
    ) -> ChartState:
        count = len(snapshot)
        return cls(
            symbol=snapshot.symbol,
            timeframe=snapshot.timeframe.value,
            version=snapshot.version,
            first_open_time=int(snapshot.open_time[0]) if count else 0,
            last_open_time=int(snapshot.open_time[-1]) if count else 0,
            count=count,
            picks=picks,
            signals_version=signals_version,
            markers=markers,
            min_strength=min_strength,
            hidden_rules=hidden_rules,
        )

    def base_dict(self) -> dict[str, Any]:
        """What the page compares before applying an update (assets/30_push.js `sameCandles`): the
        candles it shows, not the bookkeeping; a smaller update on the wire."""
        return {
            "symbol": self.symbol,
            "timeframe": self.timeframe,
            "version": self.version,
            "first_open_time": self.first_open_time,
            "last_open_time": self.last_open_time,
            "count": self.count,
            "picks": list(self.picks),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.base_dict(),
            "signals_version": self.signals_version,
            "markers": self.markers,
            "min_strength": self.min_strength,
            "hidden_rules": list(self.hidden_rules),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> ChartState | None:
        if not data:
            return None
        try:
            return cls(
                symbol=str(data["symbol"]),
                timeframe=str(data["timeframe"]),
                version=int(data["version"]),
                first_open_time=int(data["first_open_time"]),
                last_open_time=int(data["last_open_time"]),
                count=int(data["count"]),
                picks=tuple(str(pick) for pick in data.get("picks") or ()),
                signals_version=int(data.get("signals_version", -1)),
                markers=str(data.get("markers", "")),
                min_strength=float(data.get("min_strength", 0.0)),
                hidden_rules=tuple(str(rule) for rule in data.get("hidden_rules") or ()),
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            return None


@dataclass(frozen=True, slots=True)
class PatchPlan:
    """How to bring the browser's figure to `snapshot`: rewrite the last `replace` candles in place,
    append `append` new ones, then drop `trim` from the front. Indices are positive: Dash patches
    address array items by explicit position."""

    replace_from: int
    replace: dict[str, list[Any]]
    append: dict[str, list[Any]]
    trim: int


PATCH_MAX_APPEND = 50


def plan_patch(state: ChartState, snapshot: CandleSnapshot, window: int) -> PatchPlan | None:
    """A patch plan, or None when only a full figure is correct (history changed under the chart,
    e.g. a backfill merged candles, or too many candles arrived at once)."""
    times = snapshot.open_time
    if len(snapshot) == 0 or state.count == 0:
        return None
    matches = np.flatnonzero(times == state.last_open_time)
    if matches.size != 1:
        return None
    last_index = int(matches[0])
    appended = len(snapshot) - 1 - last_index
    if appended > PATCH_MAX_APPEND:
        return None
    # The browser's window must be exactly the snapshot's rows before the appended ones.
    first_index = last_index - state.count + 1
    if first_index < 0 or int(times[first_index]) != state.first_open_time:
        return None
    # Rewrite the previously-last candle too: it may have changed right before it closed.
    replace_slice = snapshot.tail(appended + 1)
    columns = candle_columns(replace_slice)
    replaced = {name: values[:1] for name, values in columns.items()}
    added = {name: values[1:] for name, values in columns.items()}
    new_count = state.count + appended
    trim = max(0, new_count - window)
    return PatchPlan(replace_from=state.count - 1, replace=replaced, append=added, trim=trim)


def state_after(state: ChartState, snapshot: CandleSnapshot, plan: PatchPlan) -> ChartState:
    count = state.count + len(plan.append["x"]) - plan.trim
    times = snapshot.open_time
    last_index = len(snapshot) - 1
    return replace(
        state,
        version=snapshot.version,
        first_open_time=int(times[last_index - count + 1]),
        last_open_time=int(times[last_index]),
        count=count,
    )
