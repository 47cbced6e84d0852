// The statement PDF page: polls the build's status, moves the progress bar, offers the file.
(function () {
  "use strict";
  const card = document.getElementById("pdf-build");
  if (!card) {
    return;
  }
  const bar = document.querySelector("#pdf-progress .progress-bar");
  const status = document.getElementById("pdf-status");
  const download = document.getElementById("pdf-download");
  const refresh = document.getElementById("pdf-refresh");

  function show(state) {
    bar.style.width = state.progress + "%";
    bar.textContent = state.progress + "%";
    bar.parentElement.setAttribute("aria-valuenow", state.progress);
    status.textContent = state.label;
    if (state.ready) {
      bar.classList.remove("progress-bar-striped", "progress-bar-animated");
      download.classList.remove("d-none");
      if (refresh) {
        refresh.classList.add("d-none");
      }
    }
  }

  function poll() {
    fetch(card.dataset.statusUrl, { headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.json();
      })
      .then(function (state) {
        show(state);
        if (state.failed) {
          // The page shows the failure and a way to try again.
          window.location.reload();
        } else if (!state.ready) {
          window.setTimeout(poll, 1500);
        }
      })
      .catch(function () {
        window.setTimeout(poll, 5000);
      });
  }

  if (download.classList.contains("d-none") && !document.getElementById("pdf-failed")) {
    poll();
  }
})();
