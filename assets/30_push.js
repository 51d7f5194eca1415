/* thebot push channel: one EventSource per page (dash_modules/push.py).
 *
 * Messages apply with dash_clientside.set_props, so Dash's own state stays the truth. A chart update is
 * compact on the wire; here it becomes a Dash Patch of the figure, applied only when its base is exactly
 * what this page shows (otherwise the page asks the server for a full figure). The stream reconnects by
 * itself with backoff and a banner says so while it is down; heartbeats tell a quiet stream from a dead
 * one. window.thebotPush.stats is read by the latency benchmark and the browser tests.
 *
 * Besides the Chart page's chart (push.state, followed by push.follow), a page may follow panes: charts
 * addressed by graph id (push.panes, followed by push.followPane; the Multi page). Their messages carry
 * `graph` and patch that graph alone, each against its own state.
 */
(function () {
  "use strict";

  var PUSH_URL = "/api/push";
  var UP = "#26a69a";
  var DOWN = "#ef5350";
  var CHART = "price-chart";
  var HEARTBEAT_TIMEOUT_MS = 15000;
  var MAX_RETRY_MS = 10000;

  var push = (window.thebotPush = {
    source: null,
    state: null,
    connected: false,
    everConnected: false,
    watch: null,
    shows: [], // none until the page's components are seen: heavy topics are not built for it meanwhile
    retryMs: 500,
    lastMessageAt: 0,
    resyncRequestedAt: 0,
    stats: { messages: 0, chartMessages: 0, chartBytes: [], resyncs: 0, resyncReasons: {}, reconnects: 0, applied: [] },
    panes: {}, // graph id -> {state, resync: id of the store that asks for its full figure, requestedAt}
    paneStats: {}, // graph id -> {chartMessages, resyncs, last: {x, close, wall}}
  });

  function dc() {
    return window.dash_clientside;
  }

  function present(id) {
    return document.getElementById(id) !== null;
  }

  function keyOf(state) {
    if (!state) return "";
    return [state.symbol, state.timeframe, (state.picks || []).join("|")].join("/");
  }

  function sameCandles(a, b) {
    return (
      !!a && !!b && keyOf(a) === keyOf(b) && a.version === b.version && a.count === b.count &&
      a.first_open_time === b.first_open_time && a.last_open_time === b.last_open_time
    );
  }

  function banner(down) {
    var element = document.getElementById("push-status");
    if (!element) return;
    element.classList.toggle("push-down", down);
    element.textContent = down ? "Live updates interrupted, reconnecting\u2026 (the data shown may be old)" : "";
  }

  function requestFull(reason) {
    var now = Date.now();
    if (now - push.resyncRequestedAt < 500) return;
    push.resyncRequestedAt = now;
    push.stats.resyncs += 1;
    push.stats.resyncReasons[reason] = (push.stats.resyncReasons[reason] || 0) + 1;
    // dcc.Store renders no element: the chart's presence says whether its stores are on the page.
    if (present(CHART)) dc().set_props("chart-resync", { data: now });
  }

  function requestPaneFull(graph, reason) {
    var pane = push.panes[graph];
    var now = Date.now();
    if (!pane || now - pane.requestedAt < 500) return;
    pane.requestedAt = now;
    paneStats(graph).resyncs += 1;
    push.stats.resyncReasons["pane-" + reason] = (push.stats.resyncReasons["pane-" + reason] || 0) + 1;
    if (present(graph)) dc().set_props(pane.resync, { data: now });
  }

  function requestAllPanes(reason) {
    Object.keys(push.panes).forEach(function (graph) { requestPaneFull(graph, reason); });
  }

  function paneStats(graph) {
    return (push.paneStats[graph] = push.paneStats[graph] || { chartMessages: 0, resyncs: 0, last: null });
  }

  function addChartOps(patch, chart) {
    var rows = chart.rows || [];
    var names = ["x", "open", "high", "low", "close"];
    var at = chart.at;
    var ind = chart.ind || [];
    if (rows.length) {
      var first = rows[0];
      for (var f = 1; f < 5; f++) patch.assign(["data", 0, names[f], at], first[f]);
      patch.assign(["data", 1, "y", at], first[5]);
      patch.assign(["data", 1, "marker", "color", at], first[4] >= first[1] ? UP : DOWN);
    }
    var added = rows.slice(1);
    if (added.length) {
      names.forEach(function (name, f) {
        patch.extend(["data", 0, name], added.map(function (row) { return row[f]; }));
      });
      patch.extend(["data", 1, "x"], added.map(function (row) { return row[0]; }));
      patch.extend(["data", 1, "y"], added.map(function (row) { return row[5]; }));
      patch.extend(["data", 1, "marker", "color"], added.map(function (row) {
        return row[4] >= row[1] ? UP : DOWN;
      }));
    }
    ind.forEach(function (values, j) {
      if (!values.length) return;
      patch.assign(["data", 2 + j, "y", at], values[0]);
      if (added.length) {
        patch.extend(["data", 2 + j, "x"], added.map(function (row) { return row[0]; }));
        patch.extend(["data", 2 + j, "y"], values.slice(1));
      }
    });
    for (var t = 0; t < (chart.trim || 0); t++) {
      names.forEach(function (name) { patch.delete(["data", 0, name, 0]); });
      patch.delete(["data", 1, "x", 0]);
      patch.delete(["data", 1, "y", 0]);
      patch.delete(["data", 1, "marker", "color", 0]);
      for (var j = 0; j < ind.length; j++) {
        patch.delete(["data", 2 + j, "x", 0]);
        patch.delete(["data", 2 + j, "y", 0]);
      }
    }
    if (chart.clip) patch.assign(["layout", "xaxis", "autorangeoptions"], chart.clip);
    if (chart.markers) {
      chart.markers.forEach(function (trace, k) {
        patch.assign(["data", chart.marker_index + k], trace);
      });
    }
  }

  /* Messages are applied once per animation frame: however fast they come, the page renders the chart
   * at most once a frame (several chart updates become one Patch) and each other component once with
   * its newest props. A tab in the background piles up at most MAX_PENDING before it resyncs. */
  var MAX_PENDING = 500;
  var FRAME_MS = 16;
  var pending = { charts: [], panes: [], props: {}, scheduled: false, lastFlush: 0 };

  function schedule() {
    if (pending.scheduled) return;
    if (performance.now() - pending.lastFlush > FRAME_MS) {
      flush(); // the first message after a quiet spell goes straight to the chart
      return;
    }
    pending.scheduled = true;
    requestAnimationFrame(flush);
  }

  function flush() {
    pending.scheduled = false;
    pending.lastFlush = performance.now();
    var charts = pending.charts;
    var props = pending.props;
    pending.charts = [];
    pending.props = {};
    if (charts.length && present(CHART)) {
      var patch = new (dc().Patch)();
      var state = push.state;
      var applied = [];
      for (var i = 0; i < charts.length; i++) {
        var chart = charts[i].chart;
        if (!sameCandles(state, chart.base)) {
          requestFull("base");
          break;
        }
        addChartOps(patch, chart);
        state = chart.state;
        applied.push(charts[i]);
      }
      if (applied.length) {
        dc().set_props(CHART, { figure: patch.build() });
        push.state = state;
        var now = performance.now();
        applied.forEach(function (item) {
          push.stats.chartMessages += 1;
          push.stats.chartBytes.push(item.bytes);
          var rows = item.chart.rows || [];
          if (rows.length) {
            var last = rows[rows.length - 1];
            push.stats.applied.push({ at: now, wall: Date.now(), received: item.received, close: last[4], x: last[0] });
          }
        });
        if (push.stats.applied.length > 5000) push.stats.applied.splice(0, 1000);
        if (push.stats.chartBytes.length > 5000) push.stats.chartBytes.splice(0, 1000);
      }
    }
    Object.keys(props).forEach(function (id) {
      var changed = changedProps(id, props[id]);
      if (changed) dc().set_props(id, changed);
    });
    if (props["metric-updated"]) markAge(props["metric-updated"]["data-age-ms"]);
  }

  /* Panes draw at most every PANE_MS (each pane's updates since then as one Patch of its graph, checked
   * against that pane's state): four charts redrawn on every frame would take a whole core, and an
   * overview moving four times a second loses nothing. The Chart page's chart keeps its per-frame path. */
  var PANE_MS = 250;
  var paneTimer = null;
  var lastPaneFlush = 0;

  function schedulePanes() {
    if (paneTimer !== null) return;
    var wait = Math.max(0, PANE_MS - (performance.now() - lastPaneFlush));
    paneTimer = setTimeout(function () {
      requestAnimationFrame(function () {
        paneTimer = null;
        lastPaneFlush = performance.now();
        flushPanes();
      });
    }, wait);
  }

  function flushPanes() {
    var byGraph = {};
    pending.panes.forEach(function (item) { (byGraph[item.graph] = byGraph[item.graph] || []).push(item); });
    pending.panes = [];
    Object.keys(byGraph).forEach(function (graph) {
      var pane = push.panes[graph];
      if (!pane || !present(graph)) return;
      var patch = new (dc().Patch)();
      var state = pane.state;
      var last = null;
      var count = 0;
      var items = byGraph[graph];
      for (var i = 0; i < items.length; i++) {
        var chart = items[i].chart;
        if (!sameCandles(state, chart.base)) {
          requestPaneFull(graph, "base");
          break;
        }
        addChartOps(patch, chart);
        state = chart.state;
        count += 1;
        var rows = chart.rows || [];
        if (rows.length) last = rows[rows.length - 1];
      }
      if (!count) return;
      dc().set_props(graph, { figure: patch.build() });
      pane.state = state;
      var stats = paneStats(graph);
      stats.chartMessages += count;
      if (last) stats.last = { x: last[0], close: last[4], wall: Date.now() };
    });
  }

  /* The props of a component present on the page that differ from what it shows: a badge whose text
   * and class did not move is not re-rendered (most metrics move less often than the chart updates). */
  function changedProps(id, props) {
    var element = document.getElementById(id);
    if (!element) return null;
    var changed = null;
    Object.keys(props).forEach(function (key) {
      var value = props[key];
      var same =
        id !== "metric-updated" &&
        ((key === "children" && typeof value === "string" && element.textContent === value) ||
          (key === "className" && typeof value === "string" && element.className === value));
      if (same) return;
      changed = changed || {};
      changed[key] = value;
    });
    return changed;
  }

  function mergeProps(props) {
    Object.keys(props).forEach(function (id) {
      pending.props[id] = Object.assign(pending.props[id] || {}, props[id]);
    });
  }

  function handle(message, bytes) {
    push.stats.messages += 1;
    if (message.watch) push.watch = message.watch;
    if (message.graph) {
      if (message.resync) {
        pending.panes = pending.panes.filter(function (item) { return item.graph !== message.graph; });
        requestPaneFull(message.graph, "server");
      } else if (message.chart) {
        if (pending.panes.length >= MAX_PENDING) {
          pending.panes = [];
          requestAllPanes("backlog");
        } else {
          pending.panes.push({ graph: message.graph, chart: message.chart });
        }
      }
      schedulePanes();
      return;
    }
    if (message.resync) {
      pending.panes = [];
      requestAllPanes("server");
      pending.charts = [];
      requestFull("server");
      return;
    }
    if (message.chart) {
      if (pending.charts.length >= MAX_PENDING) {
        pending.charts = [];
        requestFull("backlog");
      } else {
        pending.charts.push({ chart: message.chart, bytes: bytes, received: performance.now() });
      }
      if (message.chart.props) mergeProps(message.chart.props);
    }
    if (message.props) mergeProps(message.props);
    schedule();
  }

  var ageBase = { ms: -1, at: 0 };

  function markAge(ms) {
    ageBase = { ms: typeof ms === "number" ? ms : -1, at: performance.now() };
  }

  function tickAge() {
    var element = document.getElementById("metric-updated");
    if (!element || ageBase.ms < 0) return;
    var age = ageBase.ms + (performance.now() - ageBase.at);
    element.textContent = (age / 1000).toFixed(1) + " s ago";
  }

  function url() {
    var query = [];
    if (push.state && present(CHART)) query.push("chart=" + encodeURIComponent(JSON.stringify(push.state)));
    // Which topic components this page shows (assets/31_push_pages.js keeps push.shows current).
    if (push.shows) query.push("shows=" + encodeURIComponent(push.shows.join(",")));
    var panes = {};
    var followed = false;
    Object.keys(push.panes).forEach(function (graph) {
      if (push.panes[graph].state && present(graph)) {
        panes[graph] = push.panes[graph].state;
        followed = true;
      }
    });
    if (followed) query.push("charts=" + encodeURIComponent(JSON.stringify(panes)));
    return query.length ? PUSH_URL + "?" + query.join("&") : PUSH_URL;
  }

  function open() {
    if (push.source) push.source.close();
    var source = new EventSource(url());
    push.source = source;
    source.onopen = function () {
      if (push.source !== source) return;
      var reconnected = push.everConnected && !push.connected;
      push.connected = true;
      push.everConnected = true;
      push.retryMs = 500;
      push.lastMessageAt = Date.now();
      banner(false);
      if (reconnected) {
        // Whatever happened while the stream was down (even a restarted server), start from a fresh figure.
        push.stats.reconnects += 1;
        if (push.state) requestFull("reconnect");
        requestAllPanes("reconnect");
      }
    };
    source.onmessage = function (event) {
      if (push.source !== source) return;
      push.lastMessageAt = Date.now();
      handle(JSON.parse(event.data), event.data.length);
    };
    source.addEventListener("ping", function () {
      if (push.source === source) push.lastMessageAt = Date.now();
    });
    source.onerror = function () {
      if (push.source !== source) return;
      reconnectLater();
    };
  }

  function reconnectLater() {
    if (push.source) push.source.close();
    push.source = null;
    push.connected = false;
    banner(true);
    var wait = push.retryMs;
    push.retryMs = Math.min(push.retryMs * 2, MAX_RETRY_MS);
    setTimeout(function () {
      if (!push.source) open();
    }, wait);
  }

  push.reopen = open; // a page that starts or stops showing a topic's components says so again

  /* Called by the clientside callback that puts a full figure on the chart, just before it does. */
  push.follow = function (state) {
    push.state = state || null;
    pending.charts = []; // updates of the stream the page no longer shows
    open();
  };

  /* Called by a pane's clientside callback as it puts a full figure on `graph` (state null: the pane
   * shows no chart). The stream reopens following every pane; updates already queued are dropped, as
   * the new stream starts from the states the page now shows. */
  /* Called as the Multi page renders: panes followed before navigating away show nothing now. */
  push.clearPanes = function () {
    push.panes = {};
    pending.panes = [];
  };

  push.followPane = function (graph, state, resyncId) {
    if (state) push.panes[graph] = { state: state, resync: resyncId, requestedAt: 0 };
    else if (push.panes[graph]) delete push.panes[graph];
    else return; // a pane that was not followed stays so: nothing to reopen
    pending.panes = [];
    pending.charts = [];
    open();
  };

  setInterval(function () {
    tickAge();
    if (push.connected && Date.now() - push.lastMessageAt > HEARTBEAT_TIMEOUT_MS) reconnectLater();
  }, 1000);

  function start() {
    if (!window.dash_clientside || !window.dash_clientside.set_props) {
      setTimeout(start, 50);
      return;
    }
    if (!push.source) open();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
