"""The push channel: page updates computed once per data change and streamed to every open page.

Server-sent events (`GET /api/push`), one stream per page. The page's script (`assets/30_push.js`)
applies each message with `dash_clientside.set_props`, turning chart updates into Dash Patches, and
reconnects by itself, showing a banner while the stream is down.

Why SSE and not Dash's websocket callbacks: a persistent websocket callback runs once per tab and has to
ask each page for its symbol (a round trip per change) or be restarted on every selection; the FastAPI
backend also runs ordinary sync callbacks on its event loop, where a full-figure build would stall every
stream. Here one hub computes each update once, for all pages that show the same thing, and writes the
same bytes to each of them; EventSource brings reconnection and a visible connection state for free.

A page follows one chart (`?chart=<state>`, the Chart page) and/or several (`?charts={graph id: state}`,
the Multi page's panes). A pane's messages carry its graph id (`{"graph": id, "chart": ...}`, or
`{"graph": id, "resync": true}`); all charts showing one state, in any page or pane, share one computation.

Where work happens: a DataStream change listener (market loop thread) only flags the stream and wakes
the hub; bus events (signals, connection, staleness, backfill) arrive on the hub's loop; the hub's task
computes at most one round per `MIN_ROUND_SECONDS`, grouping pages by their chart state, so ten pages
on one chart cost one computation and ten socket writes.

Topics (`add_topic`) are the other pages' parts. A topic may follow market data (every applied kline
update), may be rebuilt at most once per `min_seconds` (a burst of ticks for 100 symbols becomes one
build), and may be `shown_by` some component ids: each page says which of those it shows (the `shows`
query parameter, sent again when the page changes), and such a topic is built only while a page shows it
and sent only to those pages.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import re
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from dash_modules.chart import ChartPush, chart_push
from dash_modules.figures import ChartState
from dash_modules.indicators_panel import signal_props
from dash_modules.status import connection_props, metrics_props
from thebot.events import (
    BackfillProgress,
    ConnectionChanged,
    Event,
    SettingsChanged,
    SignalRaised,
    SignalWithdrawn,
    StreamFresh,
    StreamStale,
)
from thebot.market.models import StreamKey
from thebot.market.timeframe import Timeframe

if TYPE_CHECKING:
    from thebot.events import Subscription
    from thebot.services import Services

logger = logging.getLogger(__name__)

PUSH_PATH = "/api/push"
HEARTBEAT_SECONDS = 5.0
MIN_ROUND_SECONDS = 0.1
CLIENT_QUEUE_SIZE = 64
RETRY_MS = 1000

_STATUS_EVENTS = (ConnectionChanged, BackfillProgress)
_STREAM_EVENTS = (StreamStale, StreamFresh)
_SIGNAL_EVENTS = (SignalRaised, SignalWithdrawn)
# Settings whose change makes every open chart draw a new full figure.
CHART_SETTINGS = ("ui.chart_candles", "signals.")


def _broadcast_to(clients: list[PushClient], data: bytes) -> None:
    for client in clients:
        client.send(data)


def sse(data: bytes, event: str | None = None) -> bytes:
    head = f"event: {event}\n".encode() if event else b""
    return head + b"data: " + data + b"\n\n"


def encode(message: dict[str, Any]) -> bytes:
    """JSON with Dash components serialised the way the renderer expects them."""
    return orjson.dumps(message, default=_component_json)


def _component_json(value: Any) -> Any:
    to_json = getattr(value, "to_plotly_json", None)
    if to_json is None:
        raise TypeError(f"cannot send {type(value).__name__} to the page")
    return to_json()


RESYNC_DATA = sse(encode({"resync": True}))
# A page follows at most this many panes (the Multi page shows four); graph ids are short plain names.
MAX_PANES = 8
_PANE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def pane_data(graph: str, body: bytes) -> bytes:
    """One pane's chart message from the encoded update (encoded once, whatever the number of panes)."""
    return sse(b'{"graph":' + orjson.dumps(graph) + b',"chart":' + body + b"}")


