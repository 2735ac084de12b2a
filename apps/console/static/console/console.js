// The console's behaviour beyond htmx: the theme toggle (remembered in localStorage), "select
// all" for bulk actions, and list inputs (one value per box) that send no empty boxes.
(function () {
  "use strict";
  var KEY = "cloudportal-theme";

  document.addEventListener("click", function (event) {
    if (event.target.closest("#theme-toggle")) {
      var next = document.documentElement.dataset.bsTheme === "dark" ? "light" : "dark";
      document.documentElement.dataset.bsTheme = next;
      localStorage.setItem(KEY, next);
    }
  });

  document.addEventListener("change", function (event) {
    if (event.target.matches("[data-select-all]")) {
      var table = event.target.closest("table");
      table.querySelectorAll('tbody input[name="uuid"]').forEach(function (box) { box.checked = event.target.checked; });
    }
  });

  function dropEmptyListValues(form) {
    form.querySelectorAll("[data-list-field] input").forEach(function (input) {
      input.disabled = input.value.trim() === "";
    });
  }

  // capture: before htmx reads the form's values (disabled boxes are not sent)
  document.addEventListener("submit", function (event) { dropEmptyListValues(event.target); }, true);
})();
