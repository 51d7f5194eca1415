"""The Backtest page at /backtest: a form, a progress bar while the run works, then the figures.

The run happens in `services.backtests` (a worker thread; see `thebot.backtest.jobs`): the Run button
submits, and each `BacktestProgress` event reaches the page by push (`progress_props` writes the
job's progress into a hidden carrier, and the page's callback reads its job). The interval is the
fallback where push is unavailable.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, State, dash_table, dcc, html, no_update

from dash_modules import backtest_api, ids
from dash_modules.backtest_figures import compare_figure, metric_cards, percent, ratio, result_figure
from dash_modules.live import carrier, fallback_interval
from dash_modules.pages import Page
from thebot.backtest.models import BacktestInputError
from thebot.market.timeframe import Timeframe

if TYPE_CHECKING:
    from thebot.services import Services

POLL_MS = 2_000  # only while push is down
PUSH_SECONDS = 0.5
RUNS_SHOWN = 12


def _field(label: str, control: Any, width: int = 2) -> Any:
    return dbc.Col([dbc.Label(label, className="bt-label"), control], md=width)


def _number(
    component_id: str, value: float | None, step: float | str = "any", placeholder: str = "off"
) -> Any:
    return dbc.Input(
        id=component_id, type="number", value=value, step=step, placeholder=placeholder, size="sm"
    )


def form(services: Services) -> Any:
    settings = services.settings
    jobs = services.backtests
    current = jobs.source if jobs is not None else ""
    streams = jobs.sources() if jobs is not None else []
    sources = sorted({row["source"] for row in streams} | {current} - {""})
    symbols = sorted({row["symbol"] for row in streams} | set(settings.market.symbols))
    costs = settings.backtest
    return dbc.Card(
        dbc.CardBody(
            [
                dbc.Row(
                    [
                        _field(
                            "Source",
                            dcc.Dropdown(
                                id=ids.BACKTEST_SOURCE,
                                options=sources,
                                value=current,
                                clearable=False,
                            ),
                            3,
                        ),
                        _field(
                            "Symbol",
                            dcc.Dropdown(
                                id=ids.BACKTEST_SYMBOL,
                                options=symbols,
                                value=settings.ui.default_symbol,
                                clearable=False,
                            ),
                        ),
                        _field(
                            "Timeframe",
                            dcc.Dropdown(
                                id=ids.BACKTEST_TIMEFRAME,
                                options=[t.value for t in Timeframe if t is not Timeframe.S1],
                                value=Timeframe.M1.value,
                                clearable=False,
                            ),
                        ),
                        _field(
                            "From (UTC)",
                            dbc.Input(id=ids.BACKTEST_START, placeholder="first stored", size="sm"),
                        ),
                        _field(
                            "To (UTC)", dbc.Input(id=ids.BACKTEST_END, placeholder="last stored", size="sm")
                        ),
                    ],
                    className="g-2 mb-2",
                ),
                dbc.Row(
                    [
                        _field(
                            "Enter on",
                            dbc.RadioItems(
                                id=ids.BACKTEST_ENTRY,
                                value="rules",
                                inline=True,
                                options=[
                                    {"label": "rule signals", "value": "rules"},
                                    {"label": "grade", "value": "grade"},
                                ],
                            ),
                            3,
                        ),
                        _field(
                            "Rules (none = all)",
                            dcc.Dropdown(
                                id=ids.BACKTEST_RULES,
                                options=list(settings.signals.rules),
                                value=[],
                                multi=True,
                            ),
                            4,
                        ),
                        _field(
                            "Grade",
                            dcc.Dropdown(
                                id=ids.BACKTEST_GRADE,
                                options=["BUY", "STRONG_BUY"],
                                value="BUY",
                                clearable=False,
                            ),
                        ),
                        _field(
                            "Shorts",
                            dbc.Checklist(
                                id=ids.BACKTEST_SHORTS,
                                options=[{"label": "sell short", "value": "on"}],
                                value=[],
                                switch=True,
                            ),
                        ),
                    ],
                    className="g-2 mb-2",
                ),
                dbc.Row(
                    [
                        _field("Stop loss %", _number(ids.BACKTEST_STOP_LOSS, None)),
                        _field("Take profit %", _number(ids.BACKTEST_TAKE_PROFIT, None)),
                        _field("Trailing %", _number(ids.BACKTEST_TRAILING, None)),
                        _field("Max bars", _number(ids.BACKTEST_MAX_BARS, None, step=1)),
                        _field(
                            "Exit on",
                            dbc.Checklist(
                                id=ids.BACKTEST_OPPOSITE,
                                options=[{"label": "opposite signal", "value": "on"}],
                                value=["on"],
                                switch=True,
                            ),
                        ),
                        _field("Walk-forward in-sample %", _number(ids.BACKTEST_IN_SAMPLE, None, step=5)),
                    ],
                    className="g-2 mb-2",
                ),
                dbc.Row(
                    [
                        _field("Fee %", _number(ids.BACKTEST_FEE, costs.fee_rate * 100, placeholder="0")),
                        _field(
                            "Slippage bps",
                            _number(ids.BACKTEST_SLIPPAGE, costs.slippage_bps, placeholder="0"),
                        ),
                        _field(
                            "Capital", _number(ids.BACKTEST_CAPITAL, costs.initial_capital, placeholder="")
                        ),
                        dbc.Col(
                            dbc.Button(
                                "Run backtest",
                                id=ids.BACKTEST_RUN,
                                color="success",
                                size="sm",
                                className="mt-4",
                            ),
                            md=2,
                        ),
                        dbc.Col(html.Div(id=ids.BACKTEST_MESSAGE, className="mt-4"), md=4),
                    ],
                    className="g-2",
                ),
            ]
        ),
        className="bt-card mb-3",
    )


def layout(services: Services) -> Any:
    return html.Div(
        [
            form(services),
            html.Div(id=ids.BACKTEST_PROGRESS),
            dcc.Store(id=ids.BACKTEST_JOB, data=None),
            carrier(ids.BACKTEST_FEED),
            fallback_interval(ids.BACKTEST_TICK, POLL_MS),
            html.Div(id=ids.BACKTEST_RESULTS),
            dbc.Card(
                [
                    dbc.CardHeader("Runs: tick to compare"),
                    dbc.CardBody(
                        [
                            dbc.Checklist(id=ids.BACKTEST_COMPARE, options=[], value=[], className="bt-runs"),
                            html.Div(id=ids.BACKTEST_RUNS),
                            dcc.Graph(
                                id=ids.BACKTEST_COMPARE_CHART,
                                figure=compare_figure([]),
                                config={"displaylogo": False},
                            ),
                        ]
                    ),
                ],
                className="bt-card mt-3",
            ),
        ],
        className="backtest-page",
    )


def _fraction(percent_value: float | None) -> float | None:
    return None if percent_value in (None, "") else float(percent_value) / 100  # type: ignore[arg-type]


def request_body(values: dict[str, Any]) -> dict[str, Any]:
    """The API's JSON body from the form's values (percent fields become fractions)."""
    body: dict[str, Any] = {
        "source": values["source"] or "",
        "symbol": values["symbol"],
        "timeframe": values["timeframe"],
        "start": (values["start"] or "").strip() or None,
        "end": (values["end"] or "").strip() or None,
        "entry": values["entry"],
        "rules": list(values["rules"] or []),
        "grade": values["grade"],
        "shorts": bool(values["shorts"]),
        "exits": {
            "opposite_signal": bool(values["opposite"]),
            "stop_loss": _fraction(values["stop_loss"]),
            "take_profit": _fraction(values["take_profit"]),
            "trailing": _fraction(values["trailing"]),
            "max_bars": values["max_bars"],
        },
        "in_sample": _fraction(values["in_sample"]),
    }
    if values["fee"] is not None:
        body["fee_rate"] = float(values["fee"]) / 100
    if values["slippage"] is not None:
        body["slippage_bps"] = values["slippage"]
    if values["capital"] is not None:
        body["initial_capital"] = values["capital"]
    return body


def progress_view(job: dict[str, Any] | None) -> Any:
    if job is None:
        return None
    if job["status"] == "failed":
        return dbc.Alert(job["error"], color="danger", className="py-2")
    share = job["progress"] * 100
    done = job["status"] == "done"
    label = (
        f"done in {job['seconds']:.1f} s"
        if done and job["seconds"] is not None
        else f"{job['phase']} {share:.0f} %"
    )
    return html.Div(
        [
            dbc.Progress(
                value=share,
                label=label,
                striped=not done,
                animated=not done,
                color="success",
                className="bt-progress",
            )
        ],
        className="mb-3",
    )


def _time(open_time: int) -> str:
    return datetime.fromtimestamp(open_time / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M")


_TRADE_COLUMNS = (
    ("side", "Side"),
    ("entry", "Entry (UTC)"),
    ("entry_price", "Entry price"),
    ("exit", "Exit (UTC)"),
    ("exit_price", "Exit price"),
    ("bars", "Bars"),
    ("return", "Return %"),
    ("pnl", "P&L"),
    ("exit_reason", "Why"),
)


def trade_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Newest first, numbers rounded for reading."""
    return [
        {
            "side": trade["side"],
            "entry": _time(trade["entry_time"]),
            "entry_price": round(trade["entry_price"], 2),
            "exit": _time(trade["exit_time"]),
            "exit_price": round(trade["exit_price"], 2),
            "bars": trade["bars"],
            "return": round(trade["return"] * 100, 3),
            "pnl": round(trade["pnl"], 2),
            "exit_reason": trade["exit_reason"],
        }
        for trade in reversed(result["trades"])
    ]