Props = dict[str, dict[str, Any]]


@dataclass(eq=False)
class Topic:
    """One page part the hub rebuilds when its events (or, with `market`, market data) change."""

    events: tuple[type[Event], ...]
    build: Callable[[], Props]
    on_connect: Callable[[], Props] | None = None
    shown_by: frozenset[str] = frozenset()
    market: bool = False
    min_seconds: float = 0.0
    name: str = ""
    built_at: float = -math.inf
    builds: int = 0


@dataclass(eq=False)
class PushClient:
    """One open page: its chart state (None when it shows no chart), the states of its panes by graph id
    (the Multi page) and its outgoing queue."""

    number: int
    state: ChartState | None
    shows: frozenset[str] | None = None  # the topic components the page shows; None: not told, all
    queue: asyncio.Queue[bytes] = field(default_factory=lambda: asyncio.Queue(CLIENT_QUEUE_SIZE))
    overflows: int = 0
    panes: dict[str, ChartState] = field(default_factory=dict)

    def send(self, data: bytes) -> None:
        """Never blocks the hub: a page that cannot keep up gets its backlog replaced by a resync."""
        try:
            self.queue.put_nowait(data)
        except asyncio.QueueFull:
            self.overflows += 1
            self.resync()

    def resync(self) -> None:
        """Ask the page for a full figure (it follows again with that figure's state). When the queue is
        full its backlog goes: the page is about to redraw from scratch anyway. Every pane redraws too."""
        self.state = None
        self.panes = {}
        if self.queue.full():
            while not self.queue.empty():
                self.queue.get_nowait()
        self.queue.put_nowait(RESYNC_DATA)

    def resync_pane(self, graph: str) -> None:
        """One pane asks for a full figure; the rest of the page keeps its updates."""
        self.panes.pop(graph, None)
        self.send(sse(b'{"graph":' + orjson.dumps(graph) + b',"resync":true}'))

    @property
    def stream(self) -> tuple[str, str] | None:
        return None if self.state is None else (self.state.symbol, self.state.timeframe)

    def shows_any(self, components: frozenset[str]) -> bool:
        return not components or self.shows is None or not self.shows.isdisjoint(components)


