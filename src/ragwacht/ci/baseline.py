"""Baseline files: a RunRecord JSON, slimmed to what the gate needs, kept in ``ci/baselines/``."""

from __future__ import annotations

from pathlib import Path

from ragwacht.evals.record import CaseResult, RunRecord
from ragwacht.metrics.base import MetricResult
from ragwacht.runners.models import Response


def slim_record(record: RunRecord) -> RunRecord:
    """A copy with per-case metric values, reasons and versions, for a baseline file.

    Answers, retrieved contexts, repeats and claim details are dropped: they are often most of
    the bytes, and text a repository need not hold.
    """
    cases = []
    for c in record.cases:
        r = c.response
        cases.append(
            CaseResult(
                case_id=c.case_id,
                tags=list(c.tags),
                question=c.question,
                expected_behavior=c.expected_behavior,
                gold_doc_ids=list(c.gold_doc_ids),
                response=Response(
                    case_id=r.case_id,
                    variant=r.variant,
                    latency_ms=r.latency_ms,
                    usage=r.usage,
                    cost=r.cost,
                    error=r.error,
                    error_kind=r.error_kind,
                    attempts=r.attempts,
                    status_code=r.status_code,
                ),
                metrics={
                    k: MetricResult(
                        metric=m.metric,
                        value=m.value,
                        reason=m.reason,
                        judge=m.judge,
                        prompt_version=m.prompt_version,
                        metric_version=m.metric_version,
                        error=m.error,
                    )
                    for k, m in c.metrics.items()
                },
            )
        )
    return record.model_copy(update={"cases": cases, "gate": None})


def default_baseline_path(record: RunRecord, root: Path | None = None) -> Path:
    """``ci/baselines/<suite>.json`` (``<suite>.<variant>.json`` for other variants)."""
    base = (root or Path.cwd()) / "ci" / "baselines"
    name = record.suite if record.variant == "default" else f"{record.suite}.{record.variant}"
    return base / f"{name}.json"


def save_baseline(record: RunRecord, path: str | Path | None = None, *, slim: bool = True) -> Path:
    """Write ``record`` (slimmed unless ``slim=False``) as a baseline file; return its path."""
    target = Path(path) if path is not None else default_baseline_path(record)
    out = slim_record(record) if slim else record.model_copy(update={"gate": None})
    return out.save(target)
