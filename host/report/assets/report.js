// spellhost's report and dashboard page: draws the charts described in
// the #report-data element with uPlot and, on the live dashboard, follows
// the run through server-sent events (/events). The charts are exposed as
// window.spellhostCharts (id -> uPlot) for tests.
(function () {
  "use strict";

  var data = JSON.parse(document.getElementById("report-data").textContent);
  var box = document.getElementById("charts");
  var charts = {};
  var specs = {};
  window.spellhostCharts = charts;
  window.spellhostUpdates = 0;

  function fmtTime(s) {
    if (s == null) return "";
    s = Math.round(s);
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    if (h > 0) return h + "h" + (m ? String(m).padStart(2, "0") + "m" : "");
    if (m > 0) return m + "m" + (sec ? String(sec).padStart(2, "0") + "s" : "");
    return sec + "s";
  }

  function fmtNum(v) {
    var a = Math.abs(v);
    if (a >= 1e9) return (v / 1e9).toFixed(1) + "G";
    if (a >= 1e6) return (v / 1e6).toFixed(1) + "M";
    if (a >= 1e4) return (v / 1e3).toFixed(0) + "k";
    if (a >= 100 || v === Math.round(v)) return v.toFixed(0);
    if (a >= 1) return v.toFixed(2);
    return v.toPrecision(2);
  }

  function fmtValue(v, unit) {
    if (v == null || isNaN(v)) return "-";
    switch (unit) {
      case "ms":
        if (Math.abs(v) >= 1000) return (v / 1000).toFixed(2) + "s";
        if (Math.abs(v) < 1 && v !== 0) return (v * 1000).toPrecision(3) + "µs";
        return fmtNum(v) + "ms";
      case "bytes":
        var units = ["B", "KiB", "MiB", "GiB", "TiB"], i = 0;
        while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i++; }
        return (i ? v.toFixed(1) : v.toFixed(0)) + " " + units[i];
      case "/s":
        return fmtNum(v) + "/s";
    }
    return fmtNum(v);
  }

  function alpha(hex, a) {
    var n = parseInt(hex.slice(1), 16);
    return "rgba(" + (n >> 16 & 255) + "," + (n >> 8 & 255) + "," + (n & 255) + "," + a + ")";
  }

  function options(spec, width) {
    var series = [{ label: "time", value: function (u, v) { return fmtTime(v); } }];
    var bands = [];
    var hi = {};
    spec.series.forEach(function (s, i) {
      var unit = s.right ? spec.unit2 : spec.unit;
      var opt = {
        label: s.label,
        stroke: s.band ? "transparent" : s.color,
        width: s.band ? 0 : 1.5,
        scale: s.right ? "y2" : "y",
        points: { show: false },
        spanGaps: !!s.span_gaps,
        value: function (u, v) { return fmtValue(v, unit); },
      };
      if (s.dash) opt.dash = [6, 4];
      series.push(opt);
      if (s.band === "hi") hi[s.band_of] = i + 1;
      if (s.band === "lo" && hi[s.band_of]) {
        bands.push({ series: [hi[s.band_of], i + 1], fill: alpha(s.color, 0.1) });
      }
    });
    var axes = [
      { values: function (u, splits) { return splits.map(fmtTime); } },
      { scale: "y", size: 70, values: function (u, splits) { return splits.map(function (v) { return fmtValue(v, spec.unit); }); } },
    ];
    if (spec.unit2) {
      axes.push({ scale: "y2", side: 1, size: 50, grid: { show: false },
        values: function (u, splits) { return splits.map(function (v) { return fmtNum(v); }); } });
    }
    var zeroBased = function (u, min, max) {
      if (min == null || max == null) return [0, 1];
      return [Math.min(0, min), max > 0 ? max * 1.08 : 1];
    };
    return {
      width: width, height: 240,
      series: series, bands: bands, axes: axes,
      scales: { x: { time: false }, y: { range: zeroBased }, y2: { range: zeroBased } },
      legend: { live: true },
      cursor: { drag: { x: true, y: false } },
    };
  }

  function columns(spec) {
    return [spec.x].concat(spec.data);
  }

  function hideBandLegends(u, spec) {
    var rows = u.root.querySelectorAll(".u-legend .u-series");
    spec.series.forEach(function (s, i) {
      if (s.band && rows[i + 1]) rows[i + 1].style.display = "none";
    });
  }

  function draw(list) {
    Object.keys(charts).forEach(function (id) { charts[id].destroy(); delete charts[id]; });
    box.textContent = "";
    specs = {};
    list.forEach(function (spec) {
      var card = document.createElement("div");
      card.className = "chart";
      card.id = "chart-" + spec.id;
      var h = document.createElement("h3");
      h.textContent = spec.title;
      card.appendChild(h);
      var plot = document.createElement("div");
      plot.className = "plot";
      card.appendChild(plot);
      box.appendChild(card);
      var u = new uPlot(options(spec, Math.max(300, plot.clientWidth)), columns(spec), plot);
      hideBandLegends(u, spec);
      charts[spec.id] = u;
      specs[spec.id] = spec;
    });
    if (!list.length) {
      var p = document.createElement("p");
      p.className = "empty";
      p.textContent = data.live ? "waiting for the first second of the run…" : "no chart: the run had no scenario seconds.";
      box.appendChild(p);
    }
  }

  function resize() {
    Object.keys(charts).forEach(function (id) {
      var u = charts[id];
      var w = u.root.parentNode.clientWidth;
      if (w > 0) u.setSize({ width: w, height: 240 });
    });
  }

  window.addEventListener("resize", resize);
  draw(data.charts || []);
  window.spellhostReady = true;

  if (!data.live) return;

  var status = document.getElementById("status");
  var es = new EventSource("events");
  es.addEventListener("snapshot", function (e) {
    draw(JSON.parse(e.data).charts || []);
  });
  es.addEventListener("update", function (e) {
    var up = JSON.parse(e.data);
    Object.keys(up.columns).forEach(function (id) {
      var spec = specs[id], u = charts[id];
      if (!spec || !u) return;
      if (up.replace && spec.x.length) {
        // The new second extends the last (downsampled) point.
        var last = spec.x.length - 1;
        spec.x[last] = up.x;
        up.columns[id].forEach(function (v, i) { spec.data[i][last] = v; });
      } else {
        spec.x.push(up.x);
        up.columns[id].forEach(function (v, i) { spec.data[i].push(v); });
      }
      u.setData(columns(spec));
    });
    window.spellhostUpdates++;
  });
  es.addEventListener("done", function (e) {
    var d = JSON.parse(e.data);
    es.close();
    status.textContent = d.status;
    status.className = "badge " + (d.passed ? "ok" : "bad");
    // The fragments are rendered (and escaped) by spellhost's templates.
    if (d.cards) document.getElementById("cards").innerHTML = d.cards;
    if (d.tables) document.getElementById("tables").innerHTML = d.tables;
    window.spellhostDone = true;
  });
})();