class PushHub:
    def __init__(self, services: Services) -> None:
        self._services = services
        self._clients: set[PushClient] = set()
        self._numbers = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._subscription: Subscription | None = None
        self._watched: frozenset[StreamKey] = frozenset()
        self._dirty: set[StreamKey] = set()
        self._woken = False
        self._status_due = False
        self._charts_resync_due = False
        self._signal_streams: set[tuple[str, str]] = set()
        self._metric_streams: set[tuple[str, str]] = set()
        self._listening = False
        self._topics: list[Topic] = []
        self._topics_due: set[int] = set()
        self._market_due = False
        self._market_shown = False
        self._timer: asyncio.TimerHandle | None = None
        self.rounds = 0
        self.chart_messages = 0
        self.chart_bytes = 0

    def add_topic(
        self,
        event_types: tuple[type[Event], ...],
        build: Callable[[], Props],
        on_connect: Callable[[], Props] | None = None,
        *,
        shown_by: Iterable[str] = (),
        market: bool = False,
        min_seconds: float = 0.0,
        name: str = "",
    ) -> None:
        """When one of `event_types` is published (or, with `market`, any stream's data changes),
        `build()` the props once and send them to every page (a page applies only those whose components
        it shows); `on_connect()` props go to each page when its stream (re)connects, so nothing published
        while it was down is missed. With `shown_by`, the topic is built only while some page shows one
        of those components, and sent only to such pages; `min_seconds` spaces its builds (changes in
        between are folded into the next one). Call before the first page connects."""
        shown = frozenset(shown_by)
        self._topics.append(
            Topic(
                event_types,
                build,
                on_connect,
                shown,
                market,
                min_seconds,
                name or ",".join(sorted(shown)) or f"topic{len(self._topics)}",
            )
        )

    @property
    def watched_components(self) -> list[str]:
        """Every component some topic is `shown_by`: what a page reports when it shows one."""
        return sorted({component for topic in self._topics for component in topic.shown_by})

    # -- lifecycle (on the web server's loop) --------------------------------------------------------

    def ensure_started(self) -> None:
        if self._task is not None and not self._task.done():
            return
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._wake = asyncio.Event()
        self._task = loop.create_task(self._run(), name="push-hub")
        services = self._services
        if self._subscription is None:
            topic_events = tuple(event for topic in self._topics for event in topic.events)
            self._subscription = services.bus.subscribe(
                (*_STATUS_EVENTS, *_STREAM_EVENTS, *_SIGNAL_EVENTS, SettingsChanged, *topic_events),
                self._on_event,
                name="push",
                loop=loop,
            )
        if not self._listening:
            services.market.datastream.add_change_listener(self._on_change)
            self._listening = True

    def stop(self) -> None:
        if self._subscription is not None:
            self._services.bus.unsubscribe(self._subscription)
            self._subscription = None
        if self._task is not None:
            self._task.cancel()
            self._task = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def connect(
        self,
        state: ChartState | None,
        shows: frozenset[str] | None = None,
        panes: dict[str, ChartState] | None = None,
    ) -> PushClient:
        client = PushClient(next(self._numbers), state, shows, panes=dict(panes or {}))
        self._clients.add(client)
        self._rewatch()
        props = connection_props(self._services)
        for number, topic in enumerate(self._topics):
            if not client.shows_any(topic.shown_by):
                continue
            if topic.on_connect is not None:
                props.update(topic.on_connect())
            elif topic.shown_by:  # a page that starts showing it gets a fresh build soon
                self._topics_due.add(number)
                self._set_wake()
        hello = {"props": props, "hello": client.number, "watch": self.watched_components}
        client.send(sse(encode(hello)))
        if state is not None:  # catch up with whatever moved while the page was connecting
            self._flag(StreamKey(state.symbol, Timeframe(state.timeframe)))
        for pane in client.panes.values():
            self._flag(StreamKey(pane.symbol, Timeframe(pane.timeframe)))
        return client

    def disconnect(self, client: PushClient) -> None:
        self._clients.discard(client)
        self._rewatch()

    def stats(self) -> dict[str, Any]:
        return {
            "clients": len(self._clients),
            "panes": sum(len(client.panes) for client in self._clients),
            "topic_builds": {topic.name: topic.builds for topic in self._topics},
            "rounds": self.rounds,
            "chart_messages": self.chart_messages,
            "chart_bytes": self.chart_bytes,
            "overflows": sum(client.overflows for client in self._clients),
        }

    # -- wake-ups ------------------------------------------------------------------------------------

    def _rewatch(self) -> None:
        self._watched = frozenset(
            StreamKey(state.symbol, Timeframe(state.timeframe))
            for client in self._clients
            for state in (client.state, *client.panes.values())
            if state is not None
        )
        self._market_shown = any(topic.market and self._shown(topic) for topic in self._topics)

    def _shown(self, topic: Topic) -> bool:
        return not topic.shown_by or any(client.shows_any(topic.shown_by) for client in self._clients)

    def _on_change(self, key: StreamKey) -> None:
        """DataStream change listener: runs on the market loop for every applied update; flags only."""
        flagged = False
        if key in self._watched:
            self._dirty.add(key)
            flagged = True
        if self._market_shown and not self._market_due:
            self._market_due = True
            flagged = True
        if flagged and not self._woken and self._loop is not None:
            self._woken = True
            try:
                self._loop.call_soon_threadsafe(self._set_wake)
            except RuntimeError:  # the web server's loop has closed
                self._woken = False

    def _set_wake(self) -> None:
        if self._wake is not None:
            self._wake.set()

    def _wake_in(self, seconds: float) -> None:
        """One timer for the topics that wait for their `min_seconds`: the earliest one wins."""
        if self._loop is None:
            return
        when = self._loop.time() + seconds
        if self._timer is not None and not self._timer.cancelled() and self._timer.when() <= when:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._loop.call_at(when, self._timer_fired)

    def _timer_fired(self) -> None:
        self._timer = None
        self._set_wake()

    def _flag(self, key: StreamKey) -> None:
        self._dirty.add(key)
        self._set_wake()

    async def _on_event(self, event: Event) -> None:
        for number, topic in enumerate(self._topics):
            if isinstance(event, topic.events):
                self._topics_due.add(number)
        if isinstance(event, SettingsChanged) and any(key.startswith(CHART_SETTINGS) for key in event.keys):
            self._charts_resync_due = True
        if isinstance(event, _STATUS_EVENTS):
            self._status_due = True
        elif isinstance(event, _STREAM_EVENTS):
            self._status_due = True
            self._metric_streams.add((event.symbol, event.timeframe))
        elif isinstance(event, _SIGNAL_EVENTS):
            self._signal_streams.add((event.symbol, event.timeframe))
            self._dirty.add(StreamKey(event.symbol, Timeframe(event.timeframe)))  # markers may change
        self._set_wake()

    # -- rounds --------------------------------------------------------------------------------------

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            self._woken = False
            try:
                self._round()
            except Exception:
                logger.exception("push round failed; the next change tries again")
            self.rounds += 1
            await asyncio.sleep(MIN_ROUND_SECONDS)

    def _round(self) -> None:
        services = self._services
        dirty, self._dirty = self._dirty, set()
        if self._status_due:
            self._status_due = False
            _broadcast_to(list(self._clients), sse(encode({"props": connection_props(services)})))
        if self._charts_resync_due:
            self._charts_resync_due = False
            for client in list(self._clients):
                if client.state is not None or client.panes:
                    client.resync()
        self._topic_round(time.monotonic())
        groups: dict[ChartState, list[PushClient]] = {}
        pane_groups: dict[ChartState, list[tuple[PushClient, str]]] = {}
        for client in self._clients:
            if client.state is not None:
                groups.setdefault(client.state, []).append(client)
            for graph, pane in client.panes.items():
                pane_groups.setdefault(pane, []).append((client, graph))
        for state in groups.keys() | pane_groups.keys():
            key = StreamKey(state.symbol, Timeframe(state.timeframe))
            if key not in dirty:
                continue
            started = time.perf_counter()
            result = chart_push(services, state)
            clients = groups.get(state, [])
            if result.message is not None and clients:
                data = sse(encode({"chart": result.message} if "base" in result.message else result.message))
                self.chart_messages += len(clients)
                self.chart_bytes += len(data) * len(clients)
                _broadcast_to(clients, data)
            for client in clients:
                if client.state == state:
                    client.state = result.state if "resync" not in (result.message or {}) else None
            if state in pane_groups:
                self._send_panes(pane_groups[state], state, result)
            logger.debug(
                "push %s %s in %.2f ms",
                key,
                "sent" if result.message else "idle",
                (time.perf_counter() - started) * 1000,
            )
        # A signal on any timeframe moves the symbol's confluence badge: every chart of the symbol hears.
        symbols = {symbol for symbol, _ in self._signal_streams}
        self._signal_streams.clear()
        self._send_per_stream(
            {stream for client in self._clients if (stream := client.stream) and stream[0] in symbols},
            lambda symbol, timeframe: signal_props(services, symbol, timeframe),
        )
        stale, self._metric_streams = self._metric_streams, set()
        self._send_per_stream(
            stale, lambda symbol, timeframe: metrics_props(services, symbol, Timeframe(timeframe))
        )
        self._rewatch()

    def _send_panes(
        self, targets: list[tuple[PushClient, str]], state: ChartState, result: ChartPush
    ) -> None:
        """The update of one state to every pane showing it; the single chart's metric props stay out
        (a pane has no metrics strip)."""
        message = result.message
        if message is not None and "resync" in message:
            for client, graph in targets:
                if client.panes.get(graph) == state:
                    client.resync_pane(graph)
            return
        body = None if message is None else encode({k: v for k, v in message.items() if k != "props"})
        for client, graph in targets:
            if body is not None:
                data = pane_data(graph, body)
                self.chart_messages += 1
                self.chart_bytes += len(data)
                client.send(data)
            if client.panes.get(graph) == state:  # not if the send overflowed into a resync
                client.panes[graph] = result.state

    def _topic_round(self, now: float) -> None:
        if self._market_due:
            self._market_due = False
            self._topics_due.update(number for number, topic in enumerate(self._topics) if topic.market)
        due, self._topics_due = self._topics_due, set()
        for number in sorted(due):
            topic = self._topics[number]
            clients = [client for client in self._clients if client.shows_any(topic.shown_by)]
            if topic.shown_by and not clients:
                continue  # nobody shows it; a page that starts to gets a fresh build on connecting
            wait = topic.built_at + topic.min_seconds - now
            if wait > 0:
                self._topics_due.add(number)
                self._wake_in(wait)
                # Ticks until then need not wake the hub: the timer will build with whatever is newest.
                self._market_due = self._market_due or topic.market
                continue
            topic.built_at = now
            topic.builds += 1
            try:
                props = topic.build()
            except Exception:  # one broken page part must not hold up the charts or the other topics
                logger.exception("push topic %s failed; its next change tries again", topic.name)
                continue
            if props:
                _broadcast_to(clients, sse(encode({"props": props})))

    def _send_per_stream(
        self, streams: set[tuple[str, str]], build: Callable[[str, str], dict[str, Any]]
    ) -> None:
        for symbol, timeframe in streams:
            clients = [client for client in self._clients if client.stream == (symbol, timeframe)]
            if clients:
                _broadcast_to(clients, sse(encode({"props": build(symbol, timeframe)})))


