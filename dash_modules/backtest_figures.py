"""Backtest figures and figures-as-text: pure functions of a result dict (the API's shape), no Dash."""

from __future__ import annotations

import math
from typing import Any

UP = "#26a69a"
DOWN = "#ef5350"
MUTED = "#7a8194"
GRID = "#262c3d"
HOLD = "#8c9bb5"
COMPARE_COLOURS = ("#26a69a", "#f0b429", "#5c9ded", "#c678dd", "#ef5350", "#98c379")


def _axes(figure: dict[str, Any], rows: int) -> None:
    for row in range(1, rows + 1):
        suffix = "" if row == 1 else str(row)
        axis: dict[str, Any] = {"type": "date", "gridcolor": GRID, "showticklabels": row == rows}
        if row > 1:
            axis["matches"] = "x"
        figure["layout"][f"xaxis{suffix}"] = axis
        figure["layout"][f"yaxis{suffix}"] = {"gridcolor": GRID, "side": "right"}


def _layout(height: int) -> dict[str, Any]:
    return {
        "template": "plotly_dark",
        "paper_bgcolor": "#131722",
        "plot_bgcolor": "#131722",
        "font": {"color": "#c7ccd8", "size": 12},
        "height": height,
        "margin": {"l": 10, "r": 60, "t": 30, "b": 30},
        "legend": {"orientation": "h", "y": 1.04, "x": 0},
        "hovermode": "x unified",
    }


def _line(name: str, times: list[int], values: list[float], row: int, **style: Any) -> dict[str, Any]:
    suffix = "" if row == 1 else str(row)
    return {
        "type": "scatter",
        "name": name,
        "x": [_iso(value) for value in times],
        "y": values,
        "xaxis": f"x{suffix}",
        "yaxis": f"y{suffix}",
        "line": style,
    }


def _markers(name: str, times: list[int], prices: list[float], symbol: str, colour: str) -> dict[str, Any]:
    return {
        "type": "scatter",
        "mode": "markers",
        "name": name,
        "x": [_iso(value) for value in times],
        "y": prices,
        "marker": {"symbol": symbol, "color": colour, "size": 8, "line": {"width": 1.5, "color": colour}},
    }


def result_figure(result: dict[str, Any]) -> dict[str, Any]:
    """Price with trade markers, equity against buy & hold, and the drawdown, sharing one time axis."""
    chart = result["chart"]
    times = chart["time"]
    trades = result["trades"]
    longs = [trade for trade in trades if trade["side"] == "LONG"]
    shorts = [trade for trade in trades if trade["side"] == "SHORT"]
    drawdown = _line(
        "drawdown %", times, [value * 100 for value in chart["drawdown"]], 3, color=DOWN, width=1
    )
    drawdown.update(type="scatter", fill="tozeroy")
    exits = _markers(
        "exit", [t["exit_time"] for t in trades], [t["exit_price"] for t in trades], "x-thin", "#e6e9f0"
    )
    exits["text"] = [trade["exit_reason"] for trade in trades]
    data = [
        _line("price", times, chart["price"], 1, color=MUTED, width=1),
        _markers(
            "long entry",
            [t["entry_time"] for t in longs],
            [t["entry_price"] for t in longs],
            "triangle-up",
            UP,
        ),
        _markers(
            "short entry",
            [t["entry_time"] for t in shorts],
            [t["entry_price"] for t in shorts],
            "triangle-down",
            DOWN,
        ),
        exits,
        _line("strategy", times, chart["equity"], 2, color=UP, width=2),
        _line("buy & hold", times, chart["buy_and_hold"], 2, color=HOLD, width=1, dash="dot"),
        drawdown,
    ]
    figure: dict[str, Any] = {"data": data, "layout": _layout(640)}
    _axes(figure, 3)
    layout = figure["layout"]
    layout["yaxis"]["domain"] = [0.52, 1.0]
    layout["yaxis2"]["domain"] = [0.2, 0.48]
    layout["yaxis3"]["domain"] = [0.0, 0.16]
    layout["yaxis3"]["ticksuffix"] = " %"
    split = (result.get("walk_forward") or {}).get("split_time")
    if split:
        at = _iso(split)
        line = {"color": "#f0b429", "dash": "dash", "width": 1}
        layout["shapes"] = [
            {"type": "line", "xref": "x", "yref": "paper", "x0": at, "x1": at, "y0": 0, "y1": 1, "line": line}
        ]
        label = {"color": "#f0b429", "size": 11}
        layout["annotations"] = [
            {
                "x": at,
                "y": 1,
                "xref": "x",
                "yref": "paper",
                "text": "out-of-sample →",
                "showarrow": False,
                "font": label,
            }
        ]
    return figure


