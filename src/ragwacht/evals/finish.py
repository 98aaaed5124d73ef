"""The finishing stage every command that ends a run calls: baseline → gate → outputs → MLflow.

``ragwacht run`` calls it after :func:`ragwacht.evals.run.evaluate_suite`, ``ragwacht gate`` on
a stored record, and ``compare`` on each evaluated variant (no HTML report, CI annotations or
MLflow run of its own: the comparison has those). The record on disk is updated at
each step that changes it, so a crash in a later step never loses the gate verdict.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ragwacht._io import write_atomic
from ragwacht.ci.gate import gate
from ragwacht.ci.policy import GatePolicy
from ragwacht.errors import ConfigError, ExitCode
from ragwacht.evals.baseline import BaselineLookup
from ragwacht.records import GateResult, RunRecord
from ragwacht.reports.annotations import emit_annotations
from ragwacht.reports.html import write_run_report
from ragwacht.reports.junit import write_junit
from ragwacht.reports.markdown import append_step_summary, render_markdown
from ragwacht.reports.openmetrics import render_openmetrics
from ragwacht.tracking import log_run


@dataclass
class OutputPaths:
    """Where each output goes; None leaves it out.

    Attributes:
        junit: JUnit XML.
        markdown: the Markdown summary.
        metrics_txt: OpenMetrics text (GitLab metrics report, Prometheus textfile).
        report: the self-contained HTML report.
        gate_json: the gate result alone, as JSON.
        ci: append the summary to ``$GITHUB_STEP_SUMMARY`` and print ``::error``
            annotations when on GitHub Actions (only when there is a gate result).

    """

    junit: Path | None = None
    markdown: Path | None = None
    metrics_txt: Path | None = None
    report: Path | None = None
    gate_json: Path | None = None
    ci: bool = True

    @classmethod
    def in_dir(cls, out_dir: Path, *, report: bool = True, ci: bool = True) -> OutputPaths:
        """The files of ``ragwacht run``: ``junit.xml``, ``summary.md``, ``metrics.txt``, ..."""
        return cls(
            junit=out_dir / "junit.xml",
            markdown=out_dir / "summary.md",
            metrics_txt=out_dir / "metrics.txt",
            report=out_dir / "report.html" if report else None,
            ci=ci,
        )


@dataclass
class MlflowTarget:
    """Where and how to log the finished run to MLflow."""

    tracking_uri: str | None = None
    project_root: Path | None = None
    kind: str = "run"  # "partial" for a --limit run, which never becomes a baseline


@dataclass
class Finished:
    """What the finishing stage produced."""

    gate: GateResult | None = None
    exit_code: int = ExitCode.OK
    files: dict[str, Path] = field(default_factory=dict)


def write_outputs(
    record: RunRecord,
    gate_result: GateResult | None,
    paths: OutputPaths,
    *,
    lang: str = "nl",
    baseline: RunRecord | None = None,
    trend: list[Any] | None = None,
) -> dict[str, Path]:
    """Write the outputs ``paths`` names; return them by kind."""
    files: dict[str, Path] = {}
    if paths.junit is not None:
        files["junit"] = write_junit(record, gate_result, paths.junit)
    md = render_markdown(record, gate_result)
    if paths.markdown is not None:
        write_atomic(paths.markdown, md)
        files["markdown"] = paths.markdown
    if gate_result is not None and paths.ci:
        append_step_summary(md)  # only when $GITHUB_STEP_SUMMARY is set
        emit_annotations(record, gate_result)  # only on GitHub Actions
    if paths.metrics_txt is not None:
        write_atomic(paths.metrics_txt, render_openmetrics(record))
        files["metrics_txt"] = paths.metrics_txt
    if paths.gate_json is not None and gate_result is not None:
        write_atomic(paths.gate_json, gate_result.model_dump_json(indent=1))
        files["gate_json"] = paths.gate_json
    if paths.report is not None:
        files["report"] = write_run_report(
            record, paths.report, lang=lang, baseline=baseline, trend=trend
        )
    return files


def finish_run(
    record: RunRecord,
    *,
    policy: GatePolicy | None,
    lookup: BaselineLookup,
    record_path: Path | None,
    paths: OutputPaths,
    enforce_gate: bool = True,
    lang: str = "nl",
    trend: list[Any] | None = None,
    mlflow: MlflowTarget | None = None,
    artifacts: dict[str, Path] | None = None,
) -> Finished:
    """Gate ``record`` against the resolved baseline, write outputs, log to MLflow.

    Args:
        record: the scored run.
        policy: the gate policy (None: no gate, outputs only).
        lookup: the resolved baseline (see :func:`ragwacht.evals.baseline.resolve_baseline`);
            the caller decides whether its notes join the record's warnings.
        record_path: the record file to update with the gate and the MLflow run id (None:
            leave files alone).
        paths: the outputs to write.
        enforce_gate: the gate's verdict becomes the exit code (``run --gate``, ``gate``).
        lang: the HTML report's language.
        trend: earlier runs for the report's trend chart.
        mlflow: log the run there (None: do not log).
        artifacts: files already written (record, case table) to log with the outputs.

    """
    if record.shard is not None:
        raise ConfigError(
            f"the record is shard {record.shard.index}/{record.shard.count} of a run, "
            "not a whole run: it cannot be gated or reported alone",
            field="shard",
            hint="merge the shards first: ragwacht merge SHARD.json... --out DIR",
        )
    done = Finished(files=dict(artifacts or {}))
    if policy is not None:
        result = gate(
            record,
            lookup.record,
            policy,
            baseline_error=lookup.error,
            baseline_source=lookup.source,
        )
        record.gate = result
        done.gate = result
        if enforce_gate:
            done.exit_code = int(result.exit_code)
    if record_path is not None:
        done.files["record"] = record.save(record_path)
    done.files.update(
        write_outputs(record, done.gate, paths, lang=lang, baseline=lookup.record, trend=trend)
    )
    if mlflow is not None:
        run_id = log_run(
            record,
            artifacts=done.files,
            tracking_uri=mlflow.tracking_uri,
            project_root=mlflow.project_root,
            kind=mlflow.kind,
        )
        if run_id is None:
            where = done.files.get("record", "the run folder")
            record.warnings.append(f"MLflow logging failed; the run record is safe at {where}")
        record.mlflow_run_id = run_id
        if record_path is not None:
            record.save(record_path)
    return done