def trades_table(result: dict[str, Any]) -> Any:
    """One DataTable (paged in the browser): a plain table of hundreds of rows took the Dash renderer tens
    of seconds on a busy machine."""
    rows = trade_rows(result)
    shown = len(rows)
    note = (
        f"newest {shown:,} of {result['trades_total']:,} trades"
        if result["trades_total"] > shown
        else f"{shown:,} trades"
    )
    up, down = "var(--tb-up)", "var(--tb-down)"
    table = dash_table.DataTable(
        data=rows,
        columns=[{"id": key, "name": name} for key, name in _TRADE_COLUMNS],
        page_size=20,
        sort_action="native",
        style_as_list_view=True,
        style_header={"backgroundColor": "#1b2030", "color": "#7a8194", "border": "none"},
        style_cell={
            "backgroundColor": "#131722",
            "color": "#c7ccd8",
            "border": "none",
            "fontSize": "0.85rem",
            "fontFamily": "inherit",
            "padding": "2px 8px",
        },
        style_data_conditional=[
            {"if": {"filter_query": "{side} = LONG", "column_id": "side"}, "color": up},
            {"if": {"filter_query": "{side} = SHORT", "column_id": "side"}, "color": down},
            {"if": {"filter_query": "{return} > 0", "column_id": "return"}, "color": up},
            {"if": {"filter_query": "{return} < 0", "column_id": "return"}, "color": down},
        ],
    )
    return html.Div(
        [html.Div(note, className="bt-muted mb-1"), table], id=ids.BACKTEST_TRADES, className="bt-trades"
    )


