// MDF utilisation and ROI charts of the vendor report, drawn from the json_script "report-chart-data".
// Loaded as a file, not inline: the Content-Security-Policy allows scripts from 'self' only.
(function () {
  // Translated labels come on the script tag (data-allocated-label, data-roi-label).
  var labels = {allocated: document.currentScript.dataset.allocatedLabel, roi: document.currentScript.dataset.roiLabel};
  if (typeof Chart === "undefined") { return; }
  var data = JSON.parse(document.getElementById("report-chart-data").textContent);
  var colors = {paid: "#2bb673", payable: "#17a2b8", committed: "#f0b429", available: "#c9d3f5"};
  var locale = document.documentElement.lang || "en";
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = "#6c757d";
  function number(value) { return Number(value).toLocaleString(locale, {maximumFractionDigits: 0}); }

  var utilisation = document.getElementById("utilisation-chart");
  if (utilisation) {
    var u = data.utilisation;
    new Chart(utilisation, {
      type: "bar",
      data: {labels: u.labels, datasets: u.datasets.map(function (set) {
        return {label: set.label, data: set.values, backgroundColor: colors[set.key], borderRadius: 3, maxBarThickness: 56, stack: "allocation"};
      })},
      options: {
        maintainAspectRatio: false,
        interaction: {mode: "index", intersect: false},
        plugins: {legend: {position: "bottom"}, tooltip: {callbacks: {
          label: function (context) { return " " + context.dataset.label + ": " + number(context.parsed.y) + (u.currency ? " " + u.currency : ""); },
          footer: function (items) { return items.length ? labels.allocated + ": " + number(u.allocated[items[0].dataIndex]) : ""; }
        }}},
        scales: {x: {stacked: true, grid: {display: false}}, y: {stacked: true, beginAtZero: true, ticks: {callback: number}}}
      }
    });
  }

  var roi = document.getElementById("roi-chart");
  if (roi) {
    new Chart(roi, {
      type: "bar",
      data: {labels: data.roi.labels, datasets: [{label: labels.roi, data: data.roi.values, backgroundColor: "#2b4acb", borderRadius: 6, maxBarThickness: 42}]},
      options: {
        indexAxis: "y", maintainAspectRatio: false,
        plugins: {legend: {display: false}, tooltip: {callbacks: {label: function (context) { return " " + context.parsed.x.toLocaleString(locale, {maximumFractionDigits: 2}) + "×"; }}}},
        scales: {x: {beginAtZero: true}, y: {grid: {display: false}}}
      }
    });
  }
})();
