"""gate(): the CI decision for one run, against thresholds and (optionally) a baseline.

The decision, in order:

1. **Error budget.** Cases where the endpoint or a judge failed, over all cases. Above
   ``max_error_rate`` the verdict is *fail* with exit code 4, whatever the quality numbers say:
   they were computed on a biased remainder and cannot be trusted either way.
2. **Evidence.** Per gated metric, scored cases over the cases it applies to must reach
   ``min_scored_fraction``; otherwise the metric fails as "not enough evidence" (exit 3).
   Not scorable is never 0 and never averaged in.
3. **Thresholds.** The point estimate (mean, or a percentile for measures such as latency) is
   compared with ``min``/``max``; with ``use_ci_bound`` the whole confidence interval must
   clear the limit instead.
4. **Regression** against the baseline, on case ids both runs share and both scored, paired
   per case. A metric regresses when its mean drop exceeds the rule's ``max_drop`` **and** the
   one-sided paired sign-flip test rejects "no drop" at ``alpha`` after Holm's adjustment
   across all regression tests of the run (several metrics are several tests). McNemar's exact
   test on per-case pass/fail and the flipped case ids are reported alongside, not gated.

5. **Completeness.** With a baseline, every regression check must have been evaluated. When
   the configured baseline could not be obtained (MLflow unreachable, a configured file
   missing), when the run shares no case with it, or when a metric cannot be compared (its
   definition or judge changed, the baseline lacks it), the verdict is *fail* with exit
   code 5: a gate that could not look must never say "no regression". A run without any
   baseline yet (the first run) is gated on thresholds only and says so.

Exit codes: 0 pass, 3 a quality rule failed, 4 the error budget was exceeded, 5 the regression
checks could not run (4 wins over 3, 3 over 5).

The gate records *why* each check came out as it did (``RuleResult.reason`` and ``facts``;
notes and warnings as ``GateResult.findings``); :mod:`ragwacht.i18n.gate` makes the sentences,
English ones for the stored record and the report's language for the HTML report.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np

from ragwacht import stats
from ragwacht.ci.cases import (
    case_passes,
    is_failure,
    is_not_applicable,
    values_by_case,
)
from ragwacht.ci.policy import DEFAULT_CASE_PASS, GatePolicy, GateRule
from ragwacht.errors import ConfigError, ExitCode
from ragwacht.i18n.gate import word
from ragwacht.metrics.base import metric_class
from ragwacht.records import (
    BaselineStatus,
    GatedMetric,
    GateFinding,
    GateResult,
    MetricFlips,
    MetricSummary,
    RuleReason,
    RuleResult,
    RunRecord,
)


def _summary_for(record: RunRecord, metric: str) -> MetricSummary | None:
    s = record.summary.get(metric)
    if s is not None:
        return s
    # A record without a summary entry but with per-case values (a slimmed baseline, a record
    # written by hand): take direction and kind from the registry.
    if not any(metric in c.metrics for c in record.cases):
        return None
    try:
        cls = metric_class(metric)
        hib, kind, unit = cls.higher_is_better, cls.kind, cls.unit
    except ConfigError:
        hib, kind, unit = True, "score", ""
    vals = [v for v in values_by_case(record, metric).values() if v is not None]
    return MetricSummary(
        metric=metric,
        kind=kind,
        higher_is_better=hib,
        unit=unit,
        mean=(sum(vals) / len(vals)) if vals else None,
        scored=len(vals),
        total=len(record.cases),
    )


def _rule_field(i: int, name: str) -> str:
    return f"gate.rules[{i}].{name}"


def _default_ceilings(record: RunRecord, rules: list[GateRule]) -> list[GateRule]:
    """Ceilings for metrics that declare one (safety rates: 0) and that no rule names."""
    named = {r.metric for r in rules}
    out = []
    for name in record.summary:
        if name in named:
            continue
        try:
            ceiling = getattr(metric_class(name), "default_ceiling", None)
        except ConfigError:
            continue
        if ceiling is not None:
            out.append(GateRule(metric=name, max=float(ceiling), regression=False))
    return out


def _resolve(record: RunRecord, policy: GatePolicy) -> list[tuple[GatedMetric, list[GateRule]]]:
    """The gated metrics with their rules, validated against what the run computed."""
    rules = list(policy.rules)
    if not rules:
        rules = [GateRule(metric=m) for m, s in record.summary.items() if s.kind == "score"]
    # Only a rule the user wrote replaces a default ceiling; the implied regression rules
    # above do not.
    rules += _default_ceilings(record, list(policy.rules))
    by_metric: dict[str, list[GateRule]] = {}
    for i, rule in enumerate(rules):
        s = _summary_for(record, rule.metric)
        if s is None:
            known = ", ".join(sorted(record.summary)) or "(none)"
            raise ConfigError(
                f"gated metric '{rule.metric}' was not computed in this run",
                field=_rule_field(i, "metric"),
                hint=f"add it to the suite's metrics or remove the rule; this run has: {known}",
            )
        if s.kind == "score":
            for attr in ("min", "max", "case_pass"):
                v = getattr(rule, attr)
                if v is not None and not 0.0 <= v <= 1.0:
                    raise ConfigError(
                        f"{attr} {v} is outside 0..1 for score metric '{rule.metric}'",
                        field=_rule_field(i, attr),
                        hint="scores are fractions: write 0.85, not 85",
                    )
            if rule.max_drop is not None and rule.max_drop > 1.0:
                raise ConfigError(
                    f"max_drop {rule.max_drop} is more than the whole 0..1 scale",
                    field=_rule_field(i, "max_drop"),
                    hint="write absolute points as a fraction: 0.05 for 5 points",
                )
        by_metric.setdefault(rule.metric, []).append(rule)
    out = []
    for name, mrules in by_metric.items():
        s = _summary_for(record, name)
        assert s is not None  # checked above
        case_pass = next((r.case_pass for r in mrules if r.case_pass is not None), None)
        if case_pass is None and s.kind == "score":
            case_pass = DEFAULT_CASE_PASS
        drops: list[float] = []
        for r in mrules:
            if not r.regression:
                continue
            if r.max_drop is not None:
                drops.append(r.max_drop)
            elif s.kind == "score":
                drops.append(policy.max_drop)
        gm = GatedMetric(
            metric=name,
            kind=s.kind,
            higher_is_better=s.higher_is_better,
            unit=s.unit,
            weak=s.weak,
            case_pass=case_pass,
            regression=bool(drops),
            max_drop=min(drops) if drops else None,
            total=len(record.cases),
        )
        out.append((gm, mrules))
    return out


def _metric_judge(record: RunRecord, metric: str) -> str | None:
    s = record.summary.get(metric)
    return s.judge if s is not None else None


def _metric_version(record: RunRecord, metric: str) -> str | None:
    for c in record.cases:
        r = c.metrics.get(metric)
        if r is not None:
            return r.metric_version
    return None


def _evidence(
    record: RunRecord, gm: GatedMetric, policy: GatePolicy
) -> tuple[list[float], RuleResult]:
    """Scored values of the metric and the scored-fraction check."""
    scored: list[float] = []
    applicable = 0
    for c in record.cases:
        r = c.metrics.get(gm.metric)
        if is_not_applicable(c, r):
            continue
        applicable += 1
        if r is not None and r.value is not None:
            scored.append(float(r.value))
    gm.scored, gm.applicable = len(scored), applicable
    gm.mean = float(np.mean(scored)) if scored else None
    frac = (len(scored) / applicable) if applicable else None
    name = f"scored_fraction {gm.metric} >= {policy.min_scored_fraction:g}"
    reason: RuleReason
    if frac is None:
        ok, reason = False, "nothing_applicable"
    elif frac + 1e-12 >= policy.min_scored_fraction:
        ok, reason = True, "enough_scored"
    else:
        ok, reason = False, "too_few_scored"
    rr = RuleResult(
        name=name,
        kind="scored_fraction",
        metric=gm.metric,
        observed=frac,
        limit=policy.min_scored_fraction,
        op=">=",
        n=applicable,
        passed=ok,
        message="",
        reason=reason,
        facts={"scored": len(scored)},
    )
    return scored, rr


def _threshold(
    gm: GatedMetric, rule: GateRule, values: list[float], policy: GatePolicy
) -> list[RuleResult]:
    """One result per bound (min, max) of a threshold rule."""
    out: list[RuleResult] = []
    bounds = [(">=", rule.min), ("<=", rule.max)]
    if all(b is None for _, b in bounds):
        return out
    q = rule.percentile
    observed = ci_low = ci_high = None
    if values:
        if q is None:
            observed = float(np.mean(values))
            if gm.kind == "score" and all(v in (0.0, 1.0) for v in values):
                ci_low, ci_high = stats.wilson_interval(
                    int(sum(values)), len(values), policy.confidence
                )
            else:
                ci_low, ci_high = stats.bootstrap_mean_ci(
                    values, policy.confidence, policy.n_resamples, policy.seed
                )
        else:
            observed = stats.percentile(values, q)
            ci_low, ci_high = stats.bootstrap_percentile_ci(
                values, q, policy.confidence, policy.n_resamples, policy.seed
            )
    for op, bound in bounds:
        if bound is None:
            continue
        name = f"threshold {gm.metric} {rule.stat} {op} {bound:g}"
        if rule.use_ci_bound:
            name += " (CI)"
        if observed is None:
            out.append(
                RuleResult(
                    name=name,
                    kind="threshold",
                    metric=gm.metric,
                    stat=rule.stat,
                    limit=bound,
                    op=op,
                    n=0,
                    unit=gm.unit,
                    passed=False,
                    message="",
                    reason="no_scored_cases",
                )
            )
            continue
        if rule.use_ci_bound:
            tested, which = (ci_low, "ci_low") if op == ">=" else (ci_high, "ci_high")
        else:
            tested, which = observed, "stat"
        assert tested is not None
        ok = tested >= bound - 1e-12 if op == ">=" else tested <= bound + 1e-12
        out.append(
            RuleResult(
                name=name,
                kind="threshold",
                metric=gm.metric,
                stat=rule.stat,
                observed=observed,
                limit=bound,
                op=op,
                ci_low=ci_low,
                ci_high=ci_high,
                n=len(values),
                unit=gm.unit,
                passed=ok,
                message="",
                reason="threshold_met" if ok else "threshold_crossed",
                facts={"tested": which, "confidence": policy.confidence},
            )
        )
    return out


def _per_tag_thresholds(
    record: RunRecord, gm: GatedMetric, rule: GateRule, policy: GatePolicy
) -> list[RuleResult]:
    """The rule's bounds checked on each group of cases tagged ``<per_tag>:<value>``."""
    assert rule.per_tag is not None
    prefix = rule.per_tag + ":"
    groups: dict[str, list[float]] = {}
    for c in record.cases:
        r = c.metrics.get(gm.metric)
        if is_not_applicable(c, r):
            continue
        for tag in dict.fromkeys(c.tags):
            if tag.startswith(prefix):
                vals = groups.setdefault(tag, [])
                if r is not None and r.value is not None:
                    vals.append(float(r.value))
    out: list[RuleResult] = []
    for group in sorted(groups):
        values = groups[group]
        rows = _threshold(gm, rule, values, policy)
        for row in rows:
            row.name += f" [{group}]"
            row.facts = {**row.facts, "group": group}
            if len(values) < rule.min_group_cases:
                row.passed, row.reason = None, "group_too_small"
                row.facts["need"] = rule.min_group_cases
                row.n = len(values)
        out.extend(rows)
    return out