async def client_stream(hub: PushHub, client: PushClient) -> AsyncIterator[bytes]:
    """The SSE body for one page: its queue, with a heartbeat so a silent stream is told from a dead
    one (the page reconnects when heartbeats stop)."""
    try:
        yield f"retry: {RETRY_MS}\n\n".encode()
        while True:
            try:
                data = await asyncio.wait_for(client.queue.get(), HEARTBEAT_SECONDS)
            except TimeoutError:
                data = sse(b"{}", event="ping")
            yield data
    finally:
        hub.disconnect(client)


def shows_param(raw: str | None) -> frozenset[str] | None:
    """The topic components a page shows, from the `shows` query parameter (comma separated); None when
    the page did not say (it then gets every topic)."""
    if raw is None:
        return None
    return frozenset(part for part in raw.split(",") if part)


def chart_state_param(raw: str | None) -> ChartState | None:
    """The page's chart state from the `chart` query parameter (JSON), or None."""
    if not raw:
        return None
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return ChartState.from_dict(data) if isinstance(data, dict) else None


def chart_panes_param(raw: str | None) -> dict[str, ChartState]:
    """The page's pane states from the `charts` query parameter (JSON `{graph id: state}`); malformed
    entries are dropped, at most MAX_PANES kept."""
    if not raw:
        return {}
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return {}
    if not isinstance(data, dict):
        return {}
    panes: dict[str, ChartState] = {}
    for graph, value in data.items():
        if len(panes) >= MAX_PANES:
            break
        if not _PANE_ID.match(graph) or not isinstance(value, dict):
            continue
        try:
            state = ChartState.from_dict(value)
            if state is not None:
                Timeframe(state.timeframe)
        except ValueError:
            continue
        if state is not None:
            panes[graph] = state
    return panes
