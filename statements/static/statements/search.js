// Client-side search over the rows already on the page (the server-side filters come first).
(function () {
  "use strict";
  document.querySelectorAll("input[data-table]").forEach(function (input) {
    const table = document.getElementById(input.dataset.table);
    if (!table) {
      return;
    }
    const empty = document.getElementById(input.dataset.empty);
    input.addEventListener("input", function () {
      const needle = input.value.trim().toLowerCase();
      let shown = 0;
      table.querySelectorAll("tbody tr").forEach(function (row) {
        row.hidden = needle !== "" && !row.textContent.toLowerCase().includes(needle);
        shown += row.hidden ? 0 : 1;
      });
      if (empty) {
        // Rows hidden by the search would otherwise leave a bare header and no explanation.
        empty.hidden = shown > 0;
      }
    });
  });
})();
