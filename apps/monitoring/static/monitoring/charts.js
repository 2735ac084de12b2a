// The metric charts of a host or VM page (monitoring/_charts.html), drawn with uPlot.
// - The page comes with the hour's figures; a period button fetches that period's from the
//   page's series URL (a click, not polling).
// - The hour chart follows the resource live: console/live.js subscribes to "metrics" on the
//   events socket it already has and hands this the points the server pushes as samples land
//   (the newest step may come again with a late sample: its point is replaced).
(function () {
  "use strict";
  var COLOURS = ["#206bc4", "#f76707"];
  var config = JSON.parse(document.getElementById("metric-charts-config").textContent);
  var period = config.period;
  var figures = config.figures;    // {start, end, step, series: {metric: [[ts, value], ...]}}
  var plots = {};                  // chart id -> uPlot
  // a y axis of bytes ticks at powers of two (512 KiB, 1 MiB, 2 MiB), not at 95.4 MiB
  var BINARY_STEPS = [];
  for (var power = 1; power <= Math.pow(1024, 4); power *= 1024) {
    [1, 2, 4, 8, 16, 32, 64, 128, 256, 512].forEach(function (times) { BINARY_STEPS.push(times * power); });
  }

  function human(value, unit) {
    if (value === null || value === undefined || isNaN(value)) return "";
    if (unit === "%") return value.toFixed(1) + " %";
    var units = ["B", "KiB", "MiB", "GiB", "TiB"];
    var size = Math.abs(value), i = 0;
    while (size >= 1024 && i < units.length - 1) { size /= 1024; i++; }
    var text = (value < 0 ? "-" : "") + (i === 0 || size % 1 === 0 ? size.toFixed(0) : size.toFixed(1)) + " " + units[i];
    return unit === "bytes/s" ? text + "/s" : text;
  }

  // uPlot's columns: the times every line of the chart has a point at, and each line's values
  function columns(chart) {
    var times = {};
    chart.series.forEach(function (line) {
      (figures.series[line.metric] || []).forEach(function (point) { times[point[0]] = true; });
    });
    var xs = Object.keys(times).map(Number).sort(function (a, b) { return a - b; });
    var data = [xs];
    chart.series.forEach(function (line) {
      var byTime = {};
      (figures.series[line.metric] || []).forEach(function (point) { byTime[point[0]] = point[1]; });
      data.push(xs.map(function (x) { return x in byTime ? byTime[x] : null; }));
    });
    return data;
  }

  function draw(chart) {
    var box = document.getElementById("chart-" + chart.id);
    var data = columns(chart);
    box.dataset.points = String(data[0].length);   // what it draws, for whoever looks (tests, too)
    var first = data[1] || [];
    box.dataset.last = first.length && first[first.length - 1] !== null ? String(first[first.length - 1]) : "";
    var plot = plots[chart.id];
    if (plot) {
      plot.setData(data);
      plot.setScale("x", {min: figures.start, max: figures.end});
      return;
    }
    var options = {
      width: Math.max(box.clientWidth, 240), height: 180,
      scales: {x: {time: true, range: function () { return [figures.start, figures.end]; }},
               y: {range: function (u, min, max) { return [0, Math.max(max || 0, chart.unit === "%" ? 100 : 1)]; }}},
      series: [{}].concat(chart.series.map(function (line, i) {
        return {label: line.label, stroke: COLOURS[i % COLOURS.length], width: 1.5, spanGaps: false,
                value: function (u, v) { return human(v, chart.unit); }};
      })),
      axes: [{}, {size: 84, incrs: chart.unit === "%" ? undefined : BINARY_STEPS,
                  values: function (u, ticks) { return ticks.map(function (v) { return human(v, chart.unit); }); }}],
    };
    plots[chart.id] = new uPlot(options, data, box);
  }

  function drawAll() {
    var none = !figures || !Object.keys(figures.series).some(function (m) { return figures.series[m].length; });
    document.getElementById("charts-no-data").hidden = !figures || !none;
    if (!figures) return;
    config.charts.forEach(draw);
  }

  function failed(message) {
    document.getElementById("charts-error-reason").textContent = message;
    document.getElementById("charts-error").hidden = false;
  }

  function choose(name) {
    Array.prototype.forEach.call(document.querySelectorAll("#chart-periods [data-period]"), function (button) {
      var on = button.dataset.period === name;
      button.classList.toggle("active", on);
      button.setAttribute("aria-pressed", String(on));
    });
    period = name;
    fetch(config.url + "?period=" + encodeURIComponent(name), {credentials: "same-origin"}).then(function (response) {
      return response.json().then(function (body) { return {ok: response.ok, body: body}; });
    }).then(function (answer) {
      if (name !== period) return;   // another period was chosen meanwhile
      if (!answer.ok) { failed(answer.body.message || ""); return; }
      document.getElementById("charts-error").hidden = true;
      figures = answer.body;
      drawAll();
    }, function (error) { failed(String(error)); });
  }

  // points pushed for the hour chart: a new step appended, one already drawn replaced, the
  // hour's window moved on
  function pushed(message) {
    if (message.uuid !== config.uuid || period !== config.live_period || !figures) return;
    var latest = figures.end;
    Object.keys(message.points).forEach(function (metric) {
      var line = figures.series[metric] = figures.series[metric] || [];
      message.points[metric].forEach(function (point) {
        var last = line.length ? line[line.length - 1][0] : -Infinity;
        if (point[0] > last) line.push(point);
        else {
          for (var i = line.length - 1; i >= 0 && line[i][0] >= point[0]; i--) {
            if (line[i][0] === point[0]) { line[i] = point; break; }
          }
        }
        latest = Math.max(latest, point[0]);
      });
    });
    var span = figures.end - figures.start;
    figures.end = latest;
    figures.start = latest - span;
    Object.keys(figures.series).forEach(function (metric) {
      figures.series[metric] = figures.series[metric].filter(function (p) { return p[0] > figures.start; });
    });
    drawAll();
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("#chart-periods [data-period]"), function (button) {
      button.addEventListener("click", function () { choose(button.dataset.period); });
    });
    drawAll();
    window.addEventListener("resize", function () {
      config.charts.forEach(function (chart) {
        var box = document.getElementById("chart-" + chart.id);
        if (plots[chart.id]) plots[chart.id].setSize({width: Math.max(box.clientWidth, 240), height: 180});
      });
    });
    if (window.CloudPortalLive) window.CloudPortalLive.follow("metrics", [config.uuid], pushed);
  }

  // after every deferred script (console/live.js comes later in the page)
  document.addEventListener("DOMContentLoaded", start);
})();
