// Progressive enhancement: forms marked data-api send JSON to the node's API with the
// session's CSRF token, then reload or show the result. Pages themselves are server-rendered.
(function () {
  "use strict";
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  function setPath(obj, path, value) {
    var parts = path.split(".");
    var o = obj;
    for (var i = 0; i < parts.length - 1; i++) {
      o[parts[i]] = o[parts[i]] || {};
      o = o[parts[i]];
    }
    o[parts[parts.length - 1]] = value;
  }

  function formJson(form) {
    var out = {};
    if (form.dataset.event) out.type = form.dataset.event;
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.disabled) return;
      var value;
      var type = el.dataset.type;
      if (el.tagName === "SELECT" && el.multiple) {
        value = Array.prototype.filter.call(el.options, function (o) { return o.selected; })
          .map(function (o) { return el.dataset.wrap ? (function () { var w = {}; w[el.dataset.wrap] = o.value; return w; })() : o.value; });
      } else if (type === "number") {
        value = Number(el.value);
      } else if (type === "json") {
        value = JSON.parse(el.value);
      } else if (type === "list") {
        value = el.value ? el.value.split(",") : [];
      } else if (type === "now") {
        value = Math.floor(Date.now() / 1000);
      } else if (type === "days-from-now") {
        value = Math.floor(Date.now() / 1000) + Number(el.value) * 86400;
      } else {
        value = el.value;
      }
      setPath(out, el.name, value);
    });
    return form.dataset.event ? { event: out } : out;
  }

  function show(html) {
    var r = document.getElementById("result");
    if (r) r.innerHTML = html;
  }

  function escapeHtml(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!form.dataset || !form.dataset.api) return;
    ev.preventDefault();
    var body;
    try { body = formJson(form); } catch (e) { show('<span class="error">' + escapeHtml(e.message) + "</span>"); return; }
    var button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    fetch(form.dataset.api, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body)
    }).then(function (res) {
      return res.json().then(function (data) { return { ok: res.ok, data: data }; });
    }).then(function (r) {
      if (button) button.disabled = false;
      if (!r.ok) { show('<span class="error" role="alert">' + escapeHtml(r.data.error || "Request failed") + "</span>"); return; }
      var mode = form.dataset.success;
      if (mode === "reload") { window.location.reload(); return; }
      if (mode === "contact") {
        show("Contact " + escapeHtml(r.data.id));
        var caseForm = document.getElementById("case-form");
        if (caseForm) {
          caseForm.querySelector('input[name="contacts"]').value = r.data.id;
          caseForm.hidden = false;
        }
        return;
      }
      if (mode === "case") {
        var ref = escapeHtml(r.data.case_ref);
        show('Case <a class="case-link" href="/cases/' + ref + '">' + ref + "</a>");
        return;
      }
      show(escapeHtml(JSON.stringify(r.data)));
    }).catch(function (e) {
      if (button) button.disabled = false;
      show('<span class="error" role="alert">' + escapeHtml(e.message) + "</span>");
    });
  });
})();
