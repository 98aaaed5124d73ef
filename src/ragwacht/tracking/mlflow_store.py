"""Log RunRecords to MLflow (experiment per suite, run per suite x variant) and find baselines."""

from __future__ import annotations

import atexit
import json
import logging
import os
import re
import shutil
import tempfile
import time
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from pydantic import BaseModel

from ragwacht.records import RunRecord
from ragwacht.tracking.ci_env import ci_context

if TYPE_CHECKING:  # pragma: no cover
    from mlflow.tracking import MlflowClient

log = logging.getLogger(__name__)

EXPERIMENT_PREFIX = "ragwacht/"
RECORD_ARTIFACT = "run.json"
_KEY_BAD = re.compile(r"[^A-Za-z0-9_\-. /]")
_PARAM_MAX = 6000  # MLflow's param value limit is 6000 characters
_BATCH_METRICS, _BATCH_PARAMS, _BATCH_TAGS = 1000, 100, 100


class RunSummary(BaseModel):
    """One earlier run, for trend charts."""

    run_id: str
    start_time: float
    git_sha: str | None = None
    means: dict[str, float]


def sanitize_key(key: str) -> str:
    """Make ``key`` an allowed MLflow metric/param key (``recall@5`` -> ``recall_at_5``)."""
    key = key.replace("@", "_at_").replace(":", "__")
    return _KEY_BAD.sub("_", key)[:250]


def resolve_tracking_uri(project_root: Path | None = None) -> str:
    """``MLFLOW_TRACKING_URI`` if set, else a SQLite store under ``<project>/.ragwacht/``."""
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return uri
    root = (project_root or Path.cwd()).resolve() / ".ragwacht"
    root.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{root / 'mlflow.db'}"


def _artifact_root(uri: str, project_root: Path | None) -> str | None:
    # For a local SQLite store keep artifacts beside the database, not in the cwd.
    if uri.startswith("sqlite:///"):
        db = Path(uri[len("sqlite:///") :])
        root = db.parent / "mlartifacts"
        root.mkdir(parents=True, exist_ok=True)
        return root.as_uri()
    return None


def _quiet_mlflow_env() -> None:
    # Fail fast when a server is down instead of retrying for minutes.
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "20")
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("mlflow").setLevel(logging.WARNING)


def _check_reachable(uri: str) -> None:
    if uri.startswith(("http://", "https://")):
        try:
            httpx.get(uri.rstrip("/") + "/health", timeout=5.0)
        except httpx.HTTPError as exc:
            raise ConnectionError(f"MLflow server {uri} is not reachable: {exc}") from exc


def _client(tracking_uri: str | None, project_root: Path | None) -> tuple[MlflowClient, str]:
    _quiet_mlflow_env()
    uri = tracking_uri or resolve_tracking_uri(project_root)
    _check_reachable(uri)
    from mlflow.tracking import MlflowClient  # lazy: heavy (mlflow)

    return MlflowClient(tracking_uri=uri), uri


def _experiment_id(client: MlflowClient, suite: str, uri: str, project_root: Path | None) -> str:
    name = EXPERIMENT_PREFIX + suite
    exp = client.get_experiment_by_name(name)
    if exp is not None:
        return str(exp.experiment_id)
    return str(client.create_experiment(name, artifact_location=_artifact_root(uri, project_root)))


def _flatten(prefix: str, value: Any, out: dict[str, str]) -> None:
    if isinstance(value, Mapping):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    elif isinstance(value, list | tuple) and value and all(isinstance(v, Mapping) for v in value):
        for i, v in enumerate(value):
            _flatten(f"{prefix}.{i}", v, out)
    elif value is not None:
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        out[sanitize_key(prefix)] = text[:_PARAM_MAX]


def run_params(record: RunRecord) -> dict[str, str]:
    """Params of a run: what it was computed on and with (no secrets: names only)."""
    m = record.manifest
    params: dict[str, str] = {
        "harness_version": m.harness_version,
        "dataset.name": m.dataset_name,
        "dataset.version": m.dataset_version,
        "dataset.digest": m.dataset_digest,
        "suite.hash": m.suite_hash,
        "variant": record.variant,
        "cases": str(len(record.cases)),
    }
    _flatten("endpoint", m.endpoint_profile, params)
    _flatten("variant_settings", m.variant_settings, params)
    for j in m.judges:
        base = f"judge.{sanitize_key(j.id)}"
        params[f"{base}.kind"] = j.kind
        if j.model:
            params[f"{base}.model"] = j.model
        if j.prompt_version:
            params[f"{base}.prompt_version"] = j.prompt_version
        if j.prompt_hash:
            params[f"{base}.prompt_hash"] = j.prompt_hash
    for md in m.metrics:
        params[f"metric.{sanitize_key(str(md.get('name')))}.version"] = str(md.get("version"))
    return params


