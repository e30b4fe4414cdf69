// Progressive enhancement: forms marked data-api send JSON to the node's API with the
// session's CSRF token, then reload or show the result. Pages themselves are server-rendered.
(function () {
  "use strict";
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  function setPath(obj, path, value) {
    var parts = path.split(".");
    var o = obj;
    for (var i = 0; i < parts.length - 1; i++) {
      // A numeric next part makes a list ("costs.0.item"): rows of a repeated group.
      o[parts[i]] = o[parts[i]] || (/^[0-9]+$/.test(parts[i + 1]) ? [] : {});
      o = o[parts[i]];
    }
    o[parts[parts.length - 1]] = value;
  }

  function formJson(form) {
    var out = {};
    if (form.dataset.event) out.type = form.dataset.event;
    // Checkbox lists that need at least one box ticked.
    Array.prototype.forEach.call(form.querySelectorAll("fieldset[data-required]"), function (fs) {
      if (!fs.querySelector("input[type=checkbox]:checked")) throw new Error(fs.dataset.required);
    });
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.disabled) return;
      var value;
      var type = el.dataset.type;
      // Only the chosen radio button of a group counts (unchecked ones would otherwise
      // overwrite it: the last verdict of the list would be sent whatever was chosen).
      if (el.type === "radio" && !el.checked) return;
      if (el.type === "checkbox" && el.tagName === "INPUT") {
        // Every checked box of a name goes into one list.
        var list = out[el.name] || (out[el.name] = []);
        if (el.checked) {
          if (el.dataset.wrap) { var w = {}; w[el.dataset.wrap] = el.value; list.push(w); } else list.push(el.value);
        }
        return;
      }
      if (el.tagName === "SELECT" && el.multiple) {
        value = Array.prototype.filter.call(el.options, function (o) { return o.selected; })
          .map(function (o) { return el.dataset.wrap ? (function () { var w = {}; w[el.dataset.wrap] = o.value; return w; })() : o.value; });
      } else if (type === "optional") {
        value = el.value === "none" ? null : el.value;
      } else if (type === "number") {
        // An empty number is left out (the node's default applies), never sent as 0.
        if (String(el.value).trim() === "") return;
        value = Number(el.value);
      } else if (type === "json") {
        value = JSON.parse(el.value);
      } else if (type === "list") {
        value = el.value ? el.value.split(",") : [];
      } else if (type === "now") {
        value = Math.floor(Date.now() / 1000);
      } else if (type === "money") {
        value = parseMoney(el.value);
      } else if (type === "days-from-now") {
        if (String(el.value).trim() === "") return;
        value = Math.floor(Date.now() / 1000) + Number(el.value) * 86400;
      } else {
        value = el.value;
      }
      setPath(out, el.name, value);
    });
    return form.dataset.event ? { event: out } : out;
  }

  // "1500.00 THB" or "1,500.00 THB" to {minor_units, currency}; empty means none. Commas only
  // group thousands (a decimal comma is refused, not misread), and a currency takes no more
  // decimals than it has (ISO 4217 exponents).
  var EXPONENT = { JPY: 0, KRW: 0, VND: 0, CLP: 0, ISK: 0, UGX: 0, PYG: 0, XOF: 0, XAF: 0,
                   KWD: 3, BHD: 3, OMR: 3, JOD: 3, TND: 3, IQD: 3, LYD: 3 };
  function parseMoney(text) {
    var t = String(text || "").trim();
    if (!t) return null;
    var m = /^([0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.([0-9]+))?\s+([A-Za-z]{3})$/.exec(t);
    if (!m) throw new Error(msg("bad-money"));
    var currency = m[3].toUpperCase();
    var exp = EXPONENT.hasOwnProperty(currency) ? EXPONENT[currency] : 2;
    var frac = m[2] || "";
    if (frac.length > exp) throw new Error(msg("bad-money"));
    while (frac.length < exp) frac += "0";
    var minor = Number(m[1].replace(/,/g, "") + frac);
    if (!Number.isSafeInteger(minor)) throw new Error(msg("bad-money"));
    return { minor_units: minor, currency: currency };
  }

  // Messages in the page's language, from data-msg-* attributes on <body>.
  function msg(key) {
    return document.body.getAttribute("data-msg-" + key) || key;
  }

  // What a form will send, as "label: value" lines people can read before confirming.
  function summary(form) {
    var lines = [];
    // Facts the form shows (what a reviewed request asks for) come first.
    var facts = form.dataset.summary ? document.querySelector(form.dataset.summary) : form.querySelector("dl.facts");
    if (facts) {
      Array.prototype.forEach.call(facts.querySelectorAll("dt"), function (dt) {
        var dd = dt.nextElementSibling;
        if (dd && dd.textContent.trim()) lines.push([dt.textContent.trim(), dd.textContent.trim()]);
      });
    }
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.type === "hidden" || el.hidden || el.disabled) return;
      if ((el.type === "radio" || el.type === "checkbox") && !el.checked) return;
      var label = el.labels && el.labels[0] ? el.labels[0].textContent.trim() : el.name;
      var value = el.tagName === "SELECT" && el.selectedIndex >= 0
        ? el.options[el.selectedIndex].textContent.trim()
        : el.value;
      if (el.type === "radio") {
        var legend = el.closest("fieldset") && el.closest("fieldset").querySelector("legend");
        label = legend ? legend.textContent.trim() : el.name;
        value = el.parentNode.textContent.trim();
      }
      if (value !== "") lines.push([label, value]);
    });
    return lines;
  }

  // A confirmation dialog for forms marked data-confirm; calls go() when confirmed.
  function confirmThen(form, go) {
    var dialog = document.getElementById("confirm");
    if (!form.dataset.confirm || !dialog || !dialog.showModal) { go(); return; }
    dialog.querySelector(".confirm-text").textContent = form.dataset.confirm;
    var list = dialog.querySelector(".confirm-summary");
    list.innerHTML = "";
    summary(form).forEach(function (pair) {
      var dt = document.createElement("dt");
      dt.textContent = pair[0];
      var dd = document.createElement("dd");
      dd.textContent = pair[1];
      list.appendChild(dt);
      list.appendChild(dd);
    });
    dialog.returnValue = "";
    dialog.onclose = function () { if (dialog.returnValue === "yes") go(); };
    dialog.showModal();
  }

  function show(html) {
    var r = document.getElementById("result");
    if (r) r.innerHTML = html;
  }

  // A refusal in the page's language; the node's own words (English) follow as details.
  function errorHtml(status, detail) {
    var known = document.body.getAttribute("data-msg-error-" + status);
    var html = '<span class="error" role="alert">' + escapeHtml(known || msg("request-failed")) + "</span>";
    if (detail) {
      html += ' <span class="muted">' + escapeHtml(msg("error-detail")) + ': <span lang="en" translate="no">' + escapeHtml(detail) + "</span></span>";
    }
    return html;
  }

  function escapeHtml(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  // A file picked for a form fills its text field (membership requests).
  document.addEventListener("change", function (ev) {
    var input = ev.target;
    if (!input.dataset || !input.dataset.fills || !input.files || !input.files[0]) return;
    input.files[0].text().then(function (text) {
      document.getElementById(input.dataset.fills).value = text;
    });
  });

  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!form.dataset || !form.dataset.api) return;
    ev.preventDefault();
    var body;
    try { body = formJson(form); } catch (e) { show('<span class="error" role="alert">' + escapeHtml(e.message) + "</span>"); return; }
    confirmThen(form, function () { send(form, body); });
  });

  function send(form, body) {
    var button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    fetch(form.dataset.api, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body)
    }).then(function (res) {
      return res.json().then(function (data) { return { ok: res.ok, status: res.status, data: data }; });
    }).then(function (r) {
      if (button) button.disabled = false;
      if (!r.ok) { show(errorHtml(r.status, r.data.error)); return; }
      var mode = form.dataset.success;
      if (mode === "reload") { window.location.reload(); return; }
      if (mode === "contact") {
        var id = escapeHtml(r.data.id);
        var html = '<p class="saved">' + escapeHtml(msg("contact-saved")) + "</p>";
        if (r.data.earlier_contacts > 0) {
          html += '<p class="badge repeat">' + escapeHtml(msg("contact-again")) + ": " + Number(r.data.earlier_contacts) + "</p> ";
        }
        html += '<p><a class="contact-link" href="/contacts?same_as=' + id + '">' + escapeHtml(msg("view-contact")) + "</a> · " +
          '<a class="again" href="/intake">' + escapeHtml(msg("record-another")) + "</a></p>";
        show(html);
        // The contact is recorded: the form is done (a second submit could only repeat it).
        Array.prototype.forEach.call(form.elements, function (el) { el.disabled = true; });
        var caseForm = document.getElementById("case-form");
        if (caseForm) {
          caseForm.querySelector('input[name="contacts"]').value = r.data.id;
          caseForm.hidden = false;
          var first = caseForm.querySelector("input[type=checkbox]");
          if (first) first.focus();
        }
        return;
      }
      if (mode === "review") {
        var issue = document.getElementById("issue-form");
        var labels = JSON.parse((document.getElementById("labels") || {}).textContent || "{}");
        var shown = {
          name: r.data.name, org_id: r.data.org_id,
          role: labels["role_" + r.data.role] || r.data.role,
          country: labels["country_" + r.data.country] || r.data.country,
          renewal: r.data.renewal ? labels.yes : labels.no
        };
        Object.keys(shown).forEach(function (k) {
          var dd = issue.querySelector('[data-field="' + k + '"]');
          if (dd) dd.textContent = shown[k];
        });
        // Exactly the request that was reviewed (the text field may have changed since).
        issue.querySelector('textarea[name="request"]').value = JSON.stringify(body.request);
        issue.hidden = false;
        show("");
        issue.querySelector("input[name=valid_days]").focus();
        return;
      }
      if (mode === "issued") {
        var blob = new Blob([JSON.stringify(r.data.certificate, null, 2)], { type: "application/json" });
        var url = URL.createObjectURL(blob);
        show('<p class="saved">' + escapeHtml(msg("certificate-issued")) + '</p><p><a class="certificate" download="certificate.json" href="' +
          url + '">' + escapeHtml(msg("download-certificate")) + '</a> · <a href="/members">' + escapeHtml(msg("members")) + "</a></p>");
        Array.prototype.forEach.call(form.elements, function (el) { el.disabled = true; });
        return;
      }
      if (mode === "case") {
        var ref = escapeHtml(r.data.case_ref);
        show('<p class="saved">' + escapeHtml(msg("case-opened")) + '</p><p><a class="case-link" href="/cases/' + ref + '">' +
          escapeHtml(msg("open-the-case")) + " " + ref.slice(0, 12) + "</a></p>");
        Array.prototype.forEach.call(form.elements, function (el) { el.disabled = true; });
        return;
      }
      show(escapeHtml(msg("done")));
    }).catch(function () {
      if (button) button.disabled = false;
      show('<span class="error" role="alert">' + escapeHtml(msg("request-failed")) + "</span>");
    });
  }
})();
