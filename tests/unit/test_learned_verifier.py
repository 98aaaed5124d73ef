"""The ``learned`` verifier: packaged model, Dutch faithfulness, CI floors, retraining.

Floors sit a few points under the left-out figures measured by ``benchmarks/judges_lodo.py``
(see ``metrics/README.md``), on fixed samples, so a regression in the features, the claim
splitter or the model file fails CI. The word-feature variant is tested: it needs no embedding
model, and is the one a suite gets without ``embeddings: true``.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ragwacht.cli.app import app
from ragwacht.errors import ConfigError
from ragwacht.metrics.calibration import calibrate, file_sha256, load_labelled
from ragwacht.metrics.judges.base import Verdict
from ragwacht.metrics.judges.factory import make_verifier, parse_judge_config
from ragwacht.metrics.judges.learned import (
    ALL_VARIANTS,
    PACKAGED_MODEL,
    VARIANT_WORDS,
    Featurizer,
    LearnedVerifier,
    TrainingData,
    build_model_file,
    featurize,
    fit,
    load_model_file,
    write_model_file,
)

NL = (
    Path(__file__).resolve().parents[2]
    / "metrics"
    / "calibration"
    / "data"
    / "nl_constructed.jsonl"
)
FAITHFUL_EDITS = {"extractive", "extractive_multi", "paraphrase"}

# (balanced accuracy, kappa) floors, a few points under the left-out figures (HaluEval 0.813,
# BEGIN 0.790, Dutch 0.785; metrics/README.md). The packaged model has seen part of these
# samples (it is trained on all sets), so its figures here are higher (0.930 / 0.840 / 0.883):
# the floors guard against regressions, they are not the claim of how good the judge is.
FLOORS = {
    "halueval_qa_2000": (0.78, 0.56),
    "begin": (0.76, 0.52),
}
NL_FLOOR = 0.75


def test_packaged_model_is_small_json_with_its_training_data() -> None:
    raw = json.loads(PACKAGED_MODEL.read_text("utf-8"))
    assert PACKAGED_MODEL.stat().st_size < 20_000
    model = load_model_file()
    assert model.version == "learned-v1" and VARIANT_WORDS in model.variants
    assert {d.dataset for d in model.data} == {"halueval_qa_2000", "begin", "nl_constructed"}
    nl = next(d for d in model.data if d.dataset == "nl_constructed")
    # The model names the exact Dutch data it learnt from.
    assert nl.sha256 == file_sha256(NL)
    assert (NL.parent / "nl_constructed.jsonl.sha256").read_text().split()[0] == nl.sha256
    for v in model.variants.values():
        assert len(v.coef) == len(v.features) == len(v.mean) == len(v.scale)
        assert 0.0 < v.threshold < 1.0
    assert raw["data_digest"] == model.data_digest


def test_faithful_dutch_answers_are_never_contradicted() -> None:
    v = LearnedVerifier()
    items = [json.loads(line) for line in NL.read_text("utf-8").splitlines()]
    faithful = [i for i in items if i["edit"] in FAITHFUL_EDITS]
    assert len(faithful) == 250
    bad = []
    for it in faithful:
        out = v.verify_sync(it["answer"], it["contexts"], language="nl")
        assert out.claims
        bad += [(it["id"], c.claim) for c in out.claims if c.verdict == Verdict.CONTRADICTED]
    assert bad == []


def test_verbatim_dutch_sentence_is_supported_and_explained() -> None:
    ctx = [
        "De WOZ-waarde is de grondslag voor de onroerendezaakbelastingen (OZB) die gemeenten "
        "heffen. De gemeenteraad stelt jaarlijks de tarieven vast als percentage van de WOZ-waarde."
    ]
    v = LearnedVerifier()
    ok = v.verify_sync("De gemeenteraad stelt jaarlijks de tarieven vast.", ctx, language="nl")
    assert [c.verdict for c in ok.claims] == [Verdict.SUPPORTED]
    assert ok.claims[0].evidence and "gemeenteraad" in ok.claims[0].evidence
    bad = v.verify_sync(
        "De WOZ-waarde is de grondslag voor de OZB. De provincie stelt elke tien jaar de tarieven "
        "vast.",
        ctx,
        language="nl",
    )
    verdicts = [c.verdict for c in bad.claims]
    assert verdicts[0] == Verdict.SUPPORTED and verdicts[1] != Verdict.SUPPORTED
    weakest = bad.claims[1]
    assert weakest.rationale and weakest.rationale.startswith("weakest claim, the answer fails")
    assert weakest.score is not None and weakest.score < bad.claims[0].score


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_learned_floor_on_shared_samples(name: str, shared_data: Path) -> None:
    v = make_verifier(parse_judge_config("learned"))
    r = asyncio.run(
        calibrate(
            v, shared_data / "hallucination" / f"{name}.jsonl", limit=200, seed=0, balanced=True
        )
    )
    ba_floor, kappa_floor = FLOORS[name]
    assert (r.n_items, r.n_positive, r.n_negative, r.n_failed) == (200, 100, 100, 0)
    assert r.balanced_accuracy is not None and r.balanced_accuracy >= ba_floor
    assert r.cohen_kappa is not None and r.cohen_kappa >= kappa_floor
    assert r.score_auc is not None and r.score_auc > 0.5


def test_learned_floor_on_dutch_set() -> None:
    v = LearnedVerifier()
    items = load_labelled(NL)
    preds = []
    for it in items:
        out = v.verify_sync(it.answer, it.contexts, language="nl")
        preds.append(any(c.verdict != Verdict.SUPPORTED for c in out.claims))
    pos = [p for p, it in zip(preds, items, strict=True) if it.hallucinated]
    neg = [not p for p, it in zip(preds, items, strict=True) if not it.hallucinated]
    ba = (sum(pos) / len(pos) + sum(neg) / len(neg)) / 2
    assert ba >= NL_FLOOR


def test_config_errors_name_the_field() -> None:
    with pytest.raises(ConfigError) as exc:
        parse_judge_config({"type": "learned", "threshold": 1.5}, file="suite.yaml", field="j")
    assert "j.threshold" in str(exc.value)
    with pytest.raises(ConfigError) as exc2:
        parse_judge_config({"type": "learned", "embeding": True}, file="suite.yaml")
    assert "embeding" in str(exc2.value)


def _labels(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def test_train_cli_writes_a_model_the_judge_loads(tmp_path: Path, shared_data: Path) -> None:
    nl_rows = [json.loads(line) for line in NL.read_text("utf-8").splitlines()][:80]
    en_rows = [
        it.model_dump()
        for it in load_labelled(
            shared_data / "hallucination" / "halueval_qa_2000.jsonl",
            limit=60,
            seed=3,
            balanced=True,
        )
    ]
    a = _labels(tmp_path / "team_nl.jsonl", nl_rows)
    b = _labels(tmp_path / "team_en.jsonl", en_rows)
    out = tmp_path / "model.json"
    res = CliRunner().invoke(
        app, ["judges", "train", "--data", str(a), "--data", str(b), "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    assert "left out" in res.output and "in-sample" in res.output
    model = load_model_file(out)
    assert [d.dataset for d in model.data] == ["team_nl", "team_en"]
    assert model.data[0].sha256 == file_sha256(a) and model.data[0].n_items == 80
    v = make_verifier(parse_judge_config({"type": "learned", "model": str(out)}))
    assert v.id == "learned:model"
    got = v.verify_sync(nl_rows[0]["answer"], nl_rows[0]["contexts"], language="nl")
    assert got.claims and got.prompt_version == f"learned-v1:{VARIANT_WORDS}"


def test_train_cli_bad_input_exits_2_naming_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "1", "contexts": ["c"], "answer": "a", "hallucinated": true}\n{oops\n')
    res = CliRunner().invoke(
        app, ["judges", "train", "--data", str(bad), "--out", str(tmp_path / "m.json")]
    )
    assert res.exit_code == 2
    assert "bad.jsonl" in res.output and "line 2" in res.output
    assert "Traceback" not in res.output
    one_class = _labels(
        tmp_path / "one.jsonl",
        [
            {
                "id": str(i),
                "contexts": ["De BAG bevat adressen."],
                "answer": "De BAG bevat adressen.",
                "hallucinated": False,
            }
            for i in range(4)
        ],
    )
    res2 = CliRunner().invoke(
        app, ["judges", "train", "--data", str(one_class), "--out", str(tmp_path / "m.json")]
    )
    assert res2.exit_code == 2 and "both" in res2.output
    bad_model = tmp_path / "not-a-model.json"
    bad_model.write_text('{"version": 3}')
    with pytest.raises(ConfigError) as exc:
        make_verifier(parse_judge_config({"type": "learned", "model": str(bad_model)}))
    assert "not-a-model.json" in str(exc.value)


def test_negation_and_number_edits_caught_by_a_model_trained_on_english_only(
    tmp_path: Path, shared_data: Path
) -> None:
    # A left-out check in small: a model fitted on English QA data only must still catch Dutch
    # negations and number swaps (written-out numbers included) through the polarity and
    # number features and the conflict rule. Benchmark's English-only models: 0.93 and 0.97.
    items = load_labelled(
        shared_data / "hallucination" / "halueval_qa_2000.jsonl", limit=200, seed=0, balanced=True
    )
    feats = featurize(Featurizer(), items, dataset="halueval_qa_2000", language="en")
    lr = fit(feats, ALL_VARIANTS[VARIANT_WORDS])
    data = [TrainingData(dataset="h", file="h.jsonl", sha256="0" * 64, n_items=200, n_claims=1)]
    path = write_model_file(
        build_model_file({VARIANT_WORDS: lr}, data, version="learned-v1"), tmp_path / "en.json"
    )
    v = LearnedVerifier(model=path)
    rows = [json.loads(line) for line in NL.read_text("utf-8").splitlines()]
    for edit, floor in (("negation", 0.85), ("number_swap", 0.85)):
        sub = [r for r in rows if r["edit"] == edit]
        caught = [
            any(
                c.verdict != Verdict.SUPPORTED
                for c in v.verify_sync(r["answer"], r["contexts"], language="nl").claims
            )
            for r in sub
        ]
        assert sum(caught) / len(sub) >= floor, edit
