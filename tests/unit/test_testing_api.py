"""ragwacht.testing: score() and assert_scores() for hand-written tests."""

from __future__ import annotations

import pytest

from ragwacht.datasets.models import GoldenCase
from ragwacht.errors import ConfigError
from ragwacht.records import Response, RetrievedContext
from ragwacht.testing import Scores, assert_scores, score

PASSAGE = (
    "De WOZ-waarde is de waarde van een woning die de gemeente jaarlijks vaststelt op grond van "
    "de Wet waardering onroerende zaken."
)
GOOD = "De gemeente stelt de WOZ-waarde van een woning jaarlijks vast."
BAD = GOOD + " De WOZ-aanslag wordt door de Belastingdienst in Parijs geïnd."


def test_score_a_supported_answer() -> None:
    s = score("Wat is de WOZ-waarde?", {"answer": GOOD, "contexts": [PASSAGE]})
    assert isinstance(s, Scores)
    assert set(s) == {"faithfulness", "hallucination_rate"}
    assert s.value("faithfulness") == 1.0
    assert s.value("hallucination_rate") == 0.0
    assert s["faithfulness"].judge == "lexical"


def test_assert_scores_shows_claims_verdicts_and_evidence() -> None:
    with pytest.raises(AssertionError) as exc:
        assert_scores(
            "Wat is de WOZ-waarde?",
            BAD,
            contexts=[PASSAGE],
            thresholds={"faithfulness": 0.9, "hallucination_rate": 0.0},
        )
    msg = str(exc.value)
    assert msg.startswith("2 of 2 score thresholds missed")
    assert "question: Wat is de WOZ-waarde?" in msg
    assert "faithfulness = 0.500 < 0.9" in msg
    assert "hallucination_rate = 1.000 > 0" in msg  # lower is better: read as a ceiling
    assert "[unverifiable] De WOZ-aanslag wordt door de Belastingdienst in Parijs geïnd." in msg
    assert "[supported] De gemeente stelt de WOZ-waarde" in msg
    assert f"evidence: {PASSAGE}" in msg
    assert "closest passage:" in msg  # the unsupported claim's nearest miss is not "evidence"


def test_assert_scores_passes_and_returns_the_scores() -> None:
    s = assert_scores(
        "Wat is de WOZ-waarde?", GOOD, contexts=[PASSAGE], thresholds={"faithfulness": 0.9}
    )
    assert s.as_dict() == {"faithfulness": 1.0}


def test_not_scored_fails_with_its_reason_unless_allowed() -> None:
    with pytest.raises(AssertionError, match=r"faithfulness: not scored \(no retrieved contexts\)"):
        assert_scores("Wat is de WOZ-waarde?", GOOD, thresholds={"faithfulness": 0.5})
    s = assert_scores(
        "Wat is de WOZ-waarde?", GOOD, thresholds={"faithfulness": 0.5}, allow_not_scored=True
    )
    assert s.value("faithfulness") is None


def test_retrieval_and_refusal_from_case_mappings() -> None:
    case = GoldenCase(
        id="woz-1",
        question="Wat is de WOZ-waarde?",
        gold_contexts=[{"doc_id": "woz-001"}],  # type: ignore[list-item]
    )
    resp = Response(
        case_id="woz-1",
        answer=GOOD,
        contexts=[
            RetrievedContext(doc_id="bag-003", text="x", rank=1),
            RetrievedContext(doc_id="woz-001", text=PASSAGE, rank=2),
        ],
    )
    s = score(case, resp, metrics=["recall@5", "mrr", "hit@1"])
    assert s.as_dict() == {"recall@5": 1.0, "mrr": 0.5, "hit@1": 0.0}
    refused = score(
        {"question": "Wat wordt het weer morgen?", "expected_behavior": "refuse"},
        {"answer": GOOD, "contexts": [{"doc_id": "woz-001", "text": PASSAGE}]},
        metrics=["refusal_correctness"],
    )
    assert refused.value("refusal_correctness") == 0.0  # it answered where it should refuse


def test_bad_metric_names_and_thresholds_say_how_to_fix() -> None:
    with pytest.raises(ConfigError, match="unknown metric 'faithfullness'"):
        score("q", "a", metrics=["faithfullness"])
    s = score("q", "a", contexts=["a"], metrics=["faithfulness"])
    with pytest.raises(KeyError, match="add it to metrics="):
        assert_scores(s, thresholds={"mrr": 0.5})
    with pytest.raises(ConfigError, match="unknown judge type"):
        score("q", "a", contexts=["a"], judge="gpt")
