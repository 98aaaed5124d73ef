from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import balanced_accuracy_score, cohen_kappa_score, confusion_matrix

from ragwacht.errors import ConfigError
from ragwacht.metrics.calibration import (
    CalibrationResult,
    ItemOutcome,
    binary_scores,
    bootstrap_ci,
    find_calibration,
    load_labelled,
    save_calibration,
    summarize,
)

pairs = st.lists(st.tuples(st.booleans(), st.booleans()), min_size=2, max_size=60)


@pytest.mark.filterwarnings("ignore::UserWarning")
@settings(max_examples=60, deadline=None)
@given(pairs)
def test_scores_match_sklearn(data: list[tuple[bool, bool]]) -> None:
    y_true = [t for t, _ in data]
    y_pred = [p for _, p in data]
    s = binary_scores(y_true, y_pred)
    c = s.confusion
    tn, fp, fn, tp = confusion_matrix(y_true, y_pred, labels=[False, True]).ravel()
    assert (c.tn, c.fp, c.fn, c.tp) == (tn, fp, fn, tp)
    if len(set(y_true)) == 2:
        assert s.balanced_accuracy == pytest.approx(balanced_accuracy_score(y_true, y_pred))
    k = cohen_kappa_score(y_true, y_pred)
    if s.cohen_kappa is None:
        assert k != k or k == 0.0  # sklearn: nan (0/0) where kappa is undefined
    else:
        assert s.cohen_kappa == pytest.approx(k)


def test_known_table() -> None:
    # 40 hallucinated: 30 caught; 60 faithful: 45 passed.
    y_true = [True] * 40 + [False] * 60
    y_pred = [True] * 30 + [False] * 10 + [True] * 15 + [False] * 45
    s = binary_scores(y_true, y_pred)
    assert s.balanced_accuracy == pytest.approx((30 / 40 + 45 / 60) / 2)
    assert s.precision == pytest.approx(30 / 45) and s.recall == pytest.approx(0.75)
    ci = bootstrap_ci(y_true, y_pred, seed=1)
    assert ci is not None and ci[0] < 0.75 < ci[1] and ci[1] - ci[0] < 0.25
    assert bootstrap_ci(y_true, y_pred, seed=1) == ci  # seeded


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def test_load_skips_null_and_balances(tmp_path: Path) -> None:
    rows = [
        {
            "id": str(i),
            "question": "q",
            "contexts": ["c"],
            "answer": "a",
            "hallucinated": i % 3 == 0,
        }
        for i in range(30)
    ]
    rows.append({"id": "n", "contexts": ["c"], "answer": "a", "hallucinated": None})
    f = _write(tmp_path / "d.jsonl", rows)
    assert len(load_labelled(f)) == 30
    bal = load_labelled(f, balanced=True, seed=3)
    assert sum(i.hallucinated for i in bal) == 10 and len(bal) == 20
    assert [i.id for i in load_labelled(f, balanced=True, seed=3)] == [i.id for i in bal]
    assert len(load_labelled(f, balanced=True, limit=8)) == 8
    assert len(load_labelled(f, limit=7)) == 7


def test_load_error_names_line_and_field(tmp_path: Path) -> None:
    f = _write(
        tmp_path / "d.jsonl",
        [
            {"id": "1", "contexts": ["c"], "answer": "a", "hallucinated": True},
            {"id": "2", "contexts": "not a list", "answer": "a", "hallucinated": False},
        ],
    )
    with pytest.raises(ConfigError) as e:
        load_labelled(f)
    assert e.value.first.location.line == 2 and e.value.first.location.field == "contexts"


def test_failures_are_counted_not_predicted(tmp_path: Path) -> None:
    outs = [
        ItemOutcome(id="a", label=True, predicted=True),
        ItemOutcome(id="b", label=False, predicted=False),
        ItemOutcome(id="c", label=True, predicted=None, failure="timeout"),
        ItemOutcome(id="d", label=False, predicted=None, failure="timeout"),
    ]
    r = summarize(
        outs, dataset="x", data_file=tmp_path / "x.jsonl", seed=0, limit=None, balanced=False
    )
    assert (r.n_items, r.n_scored, r.n_failed) == (4, 2, 2)
    assert r.scored_fraction == 0.5 and r.failure_reasons == {"timeout": 2}
    assert r.confusion.n == 2 and r.balanced_accuracy == 1.0


class _V:
    id = "test:judge/v1"
    kind = "test"
    weak = True
    model = None
    prompt_version = None
    prompt_hash = None


def test_save_merge_and_find(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    outs = [
        ItemOutcome(id="a", label=True, predicted=True),
        ItemOutcome(id="b", label=False, predicted=True),
    ]
    r1 = summarize(
        outs, dataset="one", data_file=tmp_path / "one.jsonl", seed=0, limit=None, balanced=False
    )
    r2 = r1.model_copy(update={"dataset": "two"})
    p = save_calibration(r1, _V(), project_dir=tmp_path)
    assert p == tmp_path / "metrics" / "calibration" / "test_judge_v1.json"
    save_calibration(r2, _V(), project_dir=tmp_path)
    save_calibration(r1, _V(), project_dir=tmp_path)  # replaces, not duplicates
    found = find_calibration("test:judge/v1", project_dir=tmp_path)
    assert isinstance(found, CalibrationResult)
    assert [r.dataset for r in found.runs] == ["one", "two"] and found.weak
    monkeypatch.chdir(tmp_path / "metrics")  # parents of the cwd are searched too
    assert find_calibration("test:judge/v1") is not None
    assert find_calibration("other") is None


@given(
    st.lists(
        st.tuples(st.booleans(), st.sampled_from([0.0, 0.1, 0.35, 0.5, 0.5, 0.72, 0.9, 1.0])),
        min_size=2,
        max_size=60,
    )
)
@settings(max_examples=150, deadline=None)
def test_score_auc_and_sweep_agree_with_sklearn(pairs) -> None:
    from sklearn.metrics import roc_auc_score

    from ragwacht.metrics.calibration import ItemOutcome, score_study

    outs = [
        ItemOutcome(id=str(i), label=lab, predicted=s < 0.5, score=s)
        for i, (lab, s) in enumerate(pairs)
    ]
    auc, sweep = score_study(outs)
    labels = [lab for lab, _ in pairs]
    if len(set(labels)) == 2:
        # "faithful scores higher": the faithful class is the positive one for the AUC.
        expected = roc_auc_score([not lab for lab in labels], [s for _, s in pairs])
        assert auc == pytest.approx(expected)
    else:
        assert auc is None
    assert sweep is not None
    for t, ba in sweep.items():
        pred = [s < float(t) for _, s in pairs]
        assert ba == pytest.approx(round(balanced_accuracy_score(labels, pred), 4))


def test_score_study_needs_scores() -> None:
    from ragwacht.metrics.calibration import ItemOutcome, score_study

    outs = [ItemOutcome(id=str(i), label=i % 2 == 0, predicted=True) for i in range(6)]
    assert score_study(outs) == (None, None)