def walk_forward_table(result: dict[str, Any]) -> Any:
    walk = result.get("walk_forward")
    if not walk:
        return None
    rows = []
    for label, key in (
        ("Total return", "total_return"),
        ("Trades", "trades"),
        ("Win rate", "win_rate"),
        ("Profit factor", "profit_factor"),
        ("Sharpe", "sharpe"),
        ("Max drawdown", "max_drawdown"),
    ):
        cells = []
        for part in ("in_sample", "out_of_sample"):
            value = walk[part][key]
            text = (
                str(value)
                if key == "trades"
                else ratio(value)
                if key in ("profit_factor", "sharpe")
                else percent(value, signed=key != "win_rate")
            )
            cells.append(html.Td(text))
        rows.append(html.Tr([html.Th(label), *cells]))
    header = html.Thead(
        html.Tr(
            [html.Th(""), html.Th("in-sample"), html.Th(f"out-of-sample (from {_time(walk['split_time'])})")]
        )
    )
    return dbc.Table([header, html.Tbody(rows)], size="sm", className="bt-table bt-walk")


def results_view(job: dict[str, Any]) -> Any:
    results = job["results"]
    if not results:
        return None
    result = results[0]
    cards = [
        html.Div(
            [html.Div(label, className="metric-label"), html.Div(text, className=f"metric-value {css}")],
            className="bt-metric",
        )
        for label, text, css in metric_cards(result["metrics"])
    ]
    sweep = None
    if len(results) > 1:
        sweep = dbc.Table(
            [
                html.Thead(
                    html.Tr(
                        [html.Th(h) for h in ("Exits", "Total", "Trades", "Win rate", "Sharpe", "Max DD")]
                    )
                ),
                html.Tbody(
                    [
                        html.Tr(
                            [
                                html.Td(r["exits"]),
                                html.Td(percent(r["metrics"]["total_return"])),
                                html.Td(r["metrics"]["trades"]),
                                html.Td(percent(r["metrics"]["win_rate"], signed=False)),
                                html.Td(ratio(r["metrics"]["sharpe"])),
                                html.Td(percent(r["metrics"]["max_drawdown"])),
                            ]
                        )
                        for r in results
                    ]
                ),
            ],
            size="sm",
            className="bt-table",
        )
    request = result["request"]
    title = (
        f"{request['symbol']} {request['timeframe']} · {request['source']} · {result['candles']:,} candles "
        f"{_time(result['first_open_time'])} → {_time(result['last_open_time'])} · "
        f"{result['signals']:,} signals · exits: {result['exits']}"
    )
    return html.Div(
        [
            html.Div(title, className="bt-title"),
            html.Div(cards, className="bt-metrics"),
            walk_forward_table(result),
            sweep,
            dbc.Card(
                dcc.Graph(id=ids.BACKTEST_CHART, figure=result_figure(result), config={"displaylogo": False}),
                className="chart-card mb-3",
            ),
            trades_table(result),
        ]
    )


