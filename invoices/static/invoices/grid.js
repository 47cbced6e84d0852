// The Billing grid: draws the server-built cost-per-day figures with the local plotly.js.
(function () {
  "use strict";

  document.querySelectorAll(".chart[data-figure-id]").forEach(function (chart) {
    const node = document.getElementById(chart.dataset.figureId);
    if (!node || typeof Plotly === "undefined") {
      return;
    }
    const figure = JSON.parse(node.textContent);
    Plotly.newPlot(chart, figure.data, figure.layout, { responsive: true, displaylogo: false });
  });
})();