def run_metrics(record: RunRecord) -> dict[str, float]:
    """Metrics of a run: per metric mean, CI bounds, scored/total/errors, percentiles, per tag."""
    out: dict[str, float] = {}
    for mid, s in record.summary.items():
        k = sanitize_key(mid)
        for name, val in (
            ("mean", s.mean),
            ("ci_low", s.ci_low),
            ("ci_high", s.ci_high),
            ("p50", s.p50),
            ("p95", s.p95),
        ):
            if val is not None:
                out[f"{k}.{name}" if name != "mean" else k] = float(val)
        out[f"{k}.scored"] = float(s.scored)
        out[f"{k}.total"] = float(s.total)
        out[f"{k}.errors"] = float(s.errors)
        for key, groups in s.by_tag.items():
            for val_name, ts in groups.items():
                if ts.mean is not None:
                    out[sanitize_key(f"{mid}.tag.{key}.{val_name}")] = float(ts.mean)
    out["endpoint_errors"] = float(record.endpoint_errors)
    out["judge_errors"] = float(record.judge_errors)
    if record.gate is not None:
        out["gate.passed"] = 1.0 if record.gate.verdict == "pass" else 0.0
    return out


def run_tags(record: RunRecord, kind: str = "run") -> dict[str, str]:
    """Tags: what to find the run by (suite, variant, branch) and where it came from."""
    m = record.manifest
    tags = {
        "ragwacht.suite": record.suite,
        "ragwacht.variant": record.variant,
        "ragwacht.kind": kind,
        "ragwacht.run_id": record.run_id,
        "ragwacht.dataset_digest": m.dataset_digest,
        "mlflow.runName": f"{record.suite}/{record.variant}",
    }
    if m.git_branch:
        tags["ragwacht.branch"] = m.git_branch
    if m.git_sha:
        tags["ragwacht.git_sha"] = m.git_sha
        tags["mlflow.source.git.commit"] = m.git_sha
    for k in ("pr", "ci_url", "provider", "base_branch"):
        if m.ci.get(k):
            tags[f"ragwacht.ci.{k}"] = m.ci[k]
    if record.gate is not None:
        tags["ragwacht.gate"] = record.gate.verdict
    return tags


def _chunks(items: list[Any], n: int) -> Iterable[list[Any]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]


def _log_dataset(client: MlflowClient, run_id: str, record: RunRecord) -> None:
    # The dataset is identified by ragwacht's own digest, so MLflow shows exactly which cases.
    from mlflow.entities import Dataset, DatasetInput, InputTag  # lazy: heavy (mlflow)

    m = record.manifest
    ds = Dataset(
        name=m.dataset_name,
        digest=m.dataset_digest.removeprefix("sha256:")[:36],
        source_type="local",
        source=json.dumps({"path": m.dataset_path or "", "digest": m.dataset_digest}),
        schema=None,
        profile=json.dumps({"num_cases": len(record.cases), "version": m.dataset_version}),
    )
    client.log_inputs(
        run_id, datasets=[DatasetInput(ds, tags=[InputTag("mlflow.data.context", "eval")])]
    )


