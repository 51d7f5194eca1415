"""The News page: the list (source, relative time, sentiment badge, symbol tags) with its filters, the
symbol's price with news markers, each feed's health and the economic calendar with countdowns.

Everything a feed wrote is rendered as text children (Dash escapes them); nothing here uses
`dangerously_allow_html`, and links are made clickable only for http(s) URLs. Plotly hover labels read a
few HTML tags, so headlines are escaped before they go into a trace. The building blocks are pure
functions of service snapshots; the callbacks are thin shells around them. They run when the push channel
says something changed (news events; candle closes for the chart and the countdowns); the interval is the
fallback where push is unavailable.
"""

from __future__ import annotations

import html as html_text
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, dcc, html

from dash_modules.live import carrier, fallback_interval
from dash_modules.pages import Page
from thebot.market.timeframe import Timeframe
from thebot.news.models import Article, CalendarEntry

if TYPE_CHECKING:
    from thebot.services import Services

# Component ids of this page, in one place (the browser test uses them too).
NEWS_TICK = "news-tick"
NEWS_FEED = "news-feed"  # title set by push when items, feeds or the calendar change
# title set by push when candles close: the price chart under the items and the calendar's countdowns
NEWS_CANDLES = "news-candles"
NEWS_SYMBOL = "news-symbol"
NEWS_SENTIMENT = "news-sentiment"
NEWS_SOURCE = "news-source"
NEWS_TEXT = "news-text"
NEWS_REASON = "news-reason"
NEWS_LIST = "news-list"
NEWS_SUMMARY = "news-summary"
NEWS_CHART = "news-chart"
NEWS_FEEDS = "news-feeds"
NEWS_CALENDAR = "news-calendar"

ALL = "all"
# Refresh while the page is open; filters update at once. Push (issue #8) would replace this tick.
REFRESH_MS = 5_000  # only while push is down
PUSH_SECONDS = 1.0
CANDLES_PUSH_SECONDS = 5.0
LIST_LIMIT = 100
UP = "#26a69a"
DOWN = "#ef5350"
FLAT = "#8a90a0"
LABEL_COLOURS = {"positive": UP, "negative": DOWN, "neutral": FLAT}
CHART_CANDLES = 200


# -- pure building blocks -------------------------------------------------------------------------------


def relative_time(then_ms: int, now_ms: int) -> str:
    seconds = (now_ms - then_ms) / 1000
    future = seconds < 0
    seconds = abs(seconds)
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        text = f"{int(seconds // 60)} min"
    elif seconds < 86_400:
        text = f"{int(seconds // 3600)} h"
    else:
        text = f"{int(seconds // 86_400)} d"
    return f"in {text}" if future else f"{text} ago"


def countdown(start_ms: int, now_ms: int) -> str:
    """`in 2 d 3 h`, `in 1 h 05 min`, `in 4 min`, `now`, `started 10 min ago`."""
    seconds = int((start_ms - now_ms) / 1000)
    if seconds < -60:
        return f"started {relative_time(start_ms, now_ms)}"
    if seconds < 60:
        return "now"
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"in {days} d {hours} h"
    if hours:
        return f"in {hours} h {minutes:02d} min"
    return f"in {minutes} min"


def utc_label(ms: int) -> str:
    return time.strftime("%a %d %b %H:%M UTC", time.gmtime(ms / 1000))


def news_marker_trace(
    items: Sequence[Article], first_time_ms: int, last_time_ms: int, y_level: float
) -> dict[str, Any]:
    """A scatter trace of the items published within [first, last], at `y_level`, headline on hover.

    The chart's x axis is candle open times in ms (`xaxis.type = "date"`), so markers use ms too. Plotly
    reads <b>, <a> and friends in hover text: headlines are HTML-escaped so they show as typed."""
    shown = sorted(
        (item for item in items if first_time_ms <= item.published <= last_time_ms),
        key=lambda item: item.published,
    )
    return {
        "type": "scatter",
        "mode": "markers",
        "name": "News",
        "x": [item.published for item in shown],
        "y": [y_level] * len(shown),
        "text": [html_text.escape(item.title) for item in shown],
        "customdata": [html_text.escape(f"{item.source} · {item.label}") for item in shown],
        "hovertemplate": "%{text}<br>%{customdata}<extra></extra>",
        "marker": {
            "symbol": "diamond",
            "size": 10,
            "color": [LABEL_COLOURS.get(item.label, FLAT) for item in shown],
            "line": {"width": 1, "color": "#131722"},
        },
        "showlegend": False,
        "xaxis": "x",
        "yaxis": "y",
    }