def runs_view(jobs: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], Any]:
    done = [job for job in jobs if job["status"] == "done"][:RUNS_SHOWN]
    options = [
        {
            "label": f" {job['request']['symbol']} {job['request']['timeframe']} {job['request']['entry']} · "
            f"total {percent(job['metrics']['total_return'])} · Sharpe {ratio(job['metrics']['sharpe'])} · "
            f"{job['metrics']['trades']} trades · {job['id']}",
            "value": job["id"],
        }
        for job in done
        if job.get("metrics")
    ]
    return options, None if options else html.Div("No finished runs yet.", className="bt-muted")


def register(app: Dash, services: Services) -> None:
    # The JSON API lives with the page that uses it: one place registers both.
    backtest_api.register(app.server, services)

    @app.callback(
        Output(ids.BACKTEST_JOB, "data"),
        Output(ids.BACKTEST_MESSAGE, "children"),
        Input(ids.BACKTEST_RUN, "n_clicks"),
        State(ids.BACKTEST_SOURCE, "value"),
        State(ids.BACKTEST_SYMBOL, "value"),
        State(ids.BACKTEST_TIMEFRAME, "value"),
        State(ids.BACKTEST_START, "value"),
        State(ids.BACKTEST_END, "value"),
        State(ids.BACKTEST_ENTRY, "value"),
        State(ids.BACKTEST_RULES, "value"),
        State(ids.BACKTEST_GRADE, "value"),
        State(ids.BACKTEST_SHORTS, "value"),
        State(ids.BACKTEST_STOP_LOSS, "value"),
        State(ids.BACKTEST_TAKE_PROFIT, "value"),
        State(ids.BACKTEST_TRAILING, "value"),
        State(ids.BACKTEST_MAX_BARS, "value"),
        State(ids.BACKTEST_OPPOSITE, "value"),
        State(ids.BACKTEST_IN_SAMPLE, "value"),
        State(ids.BACKTEST_FEE, "value"),
        State(ids.BACKTEST_SLIPPAGE, "value"),
        State(ids.BACKTEST_CAPITAL, "value"),
        prevent_initial_call=True,
    )
    def _run(_clicks: int | None, *values: Any) -> tuple[Any, Any]:
        names = (
            "source",
            "symbol",
            "timeframe",
            "start",
            "end",
            "entry",
            "rules",
            "grade",
            "shorts",
            "stop_loss",
            "take_profit",
            "trailing",
            "max_bars",
            "opposite",
            "in_sample",
            "fee",
            "slippage",
            "capital",
        )
        if services.backtests is None:
            return no_update, dbc.Alert(
                "Backtests are not available in this app.", color="danger", className="py-1"
            )
        try:
            job_id = services.backtests.submit(request_body(dict(zip(names, values, strict=True))))
        except BacktestInputError as error:
            return no_update, dbc.Alert(str(error), color="danger", className="py-1 mb-0")
        return job_id, None

    @app.callback(
        Output(ids.BACKTEST_PROGRESS, "children"),
        Output(ids.BACKTEST_RESULTS, "children"),
        Output(ids.BACKTEST_COMPARE, "options"),
        Output(ids.BACKTEST_RUNS, "children"),
        Input(ids.BACKTEST_JOB, "data"),
        Input(ids.BACKTEST_FEED, "title"),
        Input(ids.BACKTEST_TICK, "n_intervals"),
    )
    def _refresh(job_id: str | None, _pushed: str | None, _ticks: int | None) -> tuple[Any, Any, Any, Any]:
        jobs = services.backtests
        if jobs is None:
            return None, None, [], None
        options, empty = runs_view(jobs.jobs())
        job = jobs.get(job_id) if job_id else None
        if job is None:
            return None, None, options, empty
        running = job["status"] in ("queued", "running")
        results = None if running or job["status"] == "failed" else results_view(job)
        return progress_view(job), results, options, empty

    @app.callback(Output(ids.BACKTEST_COMPARE_CHART, "figure"), Input(ids.BACKTEST_COMPARE, "value"))
    def _compare(chosen: list[str] | None) -> Any:
        jobs = services.backtests
        picked = []
        for job_id in chosen or []:
            job = jobs.get(job_id) if jobs is not None else None
            if job is not None and job["results"]:
                request = job["request"]
                picked.append(
                    (
                        f"{request['symbol']} {request['timeframe']} {request['entry']} {job_id}",
                        job["results"][0],
                    )
                )
        return compare_figure(picked)


PAGE = Page(path="/backtest", label="Backtest", layout=layout, register=register)