def _regression(
    record: RunRecord,
    baseline: RunRecord | None,
    gm: GatedMetric,
    policy: GatePolicy,
) -> tuple[RuleResult, MetricFlips | None]:
    """The paired comparison with the baseline (decision taken later, after Holm)."""
    assert gm.max_drop is not None
    # A lower-is-better metric regresses by rising: say so in the rule's name.
    worse = "drop" if gm.higher_is_better else "rise"
    name = f"regression {gm.metric} {worse} <= {gm.max_drop:g}"
    base = RuleResult(
        name=name,
        kind="regression",
        metric=gm.metric,
        limit=gm.max_drop,
        op="<=",
        unit=gm.unit,
        passed=None,
        message="",
        reason="no_baseline",
    )
    if baseline is None:
        return base, None
    bvals = values_by_case(baseline, gm.metric)
    if not bvals:
        base.reason = "baseline_lacks_metric"
        return base, None
    v_now, v_base = _metric_version(record, gm.metric), _metric_version(baseline, gm.metric)
    if v_now is not None and v_base is not None and v_now != v_base:
        base.reason = "metric_version_changed"
        base.facts = {"version_base": v_base, "version_now": v_now}
        return base, None
    j_now, j_base = _metric_judge(record, gm.metric), _metric_judge(baseline, gm.metric)
    if j_now and j_base and j_now != j_base:
        base.reason = "judge_changed"
        base.facts = {"judge_base": j_base, "judge_now": j_now}
        return base, None
    cvals = values_by_case(record, gm.metric)
    ids = [c.case_id for c in record.cases if c.case_id in bvals]
    pairs = [(i, cvals.get(i), bvals[i]) for i in ids]
    paired = [(i, float(a), float(b)) for i, a, b in pairs if a is not None and b is not None]
    base.n_paired = len(paired)
    base.n = len(paired)
    if not paired:
        base.reason = "no_shared_scored"
        return base, None
    a = [p[1] for p in paired]
    b = [p[2] for p in paired]
    alternative: Literal["less", "greater"] = "less" if gm.higher_is_better else "greater"
    pr = stats.paired_difference(
        a,
        b,
        confidence=policy.confidence,
        n_resamples=policy.n_resamples,
        seed=policy.seed,
        alternative=alternative,
    )
    base.observed = float(np.mean(a))
    base.baseline = float(np.mean(b))
    base.delta = pr.mean_diff
    base.drop = (-pr.mean_diff if gm.higher_is_better else pr.mean_diff) + 0.0
    base.ci_low, base.ci_high = pr.ci_low, pr.ci_high
    base.p_value = pr.p_value
    flips = None
    if gm.case_pass is not None:
        t = gm.case_pass
        p2f = [
            i
            for i, x, y in paired
            if case_passes(y, gm.higher_is_better, t) and not case_passes(x, gm.higher_is_better, t)
        ]
        f2p = [
            i
            for i, x, y in paired
            if not case_passes(y, gm.higher_is_better, t) and case_passes(x, gm.higher_is_better, t)
        ]
        flips = MetricFlips(
            metric=gm.metric,
            case_pass=t,
            pass_to_fail=p2f,
            fail_to_pass=f2p,
            mcnemar_p=stats.mcnemar_exact(len(p2f), len(f2p), "greater"),
            mcnemar_p_two_sided=stats.mcnemar_exact(len(p2f), len(f2p), "two-sided"),
        )
        base.mcnemar_p = flips.mcnemar_p
    if gm.kind == "score":
        # For the paired test this rule runs, from the spread of the per-case differences.
        base.min_detectable_drop = stats.paired_min_detectable_drop(
            [x - y for x, y in zip(a, b, strict=True)], policy.alpha, policy.power
        )
        if math.isfinite(base.min_detectable_drop):
            gm.min_detectable_drop = base.min_detectable_drop
            gm.min_detectable_paired = True
    return base, flips