def news_chart_figure(symbol: str, candles: Sequence[Any], items: Sequence[Article]) -> dict[str, Any]:
    """The symbol's closes with its news on the same time axis (the lead wires the trace into the chart)."""
    x = [candle.open_time for candle in candles]
    closes = [candle.close for candle in candles]
    traces: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": symbol,
            "x": x,
            "y": closes,
            "line": {"color": "#7a8194", "width": 1.5},
            "hovertemplate": "%{y}<extra></extra>",
        }
    ]
    if x:
        traces.append(news_marker_trace(items, x[0], x[-1], min(candle.low for candle in candles)))
    return {
        "data": traces,
        "layout": {
            "template": "plotly_dark",
            "paper_bgcolor": "#131722",
            "plot_bgcolor": "#131722",
            "font": {"color": "#c7ccd8", "size": 11},
            "margin": {"l": 10, "r": 56, "t": 28, "b": 30},
            "showlegend": False,
            "height": 220,
            "title": {"text": f"{symbol} · news on price" if x else f"{symbol}: no candles yet", "x": 0.01},
            "xaxis": {"type": "date", "gridcolor": "#262c3d"},
            "yaxis": {"gridcolor": "#262c3d", "side": "right"},
            "hovermode": "closest",
            "uirevision": symbol,
        },
    }


def sentiment_badge(article: Article) -> Any:
    sign = "+" if article.score > 0 else ""
    return html.Span(
        f"{article.label} {sign}{article.score:.2f}",
        className=f"news-badge news-{article.label}",
        title="VADER compound score with the crypto word list (−1..+1)",
    )


def news_row(article: Article, now_ms: int) -> Any:
    title: Any = (
        html.A(article.title, href=article.link, target="_blank", rel="noopener noreferrer nofollow")
        if article.link.startswith(("https://", "http://"))
        else html.Span(article.title)
    )
    when = relative_time(article.published, now_ms)
    if not article.dated:
        when += " (first seen; the feed gave no date)"
    return html.Li(
        [
            html.Div(
                [html.Span(title, className="news-title"), sentiment_badge(article)], className="news-head"
            ),
            html.Div(
                [
                    html.Span(article.source, className="news-source"),
                    html.Span(" · "),
                    html.Span(when, className="news-time", title=utc_label(article.published)),
                    *[html.Span(symbol, className="news-tag") for symbol in article.symbols],
                ],
                className="news-meta",
            ),
            html.Div(article.summary, className="news-summary-text") if article.summary else None,
        ],
        className=f"news-item news-item-{article.label}",
        **{"data-id": article.id},
    )


