// Client-side search over the rows already on the page (the server-side filters come first).
(function () {
  "use strict";
  document.querySelectorAll("input[data-table]").forEach(function (input) {
    const table = document.getElementById(input.dataset.table);
    if (!table) {
      return;
    }
    input.addEventListener("input", function () {
      const needle = input.value.trim().toLowerCase();
      table.querySelectorAll("tbody tr").forEach(function (row) {
        row.hidden = needle !== "" && !row.textContent.toLowerCase().includes(needle);
      });
    });
  });
})();
