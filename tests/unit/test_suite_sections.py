"""Every suite section is parsed when the suite loads: a typo anywhere fails at once, with
file, line and field, before any endpoint is called (not when that variant or judge runs).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from ragwacht.errors import ConfigError
from ragwacht.evals.spec import load_suite
from ragwacht.runners.profile import Variant


def _suite(tmp_path: Path, **over: object) -> Path:
    ds = tmp_path / "ds"
    ds.mkdir()
    (ds / "dataset.yaml").write_text("name: mini\nlanguage: nl\n", encoding="utf-8")
    case = {"id": "q1", "question": "Wat is de BAG?", "reference_answer": "Een register."}
    (ds / "cases.jsonl").write_text(json.dumps(case) + "\n", encoding="utf-8")
    (tmp_path / "bot.yaml").write_text(
        "type: python\ncallable: tests.helpers.counting_bot:answer\n", encoding="utf-8"
    )
    suite: dict[str, object] = {
        "name": "mini",
        "dataset": "ds",
        "endpoint": "bot.yaml",
        "metrics": [{"name": "faithfulness", "judge": "j"}],
        "judges": {"j": "lexical"},
        "variants": {"default": {}, "no-reranker": {"fields": {"rerank": False}}},
    }
    suite.update(over)
    path = tmp_path / "suite.yaml"
    path.write_text(yaml.safe_dump(suite, sort_keys=False), encoding="utf-8")
    return path


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
