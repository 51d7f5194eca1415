/* thebot push channel, page side of the topics (dash_modules/push.py `add_topic`, dash_modules/live.py).
 *
 * 1. The hub builds a `shown_by` topic (Markets rows, the matrix, the signals feed, ...) only while some
 *    page shows one of its components, and sends it only to those pages. The hub's hello names them
 *    (push.watch); this script tells the hub which of them this page shows by reopening the stream with
 *    `shows=` whenever that changes (the Dash pages swap layouts without reloading the document).
 * 2. A page's dcc.Interval is only the fallback where push is unavailable: every interval wrapped in a
 *    `[data-push-fallback]` element stays disabled while the stream is up and runs while it is down.
 */
(function () {
  "use strict";

  var CHECK_MS = 500;
  var FIRST_CONNECT_GRACE_MS = 5000; // before the first connection, a page is not "down" yet
  var loadedAt = Date.now();

  function showsKey(list) {
    return list ? list.join(",") : "";
  }

  function checkShows(push) {
    if (!push.watch) return;
    var shown = push.watch.filter(function (id) {
      return document.getElementById(id) !== null;
    });
    if (push.shows && showsKey(push.shows) === showsKey(shown)) return;
    push.shows = shown;
    if (push.source) push.reopen(); // not while reconnecting: the next attempt uses the new list
  }

  function pushDown(push) {
    if (push.connected) return false;
    return push.everConnected || Date.now() - loadedAt > FIRST_CONNECT_GRACE_MS;
  }

  function checkFallbacks(push) {
    var disabled = !pushDown(push);
    var wanted = String(disabled);
    var wrappers = document.querySelectorAll("[data-push-fallback]");
    for (var i = 0; i < wrappers.length; i++) {
      var wrapper = wrappers[i];
      if (wrapper.dataset.pushApplied === wanted) continue;
      wrapper.dataset.pushApplied = wanted;
      window.dash_clientside.set_props(wrapper.getAttribute("data-push-fallback"), { disabled: disabled });
    }
  }

  setInterval(function () {
    var push = window.thebotPush;
    if (!push || !window.dash_clientside || !window.dash_clientside.set_props) return;
    checkShows(push);
    checkFallbacks(push);
  }, CHECK_MS);
})();