def compare_figure(results: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """Several runs' equity as % return from their start, one colour each."""
    data = []
    for number, (label, result) in enumerate(results):
        chart = result["chart"]
        first = chart["equity"][0] if chart["equity"] else 1.0
        start = result["request"]["initial_capital"] or first
        data.append(
            {
                "type": "scatter",
                "x": [_iso(value) for value in chart["time"]],
                "y": [(value / start - 1) * 100 for value in chart["equity"]],
                "name": label,
                "line": {"color": COMPARE_COLOURS[number % len(COMPARE_COLOURS)], "width": 1.5},
            }
        )
    figure: dict[str, Any] = {"data": data, "layout": _layout(320)}
    _axes(figure, 1)
    figure["layout"]["yaxis"]["ticksuffix"] = " %"
    return figure


def _iso(open_time: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(open_time / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M")


def percent(value: float | None, signed: bool = True) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    return f"{value * 100:+.2f} %" if signed else f"{value * 100:.1f} %"


def ratio(value: float | None) -> str:
    return "—" if value is None or not math.isfinite(value) else f"{value:.2f}"


def duration(milliseconds: int) -> str:
    minutes = milliseconds // 60_000
    days, rest = divmod(minutes, 1440)
    hours, minutes = divmod(rest, 60)
    return f"{days}d {hours}h" if days else f"{hours}h {minutes}m"


def tone(value: float | None) -> str:
    """The css class of a figure: up green, down red, muted when there is nothing to say."""
    if value is None or not math.isfinite(value) or value == 0:
        return "bt-neutral"
    return "bt-up" if value > 0 else "bt-down"


def metric_cards(metrics: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(label, text, css class) per card, in reading order."""
    return [
        ("Total return", percent(metrics["total_return"]), tone(metrics["total_return"])),
        ("Buy & hold", percent(metrics["buy_and_hold"]), tone(metrics["buy_and_hold"])),
        ("CAGR", percent(metrics["cagr"]), tone(metrics["cagr"])),
        ("Max drawdown", percent(metrics["max_drawdown"]), tone(metrics["max_drawdown"])),
        ("Drawdown length", duration(metrics["max_drawdown_ms"]), "bt-neutral"),
        ("Sharpe", ratio(metrics["sharpe"]), tone(metrics["sharpe"])),
        ("Sortino", ratio(metrics["sortino"]), tone(metrics["sortino"])),
        ("Calmar", ratio(metrics["calmar"]), tone(metrics["calmar"])),
        ("Trades", f"{metrics['trades']:,}", "bt-neutral"),
        ("Win rate", percent(metrics["win_rate"], signed=False), "bt-neutral"),
        ("Profit factor", ratio(metrics["profit_factor"]), tone(_above_one(metrics["profit_factor"]))),
        ("Expectancy", percent(metrics["expectancy"]), tone(metrics["expectancy"])),
        ("Exposure", percent(metrics["exposure"], signed=False), "bt-neutral"),
    ]


def _above_one(value: float | None) -> float | None:
    return None if value is None else value - 1.0
