"""CI floor for the lexical judge on fixed samples of the shared labelled data.

Measured (200 balanced items, seed 0): HaluEval QA balanced accuracy 0.805, kappa 0.610;
BEGIN 0.855, kappa 0.710. The floors sit a few points lower, so noise does not trip them but a
real regression of the verifier or of the calibration code does.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ragwacht.metrics.calibration import PACKAGED_DIR, calibrate, find_calibration
from ragwacht.metrics.judges.config import LexicalJudgeConfig
from ragwacht.metrics.judges.factory import make_verifier

FLOORS = {
    "halueval_qa_2000": (0.77, 0.55),
    "begin": (0.82, 0.64),
}


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_lexical_floor(name: str, shared_data: Path) -> None:
    v = make_verifier(LexicalJudgeConfig())
    r = asyncio.run(
        calibrate(
            v, shared_data / "hallucination" / f"{name}.jsonl", limit=200, seed=0, balanced=True
        )
    )
    ba_floor, kappa_floor = FLOORS[name]
    assert (r.n_items, r.n_positive, r.n_negative) == (200, 100, 100)
    assert r.scored_fraction == 1.0 and r.n_failed == 0
    assert r.balanced_accuracy is not None and r.balanced_accuracy >= ba_floor
    assert r.cohen_kappa is not None and r.cohen_kappa >= kappa_floor
    assert r.balanced_accuracy_ci is not None
    lo, hi = r.balanced_accuracy_ci
    assert lo <= r.balanced_accuracy <= hi


def test_committed_lexical_calibration_is_found(repo_root: Path) -> None:
    project = find_calibration("lexical", project_dir=repo_root)
    packaged = PACKAGED_DIR / "lexical.json"
    assert project is not None and packaged.is_file()
    assert project.weak and project.judge_kind == "lexical"
    assert {r.dataset for r in project.runs} == set(FLOORS)
    for run in project.runs:
        assert run.scored_fraction == 1.0 and run.n_items >= 2000
        assert run.balanced_accuracy is not None and run.balanced_accuracy > 0.75
