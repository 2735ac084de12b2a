// The console's behaviour beyond htmx: the theme toggle (remembered in localStorage), "select
// all" for bulk actions, list inputs (one value per box) that send no empty boxes, and inputs
// shown only while another input has some value (data-show-when: hidden ones are not sent), sizes
// typed as a number and a unit and sent in bytes (data-size-field), and uploads sent to the API by
// XMLHttpRequest with their progress shown (form[data-upload]).
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

  // a size: what is sent (the hidden input) is the number times the unit, in whole bytes; what is
  // not a number is sent as typed, for the API to refuse with its own message
  function syncSize(group) {
    var number = group.querySelector('input[type="number"]'), unit = group.querySelector("select");
    var typed = number.value.trim(), value = Number(typed);
    group.querySelector('input[type="hidden"]').value =
      typed === "" || isNaN(value) ? typed : String(Math.round(value * Number(unit.value)));
  }

  ["input", "change"].forEach(function (kind) {
    document.addEventListener(kind, function (event) {
      var group = event.target.closest && event.target.closest("[data-size-field]");
      if (group) { syncSize(group); }
    });
  });

  function mebibytes(bytes) { return (bytes / 1048576).toFixed(1) + " MiB"; }

  function showUploadErrors(form, answer) {
    var general = form.querySelector("#form-error"), details = (answer && answer.details) || {}, placed = false;
    Object.keys(details).forEach(function (name) {
      var input = form.elements.namedItem(name), messages = [].concat(details[name]);
      var box = input && (input.closest ? input : input[0]).closest(".mb-3");
      if (!box || typeof messages[0] !== "string") { return; }
      box.querySelectorAll("input, select, textarea").forEach(function (one) { one.classList.add("is-invalid"); });
      messages.forEach(function (text) {
        var note = document.createElement("div");
        note.className = "invalid-feedback d-block";
        note.dataset.errorFor = name;
        note.textContent = text;
        box.appendChild(note);
      });
      placed = true;
    });
    if (!placed) {
      general.textContent = (answer && answer.message) || form.dataset.textFailed;
      general.hidden = false;
    }
  }

  function upload(form) {
    var data = new FormData(), bar = form.querySelector("#upload-bar"), percent = form.querySelector("#upload-percent");
    var status = form.querySelector("#upload-status"), button = form.querySelector("[type=submit]");
    new FormData(form).forEach(function (value, name) {   // empty optional values are left to the API's defaults
      if (value !== "" && !(value instanceof File && !value.name)) { data.append(name, value); }
    });
    form.querySelectorAll(".invalid-feedback[data-error-for]").forEach(function (note) { note.remove(); });
    form.querySelectorAll(".is-invalid").forEach(function (one) { one.classList.remove("is-invalid"); });
    form.querySelector("#form-error").hidden = true;
    form.querySelector("#upload-progress").hidden = false;
    button.disabled = true;
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("X-CSRFToken", form.elements.namedItem("csrfmiddlewaretoken").value);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", function (event) {
      if (!event.lengthComputable) { return; }
      var share = Math.round(100 * event.loaded / event.total);
      bar.style.width = share + "%";
      bar.setAttribute("aria-valuenow", share);
      percent.textContent = share + "%";
      status.textContent = form.dataset.textSending + " " + mebibytes(event.loaded) + " " + form.dataset.textOf + " " + mebibytes(event.total);
    });
    xhr.upload.addEventListener("load", function () {
      status.textContent = form.dataset.textStoring;
      bar.classList.add("progress-bar-indeterminate");
    });
    xhr.addEventListener("load", function () {
      var answer = null;
      try { answer = JSON.parse(xhr.responseText); } catch (ignored) { answer = null; }
      if (xhr.status < 400 && answer && answer.resource) {
        window.location.assign(form.dataset.detailUrl + answer.resource.uuid + "/");
        return;
      }
      bar.classList.remove("progress-bar-indeterminate");
      form.querySelector("#upload-progress").hidden = true;
      button.disabled = false;
      showUploadErrors(form, answer);
    });
    xhr.addEventListener("error", function () {
      form.querySelector("#upload-progress").hidden = true;
      button.disabled = false;
      showUploadErrors(form, null);
    });
    xhr.send(data);
  }

  document.addEventListener("submit", function (event) {
    if (event.target.matches("form[data-upload]")) {
      event.preventDefault();
      upload(event.target);
    }
  });
})();
