// Draws every <canvas data-chart="NAME" data-kind="bar|hbar|doughnut|line" data-measure="counts|values">
// from the json_script "chart-data" ({NAME: {labels, counts, values, keys}}).
// Loaded as a file, not inline: the Content-Security-Policy allows scripts from 'self' only.
(function () {
  if (typeof Chart === "undefined") { return; }
  var source = document.getElementById("chart-data");
  if (!source) { return; }
  var data = JSON.parse(source.textContent);
  var palette = ["#2b4acb", "#5b7cfa", "#f0b429", "#2bb673", "#e35d6a", "#8e9aaf", "#17a2b8", "#9b5de5", "#f08c3a", "#495057"];
  var statusColors = {draft: "#adb5bd", submitted: "#5b7cfa", returned: "#f0b429", approved: "#2bb673", rejected: "#e35d6a", won: "#0f7b4a", lost: "#8e9aaf", expired: "#ced4da"};
  var locale = document.documentElement.lang || "en";
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = "#6c757d";
  function number(value) { return Number(value).toLocaleString(locale, {maximumFractionDigits: 0}); }

  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var series = data[canvas.dataset.chart];
    if (!series) { return; }
    var kind = canvas.dataset.kind || "bar";
    var measure = canvas.dataset.measure || "counts";
    var values = series[measure];
    var colors = series.keys.map(function (key, index) { return statusColors[key] || palette[index % palette.length]; });
    var money = measure === "values";
    var tooltip = {callbacks: {label: function (context) {
      var raw = kind === "doughnut" ? context.raw : context.parsed[kind === "hbar" ? "x" : "y"];
      return " " + number(raw) + (money && canvas.dataset.currency ? " " + canvas.dataset.currency : "");
    }}};
    var config;
    if (kind === "doughnut") {
      config = {type: "doughnut", data: {labels: series.labels, datasets: [{data: values, backgroundColor: colors, borderWidth: 2, borderColor: "#fff"}]},
        options: {maintainAspectRatio: false, cutout: "62%", plugins: {legend: {position: "right"}, tooltip: tooltip}}};
    } else if (kind === "line") {
      config = {type: "line", data: {labels: series.labels, datasets: [
          {label: canvas.dataset.label || "", data: values, borderColor: "#2b4acb", backgroundColor: "rgba(43,74,203,.12)", fill: true, tension: .3, pointRadius: 3}]},
        options: {maintainAspectRatio: false, plugins: {legend: {display: false}, tooltip: tooltip},
          scales: {y: {beginAtZero: true, ticks: {callback: number}}, x: {grid: {display: false}}}}};
    } else {
      var horizontal = kind === "hbar";
      var valueAxis = {beginAtZero: true, ticks: money ? {callback: number} : {precision: 0}};
      var categoryAxis = {grid: {display: false}};
      config = {type: "bar", data: {labels: series.labels, datasets: [{data: values, backgroundColor: colors, borderRadius: 6, maxBarThickness: 42}]},
        options: {indexAxis: horizontal ? "y" : "x", maintainAspectRatio: false, plugins: {legend: {display: false}, tooltip: tooltip},
          scales: horizontal ? {x: valueAxis, y: categoryAxis} : {y: valueAxis, x: categoryAxis}}};
    }
    new Chart(canvas, config);
  });
})();
