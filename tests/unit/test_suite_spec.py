"""Suite spec loading: validation errors name file, line and field; paths resolve; hashing."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragwacht.errors import ConfigError
from ragwacht.evals.spec import MetricSpec, load_suite


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "profile.yaml").write_text("type: http\n", encoding="utf-8")
    p = tmp_path / "suite.yaml"
    p.write_text(text, encoding="utf-8")
    return p


GOOD = """\
name: my-suite
dataset: data
endpoint: profile.yaml
metrics:
  - recall@5
  - {name: faithfulness, judge: lex, count_unverifiable: false}
judges:
  lex: {type: lexical}
"""


def test_valid_suite_resolves_paths_relative_to_the_file(tmp_path: Path) -> None:
    spec = load_suite(_write(tmp_path, GOOD))
    assert spec.resolve(spec.dataset) == (tmp_path / "data").resolve()
    assert spec.metrics[0] == MetricSpec(name="recall@5")
    assert spec.metrics[1].judge == "lex"
    assert spec.metrics[1].options == {"count_unverifiable": False}
    assert spec.variant_names() == ["default"]


def test_suite_hash_changes_with_content_only(tmp_path: Path) -> None:
    a = load_suite(_write(tmp_path, GOOD)).suite_hash()
    b = load_suite(_write(tmp_path, "# comment\n" + GOOD)).suite_hash()
    c = load_suite(_write(tmp_path, GOOD.replace("recall@5", "recall@3"))).suite_hash()
    assert a == b
    assert a != c


def test_unknown_field_names_file_line_and_field(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as ei:
        load_suite(_write(tmp_path, GOOD + "thresholds: {}\n"))
    p = ei.value.first
    assert str(p.location.file).endswith("suite.yaml")
    assert p.location.line == 9
    assert p.location.field == "thresholds"
    assert "unknown field" in p.message
    assert p.hint


def test_missing_dataset_path_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as ei:
        load_suite(_write(tmp_path, GOOD.replace("dataset: data", "dataset: nope")))
    assert ei.value.first.location.field == "dataset"
    assert ei.value.first.location.line == 2


def test_broken_yaml_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as ei:
        load_suite(_write(tmp_path, GOOD + "metrics: [unclosed\n"))
    assert ei.value.first.location.line is not None
    assert "YAML" in ei.value.first.message


def test_all_problems_in_one_pass(tmp_path: Path) -> None:
    bad = "name: 'bad name!'\ndataset: data\nendpoint: profile.yaml\nmetrics: []\nfoo: 1\n"
    with pytest.raises(ConfigError) as ei:
        load_suite(_write(tmp_path, bad))
    fields = {p.location.field for p in ei.value.problems}
    assert {"name", "metrics", "foo"} <= fields
