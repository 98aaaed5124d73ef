"""`ragwacht gate` and `ragwacht baseline` on records written to disk."""

from __future__ import annotations

import json
from pathlib import Path

import xmlschema
from typer.testing import CliRunner

from ragwacht.cli.app import app
from ragwacht.records import RunRecord
from tests.helpers.records import make_record

XSD = Path(__file__).resolve().parents[1] / "data" / "gate" / "junit.xsd"
runner = CliRunner()


def _write(tmp: Path) -> tuple[Path, Path, Path]:
    base = make_record({"faithfulness": [1.0] * 40}, run_id="b" * 32)
    now = make_record({"faithfulness": [0.0] * 10 + [1.0] * 30})
    pol = tmp / "policy.yaml"
    pol.write_text("rules:\n  - {metric: faithfulness, min: 0.5}\n", encoding="utf-8")
    return base.save(tmp / "base.json"), now.save(tmp / "run.json"), pol


def test_gate_command_fails_with_3_and_writes_outputs(tmp_path: Path) -> None:
    base, run, pol = _write(tmp_path)
    summary = tmp_path / "step.md"
    res = runner.invoke(
        app,
        [
            "gate",
            str(run),
            "--baseline",
            str(base),
            "--policy",
            str(pol),
            "--junit",
            str(tmp_path / "j.xml"),
            "--markdown",
            str(tmp_path / "s.md"),
            "--metrics-txt",
            str(tmp_path / "m.txt"),
            "--json",
            str(tmp_path / "g.json"),
        ],
        env={"GITHUB_STEP_SUMMARY": str(summary), "GITHUB_ACTIONS": "true"},
    )
    assert res.exit_code == 3, res.output
    assert "::error title=" in res.output
    xmlschema.XMLSchema(XSD).validate(str(tmp_path / "j.xml"))
    assert (tmp_path / "s.md").read_text(encoding="utf-8").startswith("## ❌ FAIL")
    assert summary.read_text(encoding="utf-8") == (tmp_path / "s.md").read_text(encoding="utf-8")
    assert (tmp_path / "m.txt").read_text(encoding="utf-8").endswith("# EOF\n")
    assert json.loads((tmp_path / "g.json").read_text(encoding="utf-8"))["exit_code"] == 3
    assert RunRecord.load(run).gate is None  # the input is left alone without --update-record


def test_gate_command_passes_without_baseline(tmp_path: Path) -> None:
    _base, run, pol = _write(tmp_path)
    res = runner.invoke(app, ["gate", str(run), "--policy", str(pol)], env={})
    assert res.exit_code == 0, res.output
    assert "PASS" in res.output


def test_gate_command_config_errors_exit_2(tmp_path: Path) -> None:
    _base, run, _pol = _write(tmp_path)
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - {metric: recall@5, min: 0.5}\n", encoding="utf-8")
    res = runner.invoke(app, ["gate", str(run), "--policy", str(bad)])
    assert res.exit_code == 2
    assert "recall@5" in res.output
    res = runner.invoke(app, ["gate", str(run)])  # no policy anywhere
    assert res.exit_code == 2 and "--policy" in res.output


def test_baseline_save_slims_and_show(tmp_path: Path) -> None:
    rec = make_record({"faithfulness": [1.0, 0.5]}, answers=["long answer " * 50, "x"])
    run = rec.save(tmp_path / "run.json")
    target = tmp_path / "ci" / "baselines" / "demo-suite.json"
    res = runner.invoke(app, ["baseline", "save", str(run), "--to", str(target)])
    assert res.exit_code == 0, res.output
    saved = RunRecord.load(target)
    assert [c.metrics["faithfulness"].value for c in saved.cases] == [1.0, 0.5]
    assert all(c.response.answer is None for c in saved.cases)
    assert target.stat().st_size < run.stat().st_size
    res = runner.invoke(app, ["baseline", "show", str(target)])
    assert res.exit_code == 0 and "faithfulness" in res.output and "0.750" in res.output
