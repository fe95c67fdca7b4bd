// Open support cases per kind, stacked by SLA state, on the vendor's support report
// (json_script "support-chart-data"). A file, not inline: the CSP allows scripts from 'self' only.
(function () {
  if (typeof Chart === "undefined") { return; }
  var element = document.getElementById("support-chart");
  if (!element) { return; }
  var data = JSON.parse(document.getElementById("support-chart-data").textContent);
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = "#6c757d";
  new Chart(element, {
    type: "bar",
    data: {labels: data.labels, datasets: [
      {label: data.series[0], data: data.on_track, backgroundColor: "#2bb673", borderRadius: 4},
      {label: data.series[1], data: data.due_soon, backgroundColor: "#f5b83d", borderRadius: 4},
      {label: data.series[2], data: data.breached, backgroundColor: "#dc3545", borderRadius: 4}
    ]},
    options: {maintainAspectRatio: false, indexAxis: "y",
      scales: {x: {stacked: true, beginAtZero: true, ticks: {precision: 0}}, y: {stacked: true}},
      plugins: {legend: {position: "bottom", labels: {boxWidth: 14}}}}
  });
})();
