// The statement panel: pickers submit on change, chart selects swap server-built figures.
(function () {
  "use strict";

  const picker = document.getElementById("statement-picker");
  if (picker) {
    picker.querySelectorAll("select").forEach(function (select) {
      // Another license keeps the chosen month: people compare licenses month by month.
      select.addEventListener("change", function () {
        picker.requestSubmit();
      });
    });
  }

  function figure(name) {
    const node = document.getElementById("figure-" + name);
    return node ? JSON.parse(node.textContent) : null;
  }

  function draw(chart, choice) {
    const fig = figure(chart.dataset.prefix + choice);
    if (!fig || typeof Plotly === "undefined") {
      return;
    }
    Plotly.react(chart, fig.data, fig.layout, { responsive: true, displaylogo: false });
    chart.dataset.current = choice;
  }

  function remember(select) {
    const state = document.getElementById(select.dataset.state);
    if (state) {
      state.value = select.value;
    }
    const url = new URL(window.location.href);
    url.searchParams.set(state ? state.name : select.id, select.value);
    window.history.replaceState(null, "", url);
  }

  [["pie-select", "pie-chart"], ["metric-select", "hourly-chart"]].forEach(function (pair) {
    const select = document.getElementById(pair[0]);
    const chart = document.getElementById(pair[1]);
    if (!select || !chart) {
      return;
    }
    draw(chart, chart.dataset.current);
    select.addEventListener("change", function () {
      draw(chart, select.value);
      remember(select);
    });
  });
})();
