// A select marked data-submit-on-change sends its form as soon as it changes. Kept out of the
// markup because the Content-Security-Policy refuses inline event handlers.
(function () {
  "use strict";

  document.querySelectorAll("select[data-submit-on-change]").forEach(function (select) {
    select.addEventListener("change", function () {
      select.form.requestSubmit();
    });
  });
})();
