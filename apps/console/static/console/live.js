// Live updates over /ws/events/, without polling or reloading the page.
// - The task panel (console/_tasks.html) follows every job of the account ("account_jobs"): the
//   recent ones came with the page, a new one is added at its first event; state, progress, the
//   running step, and a failed job's error and failed step change as the events come.
// - Every element marked data-live-uuid (a list's rows, a detail page: apps/core/templates/ui) is
//   fetched again from its data-live-src when the resource or job it shows changes
//   (data-live-kind "resource" or "job"): the rows of one list that changed within BATCH_MS (or
//   while its previous request was under way) are fetched together (?uuid=a&uuid=b), then swapped
//   by their id; one that is gone fades. A new state named by the event shows in the row at once.
// - An element marked data-live-region (with an id and a data-live-src answering it) is fetched
//   again whole and swapped by its id: when a job of the account ends (data-live-jobs), when a job
//   of the account on a resource of its type that it does not show ends (data-live-jobs-of: a list's
//   first page meeting a row just created), or when a resource among its data-live-follow (uuids)
//   changes (the dashboard's hosts), or when a row of its data-live-new-of type that it does not
//   show is announced (a type no job makes, such as an alarm: "new_rows"). One request under way
//   per region; what comes meanwhile waits.
//   It is asked as htmx would (HX-Target: its data-live-target, else its id): a list answers its
//   results alone.
// - What changed between the page's rendering (<body data-live-since>) and its subscription was
//   announced before anyone here listened: each subscription says since when, the server answers
//   which of those objects a job changed meanwhile, and they are fetched again as if announced.
// - A page's own script may follow a kind an app added to the socket (apps/core/events/streams.py):
//   window.CloudPortalLive.follow(kind, uuids, handler) subscribes (again after a reconnect) and
//   hands it the messages of that type (monitoring/charts.js: "metrics", a chart's new points).
(function () {
  "use strict";
  var BATCH_MS = 100;
  var MAX_ROWS = 100;   // in one request (its URL stays short; the server answers up to 200)
  var RUNNING = {pending: true, running: true};
  var panel = document.getElementById("task-panel");
  var tbody = document.getElementById("tasks");
  var config = panel ? JSON.parse(document.getElementById("task-config").textContent) : null;
  var socket = null;
  var opened = false;
  var retry = 1000;
  var followed = {job: {}, resource: {}, new_rows: {}};   // uuids subscribed to on this socket, by kind
                                                          // (new_rows: types)
  var jobStates = {};                        // job uuid -> the last state seen
  var gone = {};                             // uuids of resources deleted: nothing to fetch
  var queued = {};                           // data-live-src -> {uuid: true}, fetched together
  var inFlight = {};                         // data-live-src -> true while its request is under way
  var timer = null;
  var regionsQueued = {};                    // region id -> true, fetched again soon
  var regionsBusy = {};                      // region id -> true while its request is under way
  var regionTimer = null;

  var asked = 0;                             // subscriptions sent and not answered yet
  var rendered = document.body.dataset.liveSince;   // the server's clock when it made this page
  var clock = Date.parse(rendered) - Date.now();     // server minus browser clock (about)
  var firstFollow = true;
  var streams = {};                          // kind an app added -> {uuids: {uuid: true}, handlers: [fn]}

  function send(message) {
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    if (message.subscribe) {
      asked += 1;
      document.body.dataset.live = "subscribing";
    }
    socket.send(JSON.stringify(message));
  }

  // <body data-live="ready">: every subscription was answered (what the page shows is followed)
  function answered() {
    asked = Math.max(0, asked - 1);
    if (!asked) document.body.dataset.live = "ready";
  }

  function each(selector, fn) { Array.prototype.forEach.call(document.querySelectorAll(selector), fn); }

  // --- what the page shows, followed ---------------------------------------------------------
  function shown() {
    var found = {job: {}, resource: {}, new_rows: {}};
    each("[data-live-uuid]", function (el) {
      if (found[el.dataset.liveKind]) found[el.dataset.liveKind][el.dataset.liveUuid] = true;
    });
    each("[data-live-follow]", function (el) {
      el.dataset.liveFollow.split(" ").forEach(function (uuid) { if (uuid) found.resource[uuid] = true; });
    });
    each("[data-live-new-of]", function (el) { found.new_rows[el.dataset.liveNewOf] = true; });
    return found;
  }

  function batches(list) {
    var out = [];
    for (var i = 0; i < list.length; i += 500) out.push(list.slice(i, i + 500));
    return out;
  }

  // subscribe to what appeared, unsubscribe from what went (after htmx swapped the results)
  function follow() {
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    var now = shown();
    // a swapped fragment was made a moment ago: two seconds back covers its request
    var since = firstFollow || isNaN(clock) ? rendered : new Date(Date.now() + clock - 2000).toISOString();
    firstFollow = false;
    ["job", "resource"].forEach(function (kind) {
      var add = Object.keys(now[kind]).filter(function (uuid) { return !followed[kind][uuid]; });
      var drop = Object.keys(followed[kind]).filter(function (uuid) { return !now[kind][uuid]; });
      batches(add).forEach(function (part) {
        var spec = {};
        spec[kind] = part;
        send(since ? {subscribe: spec, since: since} : {subscribe: spec});
      });
      batches(drop).forEach(function (part) { var spec = {}; spec[kind] = part; send({unsubscribe: spec}); });
      add.forEach(function (uuid) { followed[kind][uuid] = true; });
      drop.forEach(function (uuid) { delete followed[kind][uuid]; });
    });
    // the new rows of a type: one subscription per type (it names no uuid)
    Object.keys(now.new_rows).forEach(function (type) {
      if (followed.new_rows[type]) return;
      send(since ? {subscribe: {new_rows: type}, since: since} : {subscribe: {new_rows: type}});
      followed.new_rows[type] = true;
    });
    Object.keys(followed.new_rows).forEach(function (type) {
      if (now.new_rows[type]) return;
      send({unsubscribe: {new_rows: type}});
      delete followed.new_rows[type];
    });
  }

  // --- fetching what changed again ----------------------------------------------------------
  function changed(kind, uuid, jobsOnly) {
    if (gone[uuid]) return;
    each('[data-live-kind="' + kind + '"][data-live-uuid="' + uuid + '"]', function (el) {
      if (jobsOnly && !el.hasAttribute("data-live-jobs")) return;
      var src = el.dataset.liveSrc;
      (queued[src] = queued[src] || {})[uuid] = true;
    });
    schedule();
  }

  function schedule() {
    if (!timer && Object.keys(queued).length) timer = setTimeout(fetchQueued, BATCH_MS);
  }

  // one request under way per source: what changes meanwhile waits for it, and goes in the next
  function fetchQueued() {
    timer = null;
    Object.keys(queued).forEach(function (src) {
      if (inFlight[src]) return;
      var uuids = Object.keys(queued[src]).slice(0, MAX_ROWS);
      uuids.forEach(function (uuid) { delete queued[src][uuid]; });
      if (!Object.keys(queued[src]).length) delete queued[src];
      uuids = uuids.filter(function (uuid) { return !gone[uuid]; });   // deleted while queued
      if (!uuids.length) return;
      inFlight[src] = true;
      var url = src + (src.indexOf("?") < 0 ? "?" : "&") + uuids.map(function (u) { return "uuid=" + u; }).join("&");
      fetch(url, {credentials: "same-origin", headers: {"X-Live-Update": "1"}}).then(function (response) {
        if (!response.ok) throw new Error(url + ": " + response.status);
        return response.text();
      }).then(function (html) { swap(src, uuids, html); }, function (error) {
        console.warn("live update", error);
      }).finally(function () {
        delete inFlight[src];
        schedule();
      });
    });
  }

  // a state the event names is shown at once in the rows' badge cells; the row's fetch follows
  function patchStates(message) {
    var after = (message.changes && message.changes.after) || {};
    each('tr[data-live-kind="resource"][data-live-uuid="' + message.uuid + '"]', function (row) {
      Object.keys(after).forEach(function (field) {
        var shown = config && config.states[after[field]];
        var badge = shown && row.querySelector('td[data-field="' + field + '"] .badge');
        if (!badge) return;
        badge.textContent = shown[0];
        badge.className = "badge bg-" + shown[1] + "-lt";
      });
    });
  }

  function swap(src, uuids, html) {
    var fresh = document.createElement("template");
    fresh.innerHTML = html;
    uuids.forEach(function (uuid) {
      each('[data-live-uuid="' + uuid + '"]', function (old) {
        if (old.dataset.liveSrc !== src) return;
        var found = old.id && fresh.content.querySelector("#" + CSS.escape(old.id));
        if (!found) {
          old.classList.add("live-gone");
          return;
        }
        var next = document.importNode(found, true);
        var box = old.querySelector('input[name="uuid"]');
        var nextBox = next.querySelector('input[name="uuid"]');
        if (box && nextBox) nextBox.checked = box.checked;   // a row selected for a bulk action stays so
        old.replaceWith(next);
        next.classList.add("live-updated");
        if (window.htmx) window.htmx.process(next);
      });
    });
  }

  // --- regions: a part of the page fetched again whole ------------------------------------------
  function refreshRegions(wanted) {
    each("[data-live-region]", function (el) { if (el.id && wanted(el)) regionsQueued[el.id] = true; });
    scheduleRegions();
  }

  function scheduleRegions() {
    if (!regionTimer && Object.keys(regionsQueued).length) regionTimer = setTimeout(fetchRegions, BATCH_MS);
  }

  function fetchRegions() {
    regionTimer = null;
    Object.keys(regionsQueued).forEach(function (id) {
      var el = document.getElementById(id);
      if (!el) { delete regionsQueued[id]; return; }
      if (regionsBusy[id]) return;
      delete regionsQueued[id];
      regionsBusy[id] = true;
      var src = el.dataset.liveSrc;
      var headers = {"X-Live-Update": "1", "HX-Request": "true", "HX-Target": el.dataset.liveTarget || id};
      fetch(src, {credentials: "same-origin", headers: headers})
        .then(function (response) {
          if (!response.ok) throw new Error(src + ": " + response.status);
          return response.text();
        }).then(function (html) {
          var fresh = document.createElement("template");
          fresh.innerHTML = html;
          var found = fresh.content.getElementById(id);
          var old = document.getElementById(id);
          if (!found || !old) return;
          var next = document.importNode(found, true);
          each("#" + CSS.escape(id) + ' input[name="uuid"]:checked', function (box) {   // selected rows stay so
            var same = next.querySelector('input[name="uuid"][value="' + box.value + '"]');
            if (same) same.checked = true;
          });
          old.replaceWith(next);
          if (window.htmx) window.htmx.process(next);
          follow();   // what it shows now (a new host, new rows), followed
        }, function (error) { console.warn("live update", error); })
        .finally(function () {
          delete regionsBusy[id];
          scheduleRegions();
        });
    });
  }

  function follows(el, uuid) {
    return (" " + (el.dataset.liveFollow || "") + " ").indexOf(" " + uuid + " ") >= 0;
  }

  // a job of the account ended: the regions that count what jobs change, and the lists of its
  // resource type that do not show its resource (a row it created)
  function jobEnded(job) {
    refreshRegions(function (el) {
      if (el.hasAttribute("data-live-jobs")) return true;
      return el.dataset.liveJobsOf === job.resource_type &&
        !(job.resource_uuid && el.querySelector('[data-live-uuid="' + job.resource_uuid + '"]'));
    });
  }

  // after a reconnect: what changed meanwhile was not announced to us, so the rows, the detail
  // page and the task panel are fetched again
  function refreshAll() {
    each("[data-live-uuid]", function (el) { changed(el.dataset.liveKind, el.dataset.liveUuid); });
    refreshRegions(function () { return true; });
    if (!panel) return;
    fetch(location.pathname, {credentials: "same-origin"}).then(function (response) {
      return response.ok ? response.text() : "";
    }).then(function (html) {
      var fresh = document.createElement("template");
      fresh.innerHTML = html;
      var rows = fresh.content.getElementById("tasks");
      if (!rows) return;
      tbody.replaceChildren.apply(tbody, Array.prototype.map.call(rows.children, function (row) {
        return document.importNode(row, true);
      }));
      each("#tasks time[data-slot=time]", localTime);
      counted();
    }, function (error) { console.warn("live update", error); });
  }

  // --- the task panel -----------------------------------------------------------------------
  function slot(row, name) { return row.querySelector('[data-slot="' + name + '"]'); }

  function runningStep(steps) {
    if (!Array.isArray(steps)) return null;   // not shown to this account: keep what is there
    for (var i = 0; i < steps.length; i++) {
      if (steps[i] && steps[i].state === "running") return steps[i].name || "";
    }
    return "";
  }

  function newTask(job) {
    var row = document.importNode(document.getElementById("task-template").content.firstElementChild, true);
    row.id = "task-" + job.uuid;
    row.dataset.job = job.uuid;
    var action = slot(row, "action");
    action.href = config.jobs_url + job.uuid + "/";
    action.textContent = job.action || "";
    var resource = slot(row, "resource");
    var list = config.pages[job.resource_type];
    if (list && job.resource_uuid) {
      var link = document.createElement("a");
      link.href = list + job.resource_uuid + "/";
      link.textContent = job.resource_type;
      resource.replaceChildren(link);
    } else {
      resource.textContent = job.resource_type || "";
    }
    var time = slot(row, "time");
    time.setAttribute("datetime", new Date().toISOString());
    localTime(time);
    tbody.insertBefore(row, tbody.firstChild);
    var rows = tbody.querySelectorAll("tr.task-row");
    for (var i = config.size; i < rows.length; i++) rows[i].remove();
    return row;
  }

  function showTask(job) {
    if (!panel || !job.uuid) return;
    var row = document.getElementById("task-" + job.uuid);
    if (!row) {
      if (followed.job[job.uuid]) return;   // a job this page shows, not one of the account's new ones
      row = newTask(job);
    }
    var state = job.state || row.dataset.state;
    var word = config.states[state] || [state, "secondary"];
    row.dataset.state = state;
    row.classList.toggle("task-failed", state === "failed");
    var badge = slot(row, "state");
    badge.textContent = word[0];
    badge.className = "badge bg-" + word[1] + "-lt";
    if (typeof job.progress === "number") {
      var bar = slot(row, "progress");
      bar.style.width = job.progress + "%";
      bar.setAttribute("aria-valuenow", job.progress);
    }
    var error = job.error && typeof job.error === "object" ? job.error : null;
    var step = error && error.step ? error.step : runningStep(job.steps);
    if (step !== null) slot(row, "step").textContent = step;
    if ("error" in job) slot(row, "error").textContent = error ? (error.message || error.code || "") : "";
    counted();
  }

  function counted() {
    var rows = tbody.querySelectorAll("tr.task-row").length;
    var busy = 0;
    each("#tasks tr.task-row", function (row) { if (RUNNING[row.dataset.state]) busy += 1; });
    document.getElementById("tasks-empty").hidden = rows > 0;
    var badge = document.getElementById("task-running");
    badge.hidden = busy === 0;
    badge.textContent = config.words.running.replace("%(count)s", busy);
  }

  function localTime(el) {
    var when = new Date(el.getAttribute("datetime"));
    if (!isNaN(when)) el.textContent = when.toLocaleTimeString();
  }

  function setUpPanel() {
    var toggle = document.getElementById("task-panel-toggle");
    var list = document.getElementById("task-list");
    function show(open) {
      list.hidden = !open;
      toggle.setAttribute("aria-expanded", String(open));
    }
    show(localStorage.getItem("cloudportal-tasks") !== "closed");
    toggle.addEventListener("click", function () {
      var open = list.hidden;
      show(open);
      localStorage.setItem("cloudportal-tasks", open ? "open" : "closed");
    });
    tbody.addEventListener("click", function (event) {   // a row opens its job
      var row = event.target.closest("tr.task-row");
      if (row && !event.target.closest("a")) window.location.href = slot(row, "action").href;
    });
    each("#tasks time[data-slot=time]", localTime);
    counted();
  }

  // --- kinds an app added ----------------------------------------------------------------------
  function subscribeStream(kind) {
    var spec = {};
    spec[kind] = Object.keys(streams[kind].uuids);
    send({subscribe: spec});
  }

  window.CloudPortalLive = {
    follow: function (kind, uuids, handler) {
      var stream = streams[kind] = streams[kind] || {uuids: {}, handlers: []};
      stream.handlers.push(handler);
      uuids.forEach(function (uuid) { stream.uuids[uuid] = true; });
      subscribeStream(kind);   // or once the socket opens
    }
  };

  // --- the socket ---------------------------------------------------------------------------
  function receive(message) {
    if (streams[message.type]) {
      streams[message.type].handlers.forEach(function (handler) { handler(message); });
    } else if (message.type === "subscribed" || (message.type === "error" && !message.details)) {
      Object.keys(message.changed || {}).forEach(function (kind) {
        message.changed[kind].forEach(function (uuid) {
          if (kind === "new_rows") {   // rows of that type made before we listened: the lists again
            refreshRegions(function (el) { return el.dataset.liveNewOf === uuid; });
            return;
          }
          changed(kind, uuid);
          if (kind === "resource") refreshRegions(function (el) { return follows(el, uuid); });
        });
      });
      answered();
    } else if (message.type === "job") {
      showTask(message);
      changed("job", message.uuid);
      if (message.resource_uuid && jobStates[message.uuid] !== message.state) {
        changed("resource", message.resource_uuid, true);   // a detail page's list of its jobs
      }
      if (message.state && !RUNNING[message.state] && jobStates[message.uuid] !== message.state) jobEnded(message);
      jobStates[message.uuid] = message.state;
    } else if (message.type === "resource" && message.action === "create") {
      refreshRegions(function (el) {   // a list that follows its type's new rows and does not show this one
        return el.dataset.liveNewOf === message.resource_type &&
          !el.querySelector('[data-live-uuid="' + message.uuid + '"]');
      });
    } else if (message.type === "resource" && message.action === "delete") {
      gone[message.uuid] = true;
      each('[data-live-kind="resource"][data-live-uuid="' + message.uuid + '"]', function (el) {
        el.classList.add("live-gone");   // nothing to fetch: it is gone
      });
      refreshRegions(function (el) { return follows(el, message.uuid); });
    } else if (message.type === "resource") {
      patchStates(message);
      changed("resource", message.uuid);
      refreshRegions(function (el) { return follows(el, message.uuid); });
    }
  }

  function connect() {
    socket = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws/events/");
    socket.onopen = function () {
      retry = 1000;
      asked = 0;
      followed = {job: {}, resource: {}, new_rows: {}};
      firstFollow = !opened;
      if (panel) send({subscribe: {account_jobs: panel.dataset.account}});
      follow();
      Object.keys(streams).forEach(subscribeStream);
      if (opened) refreshAll();
      opened = true;
    };
    socket.onmessage = function (event) { receive(JSON.parse(event.data)); };
    socket.onclose = function () {   // the server went away (or logged us out): try again, less and less often
      socket = null;
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 30000);
    };
  }

  if (panel) setUpPanel();
  document.addEventListener("htmx:afterSettle", follow);
  connect();
})();
