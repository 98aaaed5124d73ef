"""Aggregate per-case metric results into run-level summaries (mean, 95% CI, scored/total)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from ragwacht import stats
from ragwacht.metrics.base import Metric
from ragwacht.records import CaseResult, MetricResult, MetricSummary, TagSummary


def _verifier(metric: Metric) -> object | None:
    return getattr(metric, "verifier", None) or metric.options.get("verifier")


def _is_binary(values: Sequence[float]) -> bool:
    return all(v in (0.0, 1.0) for v in values)


def summarize_metric(
    metric: Metric,
    cases: Sequence[CaseResult],
    *,
    breakdown: Sequence[str] = (),
    n_resamples: int = 10_000,
    seed: int = 0,
) -> MetricSummary:
    """Summarize one metric over the run's cases.

    The mean is over scored cases only; ``scored/total`` says how many that is. A rate
    (every value 0 or 1) gets a Wilson interval, other scores a bootstrap percentile interval.
    """
    d = metric.describe()
    like = MetricSummary(
        metric=metric.id,
        kind=metric.kind,
        higher_is_better=metric.higher_is_better,
        unit=metric.unit,
        # A metric is as weak as the judge behind it (e.g. citations checked lexically).
        weak=bool(d.get("weak")) or bool(getattr(_verifier(metric), "weak", False)),
        judge=metric.judge_id,
        mean=None,
        scored=0,
        total=0,
    )
    return summarize_like(like, cases, breakdown=breakdown, n_resamples=n_resamples, seed=seed)


class _Lite:
    """What a summary reads of one metric on one case (a case's evidence stays on disk)."""

    __slots__ = ("error", "reason", "value")

    def __init__(self, res: MetricResult) -> None:
        self.value = res.value
        self.error = res.error
        self.reason = res.reason


class _LiteCase:
    __slots__ = ("metrics", "tags")

    def __init__(self, case: CaseResult) -> None:
        self.tags = case.tags
        self.metrics = {k: _Lite(v) for k, v in case.metrics.items()}


def summarize_metrics(
    metrics: Sequence[Metric],
    cases: Iterable[CaseResult],
    *,
    breakdown: Sequence[str] = (),
    n_resamples: int = 10_000,
    seed: int = 0,
) -> dict[str, MetricSummary]:
    """Every metric's summary from one pass over ``cases`` (which may be read from disk).

    Only each case's tags and metric values are held, not its response or evidence.
    """
    lite: Any = [_LiteCase(c) for c in cases]
    return {
        m.id: summarize_metric(m, lite, breakdown=breakdown, n_resamples=n_resamples, seed=seed)
        for m in metrics
    }


def summarize_like(
    like: MetricSummary,
    cases: Sequence[CaseResult],
    *,
    breakdown: Sequence[str] = (),
    n_resamples: int = 10_000,
    seed: int = 0,
) -> MetricSummary:
    """Summarize the metric that ``like`` describes (its kind, direction, unit, judge) afresh.

    ``ragwacht merge`` summarizes the merged cases with the facts its shards recorded, so no
    metric or judge has to be built again.
    """
    mid = like.metric
    results = [c.metrics.get(mid) for c in cases]
    values = [r.value for r in results if r is not None and r.value is not None]
    errors = sum(1 for r in results if r is not None and r.error)
    reasons = Counter(
        (r.reason or "not scored") for r in results if r is not None and r.value is None
    )
    mean = sum(values) / len(values) if values else None
    ci_low = ci_high = p50 = p95 = None
    if values:
        if like.kind == "measure":
            p50 = stats.percentile(values, 50)
            p95 = stats.percentile(values, 95)
        if like.kind == "score" and _is_binary(values):
            ci_low, ci_high = stats.wilson_interval(int(sum(values)), len(values))
        elif len(values) >= 2:
            ci_low, ci_high = stats.bootstrap_mean_ci(values, n_resamples=n_resamples, seed=seed)
        else:
            ci_low = ci_high = mean
    by_tag: dict[str, dict[str, TagSummary]] = {}
    for key in breakdown:
        groups: dict[str, list[float | None]] = defaultdict(list)
        prefix = key + ":"
        for case, res in zip(cases, results, strict=True):
            for tag in case.tags:
                if tag.startswith(prefix):
                    groups[tag[len(prefix) :]].append(res.value if res is not None else None)
        if groups:
            by_tag[key] = {
                val: TagSummary(
                    mean=(sum(s) / len(s)) if (s := [v for v in vs if v is not None]) else None,
                    scored=len(s),
                    total=len(vs),
                )
                for val, vs in sorted(groups.items())
            }
    return like.model_copy(
        update={
            "mean": mean,
            "ci_low": ci_low,
            "ci_high": ci_high,
            "scored": len(values),
            "total": len(cases),
            "errors": errors,
            "p50": p50,
            "p95": p95,
            "by_tag": by_tag,
            "not_scored_reasons": dict(reasons.most_common()),
        }
    )
