"""Per-case views of a run record that the gate and the CI outputs share."""

from __future__ import annotations

from dataclasses import dataclass

from ragwacht.i18n.gate import format_value
from ragwacht.records import CaseResult, MetricResult, RunRecord


def metric_result(case: CaseResult, metric: str) -> MetricResult | None:
    """The case's result for ``metric``, or None when the metric was not run on it."""
    return case.metrics.get(metric)


def is_failure(case: CaseResult) -> bool:
    """Whether the endpoint or a judge failed on this case (counted in the error budget)."""
    return case.response.error is not None or any(m.error for m in case.metrics.values())


def is_not_applicable(case: CaseResult, result: MetricResult | None) -> bool:
    """Whether the metric does not apply to the case by design (as opposed to failing)."""
    if result is None:
        return True
    return result.not_applicable and case.response.error is None


def values_by_case(record: RunRecord, metric: str) -> dict[str, float | None]:
    """``case_id -> value`` (None when not scored) for every case that ran the metric."""
    out: dict[str, float | None] = {}
    for c in record.cases:
        r = c.metrics.get(metric)
        if r is not None:
            out[c.case_id] = r.value
    return out


def case_passes(value: float, higher_is_better: bool, threshold: float) -> bool:
    """Whether one case's value passes its per-case mark (``>=`` or, lower-is-better, ``<=``)."""
    return value >= threshold if higher_is_better else value <= threshold


@dataclass(frozen=True)
class CaseOutcome:
    """One case judged against one metric's per-case mark."""

    case_id: str
    metric: str
    status: str  # passed | failed | error | skipped
    value: float | None
    message: str
    badness: float = 0.0  # how far on the wrong side of the mark (for "worst cases")


def case_outcome(
    case: CaseResult,
    metric: str,
    *,
    higher_is_better: bool,
    case_pass: float | None,
    unit: str = "",
) -> CaseOutcome:
    """Judge one case on one metric: passed, failed, error (endpoint/judge) or skipped."""
    r = case.metrics.get(metric)
    if case.response.error is not None:
        kind = case.response.error_kind or "error"
        return CaseOutcome(
            case.case_id, metric, "error", None, f"endpoint error ({kind}): {case.response.error}"
        )
    if r is None:
        return CaseOutcome(case.case_id, metric, "skipped", None, "metric not run on this case")
    if r.value is None:
        if r.error:
            return CaseOutcome(
                case.case_id, metric, "error", None, f"judge failed: {r.reason or 'no reason'}"
            )
        return CaseOutcome(
            case.case_id, metric, "skipped", None, f"not scorable: {r.reason or 'no reason'}"
        )
    v = float(r.value)
    shown = format_value(v, unit)
    if case_pass is None:
        return CaseOutcome(case.case_id, metric, "passed", v, f"{metric} = {shown}")
    ok = case_passes(v, higher_is_better, case_pass)
    op = ">=" if higher_is_better else "<="
    bad_op = "<" if higher_is_better else ">"
    if ok:
        msg = f"{metric} = {shown} {op} {format_value(case_pass, unit)}"
        return CaseOutcome(case.case_id, metric, "passed", v, msg)
    badness = (case_pass - v) if higher_is_better else (v - case_pass)
    msg = f"{metric} = {shown} {bad_op} {format_value(case_pass, unit)} (per-case pass mark)"
    return CaseOutcome(case.case_id, metric, "failed", v, msg, badness)


def worst_cases(
    record: RunRecord,
    metrics: list[tuple[str, bool, float | None, str]],
    n: int = 5,
) -> list[CaseOutcome]:
    """The ``n`` worst case outcomes: failures furthest below their pass mark, then errors.

    Args:
        record: the run.
        metrics: ``(metric, higher_is_better, case_pass, unit)`` for each metric to look at.
        n: how many to return.

    """
    failed: list[CaseOutcome] = []
    errors: list[CaseOutcome] = []
    for c in record.cases:
        for metric, hib, mark, unit in metrics:
            o = case_outcome(c, metric, higher_is_better=hib, case_pass=mark, unit=unit)
            if o.status == "failed":
                failed.append(o)
            elif o.status == "error":
                errors.append(o)
    failed.sort(key=lambda o: -o.badness)  # stable: ties keep case order
    seen_error_cases: set[str] = set()
    unique_errors = []
    for o in errors:  # an endpoint error fails every metric of the case: list it once
        if o.case_id not in seen_error_cases:
            seen_error_cases.add(o.case_id)
            unique_errors.append(o)
    return (failed + unique_errors)[:n]