def log_run(
    record: RunRecord,
    *,
    artifacts: Mapping[str, Path] | None = None,
    tracking_uri: str | None = None,
    project_root: Path | None = None,
    parent_run_id: str | None = None,
    kind: str = "run",
) -> str | None:
    """Log a record to MLflow; return the MLflow run id, or None (with a warning) on failure."""
    try:
        from mlflow.entities import Metric, Param, RunTag  # lazy: heavy (mlflow)

        client, uri = _client(tracking_uri, project_root)
        exp_id = _experiment_id(client, record.suite, uri, project_root)
        tags = run_tags(record, kind)
        if parent_run_id:
            tags["mlflow.parentRunId"] = parent_run_id
        run = client.create_run(exp_id, tags=tags, run_name=tags["mlflow.runName"])
        rid = run.info.run_id
        try:
            ts = int(time.time() * 1000)
            metrics = [Metric(k, v, ts, 0) for k, v in run_metrics(record).items()]
            params = [Param(k, v) for k, v in run_params(record).items()]
            for chunk in _chunks(metrics, _BATCH_METRICS):
                client.log_batch(rid, metrics=chunk)
            for chunk in _chunks(params, _BATCH_PARAMS):
                client.log_batch(rid, params=chunk)
            try:
                _log_dataset(client, rid, record)
            except Exception as exc:  # the dataset view is a convenience; the digest is a param
                log.debug("dataset input not logged: %s", exc)
            for path in (artifacts or {}).values():
                if path and Path(path).exists():
                    client.log_artifact(rid, str(path))
            if not any(Path(p).name == RECORD_ARTIFACT for p in (artifacts or {}).values()):
                with tempfile.TemporaryDirectory() as td:
                    p = Path(td) / RECORD_ARTIFACT
                    record.model_copy().save(p)  # the copy keeps ``record`` where it was
                    client.log_artifact(rid, str(p))
            client.log_batch(rid, tags=[RunTag("ragwacht.complete", "true")])
            client.set_terminated(rid, "FINISHED")
        except BaseException:
            client.set_terminated(rid, "FAILED")
            raise
        return str(rid)
    except Exception as exc:
        warnings.warn(
            f"MLflow logging failed ({type(exc).__name__}: {exc}); the run record is on disk"
            " and can be logged later with ragwacht.tracking.log_record_file(PATH)",
            RuntimeWarning,
            stacklevel=2,
        )
        return None


def log_record_file(
    path: str | Path, *, tracking_uri: str | None = None, project_root: Path | None = None
) -> str | None:
    """Re-log a record written to disk earlier (after an outage)."""
    path = Path(path)
    record = RunRecord.load(path)
    arts = {"record": path}
    for name in ("cases.csv", "report.html", "junit.xml", "summary.md", "metrics.txt"):
        if (path.parent / name).exists():
            arts[name] = path.parent / name
    return log_run(record, artifacts=arts, tracking_uri=tracking_uri, project_root=project_root)


def _filter(variant: str, branch: str | None) -> str:
    filt = [
        f"tags.`ragwacht.variant` = '{variant}'",
        "tags.`ragwacht.kind` = 'run'",
        "tags.`ragwacht.complete` = 'true'",
        "attributes.status = 'FINISHED'",
    ]
    if branch:
        filt.append(f"tags.`ragwacht.branch` = '{branch}'")
    return " and ".join(filt)


def _search(
    client: MlflowClient, exp_id: str, suite: str, variant: str, branch: str | None, n: int
) -> list[Any]:
    return list(
        client.search_runs(
            [exp_id],
            filter_string=_filter(variant, branch),
            order_by=["attributes.start_time DESC"],
            max_results=n,
        )
    )


# How many of the newest runs a baseline search looks through for one that passed its gate.
_BASELINE_SEARCH_MAX = 1000


def _gate_failed(run: Any) -> bool:
    """Whether an MLflow run failed its quality gate (tag, or the gate.passed metric)."""
    if run.data.tags.get("ragwacht.gate") == "fail":
        return True
    return run.data.metrics.get("gate.passed") == 0.0


def _baseline_candidates(
    client: MlflowClient, exp_id: str, variant: str, branch: str | None
) -> Iterable[Any]:
    """Finished runs newest first, page by page, without those that failed their gate.

    A run that failed its gate must never set the bar for the next one (a regressed run on
    ``main`` would otherwise lower it). Runs without a gate verdict are kept: they come from
    suites without a gate policy (every run of a suite with one is gated, ``--gate`` or not)
    or from before gating, and no failed check is known about them.
    """
    token: str | None = None
    seen = 0
    while seen < _BASELINE_SEARCH_MAX:
        page = client.search_runs(
            [exp_id],
            filter_string=_filter(variant, branch),
            order_by=["attributes.start_time DESC"],
            max_results=100,
            page_token=token,
        )
        for run in page:
            seen += 1
            if not _gate_failed(run):
                yield run
        token = getattr(page, "token", None)
        if not token or not len(page):
            return


def baseline_branch(branch: str | None) -> str | None:
    """The branch baselines come from: a pull/merge request's target branch in CI, else ``branch``.

    Used by both the baseline lookup and the trend, so they always agree.
    """
    ctx = ci_context(use_git=False)
    if ctx.get("pr") and ctx.get("base_branch"):
        return ctx["base_branch"]
    return branch


