"""MLflow tracking against real stores: local SQLite, an HTTP server, PostgreSQL in CI."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ragwacht.records import CaseResult, Manifest, MetricResult, MetricSummary, Response, RunRecord
from ragwacht.tracking import find_baseline, list_runs, log_record_file, log_run

pytestmark = pytest.mark.integration


def _record(
    run_id: str, *, variant: str = "default", branch: str = "main", mean: float = 0.75
) -> RunRecord:
    vals = [1.0, 1.0, 1.0, 0.0] if mean == 0.75 else [1.0, 0.0, 0.0, 0.0]
    cases = [
        CaseResult(
            case_id=f"c{i}",
            tags=["topic:woz"],
            response=Response(case_id=f"c{i}", answer="antwoord"),
            metrics={"recall@5": MetricResult(metric="recall@5", value=v)},
        )
        for i, v in enumerate(vals)
    ]
    manifest = Manifest(
        harness_version="0.1.0",
        suite_name="suite-a",
        suite_hash="sha256:1",
        dataset_name="d",
        dataset_version="1",
        dataset_digest="sha256:" + "ab" * 32,
        started_at=datetime.now(UTC),
        git_branch=branch,
        endpoint_profile={
            "type": "http",
            "headers": {"Authorization": "Bearer ${env:TRACK_TOKEN}"},
        },
    )
    return RunRecord(
        run_id=run_id,
        suite="suite-a",
        variant=variant,
        manifest=manifest,
        cases=cases,
        summary={
            "recall@5": MetricSummary(metric="recall@5", mean=sum(vals) / 4, scored=4, total=4)
        },
    )


def _log(rec: RunRecord, tmp: Path, uri: str | None, root: Path) -> str | None:
    path = rec.save(tmp / f"{rec.run_id}" / "run.json")
    return log_run(rec, artifacts={"record": path}, tracking_uri=uri, project_root=root)


def _roundtrip(uri: str | None, tmp_path: Path) -> None:
    root = tmp_path / "project"
    root.mkdir()
    first = _log(_record("old", mean=0.25), tmp_path, uri, root)
    assert first is not None
    time.sleep(0.02)
    assert _log(_record("new"), tmp_path, uri, root) is not None
    # Neither another variant nor another branch may become the baseline.
    assert _log(_record("other-variant", variant="no-reranker"), tmp_path, uri, root)
    assert _log(_record("feature-branch", branch="feature/x"), tmp_path, uri, root)
    base = find_baseline("suite-a", "default", branch="main", tracking_uri=uri, project_root=root)
    assert base is not None
    assert base.run_id == "new"
    assert base.summary["recall@5"].mean == 0.75
    assert [c.case_id for c in base.cases] == ["c0", "c1", "c2", "c3"]
    # The run that is being gated is never its own baseline.
    again = find_baseline(
        "suite-a",
        "default",
        branch="main",
        tracking_uri=uri,
        project_root=root,
        exclude_run_id="new",
    )
    assert again is not None and again.run_id == "old"
    trend = list_runs("suite-a", "default", branch="main", tracking_uri=uri, project_root=root)
    assert [round(t.means["recall_at_5"], 2) for t in trend] == [0.25, 0.75]


def test_local_sqlite_store_logs_and_finds_baseline(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("TRACK_TOKEN", "very-secret-token-value")
    _roundtrip(None, tmp_path)
    db = tmp_path / "project" / ".ragwacht" / "mlflow.db"
    assert db.exists()
    # The secret value is nowhere in the store or its artifacts.
    blob = db.read_bytes()
    assert b"very-secret-token-value" not in blob
    assert b"TRACK_TOKEN" in blob
    for f in (tmp_path / "project" / ".ragwacht").rglob("*"):
        if f.is_file():
            assert b"very-secret-token-value" not in f.read_bytes()


def test_failed_run_is_never_the_baseline(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    from mlflow.tracking import MlflowClient

    from ragwacht.tracking import resolve_tracking_uri

    root = tmp_path / "p"
    root.mkdir()
    rid = _log(_record("good"), tmp_path, None, root)
    time.sleep(0.02)
    bad = _log(_record("crashed"), tmp_path, None, root)
    assert rid and bad
    client = MlflowClient(resolve_tracking_uri(root))
    client.set_terminated(bad, "FAILED")
    base = find_baseline("suite-a", "default", project_root=root)
    assert base is not None and base.run_id == "good"


def test_outage_returns_none_with_warning_quickly(tmp_path: Path) -> None:
    from tests.conftest import free_port

    rec = _record("x")
    path = rec.save(tmp_path / "run.json")
    t0 = time.monotonic()
    with pytest.warns(RuntimeWarning, match="record is on disk"):
        rid = log_run(
            rec, artifacts={"record": path}, tracking_uri=f"http://127.0.0.1:{free_port()}"
        )
    assert rid is None
    assert time.monotonic() - t0 < 10
    assert RunRecord.load(path).run_id == "x"  # nothing lost


def test_relog_record_file_after_outage(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    root = tmp_path / "p"
    root.mkdir()
    path = _record("later").save(tmp_path / "out" / "run.json")
    assert log_record_file(path, project_root=root) is not None
    assert find_baseline("suite-a", "default", project_root=root).run_id == "later"


@pytest.mark.slow
def test_http_tracking_server(tmp_path: Path, monkeypatch) -> None:
    """Over HTTP: the PostgreSQL-backed server CI starts, or a SQLite-backed one started here."""
    monkeypatch.setenv("TRACK_TOKEN", "very-secret-token-value")
    uri = os.environ.get("RAGWACHT_TEST_MLFLOW_URI")
    if uri:
        _roundtrip_unique(uri, tmp_path)
        return
    from tests.helpers.mlflow_server import mlflow_server

    with mlflow_server(tmp_path / "server") as url:
        _roundtrip(url, tmp_path)


def _roundtrip_unique(uri: str, tmp_path: Path) -> None:
    # A shared server may hold earlier runs: use a suite name of our own.
    import uuid

    suite = f"suite-{uuid.uuid4().hex[:8]}"
    root = tmp_path / "project"
    root.mkdir()
    recs = [_record("old", mean=0.25), _record("new")]
    for r in recs:
        r.suite = suite
        r.manifest.suite_name = suite
        assert _log(r, tmp_path, uri, root) is not None
        time.sleep(0.02)
    base = find_baseline(suite, "default", branch="main", tracking_uri=uri, project_root=root)
    assert base is not None and base.run_id == "new"


@pytest.mark.postgres
def test_postgres_backed_server_from_ci(tmp_path: Path) -> None:
    uri = os.environ.get("RAGWACHT_TEST_MLFLOW_URI")
    if not uri:
        pytest.skip("RAGWACHT_TEST_MLFLOW_URI not set (.ci/run starts MLflow on PostgreSQL)")
    import httpx

    assert httpx.get(uri + "/health", timeout=5).status_code == 200
    _roundtrip_unique(uri, tmp_path)
