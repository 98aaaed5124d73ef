"""Build RunRecords from per-case metric values, for gate, report and tracking tests.

    rec = make_record({"faithfulness": [1.0, 0.5, None], "latency_ms": [800, 1200, 950]})

Direction, kind and unit come from ``LOWER_IS_BETTER`` / ``MEASURES`` (override with
``higher_is_better=``/``kinds=``/``units=``). ``None`` is "not scored" with a reason.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

import numpy as np

from ragwacht.records import (
    CaseResult,
    Manifest,
    MetricResult,
    MetricStatus,
    MetricSummary,
    Response,
    RunRecord,
)

LOWER_IS_BETTER = {"hallucination_rate", "latency_ms", "cost", "cost_eur"}
MEASURES = {"latency_ms": "ms", "cost": "EUR", "cost_eur": "EUR"}
STARTED = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)


def digest_of(ids: Sequence[str]) -> str:
    return "sha256:" + hashlib.sha256("\n".join(ids).encode("utf-8", "surrogatepass")).hexdigest()


def make_record(
    values: Mapping[str, Sequence[float | None]],
    *,
    suite: str = "demo-suite",
    variant: str = "default",
    run_id: str | None = None,
    case_ids: Sequence[str] | None = None,
    questions: Sequence[str] | None = None,
    higher_is_better: Mapping[str, bool] | None = None,
    kinds: Mapping[str, str] | None = None,
    units: Mapping[str, str] | None = None,
    endpoint_errors: Mapping[int, str] | None = None,
    judge_errors: Mapping[str, Sequence[int]] | None = None,
    reasons: Mapping[str, Mapping[int, str]] | None = None,
    metric_versions: Mapping[str, str] | None = None,
    judges: Mapping[str, str] | None = None,
    answers: Sequence[str | None] | None = None,
    latencies_ms: Sequence[float] | None = None,
    dataset_digest: str | None = None,
    git_sha: str | None = "0123456789abcdef0123456789abcdef01234567",
    tags: Sequence[Sequence[str]] | None = None,
) -> RunRecord:
    """A RunRecord whose cases carry ``values[metric][i]`` for case i.

    ``endpoint_errors`` maps case index -> error text (every metric of that case is then not
    scored); ``judge_errors`` maps metric -> case indices where the judge failed; ``reasons``
    overrides the not-scored reason per metric and case index.
    """
    n = max((len(v) for v in values.values()), default=0)
    for m, v in values.items():
        if len(v) != n:
            raise ValueError(f"metric {m} has {len(v)} values, expected {n}")
    ids = list(case_ids) if case_ids is not None else [f"case-{i:03d}" for i in range(n)]
    hib = {m: m not in LOWER_IS_BETTER for m in values} | dict(higher_is_better or {})
    kind = {m: "measure" if m in MEASURES else "score" for m in values} | dict(kinds or {})
    unit = {m: MEASURES.get(m, "") for m in values} | dict(units or {})
    endpoint_errors = dict(endpoint_errors or {})
    judge_errors = {m: set(ix) for m, ix in (judge_errors or {}).items()}
    reasons = reasons or {}
    cases = []
    for i, cid in enumerate(ids):
        err = endpoint_errors.get(i)
        lat = latencies_ms[i] if latencies_ms is not None else 500.0 + 10 * i
        resp = Response(
            case_id=cid,
            variant=variant,
            answer=None if err else (answers[i] if answers is not None else f"answer {i}"),
            latency_ms=None if err else lat,
            error=err,
            error_kind="timeout" if err else None,
            attempts=1,
        )
        metrics: dict[str, MetricResult] = {}
        for m, vals in values.items():
            v = vals[i]
            judge_failed = i in judge_errors.get(m, set())
            if err:
                res = MetricResult(metric=m, value=None, reason="endpoint error: timeout")
            elif judge_failed:
                res = MetricResult(metric=m, value=None, reason="judge timed out", error=True)
            elif v is None:
                why = reasons.get(m, {}).get(i, "case has no reference_answer")
                # What a metric reports for a case outside its scope (metrics/base.py).
                status = (
                    MetricStatus.NOT_APPLICABLE
                    if why.startswith(("case has no", "not applicable"))
                    else MetricStatus.NOT_SCORED
                )
                res = MetricResult(metric=m, value=None, reason=why, status=status)
            else:
                res = MetricResult(metric=m, value=float(v))
            res.metric_version = (metric_versions or {}).get(m, "1")
            res.judge = (judges or {}).get(m)
            metrics[m] = res
        cases.append(
            CaseResult(
                case_id=cid,
                tags=list(tags[i]) if tags is not None else [],
                question=questions[i] if questions is not None else f"Question {i}?",
                response=resp,
                metrics=metrics,
            )
        )
    summary = {}
    for m in values:
        vals = [c.metrics[m].value for c in cases if c.metrics[m].value is not None]
        arr = np.asarray(vals, dtype=float)
        summary[m] = MetricSummary(
            metric=m,
            kind=kind[m],
            higher_is_better=hib[m],
            unit=unit[m],
            judge=(judges or {}).get(m),
            mean=float(arr.mean()) if arr.size else None,
            scored=int(arr.size),
            total=len(cases),
            errors=sum(1 for c in cases if c.metrics[m].error),
            p50=float(np.percentile(arr, 50)) if arr.size and kind[m] == "measure" else None,
            p95=float(np.percentile(arr, 95)) if arr.size and kind[m] == "measure" else None,
        )
    manifest = Manifest(
        harness_version="0.1.0",
        git_sha=git_sha,
        git_branch="main",
        suite_name=suite,
        suite_hash="sha256:" + "1" * 64,
        dataset_name="demo-set",
        dataset_version="1",
        dataset_digest=dataset_digest or digest_of(ids),
        variant=variant,
        started_at=STARTED,
        finished_at=STARTED + timedelta(seconds=42),
    )
    return RunRecord(
        run_id=run_id
        or hashlib.sha1(f"{suite}{variant}{values!r}".encode("utf-8", "surrogatepass")).hexdigest()[
            :32
        ],
        suite=suite,
        variant=variant,
        manifest=manifest,
        cases=cases,
        summary=summary,
        endpoint_errors=len(endpoint_errors),
        judge_errors=sum(1 for c in cases if any(r.error for r in c.metrics.values())),
    )


def simulate_binary(p: np.ndarray, rng: np.random.Generator, **kw: object) -> RunRecord:
    """One run of an endpoint whose case i passes with probability ``p[i]`` (metric: correct)."""
    vals = (rng.random(p.size) < p).astype(float).tolist()
    return make_record({"correct": vals}, **kw)  # type: ignore[arg-type]


def flaky_pass_probabilities(
    n: int, rng: np.random.Generator, *, mean: float = 0.8, flaky: float = 0.1
) -> np.ndarray:
    """Per-case pass probabilities of a nondeterministic endpoint.

    A share ``flaky`` of the cases is unstable with a pass probability drawn from U(0.2, 0.8);
    the others always pass (probability ``mean``) or always fail. Between two runs of such an
    endpoint about ``0.44 * flaky`` of the cases flip.
    """
    p = (rng.random(n) < mean).astype(float)
    unstable = rng.random(n) < flaky
    p[unstable] = rng.uniform(0.2, 0.8, int(unstable.sum()))
    return p
