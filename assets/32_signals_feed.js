/* The Signals grid's pushed transactions (dash_modules/signals_page.py `SignalsFeed`).
 *
 * The hub sends {from, to, transaction, oldest}: the transaction brings a page that holds the signals of
 * aggregator version `from` to version `to`. It applies here as a dash-ag-grid rowTransaction (so the
 * user's sort, filters and page stay) when the page holds `from` or later (a page whose layout or
 * server answer was read between two hub builds): rows the page already holds are not added again, and
 * only held rows are updated or removed. A page that holds less than `from` (it missed a message, e.g.
 * while its stream reopened) asks its server callback for a transaction from what it holds
 * (signals-resync). The page's bookkeeping (id -> provisional) follows, pruned like the server's.
 * window.thebotSignals counts both ways for the browser tests.
 */
(function () {
  "use strict";

  var SEPARATOR = "|";

  function timeOf(id) {
    return Number(String(id).split(SEPARATOR)[2]);
  }

  var stats = (window.thebotSignals = { applied: 0, resyncs: 0 });

  window.dash_clientside = window.dash_clientside || {};
  window.dash_clientside.thebotSignals = {
    apply: function (feed, version, known) {
      var skip = window.dash_clientside.no_update;
      if (!feed) return [skip, skip, skip, skip];
      var message = JSON.parse(feed);
      if (typeof version !== "number" || message.from > version) {
        stats.resyncs += 1;
        return [skip, skip, skip, Date.now()];
      }
      stats.applied += 1;
      var held = Object.assign({}, known || {});
      var transaction = message.transaction || { add: [], update: [], remove: [] };
      var add = [];
      var update = [];
      transaction.add.concat(transaction.update).forEach(function (row) {
        if (!(row.id in held)) add.push(row);
        else if (held[row.id] !== row.provisional) update.push(row);
      });
      var remove = transaction.remove.filter(function (row) {
        return row.id in held;
      });
      remove.forEach(function (row) {
        delete held[row.id];
      });
      add.concat(update).forEach(function (row) {
        held[row.id] = row.provisional;
      });
      if (message.oldest !== null && message.oldest !== undefined) {
        Object.keys(held).forEach(function (id) {
          if (timeOf(id) < message.oldest) delete held[id];
        });
      }
      var changed = add.length || update.length || remove.length;
      var grid = changed ? { add: add, update: update, remove: remove } : skip;
      return [grid, held, message.to, skip];
    },
  };
})();