def unreachable(feeds: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [feed for feed in feeds if feed["status"] == "error"]


def empty_reason(feeds: Sequence[dict[str, Any]], total: int, shown: int, filtered: bool) -> str:
    """Why the list is empty (or what is missing from it); "" when nothing needs saying."""
    failing = unreachable(feeds)
    news_feeds = [feed for feed in feeds if feed.get("kind", "news") == "news"]
    failing_news = [feed for feed in failing if feed.get("kind", "news") == "news"]
    if not news_feeds:
        return "No news feeds are configured: add RSS or Atom URLs to news.feeds in the settings file."
    if total == 0:
        if len(failing_news) == len(news_feeds):
            return (
                f"No news: all {len(news_feeds)} feeds are unreachable or unreadable "
                f"(first: {failing_news[0]['error']}). See the feeds table."
            )
        waiting = [feed for feed in news_feeds if feed["last_fetch"] is None]
        if waiting:
            return f"Waiting for the first fetch of {len(waiting)} feed(s)…"
        return "The feeds answered but hold no items yet."
    if shown == 0 and filtered:
        return "No items match these filters; clear a filter to see more."
    if failing_news:
        names = ", ".join(feed["title"] or feed["url"] for feed in failing_news[:3])
        more = f" and {len(failing_news) - 3} more" if len(failing_news) > 3 else ""
        return f"{len(failing_news)} of {len(news_feeds)} feeds unreachable: {names}{more}."
    return ""


def feeds_table(feeds: Sequence[dict[str, Any]], now_ms: int) -> Any:
    rows = []
    for feed in feeds:
        status = feed["status"]
        detail = feed["error"] or feed.get("warning") or ""
        rows.append(
            html.Tr(
                [
                    html.Td(
                        [
                            html.Div(feed.get("title") or feed["url"], className="feed-name"),
                            html.Div(feed["url"], className="feed-url") if feed.get("title") else None,
                        ]
                    ),
                    html.Td(html.Span(status, className=f"feed-status feed-{status}")),
                    html.Td(relative_time(feed["last_fetch"], now_ms) if feed["last_fetch"] else "never"),
                    html.Td(str(feed["items"]), className="text-end"),
                    html.Td(detail, className="feed-error" if feed["error"] else "feed-warning"),
                ],
                className=f"feed-row feed-row-{status}",
            )
        )
    return dbc.Table(
        [
            html.Thead(
                html.Tr(
                    [html.Th("Feed"), html.Th("Status"), html.Th("Fetched"), html.Th("Items"), html.Th("")]
                )
            ),
            html.Tbody(rows),
        ],
        size="sm",
        hover=True,
        className="news-table",
    )


def calendar_panel(entries: Sequence[CalendarEntry], now_ms: int, configured: bool) -> Any:
    upcoming = [entry for entry in entries if entry.start >= now_ms - 3_600_000][:12]
    if not upcoming:
        message = (
            "No upcoming events in the calendars."
            if configured
            else "No calendar configured: add .ics files or RSS calendar feeds to news.calendars."
        )
        return html.Div(message, className="text-muted small p-2")
    return html.Ul(
        [
            html.Li(
                [
                    html.Div(
                        [
                            html.Span(entry.title, className="calendar-title"),
                            html.Span(
                                entry.importance,
                                className=f"calendar-importance importance-{entry.importance}",
                            )
                            if entry.importance
                            else None,
                        ]
                    ),
                    html.Div(
                        [
                            html.Span(countdown(entry.start, now_ms), className="calendar-countdown"),
                            html.Span(" · "),
                            html.Span(utc_label(entry.start)),
                            html.Span(f" · {entry.country}") if entry.country else None,
                        ],
                        className="calendar-meta",
                    ),
                ],
                className="calendar-item" + (" calendar-important" if entry.important else ""),
            )
            for entry in upcoming
        ],
        className="calendar-list",
    )


def sentiment_summary(summary: dict[str, Any]) -> str:
    if not summary["items"]:
        return f"{summary['symbol']}: no items in the last 24 h."
    return (
        f"{summary['symbol']} · 24 h sentiment {summary['score']:+.2f} over {summary['items']} items "
        f"({summary['positive']} positive, {summary['negative']} negative, {summary['neutral']} neutral)"
    )


def side_props(services: Services, now_ms: int | None = None) -> dict[str, dict[str, Any]]:
    """The feeds table and the calendar, the same for every open page, in the push hub's
    `{id: {prop: value}}` shape (the 5 s tick renders through it until the hub pushes it on
    NewsFeedChanged / NewsItem events and once a minute for the countdowns)."""
    service = services.news
    if service is None:
        off = html.Div(
            "News is off: set news.enabled = true in the settings file.", className="text-muted small p-2"
        )
        return {NEWS_FEEDS: {"children": off}, NEWS_CALENDAR: {"children": None}}
    now = int(time.time() * 1000) if now_ms is None else now_ms
    configured = bool(services.settings.news.calendars)
    return {
        NEWS_FEEDS: {"children": feeds_table(service.feeds(), now)},
        NEWS_CALENDAR: {"children": calendar_panel(service.calendar(now - 3_600_000), now, configured)},
    }


# -- layout and callbacks --------------------------------------------------------------------------------


def layout(services: Services) -> Any:
    symbols = services.settings.market.symbols
    return html.Div(
        [
            fallback_interval(NEWS_TICK, REFRESH_MS),
            carrier(NEWS_FEED),
            carrier(NEWS_CANDLES),
            dbc.Row(
                [
                    dbc.Col(
                        [
                            html.Div(
                                [
                                    dbc.Select(
                                        id=NEWS_SYMBOL,
                                        options=[{"label": "All symbols", "value": ALL}]
                                        + [{"label": symbol, "value": symbol} for symbol in symbols],
                                        value=ALL,
                                        size="sm",
                                        className="news-filter",
                                    ),
                                    dbc.RadioItems(
                                        id=NEWS_SENTIMENT,
                                        options=[
                                            {"label": label.title(), "value": label}
                                            for label in (ALL, "positive", "negative", "neutral")
                                        ],
                                        value=ALL,
                                        inline=True,
                                        className="btn-group news-sentiment-filter",
                                        inputClassName="btn-check",
                                        labelClassName="btn btn-outline-secondary btn-sm",
                                        labelCheckedClassName="active",
                                    ),
                                    dbc.Select(
                                        id=NEWS_SOURCE,
                                        options=[{"label": "All sources", "value": ALL}],
                                        value=ALL,
                                        size="sm",
                                        className="news-filter",
                                    ),
                                    dbc.Input(
                                        id=NEWS_TEXT,
                                        type="search",
                                        placeholder="Search headlines",
                                        debounce=True,
                                        size="sm",
                                        className="news-filter news-search",
                                    ),
                                ],
                                className="news-filters",
                            ),
                            html.Div(id=NEWS_REASON, className="news-reason"),
                            html.Div(id=NEWS_SUMMARY, className="news-sentiment-summary"),
                            dcc.Graph(
                                id=NEWS_CHART, config={"displayModeBar": False}, className="news-chart"
                            ),
                            html.Ul(id=NEWS_LIST, className="news-list"),
                        ],
                        lg=8,
                    ),
                    dbc.Col(
                        [
                            dbc.Card(
                                [
                                    dbc.CardHeader("Economic calendar", className="small text-uppercase"),
                                    dbc.CardBody(html.Div(id=NEWS_CALENDAR), className="p-0"),
                                ],
                                className="news-card mb-3",
                            ),
                            dbc.Card(
                                [
                                    dbc.CardHeader("Feeds", className="small text-uppercase"),
                                    dbc.CardBody(html.Div(id=NEWS_FEEDS), className="p-0"),
                                ],
                                className="news-card",
                            ),
                        ],
                        lg=4,
                    ),
                ]
            ),
        ],
        className="news-page",
    )


def chart_timeframe(services: Services) -> Timeframe:
    """Hourly candles span days of news; fall back to the default timeframe when 1h is not streamed."""
    timeframes = services.settings.market.timeframes
    return Timeframe.H1 if Timeframe.H1 in timeframes else services.settings.ui.default_timeframe


def register(app: Dash, services: Services) -> None:
    off = "News is off: set news.enabled = true in the settings file and restart."

    @app.callback(
        Output(NEWS_LIST, "children"),
        Output(NEWS_REASON, "children"),
        Output(NEWS_SUMMARY, "children"),
        Output(NEWS_SOURCE, "options"),
        Input(NEWS_TICK, "n_intervals"),
        Input(NEWS_FEED, "title"),
        Input(NEWS_SYMBOL, "value"),
        Input(NEWS_SENTIMENT, "value"),
        Input(NEWS_SOURCE, "value"),
        Input(NEWS_TEXT, "value"),
    )
    def _list(
        _n: int, _pushed: str, symbol: str, sentiment: str, source: str, text: str | None
    ) -> tuple[Any, ...]:
        service = services.news
        if service is None:
            return [], off, "", [{"label": "All sources", "value": ALL}]
        filters = {
            "symbol": None if symbol in (None, ALL) else symbol,
            "sentiment": None if sentiment in (None, ALL) else sentiment,
            "source": None if source in (None, ALL) else source,
            "query": (text or "").strip() or None,
        }
        articles = service.items(**filters, limit=LIST_LIMIT)
        total = len(service.items(limit=1))
        now = int(time.time() * 1000)
        reason = empty_reason(service.feeds(), total, len(articles), any(filters.values()))
        summary = sentiment_summary(service.sentiment(filters["symbol"])) if filters["symbol"] else ""
        sources = [{"label": "All sources", "value": ALL}] + [
            {"label": name, "value": name} for name in service.sources()
        ]
        return [news_row(article, now) for article in articles], reason, summary, sources

    @app.callback(
        Output(NEWS_FEEDS, "children"),
        Output(NEWS_CALENDAR, "children"),
        Input(NEWS_TICK, "n_intervals"),
        Input(NEWS_FEED, "title"),
        Input(NEWS_CANDLES, "title"),
    )
    def _side(_n: int, _pushed: str, _candles: str) -> tuple[Any, Any]:
        props = side_props(services)
        return props[NEWS_FEEDS]["children"], props[NEWS_CALENDAR]["children"]

    @app.callback(
        Output(NEWS_CHART, "figure"),
        Input(NEWS_TICK, "n_intervals"),
        Input(NEWS_FEED, "title"),
        Input(NEWS_CANDLES, "title"),
        Input(NEWS_SYMBOL, "value"),
    )
    def _chart(_n: int, _pushed: str, _candles: str, symbol: str) -> dict[str, Any]:
        shown = services.settings.ui.default_symbol if symbol in (None, ALL) else symbol
        candles = services.market.klines(shown, chart_timeframe(services), limit=CHART_CANDLES)
        items = services.news.items(symbol=shown, limit=500) if services.news is not None else []
        return news_chart_figure(shown, candles, items)


PAGE = Page(path="/news", label="News", layout=layout, register=register)
