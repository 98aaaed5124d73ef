"""``ragwacht compare`` on the demo bot: reranker on/off and top_k 3/8.

The comparison's paired differences must agree with the per-variant runs computed separately,
and the comparison is logged to MLflow as a parent run with one child per variant.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ragwacht.cli import app
from ragwacht.evals.run import RunOptions, run_suite
from ragwacht.records import ComparisonRecord, RunRecord
from tests.helpers.demo_bot import running_demo_bot

pytestmark = [pytest.mark.integration, pytest.mark.slow]

VARIANTS = ["default", "no-reranker", "top3", "top8"]


def _values(rec: RunRecord, metric: str) -> dict[str, float]:
    return {
        c.case_id: m.value
        for c in rec.cases
        if (m := c.metrics.get(metric)) is not None and m.value is not None
    }


def test_compare_agrees_with_per_variant_runs(
    repo_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    suite = repo_root / "evals" / "registers-demo.yaml"
    with running_demo_bot() as url:
        result = CliRunner().invoke(
            app,
            [
                "compare",
                str(suite),
                "--variants",
                ",".join(VARIANTS),
                "--out",
                str(tmp_path / "cmp"),
                "--base-url",
                url,
                "--lang",
                "en",
                "-q",
            ],
            catch_exceptions=False,
        )
        assert result.exit_code == 0, result.output
        separate = {
            v: run_suite(
                suite,
                RunOptions(
                    variant=v,
                    out_dir=tmp_path / "separate" / v,
                    mlflow=False,
                    baseline="none",
                    base_url=url,
                    progress=False,
                    write_report=False,
                ),
            ).record
            for v in ("default", "top3")
        }
    cmp = ComparisonRecord.model_validate_json(
        (tmp_path / "cmp" / "comparison.json").read_text(encoding="utf-8")
    )
    assert cmp.reference == "default"
    assert cmp.variants == VARIANTS
    html = (tmp_path / "cmp" / "comparison.html").read_text(encoding="utf-8")
    for v in VARIANTS:
        assert v in html

    # Differences agree with the separately run variants, case by case.
    for metric in ("recall@5", "mrr", "faithfulness"):
        a = _values(separate["top3"], metric)
        b = _values(separate["default"], metric)
        shared = sorted(set(a) & set(b))
        expected = sum(a[i] - b[i] for i in shared) / len(shared)
        row = next(c for c in cmp.comparisons if c.variant == "top3" and c.metric == metric)
        assert row.n == len(shared)
        assert row.mean_diff == pytest.approx(expected, abs=1e-9)
        assert row.wins + row.ties + row.losses == row.n

    # Fewer passages cannot find more gold passages: recall@5 with top_k 3 is not better.
    recall = next(c for c in cmp.comparisons if c.variant == "top3" and c.metric == "recall@5")
    assert recall.mean_diff is not None and recall.mean_diff <= 0
    assert recall.wins == 0

    # Logged to MLflow: a parent run with one child per variant.
    from mlflow.tracking import MlflowClient

    assert cmp.mlflow_parent_run_id
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    parent = client.get_run(cmp.mlflow_parent_run_id)
    children = client.search_runs(
        [parent.info.experiment_id],
        filter_string=f"tags.`mlflow.parentRunId` = '{cmp.mlflow_parent_run_id}'",
    )
    assert sorted(r.data.tags["ragwacht.variant"] for r in children) == sorted(VARIANTS)
