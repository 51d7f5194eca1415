/* thebot push channel: one EventSource per page (dash_modules/push.py).
 *
 * Messages apply with dash_clientside.set_props, so Dash's own state stays the truth. A chart update is
 * compact on the wire; here it becomes a Dash Patch of the figure, applied only when its base is exactly
 * what this page shows (otherwise the page asks the server for a full figure). The stream reconnects by
 * itself with backoff and a banner says so while it is down; heartbeats tell a quiet stream from a dead
 * one. window.thebotPush.stats is read by the latency benchmark and the browser tests.
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
    retryMs: 500,
    lastMessageAt: 0,
    resyncRequestedAt: 0,
    stats: { messages: 0, chartMessages: 0, chartBytes: [], resyncs: 0, resyncReasons: {}, reconnects: 0, applied: [] },
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
  var pending = { charts: [], props: {}, scheduled: false, lastFlush: 0 };

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
    if (message.resync) {
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
    if (push.state && present(CHART)) return PUSH_URL + "?chart=" + encodeURIComponent(JSON.stringify(push.state));
    return PUSH_URL;
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

  /* Called by the clientside callback that puts a full figure on the chart, just before it does. */
  push.follow = function (state) {
    push.state = state || null;
    pending.charts = []; // updates of the stream the page no longer shows
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