def _decide_regressions(rows: list[RuleResult], policy: GatePolicy) -> None:
    tested = [r for r in rows if r.p_value is not None]
    ps = [r.p_value for r in tested if r.p_value is not None]
    adjusted = stats.holm(ps) if policy.family_wise == "holm" else list(ps)
    for r, padj in zip(tested, adjusted, strict=True):
        # Only a Holm-adjusted p is stored as adjusted: reports label p_adjusted as Holm.
        r.p_adjusted = padj if policy.family_wise == "holm" else None
        assert r.drop is not None and r.limit is not None and r.delta is not None
        too_big = r.drop > r.limit + 1e-12
        significant = padj <= policy.alpha
        r.passed = not (too_big and significant)
        r.reason = (
            "regressed"
            if not r.passed
            else "drop_not_significant"
            if too_big
            else "within_tolerance"
        )
        r.facts = {
            "alpha": policy.alpha,
            "holm": policy.family_wise == "holm",
            "confidence": policy.confidence,
        }


def _against_baseline(
    record: RunRecord, baseline: RunRecord | None, gated: list[GatedMetric]
) -> tuple[dict[str, Any], list[GateFinding]]:
    """What the result records about the baseline, and the warnings comparing with it raises."""
    findings: list[GateFinding] = []
    digest = record.manifest.dataset_digest
    result_extra: dict[str, Any] = {"dataset_digest": digest}
    if baseline is not None:
        now_ids = {c.case_id for c in record.cases}
        base_ids = {c.case_id for c in baseline.cases}
        bdigest = baseline.manifest.dataset_digest
        changed = bdigest != digest
        result_extra.update(
            baseline_run_id=baseline.run_id,
            baseline_git_sha=baseline.manifest.git_sha,
            baseline_variant=baseline.variant,
            baseline_dataset_digest=bdigest,
            dataset_changed=changed,
            shared_cases=len(now_ids & base_ids),
            only_in_run=len(now_ids - base_ids),
            only_in_baseline=len(base_ids - now_ids),
        )
        if changed:
            findings.append(
                GateFinding(
                    kind="dataset_changed",
                    facts={
                        "baseline_digest": bdigest,
                        "digest": digest,
                        "shared": len(now_ids & base_ids),
                        "new": len(now_ids - base_ids),
                        "gone": len(base_ids - now_ids),
                    },
                )
            )
        if baseline.suite != record.suite or baseline.variant != record.variant:
            findings.append(
                GateFinding(
                    kind="other_baseline",
                    facts={
                        "b_suite": baseline.suite,
                        "b_variant": baseline.variant,
                        "suite": record.suite,
                        "variant": record.variant,
                    },
                )
            )
        for gm in gated:
            bs = baseline.summary.get(gm.metric)
            now = record.summary.get(gm.metric)
            if bs is not None and now is not None and bs.judge != now.judge:
                findings.append(
                    GateFinding(
                        kind="judge_differs",
                        facts={"metric": gm.metric, "judge_now": now.judge, "judge_base": bs.judge},
                    )
                )
    return result_extra, findings


