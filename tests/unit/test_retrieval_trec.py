"""Retrieval metrics against trec_eval: the reference JSON files and trec_eval's own outputs."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ragwacht.errors import ConfigError
from ragwacht.metrics import retrieval as R
from ragwacht.metrics.base import create_metric
from ragwacht.records import Response, RetrievedContext
from tests.helpers.metrics import case, item, response, score

TOL = 1e-4
_CUT = re.compile(r"(P|recall|ndcg_cut|success)_(\d+)")
_CUT_FN: dict[str, Callable[..., float | None]] = {
    "P": R.precision,
    "recall": R.recall,
    "ndcg_cut": R.ndcg,
    "success": R.hit,
}
_UNCUT_FN: dict[str, Callable[..., float | None]] = {
    "map": R.average_precision,
    "ndcg": R.ndcg,
    "recip_rank": R.reciprocal_rank,
}


def measure(name: str, ranked: list[str], qrels: dict[str, int], threshold: int = 1) -> Any:
    """Our value for a trec_eval measure name, or NotImplemented for measures we lack."""
    m = _CUT.fullmatch(name)
    if m:
        return _CUT_FN[m[1]](ranked, qrels, int(m[2]), threshold=threshold)
    if name in _UNCUT_FN:
        return _UNCUT_FN[name](ranked, qrels, threshold=threshold)
    if name == "Rprec":
        return R.r_precision(ranked, qrels, threshold=threshold)
    return NotImplemented


@pytest.fixture(scope="module")
def refs(shared_data: Path) -> Path:
    return shared_data / "retrieval_refs"


def test_trec_eval_reference_every_query_and_measure(refs: Path) -> None:
    data = json.loads((refs / "trec_eval_reference.json").read_text())
    checked = 0
    for qid, q in data["queries"].items():
        for name, expected in q["expected"].items():
            got = measure(name, q["ranked_ids"], q["graded_qrels"])
            if got is NotImplemented:
                continue
            assert got == pytest.approx(expected, abs=TOL), (qid, name)
            checked += 1
    # map, ndcg, Rprec, recip_rank + P/recall/ndcg_cut/success at 7 cutoffs, 3 queries.
    assert checked == 3 * (4 + 4 * 7)


def test_trec_eval_reference_means(refs: Path) -> None:
    data = json.loads((refs / "trec_eval_reference.json").read_text())
    for name, expected in data["mean"].items():
        vals = [measure(name, q["ranked_ids"], q["graded_qrels"]) for q in data["queries"].values()]
        if NotImplemented in vals:
            continue
        assert sum(vals) / len(vals) == pytest.approx(expected, abs=TOL), name
    ranx = data["cross_check_ranx"]
    mrr = [R.reciprocal_rank(q["ranked_ids"], q["graded_qrels"]) for q in data["queries"].values()]
    assert sum(mrr) / 3 == pytest.approx(ranx["mrr"], abs=TOL)  # type: ignore[operator]


def test_ranked_lists_follow_trec_order(refs: Path) -> None:
    edge = json.loads((refs / "edge_cases_reference.json").read_text())
    for qid, run in edge["run"].items():
        assert R.trec_order(list(run.items())) == edge["trec_order"][qid], qid


def test_edge_cases_every_query_and_measure(refs: Path) -> None:
    edge = json.loads((refs / "edge_cases_reference.json").read_text())
    per_query = edge["pytrec_eval_terrier_per_query"]
    means: dict[str, list[float]] = defaultdict(list)
    for qid, expected in per_query.items():
        ranked = R.trec_order(list(edge["run"][qid].items()))
        qrels = edge["qrels"][qid]
        for name, exp in expected.items():
            got = measure(name, ranked, qrels)
            assert got is not NotImplemented, name
            if qid == "no_relevant":
                # trec_eval scores a query without relevant documents as 0; ours says None.
                assert got is None, name
                got = 0.0
            assert got == pytest.approx(exp, abs=TOL), (qid, name)
            means[name].append(got)
    # Queries that trec_eval evaluates: those in the qrels (the unjudged one is skipped).
    assert sorted(per_query) == edge["evaluated_queries_pytrec"]
    for name, exp in edge["pytrec_eval_terrier_mean_over_evaluated_queries"].items():
        assert sum(means[name]) / len(means[name]) == pytest.approx(exp, abs=TOL), name


def test_edge_cases_against_ranx_and_ir_measures(refs: Path) -> None:
    edge = json.loads((refs / "edge_cases_reference.json").read_text())
    ranx = {
        "precision": R.precision, "recall": R.recall, "ndcg": R.ndcg, "hit_rate": R.hit,
    }  # fmt: skip
    for key, per_q in edge["ranx_per_query"].items():
        base, _, k = key.partition("@")
        for qid, exp in per_q.items():
            ranked = R.trec_order(list(edge["run"][qid].items()))
            qrels = edge["qrels"][qid]
            if base == "mrr":
                got = R.reciprocal_rank(ranked, qrels)
            elif base == "map":
                got = R.average_precision(ranked, qrels)
            else:
                got = ranx[base](ranked, qrels, int(k))
            assert (got or 0.0) == pytest.approx(exp, abs=TOL), (key, qid)


# -- trec_eval's own test fixture: qrels/results files and its stored outputs ------------------


def _qrels(path: Path) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) >= 4:
            out[parts[0]][parts[2]] = int(parts[3])
    return out


def _run(path: Path) -> dict[str, list[str]]:
    pairs: dict[str, list[tuple[str, float | None]]] = defaultdict(list)
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) >= 5:
            pairs[parts[0]].append((parts[2], float(parts[4])))
    return {q: R.trec_order(v) for q, v in pairs.items()}


def _outputs(path: Path) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = defaultdict(dict)
    for line in path.read_text().splitlines():
        parts = line.split("\t")
        if len(parts) == 3 and parts[1].strip() != "all":
            try:
                out[parts[1].strip()][parts[0].strip()] = float(parts[2])
            except ValueError:
                continue  # relstring and other non-numeric lines
    return out


@pytest.mark.parametrize(
    ("qrels", "results", "output", "threshold", "max_docs"),
    [
        ("qrels.test", "results.test", "out.test.aq", 1, None),
        # graded qrels with relevance level 2 (trec_eval -l2): nDCG keeps the grades as gains
        ("qrels.rel_level", "results.test", "out.test.aql", 2, None),
        # -c (queries without results count as 0) and -M100 (only the top 100 per query)
        ("qrels.test", "results.trunc", "out.test.aqcM", 1, 100),
        ("qrels.test", "results.trunc", "out.test.aqc", 1, None),
    ],
)
def test_trec_eval_stored_outputs(
    refs: Path, qrels: str, results: str, output: str, threshold: int, max_docs: int | None
) -> None:
    base = refs / "trec_eval_test"
    judged = _qrels(base / qrels)
    runs = _run(base / results)
    expected = _outputs(base / output)
    checked = 0
    for qid, measures in expected.items():
        ranked = runs.get(qid, [])[:max_docs] if max_docs else runs.get(qid, [])
        for name, exp in measures.items():
            got = measure(name, ranked, judged[qid], threshold)
            if got is NotImplemented:
                continue
            # trec_eval prints 4 decimals
            assert got == pytest.approx(exp, abs=5.1e-5), (output, qid, name)
            checked += 1
    assert checked >= 100


# -- the metric classes on responses ------------------------------------------------------------


GOLD = [
    ("D1", 1, "De WOZ-waarde wordt jaarlijks vastgesteld."),
    ("D2", 2, "Bezwaar kan binnen zes weken."),
    ("D3", 0, "Over hondenbelasting."),
]


def test_create_metric_sets_cutoff_and_id() -> None:
    m = create_metric("recall@5")
    assert m.id == "recall@5" and m.k == 5  # type: ignore[attr-defined]
    assert create_metric("mrr").id == "mrr"
    assert create_metric("map").id == "map"
    with pytest.raises(ConfigError):
        create_metric("ndcg@0")
    with pytest.raises(ConfigError):
        create_metric("recall@5", bogus=1)


def test_metric_ranks_by_score_with_ties_by_doc_id_descending() -> None:
    c = case(gold=GOLD)
    # D3 (irrelevant) and D2 tie on score: trec_eval puts D3 first (doc id descending).
    r = response(contexts=[("D2", 0.5, "x"), ("D3", 0.5, "y"), ("D1", 0.1, "z")])
    mrr, p1, ndcg = score(create_metric("mrr"), item(c, r))[0], None, None
    assert mrr.value == pytest.approx(0.5)
    assert mrr.details["ranked_ids"] == ["D3", "D2", "D1"]
    assert mrr.details["matched_by"] == "id"
    p1 = score(create_metric("precision@1"), item(c, r))[0]
    assert p1.value == 0.0
    ndcg = score(create_metric("ndcg@3"), item(c, r))[0]
    expected = R.ndcg(["D3", "D2", "D1"], {"D1": 1, "D2": 2, "D3": 0}, 3)
    assert ndcg.value == pytest.approx(expected)
    assert 0 < ndcg.value < 1  # type: ignore[operator]


def test_contexts_without_scores_keep_their_rank_order() -> None:
    c = case(gold=GOLD)
    r = response(contexts=[("D3", None, "a"), ("D1", None, "b")])
    res = score(create_metric("mrr"), item(c, r))[0]
    assert res.value == pytest.approx(0.5)
    assert res.details["ranked_ids"] == ["D3", "D1"]


def test_repeated_doc_ids_count_once() -> None:
    c = case(gold=GOLD)
    r = response(contexts=[("D1", 0.9, "a"), ("D1", 0.8, "b"), ("D2", 0.7, "c")])
    assert score(create_metric("recall@2"), item(c, r))[0].value == pytest.approx(1.0)
    assert score(create_metric("precision@2"), item(c, r))[0].value == pytest.approx(1.0)


def test_match_by_text_when_no_doc_ids() -> None:
    c = case(gold=GOLD)
    r = response(
        contexts=[
            "Iets heel anders over parkeren.",
            "de woz-waarde wordt jaarlijks vastgesteld",  # same passage, other casing/punctuation
            "Bezwaar maken kan binnen zes weken na de dagtekening van de aanslag.",
        ]
    )
    res = score(create_metric("recall@3"), item(c, r))[0]
    assert res.details["matched_by"] == "text"
    assert res.details["text_matches"] == 2
    assert res.value == pytest.approx(1.0)
    assert score(create_metric("mrr"), item(c, r))[0].value == pytest.approx(0.5)
    # 2 of the 3 content words of the bezwaar passage: below the default overlap of 0.8
    near = response(contexts=["Bezwaar maken kan binnen vier weken."])
    assert score(create_metric("recall@3"), item(c, near))[0].value == 0.0
    loose = create_metric("recall@3", min_text_overlap=0.6)
    assert score(loose, item(c, near))[0].value == pytest.approx(0.5)


def test_not_scored_reasons() -> None:
    m = create_metric("recall@5")
    no_rel = score(m, item(case(gold=[("D3", 0)]), response(contexts=[("D3", 1.0, "t")])))[0]
    assert no_rel.value is None and no_rel.reason == R.NO_RELEVANT
    no_gold = score(m, item(case(), response(contexts=[("D3", 1.0, "t")])))[0]
    assert no_gold.value is None and "gold_contexts" in (no_gold.reason or "")
    err = score(m, item(case(gold=GOLD), response(None, error="boom", error_kind="timeout")))[0]
    assert err.value is None and "timeout" in (err.reason or "")
    empty = score(m, item(case(gold=GOLD), response(contexts=[])))[0]
    assert empty.value is None and empty.reason == "no retrieved contexts"
    zero = create_metric("recall@5", empty_is_zero=True)
    assert score(zero, item(case(gold=GOLD), response(contexts=[])))[0].value == 0.0
    no_text = score(m, item(case(gold=[("D1", 1)]), response(contexts=["tekst zonder id"])))[0]
    assert no_text.value is None and "no doc ids" in (no_text.reason or "")


def test_relevance_threshold_option() -> None:
    c = case(gold=GOLD)
    r = response(contexts=[("D1", 0.9, "a"), ("D2", 0.1, "b")])
    assert score(create_metric("mrr", relevance_threshold=2), item(c, r))[0].value == 0.5
    assert score(create_metric("map"), item(c, r))[0].value == pytest.approx(1.0)


def test_ranked_contexts_keep_the_endpoints_order_on_tied_scores() -> None:
    # Fused rankings (RRF) tie often: the bot showed D2 first, so hit@1 and MRR must see D2.
    c = case(gold=GOLD)
    ctxs = [
        RetrievedContext(doc_id="D2", score=0.5, rank=1, text="x"),
        RetrievedContext(doc_id="D3", score=0.5, rank=2, text="y"),
        RetrievedContext(doc_id="D1", score=0.1, rank=3, text="z"),
    ]
    r = Response(case_id="c1", answer="a", contexts=ctxs)
    mrr = score(create_metric("mrr"), item(c, r))[0]
    assert mrr.value == 1.0
    assert mrr.details["ranked_ids"] == ["D2", "D3", "D1"]
    assert mrr.details["order"] == "endpoint"
    assert score(create_metric("hit@1"), item(c, r))[0].value == 1.0
    expected = R.ndcg(["D2", "D3", "D1"], {"D1": 1, "D2": 2, "D3": 0}, 3)
    assert score(create_metric("ndcg@3"), item(c, r))[0].value == pytest.approx(expected)
    # The same contexts under trec_eval's rule, on request.
    trec = score(create_metric("mrr", order="trec_eval"), item(c, r))[0]
    assert trec.details["ranked_ids"] == ["D3", "D2", "D1"] and trec.details["order"] == "trec_eval"
    assert trec.value == pytest.approx(0.5)
    # Without ranks the tie rule applies and is named.
    unranked = response(contexts=[("D2", 0.5, "x"), ("D3", 0.5, "y"), ("D1", 0.1, "z")])
    assert score(create_metric("mrr"), item(c, unranked))[0].details["order"] == "trec_eval"
    with pytest.raises(ConfigError):
        create_metric("mrr", order="random")
