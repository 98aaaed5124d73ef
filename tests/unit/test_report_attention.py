""" "Needs attention" uses per-metric pass marks (issue 14, defect 8).

precision@k is judged against what it can reach, ``min(k, n_gold) / k``; the gate's own
``case_pass`` wins where it set one; a case where every retrieval metric is 0 is labelled
"no relevant source retrieved". Values come from the retrieval metric functions.
"""

from __future__ import annotations

import re
from html import unescape

from ragwacht.metrics.retrieval import ndcg, precision, recall, reciprocal_rank
from ragwacht.reports.html import case_status, render_run_report
from tests.helpers.records import make_record

GOLD = {"bag-001": 1, "bag-002": 1}
RANKINGS = [
    ["bag-001", "woz-003", "bag-002", "bgt-001", "brk-004"],  # both gold found
    ["woz-003", "bag-001", "bgt-001", "brk-004", "woz-009"],  # one of two
    ["woz-003", "bgt-001", "brk-004", "woz-009", "stelsel-1"],  # nothing relevant
]


def _record():
    values: dict[str, list[float | None]] = {
        "recall@5": [],
        "precision@5": [],
        "mrr": [],
        "ndcg@5": [],
    }
    for ranked in RANKINGS:
        values["recall@5"].append(recall(ranked, GOLD, 5))
        values["precision@5"].append(precision(ranked, GOLD, 5))
        values["mrr"].append(reciprocal_rank(ranked, GOLD))
        values["ndcg@5"].append(ndcg(ranked, GOLD, 5))
    rec = make_record(values, case_ids=["both", "one", "none"])
    for c in rec.cases:
        c.gold_doc_ids = list(GOLD)
    return rec, values


def test_precision_is_judged_against_its_achievable_maximum():
    rec, values = _record()
    assert values["precision@5"][0] == 0.4  # the best two gold passages allow at k = 5
    status = {c.case_id: case_status(c, rec.summary) for c in rec.cases}
    assert status["both"] == "ok"
    assert status["one"] == "problem"  # nDCG@5 0.39: the one gold passage found sits second
    assert status["none"] == "problem"


def test_the_gates_own_pass_mark_wins():
    rec, _ = _record()
    both = rec.case_map()["both"]
    assert case_status(both, rec.summary, {"ndcg@5": 0.95}) == "problem"
    assert case_status(both, rec.summary, {"ndcg@5": 0.9}) == "ok"


def test_no_relevant_source_label():
    rec, _ = _record()
    html = render_run_report(rec, lang="en")
    worst = html[html.index('id="worst"') : html.index('id="judges"')]
    rows = re.findall(r"<tr>.*?</tr>", worst, re.S)
    text = {r: " ".join(unescape(re.sub(r"<[^>]+>", " ", r)).split()) for r in rows}
    none_row = next(v for v in text.values() if v.startswith("none "))
    assert "no relevant source retrieved" in none_row
    assert not any(v.startswith("both ") for v in text.values())
    one_row = next(v for v in text.values() if v.startswith("one "))
    assert "no relevant source retrieved" not in one_row
    case = html[html.index('id="c3"') :]
    assert "no relevant source retrieved" in case[: case.index("</summary>")]
    first = html[html.index('id="c1"') :]
    assert "no relevant source retrieved" not in first[: first.index("</summary>")]
