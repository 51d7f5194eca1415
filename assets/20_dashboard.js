/* thebot analyst pages: AG Grid cell renderers and formatters (served locally from assets/). */
(function () {
  var components = (window.dashAgGridComponentFunctions = window.dashAgGridComponentFunctions || {});
  var functions = (window.dashAgGridFunctions = window.dashAgGridFunctions || {});

  /* A price with as many decimals as its size needs: 37,123.45 · 1.2345 · 0.000123457. */
  functions.tbPrice = function (value) {
    if (value === null || value === undefined || !isFinite(value)) return "—";
    if (Math.abs(value) >= 1000) return value.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    if (Math.abs(value) >= 1) return value.toLocaleString("en-US", { minimumFractionDigits: 4, maximumFractionDigits: 4 });
    return Number(value.toPrecision(6)).toString();
  };

  functions.tbCompact = function (value) {
    if (value === null || value === undefined || !isFinite(value)) return "—";
    return new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 2 }).format(value);
  };

  functions.tbAge = function (ms) {
    if (ms === null || ms === undefined || ms < 0) return "no data";
    if (ms < 1000) return "now";
    if (ms < 60000) return (ms / 1000).toFixed(0) + " s ago";
    return (ms / 60000).toFixed(0) + " min ago";
  };

  functions.tbTime = function (ms) {
    if (!ms) return "";
    return new Date(ms).toISOString().slice(0, 16).replace("T", " ");
  };

  /* A sparkline from a list of closes: a polyline scaled to the cell, green when it ends up, red down. */
  components.TbSparkline = function (props) {
    var values = props.value || [];
    var width = 120, height = 28;
    if (values.length < 2) return React.createElement("span", { className: "text-muted" }, "—");
    var low = Math.min.apply(null, values), high = Math.max.apply(null, values);
    var span = high - low || 1;
    var points = values.map(function (v, i) {
      var x = (i / (values.length - 1)) * (width - 2) + 1;
      var y = height - 1 - ((v - low) / span) * (height - 2);
      return x.toFixed(1) + "," + y.toFixed(1);
    }).join(" ");
    var color = values[values.length - 1] >= values[0] ? "#26a69a" : "#ef5350";
    return React.createElement(
      "svg",
      { width: width, height: height, viewBox: "0 0 " + width + " " + height, className: "sparkline" },
      React.createElement("polyline", { points: points, fill: "none", stroke: color, strokeWidth: 1.5 })
    );
  };
})();
