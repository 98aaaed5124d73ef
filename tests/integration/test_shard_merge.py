"""``ragwacht run --shard I/N`` three times and ``ragwacht merge`` equal one unsharded run.

The demo suite against the demo bot over HTTP, through the real CLI. The unsharded run fills
the response cache, the shards read it, so both score the same answers; the merged record
must then agree with the unsharded one case by case and in the gate. Shards that are not the
complete parts of one run are refused with exit 2.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ragwacht.cli import app
from ragwacht.errors import ExitCode
from ragwacht.evals.shard import case_results_digest
from ragwacht.records import RunRecord

pytestmark = [pytest.mark.integration, pytest.mark.slow]

LIMIT = "30"


def _cli(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(app, list(args), catch_exceptions=False)
    return res.exit_code, res.output


def _rules(rec: RunRecord) -> list[tuple[str, bool | None, float | None]]:
    assert rec.gate is not None
    return [(r.name, r.passed, r.observed) for r in rec.gate.rules]


def test_three_shards_and_a_merge_equal_one_run(repo_root: Path, tmp_path: Path) -> None:
    from tests.helpers.demo_bot import running_demo_bot

    suite = str(repo_root / "evals" / "registers-demo.yaml")
    common = ["--no-mlflow", "--limit", LIMIT, "-q"]
    with running_demo_bot() as url:
        code, out = _cli(
            "run", suite, "--out", str(tmp_path / "whole"), "--base-url", url,
            "--gate", "--cache", "--baseline", "none", *common,
        )  # fmt: skip
        assert code == 0, out
        for i in (1, 2, 3):
            code, out = _cli(
                "run", suite, "--shard", f"{i}/3", "--out", str(tmp_path / f"s{i}"),
                "--base-url", url, *common,
            )  # fmt: skip
            assert code == 0, out
            assert f"shard {i}/3" in out and "ragwacht merge" in out
    shards = [tmp_path / f"s{i}" / "run.json" for i in (1, 2, 3)]
    parts = [RunRecord.load(p) for p in shards]
    assert all(p.gate is None and p.shard is not None for p in parts)
    assert sum(len(p.cases) for p in parts) == int(LIMIT)
    assert all(len(p.cases) > 0 for p in parts)
    assert not (tmp_path / "s1" / "report.html").exists()  # a shard has no report of its own

    # The shards in any order; the merged record lists cases in the dataset's order.
    code, out = _cli(
        "merge", *map(str, reversed(shards)), "--out", str(tmp_path / "merged"),
        "--gate", "--baseline", "none", "--no-mlflow",
    )  # fmt: skip
    assert code == 0, out
    whole = RunRecord.load(tmp_path / "whole" / "run.json")
    merged = RunRecord.load(tmp_path / "merged" / "run.json")
    assert [c.case_id for c in merged.cases] == [c.case_id for c in whole.cases]
    assert case_results_digest(merged) == case_results_digest(whole)
    assert merged.merged_from == [p.run_id for p in parts]
    assert merged.shard is None
    for mid, s in whole.summary.items():
        m = merged.summary[mid]
        assert (m.mean, m.ci_low, m.ci_high, m.scored, m.total) == (
            s.mean, s.ci_low, s.ci_high, s.scored, s.total,
        ), mid  # fmt: skip
        assert m.by_tag == s.by_tag, mid
    assert merged.gate is not None and whole.gate is not None
    assert (merged.gate.verdict, merged.gate.exit_code) == (whole.gate.verdict, 0)
    assert _rules(merged) == _rules(whole)
    for name in ("report.html", "junit.xml", "summary.md", "cases.csv"):
        assert (tmp_path / "merged" / name).is_file(), name

    # Not the complete parts of one run: exit 2 with the reason, and no traceback.
    merged_dir = str(tmp_path / "bad")
    code, out = _cli("merge", str(shards[0]), str(shards[2]), "--out", merged_dir, "--no-mlflow")
    assert code == ExitCode.CONFIG == 2 and "2/3 missing" in out, out
    code, out = _cli("merge", *map(str, shards), str(shards[1]), "--out", merged_dir, "--no-mlflow")
    assert code == 2 and "given twice" in out, out
    code, out = _cli("merge", *map(str, shards[:2]), str(tmp_path / "whole" / "run.json"),
                     "--out", merged_dir, "--no-mlflow")  # fmt: skip
    assert code == 2 and "not a shard record" in out, out
    # A shard that claims another split of the cases.
    forged = json.loads(shards[2].read_text(encoding="utf-8"))
    forged["cases"] = forged["cases"][1:]
    (tmp_path / "forged.json").write_text(json.dumps(forged), encoding="utf-8")
    code, out = _cli("merge", *map(str, shards[:2]), str(tmp_path / "forged.json"),
                     "--out", merged_dir, "--no-mlflow")  # fmt: skip
    assert code == 2 and "1 missing" in out, out
    assert "Traceback" not in out
    assert not (tmp_path / "bad").exists()  # nothing written for a refused merge

    # A shard is not a run: it is not gated alone, nor used as a baseline.
    code, out = _cli("gate", str(shards[0]))
    assert code == 2 and "merge the shards first" in out, out
    code, out = _cli(
        "run", suite, "--shard", "1/3", "--gate", "--out", str(tmp_path / "x"), *common
    )
    assert code == 2 and "gated when merged" in out, out
    code, out = _cli("gate", str(tmp_path / "merged" / "run.json"), "--baseline", str(shards[0]))
    assert code == 2 and "shard 1/3" in out, out
