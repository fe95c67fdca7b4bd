// Completed / in-progress chart of a partner team's training (json_script "team-chart-data").
// Loaded as a file, not inline: the Content-Security-Policy allows scripts from 'self' only.
(function () {
  if (typeof Chart === "undefined") { return; }
  var data = JSON.parse(document.getElementById("team-chart-data").textContent);
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = "#6c757d";
  new Chart(document.getElementById("team-chart"), {
    type: "bar",
    data: {labels: data.labels, datasets: [
      {label: data.series[0], data: data.completed, backgroundColor: "#2bb673", borderRadius: 4},
      {label: data.series[1], data: data.in_progress, backgroundColor: "#f0b429", borderRadius: 4}
    ]},
    options: {indexAxis: "y", maintainAspectRatio: false,
      scales: {x: {stacked: true, beginAtZero: true, ticks: {precision: 0}}, y: {stacked: true}},
      plugins: {legend: {position: "bottom", labels: {boxWidth: 14}}}}
  });
})();
