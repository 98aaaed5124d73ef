(function () {
  "use strict";
  var each = function (list, fn) { Array.prototype.forEach.call(list, fn); };
  // A link to a case opens its drill-down; a link to a source ("full text at ...") also opens
  // the case around it and the rest of the source's text.
  function openTarget() {
    var id = decodeURIComponent(location.hash.slice(1));
    var target = id && document.getElementById(id);
    if (!target) { return; }
    for (var el = target; el; el = el.parentElement) {
      if (el.tagName === "DETAILS") { el.open = true; }
    }
    if (target.tagName === "LI") {
      each(target.querySelectorAll("details"), function (d) { d.open = true; });
    }
    target.scrollIntoView();
  }
  window.addEventListener("hashchange", openTarget);
  openTarget();
  // Sortable tables: a button in each header cell; numbers sort by data-v.
  function key(cell) {
    var v = cell ? cell.getAttribute("data-v") : null;
    if (v !== null && v !== "" && !isNaN(parseFloat(v))) { return parseFloat(v); }
    return cell ? cell.textContent.trim().toLowerCase() : "";
  }
  each(document.querySelectorAll("table.sortable"), function (tbl) {
    if (!tbl.tHead || !tbl.tBodies.length) { return; }
    each(tbl.tHead.rows[0].cells, function (th, i) {
      var b = document.createElement("button");
      b.type = "button";
      b.className = "sort";
      b.textContent = th.textContent;
      th.textContent = "";
      th.appendChild(b);
      b.addEventListener("click", function () {
        var asc = th.getAttribute("aria-sort") !== "ascending";
        each(th.parentNode.cells, function (c) { c.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        var body = tbl.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b2) {
          var x = key(a.cells[i]), y = key(b2.cells[i]);
          if (typeof x === "number" && typeof y === "number") { return asc ? x - y : y - x; }
          return asc ? String(x).localeCompare(String(y)) : String(y).localeCompare(String(x));
        });
        each(rows, function (r) { body.appendChild(r); });
      });
    });
  });
  // Case filter: shown only when this script runs, so no dead controls without JavaScript.
  var box = document.getElementById("filters");
  var list = document.getElementById("case-list");
  if (box && list) {
    box.hidden = false;
    var q = document.getElementById("case-q");
    var only = document.getElementById("case-only");
    var count = document.getElementById("case-count");
    var cases = list.querySelectorAll("details.case");
    var hays = [];
    var apply = function () {
      var text = q.value.trim().toLowerCase();
      var shown = 0;
      each(cases, function (d, i) {
        var hay = hays[i];
        if (hay === undefined) {
          // Searchable text: the summary (id, question) and the tags, built on first use.
          hay = d.querySelector("summary").textContent;
          each(d.querySelectorAll("dd code"), function (c) { hay += " " + c.textContent; });
          hay = hays[i] = hay.toLowerCase();
        }
        var ok = (!text || hay.indexOf(text) !== -1) &&
          (!only.checked || d.getAttribute("data-st") !== "ok");
        d.hidden = !ok;
        if (ok) { shown += 1; }
      });
      count.textContent = shown + " / " + cases.length;
    };
    q.addEventListener("input", apply);
    only.addEventListener("change", apply);
    if (q.value || only.checked) {
      apply();  // state the browser restored (reload, back)
    } else {
      count.textContent = cases.length + " / " + cases.length;
    }
  }
  // Printing shows every case in full.
  window.addEventListener("beforeprint", function () {
    each(document.querySelectorAll("details"), function (d) { d.open = true; });
  });
})();
