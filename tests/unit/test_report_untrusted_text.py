"""Untrusted text cannot reorder the report's own text, and huge answers are cut for display
(issue 15, defects 15 and 17).
"""

from __future__ import annotations

from ragwacht.reports.html import ANSWER_CHARS, render_run_report
from ragwacht.reports.junit import render_junit
from ragwacht.reports.markdown import render_markdown
from tests.helpers.report_records import build_record

RLO = "\u202e"
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f"


def hostile_record():
    rec = build_record(6, seed=4)
    rec.variant = "no-reranker" + RLO
    case = rec.cases[0]
    case.case_id = "bag-0000" + RLO
    case.question = "Wat is de BAG?" + RLO
    ctx = case.response.contexts[0]
    ctx.doc_id = "bag-doc-001" + RLO
    ctx.title = "Titel" + RLO
    case.tags = ["topic:bag" + RLO, *case.tags]
    for m in case.metrics.values():
        if m.value is None:
            m.reason = "kapot" + RLO
    return rec


def test_markdown_and_junit_drop_bidi_controls():
    rec = hostile_record()
    md = render_markdown(rec, None)
    assert "no-reranker" in md
    assert not any(ch in md for ch in BIDI)
    xml = render_junit(rec, None)
    assert "bag-0000" in xml and not any(ch in xml for ch in BIDI)


def test_untrusted_inline_text_is_isolated():
    html = render_run_report(hostile_record(), lang="nl")
    css = html[html.index("<style") : html.index("</style>")]
    assert "bdi,code,q,mark.uns .ml,.cut{unicode-bidi:isolate}" in css
    # every override sits in an isolating element, or alone at the end of a block
    i = 0
    while (i := html.find(RLO, i + 1)) != -1:
        after = html[i + 1 : i + 8]
        assert after.startswith(("</bdi>", "</code>", "</dd>", "</p>", "</td>", "</th>")), after
    title = html[html.index("<title>") : html.index("</title>")]
    assert RLO not in title


def test_a_huge_answer_is_cut_for_display():
    rec = build_record(4, seed=5)
    huge = "De BAG bevat gegevens over adressen. " * 270_000  # about 10 MB
    rec.cases[1].response.answer = huge
    html = render_run_report(rec, lang="en")
    assert len(html.encode("utf-8")) < 2_000_000
    assert f"cut for display; {len(huge):,} characters in all, in full in run.json" in html
    shown = html[html.index('id="c2"') :]
    shown = shown[
        shown.index('<p class="ans">') : shown.index("</p>", shown.index('<p class="ans">'))
    ]
    assert ANSWER_CHARS * 0.6 < len(shown) < ANSWER_CHARS * 1.2
    assert rec.cases[1].response.answer == huge  # the record keeps it whole