def gate(
    record: RunRecord,
    baseline: RunRecord | None,
    policy: GatePolicy,
    *,
    baseline_error: str | None = None,
    baseline_source: str | None = None,
) -> GateResult:
    """Decide whether a run passes its quality gate (see the module docstring).

    Args:
        record: the run to judge.
        baseline: the run to compare with (same suite and variant, e.g. the newest on
            ``main``), or None for thresholds only.
        policy: rules and statistical settings.
        baseline_error: why the configured baseline could not be obtained (MLflow
            unreachable, a configured file missing); the gate then fails closed (exit 5)
            instead of gating on thresholds only.
        baseline_source: where the baseline came from, for the outputs.

    Returns:
        The verdict with every check; store it as ``record.gate``.

    Raises:
        ConfigError: a rule names a metric the run did not compute, or a bound is off-scale.

    """
    resolved = _resolve(record, policy)
    rows: list[RuleResult] = []
    findings: list[GateFinding] = []
    n_cases = len(record.cases)
    failed_cases = sum(1 for c in record.cases if is_failure(c))
    error_rate = (failed_cases / n_cases) if n_cases else None
    budget_ok = error_rate is not None and error_rate <= policy.max_error_rate + 1e-12
    rows.append(
        RuleResult(
            name=f"error_budget error_rate <= {policy.max_error_rate:g}",
            kind="error_budget",
            observed=error_rate,
            limit=policy.max_error_rate,
            op="<=",
            n=n_cases,
            passed=budget_ok,
            message="",
            reason="no_cases"
            if error_rate is None
            else "budget_ok"
            if budget_ok
            else "budget_exceeded",
            facts={"failed": failed_cases},
        )
    )
    gms = {gm.metric: gm for gm, _ in resolved}
    regressions: list[RuleResult] = []
    flips: list[MetricFlips] = []
    for gm, mrules in resolved:
        values, evidence = _evidence(record, gm, policy)
        rows.append(evidence)
        for rule in mrules:
            if rule.per_tag is None:
                rows.extend(_threshold(gm, rule, values, policy))
            else:
                rows.extend(_per_tag_thresholds(record, gm, rule, policy))
        if gm.kind == "score" and gm.mean is not None:
            gm.min_detectable_drop = stats.min_detectable_drop(
                gm.scored, min(1.0, max(0.0, gm.mean)), policy.alpha, policy.power
            )
        if gm.regression:
            rr, fl = _regression(record, baseline, gm, policy)
            if baseline is None and baseline_error is not None:
                rr.reason = "baseline_unavailable"
            regressions.append(rr)
            rows.append(rr)
            if fl is not None:
                flips.append(fl)
    _decide_regressions(regressions, policy)

    result_extra, against = _against_baseline(record, baseline, list(gms.values()))
    findings.extend(against)

    completeness = _completeness(baseline, baseline_error, regressions, result_extra)
    if completeness is not None:
        rows.append(completeness)
    status: BaselineStatus = (
        "used" if baseline is not None else "unavailable" if baseline_error else "none"
    )
    findings.append(_baseline_finding(status, baseline, baseline_source, baseline_error))
    cached = sum(1 for c in record.cases if c.response.cached)
    if cached:
        findings.append(
            GateFinding(kind="cached_responses", facts={"cached": cached, "n": n_cases})
        )

    convs = record.conversations
    turns = sum(c.turns for c in convs)
    convs_passed = sum(1 for c in convs if c.all_passed)
    if convs:
        # Turns are gated as cases; this says how many cases are turns of how many talks.
        findings.append(
            GateFinding(
                kind="conversations",
                facts={
                    "turns": turns,
                    "cases": n_cases,
                    "conversations": len(convs),
                    "passed": convs_passed,
                },
            )
        )

    quality_failed = [r for r in rows if r.passed is False and r.kind != "baseline"]
    if not budget_ok:
        exit_code, verdict = ExitCode.ERROR_BUDGET, "fail"
    elif quality_failed:
        exit_code, verdict = ExitCode.GATE_FAILED, "fail"
    elif completeness is not None:
        exit_code, verdict = ExitCode.GATE_INCOMPLETE, "fail"
    else:
        exit_code, verdict = ExitCode.OK, "pass"
    result = GateResult(
        verdict=verdict,
        exit_code=int(exit_code),
        headline="",
        baseline_status=status,
        baseline_source=baseline_source,
        baseline_error=baseline_error,
        cached_responses=cached,
        conversations=len(convs),
        conversations_passed=convs_passed,
        turns=turns,
        findings=findings,
        rules=rows,
        metrics=list(gms.values()),
        flips=flips,
        cases=n_cases,
        failed_cases=failed_cases,
        error_rate=error_rate,
        alpha=policy.alpha,
        family_wise=policy.family_wise,
        policy=policy.model_dump(mode="json"),
        **result_extra,
    )
    return word(result, "en")


