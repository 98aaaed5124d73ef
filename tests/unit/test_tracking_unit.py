"""Unit tests of MLflow tracking helpers: key sanitizing, CI context, params without secrets."""

from __future__ import annotations

from datetime import UTC, datetime

from ragwacht.records import Manifest, MetricSummary, RunRecord, TagSummary
from ragwacht.tracking import sanitize_key
from ragwacht.tracking.ci_env import ci_context
from ragwacht.tracking.mlflow_store import run_metrics, run_params, run_tags


def _record(**manifest_kw: object) -> RunRecord:
    m = Manifest(
        harness_version="0.1.0",
        suite_name="s",
        suite_hash="sha256:1",
        dataset_name="d",
        dataset_version="1",
        dataset_digest="sha256:abc",
        started_at=datetime.now(UTC),
        **manifest_kw,  # type: ignore[arg-type]
    )
    summary = {
        "recall@5": MetricSummary(
            metric="recall@5",
            mean=0.5,
            ci_low=0.4,
            ci_high=0.6,
            scored=9,
            total=10,
            errors=1,
            by_tag={"topic": {"woz en bag": TagSummary(mean=0.25, scored=4, total=4)}},
        ),
        "latency_ms": MetricSummary(
            metric="latency_ms",
            kind="measure",
            mean=120.0,
            p50=100.0,
            p95=300.0,
            scored=10,
            total=10,
        ),
    }
    return RunRecord(run_id="r1", suite="s", variant="v", manifest=m, cases=[], summary=summary)


def test_sanitize_key_maps_cutoffs_and_backends() -> None:
    assert sanitize_key("recall@5") == "recall_at_5"
    assert sanitize_key("ragas:faithfulness") == "ragas__faithfulness"
    assert sanitize_key("x<y>z") == "x_y_z"


def test_run_metrics_have_means_bounds_counts_and_tags() -> None:
    m = run_metrics(_record())
    assert m["recall_at_5"] == 0.5
    assert m["recall_at_5.ci_low"] == 0.4
    assert m["recall_at_5.scored"] == 9.0
    assert m["recall_at_5.errors"] == 1.0
    assert m["recall_at_5.tag.topic.woz en bag"] == 0.25
    assert m["latency_ms.p95"] == 300.0


def test_params_carry_env_var_names_never_values(monkeypatch) -> None:
    monkeypatch.setenv("DEMO_TOKEN", "s3cr3t-value-123")
    rec = _record(
        endpoint_profile={
            "type": "http",
            "url": "http://127.0.0.1:1/chat",
            "headers": {"Authorization": "Bearer ${env:DEMO_TOKEN}"},
        }
    )
    params = run_params(rec)
    joined = " ".join(params.values())
    assert "DEMO_TOKEN" in joined
    assert "s3cr3t-value-123" not in joined
    assert params["dataset.digest"] == "sha256:abc"


def test_ci_context_github_pull_request() -> None:
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_SHA": "abc123",
        "GITHUB_REF": "refs/pull/42/merge",
        "GITHUB_HEAD_REF": "feature/x",
        "GITHUB_BASE_REF": "main",
        "GITHUB_SERVER_URL": "https://github.example",
        "GITHUB_REPOSITORY": "org/repo",
        "GITHUB_RUN_ID": "7",
    }
    ctx = ci_context(env, use_git=False)
    assert ctx == {
        "provider": "github",
        "git_sha": "abc123",
        "branch": "feature/x",
        "base_branch": "main",
        "pr": "42",
        "ci_url": "https://github.example/org/repo/actions/runs/7",
    }


def test_ci_context_gitlab_merge_request() -> None:
    env = {
        "GITLAB_CI": "true",
        "CI_COMMIT_SHA": "def456",
        "CI_COMMIT_REF_NAME": "feature/y",
        "CI_MERGE_REQUEST_IID": "9",
        "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": "feature/y",
        "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "develop",
        "CI_JOB_URL": "https://gitlab.example/job/1",
    }
    ctx = ci_context(env, use_git=False)
    assert ctx["provider"] == "gitlab"
    assert ctx["pr"] == "9"
    assert ctx["base_branch"] == "develop"
    assert ctx["branch"] == "feature/y"
    assert ctx["ci_url"] == "https://gitlab.example/job/1"


def test_ci_context_outside_ci_is_empty_without_git() -> None:
    assert ci_context({}, use_git=False) == {}


def test_tags_identify_suite_variant_branch() -> None:
    rec = _record(git_branch="main", git_sha="abc", ci={"pr": "3"})
    tags = run_tags(rec)
    assert tags["ragwacht.suite"] == "s"
    assert tags["ragwacht.variant"] == "v"
    assert tags["ragwacht.branch"] == "main"
    assert tags["ragwacht.ci.pr"] == "3"
