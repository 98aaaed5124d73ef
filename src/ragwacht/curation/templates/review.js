// ragwacht review page. Every string from the data goes into the DOM with textContent:
// questions, passages and ids are untrusted and must stay inert text.
(function () {
  "use strict";
  var DATA = JSON.parse(document.getElementById("review-data").textContent);
  var T = {
    nl: {
      review: "Kandidaten beoordelen", label: "Antwoorden labelen", reviewer: "Naam beoordelaar",
      save: "Beslissingen opslaan", saveLabels: "Labels opslaan",
      keys: "Toetsen: j/k of pijltjes = volgende/vorige, a = accepteren, e = bewerken, r = afwijzen",
      keysLabel: "Toetsen: j/k of pijltjes = volgende/vorige, s = ondersteund, n = niet ondersteund",
      accept: "Accepteren (a)", edit: "Bewerken (e)", reject: "Afwijzen (r)",
      supported: "Ondersteund (s)", notSupported: "Niet ondersteund (n)",
      question: "Vraag", reference: "Referentieantwoord", behaviour: "Verwacht gedrag",
      answer: "beantwoorden", refuse: "weigeren", reason: "Reden van afwijzen",
      note: "Toelichting (optioneel)", sources: "Bronpassages", contexts: "Opgehaalde passages",
      claims: "Beweringen", claimOk: "klopt", noText: "(tekst van deze passage niet gevonden)",
      needName: "Vul eerst de naam van de beoordelaar in.",
      needReason: "Geef een reden voor elke afwijzing: ", saved: "Opgeslagen: ",
      decided: " van {n} beoordeeld", savedLabel: "Opgeslagen JSON (alleen-lezen)",
      history: "Eerdere beurt", set: "Set", run: "Run", answerLabel: "Antwoord"
    },
    en: {
      review: "Review candidates", label: "Label answers", reviewer: "Reviewer name",
      save: "Save decisions", saveLabels: "Save labels",
      keys: "Keys: j/k or arrows = next/previous, a = accept, e = edit, r = reject",
      keysLabel: "Keys: j/k or arrows = next/previous, s = supported, n = not supported",
      accept: "Accept (a)", edit: "Edit (e)", reject: "Reject (r)",
      supported: "Supported (s)", notSupported: "Not supported (n)",
      question: "Question", reference: "Reference answer", behaviour: "Expected behaviour",
      answer: "answer", refuse: "refuse", reason: "Reason for rejecting",
      note: "Note (optional)", sources: "Source passages", contexts: "Retrieved passages",
      claims: "Claims", claimOk: "supported", noText: "(text of this passage not found)",
      needName: "Fill in the reviewer name first.",
      needReason: "Give a reason for every rejection: ", saved: "Saved: ",
      decided: " of {n} decided", savedLabel: "Saved JSON (read-only)",
      history: "Earlier turn", set: "Set", run: "Run", answerLabel: "Answer"
    }
  };
  var t = T[DATA.lang === "en" ? "en" : "nl"];
  var LABEL = DATA.mode === "label";
  var items = LABEL ? DATA.items : DATA.cases;
  var state = items.map(function () { return { decision: null, claims: {} }; });
  var cards = [];
  var current = 0;

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    if (attrs) { Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); }); }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  // The passage as text nodes with each quote inside a <mark>.
  function marked(text, quotes) {
    var box = el("div", { "class": "passage-text" });
    var spans = [];
    var lower = text.toLowerCase();
    (quotes || []).forEach(function (q) {
      if (!q) { return; }
      var at = lower.indexOf(String(q).toLowerCase());
      if (at >= 0) { spans.push([at, at + q.length]); }
    });
    spans.sort(function (a, b) { return a[0] - b[0]; });
    var pos = 0;
    spans.forEach(function (s) {
      if (s[0] < pos) { return; }
      box.appendChild(document.createTextNode(text.slice(pos, s[0])));
      box.appendChild(el("mark", null, text.slice(s[0], s[1])));
      pos = s[1];
    });
    box.appendChild(document.createTextNode(text.slice(pos)));
    return box;
  }

  function button(name, label, i) {
    var b = el("button", { type: "button", "data-action": name, "aria-pressed": "false" }, label);
    b.addEventListener("click", function () { decide(i, name); });
    return b;
  }

  function field(labelText, node) {
    var wrap = el("label", null, labelText);
    wrap.appendChild(node);
    return wrap;
  }

  function reviewCard(c, i) {
    var card = el("section", { "class": "item", "data-id": c.id, tabindex: "-1" });
    var left = el("div");
    left.appendChild(el("div", { "class": "meta" }, c.id + (c.kind ? " · " + c.kind : "") +
      " · " + (c.expected_behavior === "refuse" ? t.refuse : t.answer)));
    (c.history || []).forEach(function (turn) {
      left.appendChild(el("div", { "class": "meta" }, t.history + " (" + turn.role + "): " + turn.content));
    });
    left.appendChild(el("p", { "class": "q" }, c.question));
    if (c.reference_answer) { left.appendChild(el("p", { "class": "ref" }, c.reference_answer)); }
    var actions = el("div", { "class": "actions" });
    actions.appendChild(button("accept", t.accept, i));
    actions.appendChild(button("edit", t.edit, i));
    actions.appendChild(button("reject", t.reject, i));
    left.appendChild(actions);
    var form = el("div", { "class": "edit-form" });
    var q = el("textarea", { name: "question", rows: "2" }); q.value = c.question;
    var r = el("textarea", { name: "reference_answer", rows: "3" }); r.value = c.reference_answer || "";
    var s = el("select", { name: "expected_behavior" });
    ["answer", "refuse"].forEach(function (v) {
      var o = el("option", { value: v }, t[v]);
      if (v === c.expected_behavior) { o.selected = true; }
      s.appendChild(o);
    });
    form.appendChild(field(t.question, q));
    form.appendChild(field(t.reference, r));
    form.appendChild(field(t.behaviour, s));
    left.appendChild(form);
    var reasonForm = el("div", { "class": "reason-form" });
    reasonForm.appendChild(field(t.reason, el("input", { type: "text", name: "reason" })));
    left.appendChild(reasonForm);
    var right = el("div");
    right.appendChild(el("h3", null, t.sources));
    (c.passages || []).forEach(function (p) {
      var box = el("div", { "class": "passage" });
      box.appendChild(el("h4", null, p.id + (p.title ? " — " + p.title : "")));
      box.appendChild(p.text ? marked(p.text, c.quotes) : el("em", null, t.noText));
      right.appendChild(box);
    });
    card.appendChild(left);
    card.appendChild(right);
    return card;
  }

  function labelCard(it, i) {
    var card = el("section", { "class": "item", "data-id": it.id, tabindex: "-1" });
    var left = el("div");
    left.appendChild(el("div", { "class": "meta" }, it.id));
    left.appendChild(el("p", { "class": "q" }, it.question));
    left.appendChild(el("h4", null, t.answerLabel));
    left.appendChild(el("p", { "class": "answer" }, it.answer));
    var actions = el("div", { "class": "actions" });
    actions.appendChild(button("supported", t.supported, i));
    actions.appendChild(button("not_supported", t.notSupported, i));
    left.appendChild(actions);
    if (it.claims && it.claims.length) {
      left.appendChild(el("h4", null, t.claims));
      var list = el("ul", { "class": "claims" });
      it.claims.forEach(function (claim, k) {
        var li = el("li");
        var box = el("input", { type: "checkbox", "data-claim": String(k) });
        box.addEventListener("change", function () { state[i].claims[k] = box.checked; });
        var lab = el("label");
        lab.appendChild(box);
        lab.appendChild(document.createTextNode(" " + t.claimOk + ": " + claim));
        li.appendChild(lab);
        list.appendChild(li);
      });
      left.appendChild(list);
    }
    left.appendChild(field(t.note, el("input", { type: "text", name: "note" })));
    var right = el("div");
    right.appendChild(el("h3", null, t.contexts));
    (it.contexts || []).forEach(function (p) {
      var box = el("div", { "class": "passage" });
      box.appendChild(el("h4", null, p.id));
      box.appendChild(el("div", null, p.text));
      right.appendChild(box);
    });
    card.appendChild(left);
    card.appendChild(right);
    return card;
  }

  function progress() {
    var n = state.filter(function (s) { return s.decision; }).length;
    document.getElementById("progress").textContent = n + t.decided.replace("{n}", items.length);
  }

  function decide(i, name) {
    state[i].decision = name;
    var card = cards[i];
    ["accept", "edit", "reject", "supported", "not_supported"].forEach(function (c) {
      card.classList.toggle(c, c === name);
    });
    card.querySelectorAll("button[data-action]").forEach(function (b) {
      b.setAttribute("aria-pressed", b.getAttribute("data-action") === name ? "true" : "false");
    });
    focus(i);
    var first = name === "edit" ? card.querySelector("textarea[name=question]") :
      name === "reject" ? card.querySelector("input[name=reason]") : null;
    if (first) { first.focus(); }
    progress();
  }

  function focus(i) {
    if (!cards.length) { return; }
    current = Math.max(0, Math.min(cards.length - 1, i));
    cards.forEach(function (c, k) { c.classList.toggle("current", k === current); });
    cards[current].focus({ preventScroll: true });
    cards[current].scrollIntoView({ block: "nearest" });
  }

  function value(card, sel) { var n = card.querySelector(sel); return n ? n.value : ""; }

  function collect() {
    var out = [];
    var missing = [];
    state.forEach(function (s, i) {
      if (!s.decision) { return; }
      var it = items[i], card = cards[i];
      if (LABEL) {
        var claims = (it.claims || []).map(function (c, k) {
          return { claim: c, supported: !!s.claims[k] };
        });
        var rec = { id: it.id, supported: s.decision === "supported", claims: claims };
        var note = value(card, "input[name=note]").trim();
        if (note) { rec.note = note; }
        out.push(rec);
        return;
      }
      var d = { id: it.id, decision: s.decision };
      if (s.decision === "edit") {
        d.question = value(card, "textarea[name=question]");
        d.reference_answer = value(card, "textarea[name=reference_answer]");
        d.expected_behavior = value(card, "select[name=expected_behavior]");
      }
      if (s.decision === "reject") {
        d.reason = value(card, "input[name=reason]").trim();
        if (!d.reason) { missing.push(it.id); }
      }
      out.push(d);
    });
    return { list: out, missing: missing };
  }

  function save() {
    var msg = document.getElementById("message");
    var reviewer = document.getElementById("reviewer").value.trim();
    msg.textContent = "";
    if (!reviewer) { msg.textContent = t.needName; document.getElementById("reviewer").focus(); return; }
    var got = collect();
    if (got.missing.length) { msg.textContent = t.needReason + got.missing.join(", "); return; }
    var doc = LABEL ?
      { format: "ragwacht-review-labels", version: 1, reviewer: reviewer,
        saved_at: new Date().toISOString(), run: DATA.run, labels: got.list } :
      { format: "ragwacht-review-decisions", version: 1, reviewer: reviewer,
        saved_at: new Date().toISOString(), set: DATA.set, decisions: got.list };
    var text = JSON.stringify(doc, null, 1);
    document.getElementById("saved-json").value = text;
    // A Blob and a download link: the file goes to the reviewer's own disk, nowhere else.
    var url = URL.createObjectURL(new Blob([text], { type: "application/json" }));
    var a = el("a", { href: url, download: LABEL ? "labels.json" : "review-decisions.json" });
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
    document.getElementById("message").textContent = t.saved + got.list.length;
  }

  document.getElementById("title").textContent = LABEL ? t.label : t.review;
  document.getElementById("subtitle").textContent = LABEL ?
    t.run + ": " + DATA.run.suite + " / " + DATA.run.variant + " · " + DATA.run.run_id :
    t.set + ": " + DATA.set.name + " v" + DATA.set.version + " · " + DATA.set.digest;
  document.getElementById("reviewer-label").textContent = t.reviewer;
  document.getElementById("save").textContent = LABEL ? t.saveLabels : t.save;
  document.getElementById("keys").textContent = LABEL ? t.keysLabel : t.keys;
  document.getElementById("saved-label").textContent = t.savedLabel;
  document.getElementById("save").addEventListener("click", save);
  var main = document.getElementById("items");
  items.forEach(function (it, i) {
    var card = LABEL ? labelCard(it, i) : reviewCard(it, i);
    card.addEventListener("click", function () { if (current !== i) { focus(i); } });
    cards.push(card);
    main.appendChild(card);
  });
  progress();

  var KEYS = LABEL ? { s: "supported", n: "not_supported" } : { a: "accept", e: "edit", r: "reject" };
  document.addEventListener("keydown", function (ev) {
    var tag = ev.target && ev.target.tagName;
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || ev.ctrlKey || ev.metaKey || ev.altKey) {
      if (ev.key === "Escape" && ev.target.blur) { ev.target.blur(); focus(current); }
      return;
    }
    if (ev.key === "j" || ev.key === "ArrowDown" || ev.key === "ArrowRight") { focus(current + 1); ev.preventDefault(); }
    else if (ev.key === "k" || ev.key === "ArrowUp" || ev.key === "ArrowLeft") { focus(current - 1); ev.preventDefault(); }
    else if (KEYS[ev.key] && cards.length) { decide(current, KEYS[ev.key]); ev.preventDefault(); }
  });
  if (cards.length) { focus(0); }
})();
