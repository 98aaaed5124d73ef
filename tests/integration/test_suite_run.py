"""The whole job on real parts: the demo bot over HTTP, a real MLflow store, the CI gate.

A run on ``main`` becomes the baseline in MLflow; a pull request that degrades retrieval (top_k
1) exits 3 and names the flipped cases; an unchanged rerun exits 0.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from ragwacht.cli import app
from ragwacht.records import SCHEMA_VERSION, RunRecord
from tests.helpers.demo_bot import running_demo_bot

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MAIN_ENV = {"GITHUB_ACTIONS": "true", "GITHUB_SHA": "a" * 40, "GITHUB_REF_NAME": "main"}
PR_ENV = {
    "GITHUB_ACTIONS": "true",
    "GITHUB_SHA": "b" * 40,
    "GITHUB_REF": "refs/pull/7/merge",
    "GITHUB_HEAD_REF": "shrink-context",
    "GITHUB_BASE_REF": "main",
}


def _suite_copy(repo: Path, tmp: Path, top_k: int | None = None) -> Path:
    """The demo suite with absolute paths (and, for the 'pull request', a changed top_k)."""
    src = repo / "evals" / "registers-demo.yaml"
    data = yaml.safe_load(src.read_text(encoding="utf-8"))
    data["dataset"] = str(repo / "datasets" / "registers-demo")
    data["endpoint"] = str(repo / "runners" / "demo-bot.yaml")
    data["baseline"] = {"branch": "main", "mlflow": True, "file": str(tmp / "no-baseline.json")}
    if top_k is not None:
        data["variants"]["default"]["fields"]["top_k"] = top_k
    out = tmp / ("suite.yaml" if top_k is None else f"suite-top{top_k}.yaml")
    out.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return out


def _run(
    runner: CliRunner, suite: Path, out: Path, url: str, env: dict[str, str]
) -> tuple[int, str]:
    result = runner.invoke(
        app,
        ["run", str(suite), "--gate", "--out", str(out), "--base-url", url, "-q"],
        env=env,
        catch_exceptions=False,
    )
    return result.exit_code, result.output


def test_gate_on_real_parts(
    repo_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    for k in ("GITHUB_HEAD_REF", "GITHUB_BASE_REF", "GITHUB_REF", "GITLAB_CI", "CI_COMMIT_SHA"):
        monkeypatch.delenv(k, raising=False)
    runner = CliRunner()
    suite = _suite_copy(repo_root, tmp_path)
    degraded = _suite_copy(repo_root, tmp_path, top_k=1)
    with running_demo_bot() as url:
        # 1. main: no baseline yet, thresholds only; logged to MLflow as the future baseline.
        code, out = _run(runner, suite, tmp_path / "main", url, MAIN_ENV)
        assert code == 0, out
        main = RunRecord.load(tmp_path / "main" / "run.json")
        assert main.mlflow_run_id
        assert main.summary["recall@5"].scored == 78

        # 2. a pull request that degrades retrieval: a real regression, exit 3.
        code, out = _run(runner, degraded, tmp_path / "pr", url, PR_ENV)
        assert code == 3, out
        pr = RunRecord.load(tmp_path / "pr" / "run.json")
        gate = pr.gate
        assert gate is not None and gate["verdict"] == "fail"
        failed = [r for r in gate["rules"] if not r["passed"]]
        assert any(r["metric"] == "recall@5" and r["kind"] == "regression" for r in failed)
        flips = {f["metric"]: f for f in gate["flips"]}
        flipped_ids = flips["recall@5"]["pass_to_fail"]
        assert flipped_ids, gate["flips"]
        # Flipped cases are named for the engineer, in the summary and in JUnit.
        summary = (tmp_path / "pr" / "summary.md").read_text(encoding="utf-8")
        assert flipped_ids[0] in summary
        junit = (tmp_path / "pr" / "junit.xml").read_text(encoding="utf-8")
        assert flipped_ids[0] in junit and "<failure" in junit

        # 3. an unchanged rerun against the same baseline: exit 0.
        code, out = _run(runner, suite, tmp_path / "rerun", url, PR_ENV)
        assert code == 0, out
        rerun = RunRecord.load(tmp_path / "rerun" / "run.json")
        assert rerun.gate is not None
        regression_rules = [r for r in rerun.gate["rules"] if r["kind"] == "regression"]
        assert regression_rules and all(r["passed"] for r in regression_rules)
        assert (
            json.loads((tmp_path / "rerun" / "run.json").read_text())["schema_version"]
            == SCHEMA_VERSION
        )
