// The console's behaviour beyond htmx: the theme toggle (remembered in localStorage), "select
// all" for bulk actions, list inputs (one value per box) that send no empty boxes, and inputs
// shown only while another input has some value (data-show-when: hidden ones are not sent).
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

  function currentValue(form, name) {
    var control = form.elements.namedItem(name);
    return control ? control.value : null;   // a select's value, or a radio group's checked one
  }

  function applyShowWhen(root) {
    var forms = root.matches && root.matches("form") ? [root] : root.querySelectorAll("form");
    forms.forEach(function (form) {
      form.querySelectorAll("[data-show-when]").forEach(function (box) {
        var rule = JSON.parse(box.dataset.showWhen), shown = true;
        Object.keys(rule).forEach(function (name) {
          var value = currentValue(form, name);
          if (value !== null && rule[name].indexOf(value) < 0) { shown = false; }
        });
        box.hidden = !shown;
        box.querySelectorAll("input, select, textarea").forEach(function (input) { input.disabled = !shown; });
      });
    });
  }

  document.addEventListener("change", function (event) {
    if (event.target.form && event.target.form.querySelector("[data-show-when]")) { applyShowWhen(event.target.form); }
  });
  document.addEventListener("htmx:load", function (event) { applyShowWhen(event.target); });
  applyShowWhen(document);
})();