def find_baseline(
    suite: str,
    variant: str,
    *,
    branch: str | None = "main",
    tracking_uri: str | None = None,
    exclude_run_id: str | None = None,
    project_root: Path | None = None,
) -> RunRecord | None:
    """The newest finished run of ``suite``/``variant`` on ``branch`` that did not fail its gate.

    Runs whose gate verdict is *fail* are skipped (see :func:`_baseline_candidates`).

    Raises:
        Exception: whatever the tracking store raises when it cannot be reached or read; the
            caller fails the gate closed on it.

    """
    client, _uri = _client(tracking_uri, project_root)
    exp = client.get_experiment_by_name(EXPERIMENT_PREFIX + suite)
    if exp is None:
        return None
    base = baseline_branch(branch)
    for run in _baseline_candidates(client, str(exp.experiment_id), variant, base):
        if exclude_run_id and run.data.tags.get("ragwacht.run_id") == exclude_run_id:
            continue
        # The record stays on disk while the process runs: its cases are read from there.
        td = tempfile.mkdtemp(prefix="ragwacht-baseline-")
        atexit.register(shutil.rmtree, td, ignore_errors=True)
        local = client.download_artifacts(run.info.run_id, RECORD_ARTIFACT, td)
        rec = RunRecord.load(local)
        if rec.gate is not None and rec.gate.verdict == "fail":
            continue  # the record knows better than a missing or stale tag
        rec.mlflow_run_id = run.info.run_id
        return rec
    return None


def list_runs(
    suite: str,
    variant: str,
    *,
    branch: str | None = "main",
    limit: int = 20,
    tracking_uri: str | None = None,
    project_root: Path | None = None,
) -> list[RunSummary]:
    """The last ``limit`` finished runs (oldest first) with their metric means, for trends."""
    client, _uri = _client(tracking_uri, project_root)
    exp = client.get_experiment_by_name(EXPERIMENT_PREFIX + suite)
    if exp is None:
        return []
    runs = _search(client, str(exp.experiment_id), suite, variant, baseline_branch(branch), limit)
    out = [
        RunSummary(
            run_id=r.info.run_id,
            start_time=r.info.start_time / 1000.0,
            git_sha=r.data.tags.get("ragwacht.git_sha"),
            means={k: v for k, v in r.data.metrics.items() if "." not in k},
        )
        for r in runs
    ]
    return list(reversed(out))


def log_comparison(
    comparison: Any,
    records: list[RunRecord],
    *,
    artifacts: Mapping[str, Path] | None = None,
    tracking_uri: str | None = None,
    project_root: Path | None = None,
) -> str | None:
    """Log a comparison as a parent run with one child run per variant."""
    try:
        from mlflow.entities import Metric, RunTag  # lazy: heavy (mlflow)

        client, uri = _client(tracking_uri, project_root)
        exp_id = _experiment_id(client, comparison.suite, uri, project_root)
        parent = client.create_run(
            exp_id,
            tags={
                "ragwacht.suite": comparison.suite,
                "ragwacht.kind": "comparison",
                "ragwacht.variants": ",".join(comparison.variants),
                "ragwacht.reference": comparison.reference,
            },
            run_name=f"{comparison.suite}/compare:{','.join(comparison.variants)}",
        )
        pid = parent.info.run_id
        ts = int(time.time() * 1000)
        metrics = []
        for c in comparison.comparisons:
            if c.mean_diff is not None:
                key = sanitize_key(f"diff.{c.variant}.{c.metric}")
                metrics.append(Metric(key, float(c.mean_diff), ts, 0))
            if c.p_value is not None:
                key = sanitize_key(f"p.{c.variant}.{c.metric}")
                metrics.append(Metric(key, float(c.p_value), ts, 0))
        for chunk in _chunks(metrics, _BATCH_METRICS):
            client.log_batch(pid, metrics=chunk)
        for path in (artifacts or {}).values():
            if path and Path(path).exists():
                client.log_artifact(pid, str(path))
        for rec in records:
            child = log_run(
                rec,
                tracking_uri=uri,
                project_root=project_root,
                parent_run_id=pid,
                kind="comparison-child",
            )
            if child is None:
                raise RuntimeError(f"child run for variant {rec.variant} not logged")
        client.log_batch(pid, tags=[RunTag("ragwacht.complete", "true")])
        client.set_terminated(pid, "FINISHED")
        return str(pid)
    except Exception as exc:
        warnings.warn(
            f"MLflow logging of the comparison failed ({type(exc).__name__}: {exc});"
            " the comparison is on disk",
            RuntimeWarning,
            stacklevel=2,
        )
        return None
