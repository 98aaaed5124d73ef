"""One baseline resolver and one finishing stage for `run`, `gate` and `baseline save`.

The records are real: a small suite is run against a Python callable, and `gate` and
`baseline save` are pointed at its run.json from another folder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import ragwacht.evals.baseline as baseline_mod
from ragwacht.cli.app import app
from ragwacht.evals.baseline import resolve_baseline, suite_of_record
from ragwacht.evals.run import RunOptions, run_suite
from ragwacht.evals.spec import load_suite
from ragwacht.records import RunRecord
from tests.helpers.mini_project import mini_project

runner = CliRunner()
CASES = [
    {"id": f"q{i}", "question": f"Wat is de BAG {i}?", "reference_answer": "Een register."}
    for i in range(4)
]


def _project(root: Path) -> Path:
    return mini_project(
        root,
        cases=CASES,
        suite_dir="suites",
        marker=True,
        gate={"rules": [{"metric": "faithfulness", "min": 0.0}]},
        baseline={"branch": "develop"},
    )


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, Path]:
    suite = _project(tmp_path / "proj")
    out = run_suite(
        suite, RunOptions(out_dir=tmp_path / "proj" / "out", mlflow=False, progress=False)
    )
    return suite, out.files["record"]


def test_a_record_finds_its_suite_from_any_folder_of_the_project(
    project: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    suite, run_json = project
    record = RunRecord.load(run_json)
    deep = suite.parent / "a" / "b"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    spec = suite_of_record(record)
    assert spec is not None and spec.path == suite.resolve()
    # A suite of another name at the same path is not this record's suite.
    monkeypatch.chdir(deep)
    other = record.model_copy(update={"suite": "other"})
    assert suite_of_record(other) is None


def test_gate_asks_mlflow_with_the_suites_branch_and_project_root(
    project: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    suite, run_json = project
    seen: dict[str, Any] = {}
    base = RunRecord.load(run_json).model_copy(update={"run_id": "b" * 32})

    def fake_find(suite_name: str, variant: str, **kw: Any) -> RunRecord:
        seen.update(kw, suite=suite_name, variant=variant)
        return base

    monkeypatch.setattr(baseline_mod, "find_baseline", fake_find)
    monkeypatch.chdir(suite.parent)  # not the project root
    res = runner.invoke(app, ["gate", str(run_json), "--baseline", "mlflow"])
    assert res.exit_code == 0, res.output
    assert seen["branch"] == "develop"
    assert seen["project_root"] == (suite.parents[1]).resolve()
    assert seen["suite"] == "mini" and seen["exclude_run_id"] == RunRecord.load(run_json).run_id


def test_gate_and_run_resolve_the_same_baseline_file(
    project: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    suite, run_json = project
    record = RunRecord.load(run_json)
    spec = load_suite(suite)
    # `baseline save` without --to writes where `run` will look, from any folder.
    monkeypatch.chdir(suite.parent)
    res = runner.invoke(app, ["baseline", "save", str(run_json)])
    assert res.exit_code == 0, res.output
    expected = spec.project_root / "ci" / "baselines" / "mini.json"
    assert expected.is_file(), res.output
    assert not (suite.parent / "ci").exists()
    found = resolve_baseline("mini", "default", None, spec=spec, mlflow=False)
    assert found.record is not None and found.record.run_id == record.run_id
    assert found.source == "file ci/baselines/mini.json"
    # ... and `run` gates against it: the record says so.
    again = run_suite(
        suite, RunOptions(out_dir=spec.project_root / "out2", mlflow=False, progress=False)
    )
    assert again.baseline is not None and again.baseline.run_id == record.run_id
    assert again.gate is not None and again.gate.baseline_source == "file ci/baselines/mini.json"


def test_gate_update_record_writes_the_verdict_once_through_the_finish_stage(
    project: tuple[Path, Path], tmp_path: Path
) -> None:
    _suite, run_json = project
    junit = tmp_path / "j.xml"
    res = runner.invoke(
        app,
        [
            "gate",
            str(run_json),
            "--update-record",
            "--junit",
            str(junit),
            "--json",
            str(tmp_path / "g.json"),
        ],
    )
    assert res.exit_code == 0, res.output
    stored = RunRecord.load(run_json)
    assert stored.gate is not None and stored.gate["verdict"] == "pass"
    assert junit.is_file()
    assert json.loads((tmp_path / "g.json").read_text("utf-8"))["verdict"] == "pass"


def test_a_broken_suite_file_is_reported_not_mistaken_for_no_suite(
    project: tuple[Path, Path],
) -> None:
    suite, run_json = project
    suite.write_text("name: mini\nmetrics: [\n", encoding="utf-8")
    res = runner.invoke(app, ["gate", str(run_json)])
    assert res.exit_code == 2
    assert "suite.yaml" in res.output
