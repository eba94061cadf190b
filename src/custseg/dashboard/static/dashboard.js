/* custseg dashboard: charts, the segments filter, the rule builder, exports and holdouts.
 * Calls the REST API with the session cookie; every write sends X-Requested-With: custseg
 * (the server refuses cookie-authenticated writes without it). No external resources. */
(function () {
  "use strict";

  var WRITE_HEADERS = { "Content-Type": "application/json", "X-Requested-With": "custseg" };

  function $(id) { return document.getElementById(id); }

  function api(method, url, body) {
    var opts = { method: method, credentials: "same-origin", headers: { "X-Requested-With": "custseg", "Accept": "application/json" } };
    if (body !== undefined) {
      opts.headers = WRITE_HEADERS;
      opts.body = JSON.stringify(body);
    }
    return fetch(url, opts).then(function (r) {
      return r.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = { detail: text }; }
        return { ok: r.ok, status: r.status, data: data };
      });
    });
  }

  function problemText(res) {
    if (res.data && res.data.detail) { return res.data.detail; }
    return "request failed (HTTP " + res.status + ")";
  }

  function fmtInt(n) { return Number(n).toLocaleString("en-US"); }

  /* ------------------------------------------------------------------ charts */
  function drawCharts() {
    if (!window.Plotly) { return; }
    var plots = document.querySelectorAll(".plot[data-figure]");
    Array.prototype.forEach.call(plots, function (el) {
      var src = $(el.getAttribute("data-figure"));
      if (!src) { return; }
      var fig = JSON.parse(src.textContent);
      var layout = fig.layout || {};
      layout.autosize = true;
      window.Plotly.newPlot(el, fig.data || [], layout, { displaylogo: false, responsive: true });
    });
  }

  /* ------------------------------------------------------------------ segments list */
  function segmentsFilter() {
    var search = $("segment-search");
    var tag = $("tag-filter");
    var table = $("segments-table");
    if (!search || !table) { return; }
    function apply() {
      var q = search.value.trim().toLowerCase();
      var t = tag ? tag.value : "";
      var shown = 0;
      Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
        var name = row.getAttribute("data-name") || "";
        var tags = (row.getAttribute("data-tags") || "").split(",");
        var ok = (!q || name.indexOf(q) !== -1) && (!t || tags.indexOf(t) !== -1);
        row.hidden = !ok;
        if (ok) { shown += 1; }
      });
      var empty = $("segments-empty");
      if (empty) { empty.hidden = shown > 0; }
    }
    search.addEventListener("input", apply);
    if (tag) { tag.addEventListener("change", apply); }
  }

  /* ------------------------------------------------------------------ builder */
  function escapeHtml(s) {
    return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
  }

  function builder() {
    var rule = $("rule");
    if (!rule) { return; }
    var mirror = $("rule-mirror");
    var errorBox = $("rule-error");
    var count = $("live-count");
    var share = $("live-share");
    var status = $("live-status");
    var sample = $("sample-members");
    var list = $("suggestions");
    var timer = null;
    var seq = 0;
    var fields = [];
    var operators = [];
    var kinds = {};
    var valuesCache = {};
    var items = [];
    var active = -1;
    var replaceFrom = 0;

    function syncMirror(position) {
      var text = rule.value;
      if (position === null || position === undefined) {
        mirror.innerHTML = escapeHtml(text) + "\n";
      } else {
        var rest = text.slice(position);
        var m = /^[A-Za-z0-9_.'-]+/.exec(rest);
        var len = m ? m[0].length : 1;
        var bad = text.slice(position, position + len) || " ";
        mirror.innerHTML = escapeHtml(text.slice(0, position)) + "<mark>" + escapeHtml(bad) +
          "</mark>" + escapeHtml(text.slice(position + len)) + "\n";
      }
      mirror.scrollTop = rule.scrollTop;
    }

    function showError(message, position) {
      errorBox.textContent = message;
      errorBox.hidden = false;
      if (position === null || position === undefined) {
        errorBox.removeAttribute("data-position");
        syncMirror(null);
      } else {
        errorBox.setAttribute("data-position", String(position));
        syncMirror(position);
      }
    }

    function clearError() {
      errorBox.hidden = true;
      errorBox.textContent = "";
      errorBox.removeAttribute("data-position");
      syncMirror(null);
    }

    function renderSample(rows) {
      var head = sample.tHead;
      var body = sample.tBodies[0];
      head.innerHTML = "";
      body.innerHTML = "";
      if (!rows || !rows.length) { return; }
      var cols = Object.keys(rows[0]);
      var tr = document.createElement("tr");
      cols.forEach(function (c) { var th = document.createElement("th"); th.textContent = c; tr.appendChild(th); });
      head.appendChild(tr);
      rows.forEach(function (r) {
        var row = document.createElement("tr");
        cols.forEach(function (c) {
          var td = document.createElement("td");
          var v = r[c];
          if (c === "customer_id") {
            var a = document.createElement("a");
            a.href = "/ui/customers/" + encodeURIComponent(v);
            a.textContent = v;
            td.appendChild(a);
          } else {
            td.textContent = v === null || v === undefined ? "–" : String(v);
          }
          row.appendChild(td);
        });
        body.appendChild(row);
      });
    }

    function preview() {
      var text = rule.value;
      var mine = ++seq;
      if (!text.trim()) {
        clearError();
        count.textContent = "–";
        count.setAttribute("data-count", "");
        share.textContent = "–";
        renderSample([]);
        return;
      }
      status.textContent = "counting…";
      api("POST", "/segments/preview", { rule: text, sample: 10 }).then(function (res) {
        if (mine !== seq) { return; }
        status.textContent = "";
        if (res.ok) {
          clearError();
          count.textContent = fmtInt(res.data.count);
          count.setAttribute("data-count", String(res.data.count));
          share.textContent = (100 * res.data.share).toFixed(1) + "%";
          renderSample(res.data.sample);
        } else {
          var pos = res.data && typeof res.data.position === "number" ? res.data.position : null;
          showError(problemText(res), pos);
          count.textContent = "–";
          count.setAttribute("data-count", "");
          share.textContent = "–";
        }
      }).catch(function (e) {
        if (mine === seq) { status.textContent = "could not reach the server"; }
      });
    }

    function schedule() {
      syncMirror(null);
      if (timer) { clearTimeout(timer); }
      timer = setTimeout(preview, 300);
    }

    /* autocomplete */
    var fieldsPromise = null;
    function loadFields() {
      if (fieldsPromise === null) {
        fieldsPromise = api("GET", "/ui/api/fields").then(function (res) {
          if (!res.ok) { fields = []; return; }
          fields = res.data.fields;
          operators = res.data.operators;
          fields.forEach(function (f) { kinds[f.name] = f.kind; });
        });
      }
      return fieldsPromise;
    }

    function loadValues(field) {
      if (valuesCache[field]) { return Promise.resolve(valuesCache[field]); }
      return api("GET", "/ui/api/values?field=" + encodeURIComponent(field) + "&limit=20").then(function (res) {
        valuesCache[field] = res.ok ? res.data.values : [];
        return valuesCache[field];
      });
    }

    function closeList() {
      list.hidden = true;
      list.innerHTML = "";
      items = [];
      active = -1;
    }

    function renderList() {
      list.innerHTML = "";
      if (!items.length) { closeList(); return; }
      items.forEach(function (it, i) {
        var li = document.createElement("li");
        li.setAttribute("role", "option");
        li.setAttribute("data-insert", it.insert);
        li.className = i === active ? "active" : "";
        li.textContent = it.label;
        if (it.hint) {
          var s = document.createElement("span");
          s.className = "hint";
          s.textContent = it.hint;
          li.appendChild(s);
        }
        li.addEventListener("mousedown", function (ev) { ev.preventDefault(); accept(i); });
        list.appendChild(li);
      });
      list.hidden = false;
    }

    function accept(i) {
      var it = items[i];
      if (!it) { return; }
      var pos = rule.selectionStart;
      var text = rule.value;
      var insert = it.insert + " ";
      rule.value = text.slice(0, replaceFrom) + insert + text.slice(pos);
      var caret = replaceFrom + insert.length;
      rule.setSelectionRange(caret, caret);
      closeList();
      rule.focus();
      schedule();
    }

    function quote(v) { return "'" + String(v).replace(/'/g, "''") + "'"; }

    var suggestSeq = 0;
    function suggest() {
      var mine = ++suggestSeq;
      loadFields().then(function () {
        if (mine !== suggestSeq) { return; }
        var pos = rule.selectionStart;
        var before = rule.value.slice(0, pos);
        var valueCtx = /([A-Za-z_][A-Za-z0-9_]*)\s*(?:!=|=|\bin\s*\((?:\s*'(?:[^']|'')*'\s*,)*|\bcontains)\s*('?)((?:[^']|'')*)$/i.exec(before);
        if (valueCtx && (kinds[valueCtx[1]] === "text" || kinds[valueCtx[1]] === "bool")) {
          var field = valueCtx[1];
          var partial = valueCtx[3].toLowerCase();
          replaceFrom = pos - valueCtx[3].length - valueCtx[2].length;
          loadValues(field).then(function (values) {
            if (mine !== suggestSeq) { return; }
            items = values.filter(function (v) {
              return String(v.value).toLowerCase().indexOf(partial) === 0;
            }).slice(0, 12).map(function (v) {
              var ins = typeof v.value === "boolean" ? String(v.value) : quote(v.value);
              return { label: ins, insert: ins, hint: v.count === null ? "" : fmtInt(v.count) };
            });
            active = items.length ? 0 : -1;
            renderList();
          });
          return;
        }
        var word = /[A-Za-z_][A-Za-z0-9_]*$/.exec(before);
        var prevField = /([A-Za-z_][A-Za-z0-9_]*)\s+$/.exec(before);
        if (word) {
          var w = word[0].toLowerCase();
          replaceFrom = pos - word[0].length;
          var cands = [];
          fields.forEach(function (f) {
            if (f.name.toLowerCase().indexOf(w) === 0) {
              cands.push({ label: f.name, insert: f.kind === "function" ? f.name + " MATCHES (" : f.name, hint: f.kind });
            }
          });
          operators.forEach(function (op) {
            if (/^[A-Z]/.test(op) && op.toLowerCase().indexOf(w) === 0) {
              cands.push({ label: op, insert: op, hint: "keyword" });
            }
          });
          items = cands.filter(function (c) { return c.label.toLowerCase() !== w; }).slice(0, 12);
        } else if (prevField && kinds[prevField[1]] && kinds[prevField[1]] !== "function") {
          replaceFrom = pos;
          items = operators.map(function (op) { return { label: op, insert: op, hint: "operator" }; });
        } else {
          items = [];
        }
        active = items.length ? 0 : -1;
        renderList();
      });
    }

    rule.addEventListener("input", function () { schedule(); suggest(); });
    rule.addEventListener("scroll", function () { mirror.scrollTop = rule.scrollTop; });
    rule.addEventListener("blur", function () { setTimeout(closeList, 150); });
    rule.addEventListener("keydown", function (ev) {
      if (list.hidden || !items.length) { return; }
      if (ev.key === "ArrowDown") { active = (active + 1) % items.length; renderList(); ev.preventDefault(); }
      else if (ev.key === "ArrowUp") { active = (active - 1 + items.length) % items.length; renderList(); ev.preventDefault(); }
      else if (ev.key === "Enter" || ev.key === "Tab") { accept(active < 0 ? 0 : active); ev.preventDefault(); }
      else if (ev.key === "Escape") { closeList(); ev.preventDefault(); }
    });

    /* start from a cluster */
    var loadCluster = $("load-cluster");
    var clusterSelect = $("cluster-select");
    if (loadCluster && clusterSelect) {
      loadCluster.addEventListener("click", function () {
        var opt = clusterSelect.options[clusterSelect.selectedIndex];
        if (!opt || !opt.getAttribute("data-rule")) { return; }
        rule.value = opt.getAttribute("data-rule");
        if (timer) { clearTimeout(timer); }
        syncMirror(null);
        preview();
      });
    }

    /* save */
    var form = $("save-form");
    var saveStatus = $("save-status");
    if (form) {
      form.addEventListener("submit", function (ev) {
        ev.preventDefault();
        var title = $("seg-name").value.trim();
        var key = title.toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/^_+|_+$/g, "").slice(0, 64);
        if (!key) { saveStatus.textContent = "Give the segment a name (letters or digits)."; saveStatus.className = "error"; return; }
        var body = {
          rule: rule.value,
          title: title,
          description: $("seg-description").value.trim(),
          priority: parseInt($("seg-priority").value || "100", 10)
        };
        saveStatus.textContent = "saving…";
        saveStatus.className = "";
        api("PUT", "/segments/" + encodeURIComponent(key), body).then(function (res) {
          if (res.ok) {
            saveStatus.className = "ok";
            saveStatus.textContent = (res.status === 201 ? "Saved new segment " : "Updated segment ") + key + ". It gets members at the next run. ";
            var a = document.createElement("a");
            a.href = "/ui/segments/" + encodeURIComponent(key);
            a.textContent = "Open it";
            saveStatus.appendChild(a);
            saveStatus.setAttribute("data-key", key);
          } else {
            saveStatus.className = "error";
            saveStatus.textContent = problemText(res);
            if (res.data && typeof res.data.position === "number") { showError(problemText(res), res.data.position); }
          }
        });
      });
    }

    syncMirror(null);
    if (rule.value.trim()) { preview(); }
  }

  /* ------------------------------------------------------------------ segment page */
  function exports() {
    var hashed = $("export-hashed");
    if (!hashed) { return; }
    function update() {
      ["export-csv", "export-email"].forEach(function (id) {
        var a = $(id);
        if (!a) { return; }
        var base = a.getAttribute("data-base");
        a.setAttribute("href", hashed.checked ? base + "&hashed=1" : base);
      });
    }
    hashed.addEventListener("change", update);
    update();
  }

  /* ------------------------------------------------------------------ campaigns */
  function campaigns() {
    var select = $("campaign-select");
    if (select && select.form) {
      select.addEventListener("change", function () { select.form.submit(); });
    }
    var form = $("holdout-form");
    var status = $("holdout-status");
    if (!form) { return; }
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var body = {
        segment: $("holdout-segment").value,
        fraction: parseFloat($("holdout-fraction").value),
        seed: parseInt($("holdout-seed").value || "0", 10)
      };
      status.className = "";
      status.textContent = "creating…";
      api("POST", "/ui/api/holdouts", body).then(function (res) {
        if (res.ok) {
          status.className = "ok";
          status.setAttribute("data-holdout", res.data.holdout_id);
          status.textContent = "Created holdout " + res.data.holdout_id + ": " + fmtInt(res.data.control) +
            " of " + fmtInt(res.data.customers) + " customers held out.";
        } else {
          status.className = "error";
          status.textContent = problemText(res);
        }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawCharts();
    segmentsFilter();
    builder();
    exports();
    campaigns();
  });
}());
