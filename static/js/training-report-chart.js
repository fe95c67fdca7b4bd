// Enrolled / completed / certified chart of the vendor's training report (json_script "report-chart-data").
// Loaded as a file, not inline: the Content-Security-Policy allows scripts from 'self' only.
(function () {
  if (typeof Chart === "undefined") { return; }
  var data = JSON.parse(document.getElementById("report-chart-data").textContent);
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = "#6c757d";
  new Chart(document.getElementById("report-chart"), {
    type: "bar",
    data: {labels: data.labels, datasets: [
      {label: data.series[0], data: data.enrolled, backgroundColor: "#c9d3f5", borderRadius: 4},
      {label: data.series[1], data: data.completed, backgroundColor: "#2b4acb", borderRadius: 4},
      {label: data.series[2], data: data.certified, backgroundColor: "#2bb673", borderRadius: 4}
    ]},
    options: {maintainAspectRatio: false, scales: {y: {beginAtZero: true, ticks: {precision: 0}}},
      plugins: {legend: {position: "bottom", labels: {boxWidth: 14}}}}
  });
})();
