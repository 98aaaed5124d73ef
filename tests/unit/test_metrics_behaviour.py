"""refusal_correctness, consistency, citation_correctness, latency_ms, cost and the registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragwacht.errors import ConfigError
from ragwacht.metrics.base import create_metric, registry
from ragwacht.metrics.consistency import jaccard_similarity
from ragwacht.metrics.judges.base import Verdict
from ragwacht.metrics.refusal import detect_refusal, find_refusal_phrase
from ragwacht.records import Usage
from tests.helpers.metrics import ScriptedVerifier, case, item, response, score

# -- refusal ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        "Die vraag kan ik niet beantwoorden.",
        "Daarover heb ik geen informatie.",
        "Helaas kan ik u daarmee niet helpen.",
        "Dat weet ik niet.",
        "Deze vraag valt buiten mijn taak als assistent van het Kadaster.",
        "De beschikbare bronnen bevatten geen informatie over dit onderwerp.",
        "I cannot answer that question.",
        "I don't know.",
        "I’m sorry, but I can’t help with that.",
        "The provided context does not mention the opening hours.",
    ],
)
def test_refusal_phrases(answer: str) -> None:
    assert find_refusal_phrase(answer) is not None
    d = detect_refusal(response(answer))
    assert d.refused and d.source == "phrase"


@pytest.mark.parametrize(
    "answer",
    [
        "De WOZ-waarde wordt elk jaar vastgesteld.",
        "Voor een kleine aanbouw is geen vergunning nodig.",
        "The fee is 3.70 euros and you can pay online.",
        "Een uittreksel kost 3,70 euro. " * 20 + "Over erfpacht heb ik geen informatie.",
    ],
)
def test_answers_are_not_refusals(answer: str) -> None:
    assert not detect_refusal(response(answer)).refused


def test_explicit_flag_wins_and_empty_answer_is_refusal() -> None:
    assert detect_refusal(response("Dat weet ik niet.", refused=False)).refused is False
    flagged = detect_refusal(response("Een antwoord.", refused=True))
    assert flagged.refused and flagged.source == "flag"
    assert detect_refusal(response("  ")).source == "empty"


@pytest.mark.parametrize(
    ("refuse_case", "answer", "value", "outcome"),
    [
        (True, "Dat kan ik niet beantwoorden.", 1.0, "correct"),
        (True, "De hoofdstad van Frankrijk is Parijs.", 0.0, "answered_but_should_refuse"),
        (False, "De WOZ-waarde wordt jaarlijks bepaald.", 1.0, "correct"),
        (False, "Daarover heb ik geen informatie.", 0.0, "refused_but_should_answer"),
    ],
)
def test_refusal_correctness(refuse_case: bool, answer: str, value: float, outcome: str) -> None:
    r = score(
        create_metric("refusal_correctness"), item(case(refuse=refuse_case), response(answer))
    )[0]
    assert r.value == value
    assert r.details["outcome"] == outcome
    assert r.details["refusal_detected_by"] in ("phrase", "none")


def test_refusal_correctness_options_and_errors() -> None:
    m = create_metric("refusal_correctness", refusal_phrases=["neem contact op met de balie"])
    r = score(m, item(case(refuse=True), response("Neem contact op met de balie.")))[0]
    assert r.value == 1.0
    err = score(m, item(case(refuse=True), response(None, error="x", error_kind="timeout")))[0]
    assert err.value is None
    flag = score(m, item(case(refuse=True), response("Tekst", refused=True)))[0]
    assert flag.value == 1.0 and flag.details["refusal_detected_by"] == "flag"


# -- consistency --------------------------------------------------------------------------------


def reps(*answers: str | None, **kw: object) -> list:  # type: ignore[type-arg]
    return [
        response(a, repeat=i, **({"error": "x"} if a is None else {}), **kw)  # type: ignore[arg-type]
        for i, a in enumerate(answers)
    ]


def test_jaccard_similarity() -> None:
    assert jaccard_similarity("De WOZ-waarde stijgt.", "de woz-waarde stijgt") == 1.0
    # {woz, waard, stijgt} vs {woz, waard, daalt}: 2 shared of 4
    assert jaccard_similarity("De WOZ-waarde stijgt.", "De WOZ-waarde daalt.") == pytest.approx(0.5)


def test_consistency_values() -> None:
    m = create_metric("consistency")
    same = reps("De WOZ-waarde stijgt.", "De WOZ-waarde stijgt!", "de woz-waarde stijgt")
    r = score(m, item(case(), same[0], repeats=same))[0]
    assert r.value == 1.0 and r.details["n_answers"] == 3
    mixed = reps("De WOZ-waarde stijgt.", "De WOZ-waarde daalt.", "Dat weet ik niet.")
    r = score(m, item(case(), mixed[0], repeats=mixed))[0]
    # pairs: (0,1) 0.5, (0,2) decision differs 0, (1,2) 0 -> mean 1/6
    assert r.value == pytest.approx(0.5 / 3)
    assert r.details["decision_agreement"] == pytest.approx(1 / 3)
    assert r.details["n_refused"] == 1
    refused = reps("Dat weet ik niet.", "Dat kan ik niet beantwoorden.")
    assert score(m, item(case(), refused[0], repeats=refused))[0].value == 1.0


def test_consistency_not_scored_and_failures_excluded() -> None:
    m = create_metric("consistency")
    one = reps("a")
    assert score(m, item(case(), one[0], repeats=one))[0].value is None
    failing = reps("De WOZ-waarde stijgt.", None, None)
    r = score(m, item(case(), failing[0], repeats=failing))[0]
    assert r.value is None and "fewer than 2 answered" in (r.reason or "")
    two_ok = reps("De WOZ-waarde stijgt.", "De WOZ-waarde stijgt.", None)
    r = score(m, item(case(), two_ok[0], repeats=two_ok))[0]
    assert r.value == 1.0 and r.details["n_failed"] == 1
    with pytest.raises(ConfigError):
        create_metric("consistency", similarity="levenshtein")


def test_consistency_with_embeddings() -> None:
    m = create_metric("consistency", similarity="embedding")
    answers = reps("De WOZ-waarde stijgt dit jaar.", "De WOZ-waarde stijgt dit jaar.")
    r = score(m, item(case(), answers[0], repeats=answers))[0]
    assert r.value == pytest.approx(1.0, abs=1e-3)


# -- citations -----------------------------------------------------------------------------------

CTXS = [
    ("bag-001", 0.9, "De WOZ-waarde wordt elk jaar door de gemeente vastgesteld."),
    ("bag-002", 0.8, "Bezwaar maken kan binnen zes weken na de aanslag."),
]


def test_citation_correctness_markers() -> None:
    m = create_metric("citation_correctness")
    answer = (
        "De WOZ-waarde wordt elk jaar vastgesteld [bag-001]. "
        "Bezwaar kan binnen zes weken [bag-001]. "
        "Het Rijk int de belasting [bag-999]."
    )
    r = score(m, item(case(), response(answer, CTXS)))[0]
    cites = r.details["citations"]
    assert [c["cited"] for c in cites] == ["bag-001", "bag-001", "bag-999"]
    assert [c["retrieved"] for c in cites] == [True, True, False]
    assert [c["supported"] for c in cites] == [True, False, False]
    assert r.value == pytest.approx(1 / 3)
    assert r.details["not_retrieved"] == ["bag-999"]
    assert r.judge == "lexical"


def test_citation_marker_after_full_stop_and_numeric_positions() -> None:
    m = create_metric("citation_correctness")
    answer = "De WOZ-waarde wordt elk jaar vastgesteld. [1] Bezwaar kan binnen zes weken [2]."
    r = score(m, item(case(), response(answer, CTXS)))[0]
    assert r.value == 1.0
    assert [c["resolved_by"] for c in r.details["citations"]] == ["position", "position"]
    assert r.details["citations"][0]["sentence"].startswith("De WOZ-waarde")


def test_citation_from_cited_ids_field_and_id_only_mode() -> None:
    answer = "Bezwaar maken kan binnen zes weken na de aanslag."
    resp = response(answer, CTXS, cited_ids=["bag-002", "bag-003"])
    r = score(create_metric("citation_correctness"), item(case(), resp))[0]
    assert r.value == 0.5
    ids_only = create_metric("citation_correctness", check_support=False)
    resp2 = response("Iets anders [bag-001].", CTXS)
    assert score(ids_only, item(case(), resp2))[0].value == 1.0


def test_citation_not_scored_and_judge_failure() -> None:
    m = create_metric("citation_correctness")
    r = score(m, item(case(), response("Geen bronnen genoemd.", CTXS)))[0]
    assert r.value is None and r.reason == "nothing cited"
    broken = create_metric(
        "citation_correctness", verifier=ScriptedVerifier(error=RuntimeError("x"))
    )
    r = score(broken, item(case(), response("De WOZ-waarde [bag-001].", CTXS)))[0]
    assert r.value is None and r.error is True
    always = create_metric("citation_correctness", verifier=ScriptedVerifier([Verdict.SUPPORTED]))
    assert score(always, item(case(), response("Iets [bag-002].", CTXS)))[0].value == 1.0


# -- latency and cost ----------------------------------------------------------------------------


def test_latency_and_cost_measures() -> None:
    lat, cost = create_metric("latency_ms"), create_metric("cost")
    assert lat.kind == "measure" and lat.unit == "ms" and lat.higher_is_better is False
    assert cost.kind == "measure" and cost.higher_is_better is False
    r = response("x", latency_ms=1234.5, cost=0.0021)
    assert score(lat, item(case(), r))[0].value == 1234.5
    assert score(cost, item(case(), r))[0].value == 0.0021
    unknown = response("x")
    assert score(lat, item(case(), unknown))[0].value is None
    assert "cost unknown" in (score(cost, item(case(), unknown))[0].reason or "")
    failed = response(None, latency_ms=30000.0, error="timeout", error_kind="timeout")
    assert score(lat, item(case(), failed))[0].value is None


def test_cost_from_token_prices() -> None:
    m = create_metric("cost", price_per_1k_prompt=0.5, price_per_1k_completion=1.5, currency="USD")
    r = response("x", usage=Usage(prompt_tokens=2000, completion_tokens=100))
    res = score(m, item(case(), r))[0]
    assert res.value == pytest.approx(2 * 0.5 + 0.1 * 1.5)
    assert res.details["source"] == "tokens" and m.describe()["unit"] == "USD"
    no_usage = score(m, item(case(), response("x")))[0]
    assert no_usage.value is None and "token usage" in (no_usage.reason or "")
    with pytest.raises(ConfigError):
        create_metric("cost", price_per_1k_prompt=-1)


def test_registry_declares_every_metric() -> None:
    names = {
        "recall", "precision", "hit", "mrr", "ndcg", "map", "faithfulness", "hallucination_rate",
        "answer_correctness", "answer_claim_recall", "refusal_correctness", "consistency",
        "citation_correctness", "latency_ms", "cost",
    }  # fmt: skip
    reg = registry()
    assert names <= set(reg)
    lower = {n for n in names if not reg[n].higher_is_better}
    assert lower == {"hallucination_rate", "latency_ms", "cost"}
    for n in names:
        d = create_metric(n).describe()
        assert d["name"] == n and d["description"], n


def test_every_builtin_metric_has_a_card(repo_root: Path) -> None:
    for name, cls in registry().items():
        if ":" in name:  # ragas:/deepeval: backends are documented with their judges
            continue
        card = repo_root / "metrics" / "cards" / f"{name}.md"
        assert card.is_file(), f"missing metric card {card}"
        text = card.read_text()
        for section in ("**Definition**", "**Range**", "**Direction**", "**Not scored**"):
            assert section in text, (name, section)
        direction = "lower is better" if not cls.higher_is_better else "higher is better"
        assert direction in text, name
