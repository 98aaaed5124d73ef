"""RAGChecker's claim-level formulas reproduce its worked example, per example and overall."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ragwacht.metrics import ragchecker as rc


@pytest.fixture(scope="module")
def examples(shared_data: Path) -> list[dict[str, object]]:
    path = shared_data / "ragchecker" / "example_claim_verdicts_with_expected_metrics.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_per_example_values(examples: list[dict[str, object]]) -> None:
    assert len(examples) == 2
    for ex in examples:
        got = rc.compute_all(rc.ClaimVerdicts.from_mapping(ex))
        expected = ex["expected_metrics"]
        assert isinstance(expected, dict)
        assert set(got) == set(expected)
        for name, value in expected.items():
            assert got[name] == pytest.approx(value, abs=1e-9), (ex["id"], name)


def test_aggregate_matches_ragchecker_report(
    examples: list[dict[str, object]], shared_data: Path
) -> None:
    expected = json.loads(
        (shared_data / "ragchecker" / "example_expected_aggregate_metrics.json").read_text()
    )
    rows = [rc.compute_all(rc.ClaimVerdicts.from_mapping(ex)) for ex in examples]
    assert rc.aggregate(rows) == expected


def test_booleans_and_case_insensitive_labels() -> None:
    assert rc.precision(["entailment", "NEUTRAL", True, False]) == 0.5
    assert rc.faithfulness([["Neutral", "Entailment"], ["Neutral", "Contradiction"]]) == 0.5


def test_empty_denominators_are_none_not_zero() -> None:
    assert rc.precision([]) is None
    assert rc.f1(None, 0.5) is None
    assert rc.f1(0.0, 0.0) == 0.0
    # no ground-truth claim is in any chunk: utilization is undefined
    assert rc.context_utilization([["Neutral"], ["Neutral"]], ["Entailment", "Neutral"]) is None
    assert rc.claim_recall([]) is None


def test_noise_sensitivity_by_hand() -> None:
    # chunk 0 holds a ground-truth claim (relevant), chunk 1 none (irrelevant)
    r2a = [["Entailment", "Neutral"]]
    # claim 0: wrong, from the relevant chunk; claim 1: wrong, only from the irrelevant chunk;
    # claim 2: right, from both; claim 3: wrong, from no chunk (hallucination)
    r2r = [
        ["Entailment", "Neutral"],
        ["Neutral", "Entailment"],
        ["Entailment", "Entailment"],
        ["Neutral", "Neutral"],
    ]
    a2r = ["Neutral", "Contradiction", "Entailment", "Neutral"]
    assert rc.noise_sensitivity_in_relevant(r2r, a2r, r2a) == 0.25
    assert rc.noise_sensitivity_in_irrelevant(r2r, a2r, r2a) == 0.25
    assert rc.hallucination(r2r, a2r) == 0.25
    assert rc.self_knowledge(r2r, a2r) == 0.0
    assert rc.context_precision(r2a) == 0.5
