"""Shareable chart URLs: `/?symbol=ETHUSDT&timeframe=15m&indicators=RSI,EMA?timeperiod=50&t=<ms>`.

Opening such a URL selects the symbol, timeframe and indicators (unknown ones are dropped with the rest
kept); changing them on the page rewrites the address bar in place (history.replaceState, so no page
load and no callback loop). `t` centres the chart on that candle once, for links from a signal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from dash import Dash, Input, Output, State, no_update

from dash_modules import ids
from dash_modules.indicator_form import options_with_picks
from dash_modules.indicators_panel import INDICATOR_PICKER
from thebot.indicators import IndicatorError
from thebot.indicators.picks import parse_pick

if TYPE_CHECKING:
    from thebot.services import Services

# Picks are separated by commas; a pick never contains one (parameters are joined with '&', which the
# query string carries encoded as %26).
PICK_SEPARATOR = ","


def chart_query(search: str | None) -> dict[str, Any]:
    """The chart's choices in a query string, unvalidated: `{"symbol"?, "timeframe"?, "indicators"?}`."""
    query = parse_qs((search or "").lstrip("?"), keep_blank_values=False)
    chosen: dict[str, Any] = {}
    if query.get("symbol"):
        chosen["symbol"] = query["symbol"][0].strip().upper()
    if query.get("timeframe"):
        chosen["timeframe"] = query["timeframe"][0].strip()
    if "indicators" in query:
        chosen["indicators"] = [
            pick.strip() for pick in query["indicators"][0].split(PICK_SEPARATOR) if pick.strip()
        ]
    return chosen


def valid_picks(services: Services, picks: list[str]) -> list[str]:
    kept = []
    for pick in picks:
        try:
            name, params = parse_pick(pick)
            services.analytics.factory.spec(name, params)
        except (ValueError, IndicatorError):
            continue
        kept.append(pick)
    return kept


def register_callbacks(app: Dash, services: Services) -> None:
    @app.callback(
        Output(ids.SYMBOL_SELECT, "value", allow_duplicate=True),
        Output(ids.TIMEFRAME_SELECT, "value", allow_duplicate=True),
        Output(INDICATOR_PICKER, "value", allow_duplicate=True),
        Output(INDICATOR_PICKER, "options", allow_duplicate=True),
        # Fires when the chart page is rendered (its store appears), so its outputs exist by then.
        Input(ids.URL_SYNC, "data"),
        State(ids.URL, "search"),
        State(ids.URL, "pathname"),
        State(INDICATOR_PICKER, "options"),
        prevent_initial_call="initial_duplicate",
    )
    def _from_url(
        _rendered: Any, search: str | None, pathname: str | None, options: list[Any] | None
    ) -> tuple[Any, ...]:
        chosen = chart_query(search)
        if (pathname or "/") != "/" or not chosen:
            return no_update, no_update, no_update, no_update
        symbol = chosen.get("symbol")
        timeframe = chosen.get("timeframe")
        streamed = {frame.value for frame in services.market.datastream.timeframes}
        picks = valid_picks(services, chosen["indicators"]) if "indicators" in chosen else None
        extended = options_with_picks(options, picks) if picks else None
        return (
            symbol if symbol in services.market.symbols() else no_update,
            timeframe if timeframe in streamed else no_update,
            picks if picks is not None else no_update,
            extended if extended is not None else no_update,
        )

    # Selections → address bar, in place. Also centres the chart on `t` once after its first figure.
    app.clientside_callback(
        """function (symbol, timeframe, picks, state) {
            if (window.location.pathname !== '/' || !symbol || !timeframe) {
                return window.dash_clientside.no_update;
            }
            const params = new URLSearchParams(window.location.search);
            const t = Number(params.get('t'));
            params.set('symbol', symbol);
            params.set('timeframe', timeframe);
            if (picks && picks.length) { params.set('indicators', picks.join(','));
            } else { params.delete('indicators'); }
            if (t && state && state.count && state.symbol === symbol && state.timeframe === timeframe) {
                const gd = document.querySelector('#price-chart .js-plotly-plot');
                const step = gd && gd.data && gd.data[0] && gd.data[0].x && gd.data[0].x.length > 1
                    ? gd.data[0].x[1] - gd.data[0].x[0] : 60000;
                if (gd && window.Plotly) {
                    window.Plotly.relayout(gd, {'xaxis.range': [t - 60 * step, t + 20 * step]});
                }
                params.delete('t');
            }
            const query = params.toString();
            const target = '/' + (query ? '?' + query : '');
            if (target !== window.location.pathname + window.location.search) {
                window.history.replaceState(window.history.state, '', target);
            }
            return window.dash_clientside.no_update;
        }""",
        Output(ids.URL_SYNC, "data"),
        Input(ids.SYMBOL_SELECT, "value"),
        Input(ids.TIMEFRAME_SELECT, "value"),
        Input(INDICATOR_PICKER, "value"),
        Input(ids.CHART_STATE, "data"),
    )
