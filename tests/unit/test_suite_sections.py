"""Every suite section is parsed when the suite loads: a typo anywhere fails at once, with
file, line and field, before any endpoint is called (not when that variant or judge runs).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ragwacht.errors import ConfigError
from ragwacht.evals.spec import load_suite
from ragwacht.runners.profile import Variant
from tests.helpers.mini_project import mini_project


def _suite(tmp_path: Path, **over: object) -> Path:
    variants = {"default": {}, "no-reranker": {"fields": {"rerank": False}}}
    return mini_project(tmp_path, **{"variants": variants, **over})


def _problem(path: Path) -> str:
    with pytest.raises(ConfigError) as err:
        load_suite(path)
    return str(err.value)


def test_every_variant_is_parsed_at_load(tmp_path: Path) -> None:
    spec = load_suite(_suite(tmp_path))
    assert isinstance(spec.variant("no-reranker"), Variant)
    assert spec.variant("no-reranker").fields == {"rerank": False}


def test_a_typo_in_a_variant_that_is_not_run_fails_at_load(tmp_path: Path) -> None:
    path = _suite(tmp_path, variants={"default": {}, "b": {"feilds": {"rerank": False}}})
    msg = _problem(path)
    assert "variants.b.feilds" in msg and "unknown field" in msg
    assert "suite.yaml, line" in msg


def test_a_typo_in_a_judge_fails_at_load(tmp_path: Path) -> None:
    path = _suite(tmp_path, judges={"j": "lexical", "spare": {"type": "lexcal"}})
    msg = _problem(path)
    assert "judges.spare" in msg and "suite.yaml" in msg


def test_a_typo_in_the_gate_policy_fails_at_load(tmp_path: Path) -> None:
    path = _suite(tmp_path, gate={"alpah": 0.05})
    msg = _problem(path)
    assert "alpah" in msg and "suite.yaml" in msg


def test_all_problems_are_reported_in_one_pass(tmp_path: Path) -> None:
    path = _suite(
        tmp_path,
        variants={"default": {}, "b": {"feilds": {}}},
        judges={"j": {"type": "lexcal"}},
        gate={"alpha": 2},
    )
    msg = _problem(path)
    assert "variants.b" in msg and "judges.j" in msg and "alpha" in msg