def _completeness(
    baseline: RunRecord | None,
    baseline_error: str | None,
    regressions: list[RuleResult],
    extra: dict[str, Any],
) -> RuleResult | None:
    """A failed ``baseline`` check when regression checks that should have run did not."""
    if not regressions:
        return None
    reason: RuleReason
    facts: dict[str, str | int | float | bool | None]
    if baseline is None:
        if baseline_error is None:
            return None  # no baseline yet: thresholds only, stated in the notes
        reason, facts = "baseline_unavailable", {"error": baseline_error}
    elif not extra.get("shared_cases"):
        reason, facts = "no_shared_cases", {"baseline_run_id": baseline.run_id}
    else:
        skipped = [r for r in regressions if r.passed is None]
        if not skipped:
            return None
        reason, facts = "checks_skipped", {"skipped": len(skipped)}
    return RuleResult(
        name="baseline: regression checks evaluated",
        kind="baseline",
        n=len(regressions),
        passed=False,
        message="",
        reason=reason,
        facts=facts,
    )


def _baseline_finding(
    status: BaselineStatus,
    baseline: RunRecord | None,
    source: str | None,
    error: str | None,
) -> GateFinding:
    if status == "used" and baseline is not None:
        return GateFinding(
            kind="baseline_used", facts={"source": source, "run_id": baseline.run_id}
        )
    if status == "unavailable":
        return GateFinding(kind="baseline_unavailable", facts={"error": error})
    return GateFinding(kind="no_baseline")


def as_gate_result(value: GateResult | dict[str, Any] | None) -> GateResult | None:
    """A GateResult from a result or its serialized form (``GateResult.model_dump()``).

    ``RunRecord.gate`` is a GateResult already; the dict form is accepted for library callers
    that still pass one.
    """
    if value is None or isinstance(value, GateResult):
        return value
    return GateResult.model_validate(value)


def output_metrics(record: RunRecord, result: GateResult | None) -> list[GatedMetric]:
    """The metrics CI outputs list per case: the gated ones, or every metric without a gate."""
    if result is not None and result.metrics:
        return list(result.metrics)
    out = []
    for name, s in record.summary.items():
        out.append(
            GatedMetric(
                metric=name,
                kind=s.kind,
                higher_is_better=s.higher_is_better,
                unit=s.unit,
                weak=s.weak,
                case_pass=DEFAULT_CASE_PASS if s.kind == "score" else None,
                mean=s.mean,
                scored=s.scored,
                total=s.total,
            )
        )
    return out
