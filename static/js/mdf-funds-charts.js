// Doughnut charts of the partner's funds page, drawn from the json_script "funds-chart-data".
// Loaded as a file, not inline: the Content-Security-Policy allows scripts from 'self' only.
(function () {
  if (typeof Chart === "undefined") { return; }
  var charts = JSON.parse(document.getElementById("funds-chart-data").textContent);
  var colors = {available: "#2b4acb", committed: "#f0b429", payable: "#17a2b8", paid: "#2bb673"};
  var locale = document.documentElement.lang || "en";
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = "#6c757d";
  document.querySelectorAll("canvas.funds-chart").forEach(function (canvas) {
    var chart = charts[parseInt(canvas.dataset.index, 10)];
    if (!chart) { return; }
    new Chart(canvas, {
      type: "doughnut",
      data: {labels: chart.labels, datasets: [{data: chart.values, backgroundColor: chart.keys.map(function (k) { return colors[k]; }), borderWidth: 2, borderColor: "#fff"}]},
      options: {maintainAspectRatio: false, cutout: "62%", plugins: {
        legend: {position: "bottom", labels: {boxWidth: 14}},
        tooltip: {callbacks: {label: function (context) {
          return " " + Number(context.raw).toLocaleString(locale, {minimumFractionDigits: 2, maximumFractionDigits: 2}) + " " + chart.currency;
        }}}
      }}
    });
  });
})();
