// Partners by tier and by status on the vendor dashboard (json_script "tier-data", "status-data").
// Loaded as a file, not inline: the Content-Security-Policy allows scripts from 'self' only.
(function () {
  if (typeof Chart === "undefined") { return; }
  var palette = ["#2b4acb", "#5b7cfa", "#f0b429", "#2bb673", "#e35d6a", "#8e9aaf", "#17a2b8"];
  var statusColors = {prospect: "#adb5bd", onboarding: "#f0b429", active: "#2bb673", suspended: "#f08c3a", terminated: "#e35d6a"};
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = "#6c757d";

  var tierCanvas = document.getElementById("tier-chart");
  if (tierCanvas) {
    var tiers = JSON.parse(document.getElementById("tier-data").textContent);
    new Chart(tierCanvas, {
      type: "doughnut",
      data: {
        labels: tiers.map(function (row) { return row.label; }),
        datasets: [{data: tiers.map(function (row) { return row.n; }), backgroundColor: palette, borderWidth: 2, borderColor: "#fff"}]
      },
      options: {maintainAspectRatio: false, cutout: "62%", plugins: {legend: {position: "right"}}}
    });
  }

  var statusCanvas = document.getElementById("status-chart");
  if (statusCanvas) {
    var statuses = JSON.parse(document.getElementById("status-data").textContent);
    new Chart(statusCanvas, {
      type: "bar",
      data: {
        labels: statuses.map(function (row) { return row[0]; }),
        datasets: [{
          data: statuses.map(function (row) { return row[1]; }),
          backgroundColor: statuses.map(function (row) { return statusColors[row[2]] || "#2b4acb"; }),
          borderRadius: 6, maxBarThickness: 48
        }]
      },
      options: {
        maintainAspectRatio: false,
        plugins: {legend: {display: false}},
        scales: {y: {beginAtZero: true, ticks: {precision: 0}}, x: {grid: {display: false}}}
      }
    });
  }
})();
