"""compare_variants(): the same golden set through several variants, paired comparisons."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.table import Table

from ragwacht import stats
from ragwacht.ci.policy import parse_policy
from ragwacht.errors import ConfigError
from ragwacht.evals.baseline import BaselineLookup
from ragwacht.evals.finish import OutputPaths, finish_run
from ragwacht.evals.run import RunOptions, evaluate_suite
from ragwacht.evals.spec import SuiteSpec, load_suite
from ragwacht.records import (
    ComparisonRecord,
    DisagreeingCase,
    PairedComparison,
    RunRecord,
    VariantSummary,
)
from ragwacht.reports.html import write_comparison_report
from ragwacht.tracking import log_comparison


def _case_values(rec: RunRecord, metric: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for c in rec.cases:
        m = c.metrics.get(metric)
        if m is not None and m.value is not None:
            out[c.case_id] = m.value
    return out


def compare_records(
    records: dict[str, RunRecord],
    *,
    reference: str,
    alpha: float = 0.05,
    n_resamples: int = 10_000,
    seed: int = 0,
    max_disagreements: int = 200,
) -> ComparisonRecord:
    """Paired comparisons of every variant against ``reference`` on shared scored cases."""
    if reference not in records:
        raise ConfigError(f"reference variant '{reference}' was not run", field="variants")
    ref = records[reference]
    metric_ids = list(ref.summary)
    comparisons: list[PairedComparison] = []
    for name, rec in records.items():
        if name == reference:
            continue
        for mid in metric_ids:
            s = ref.summary[mid]
            if s.kind != "score" or mid not in rec.summary:
                continue
            a = _case_values(rec, mid)
            b = _case_values(ref, mid)
            shared = sorted(set(a) & set(b))
            xs = [a[i] for i in shared]
            ys = [b[i] for i in shared]
            diff: float | None = None
            lo: float | None = None
            hi: float | None = None
            p: float | None = None
            if len(shared) >= 2:
                pr = stats.paired_difference(
                    xs, ys, n_resamples=n_resamples, seed=seed, alternative="two-sided"
                )
                diff, lo, hi, p = pr.mean_diff, pr.ci_low, pr.ci_high, pr.p_value
            sign = 1 if s.higher_is_better else -1
            wins = sum(1 for x, y in zip(xs, ys, strict=True) if sign * (x - y) > 1e-12)
            losses = sum(1 for x, y in zip(xs, ys, strict=True) if sign * (y - x) > 1e-12)
            significant = p is not None and p < alpha
            better = None
            if significant and diff is not None and diff != 0:
                better = (diff > 0) == s.higher_is_better
            comparisons.append(
                PairedComparison(
                    metric=mid,
                    variant=name,
                    reference=reference,
                    higher_is_better=s.higher_is_better,
                    n=len(shared),
                    mean_variant=(sum(xs) / len(xs)) if xs else None,
                    mean_reference=(sum(ys) / len(ys)) if ys else None,
                    mean_diff=diff,
                    ci_low=lo,
                    ci_high=hi,
                    p_value=p,
                    wins=wins,
                    ties=len(shared) - wins - losses,
                    losses=losses,
                    significant=significant,
                    better=better,
                )
            )
    # Several metrics per variant are several tests: Holm keeps "better"/"worse" honest.
    for name in records:
        if name == reference:
            continue
        rows = [pc for pc in comparisons if pc.variant == name and pc.p_value is not None]
        adjusted = stats.holm([pc.p_value for pc in rows if pc.p_value is not None])
        for pc, p_adj in zip(rows, adjusted, strict=True):
            pc.p_adjusted = float(p_adj)
            pc.significant = p_adj < alpha
            pc.better = (
                None
                if not pc.significant or not pc.mean_diff
                else (pc.mean_diff > 0) == pc.higher_is_better
            )
    disagreements: list[DisagreeingCase] = []
    for mid in metric_ids:
        if ref.summary[mid].kind != "score":
            continue
        per_variant = {n: _case_values(r, mid) for n, r in records.items()}
        for c in ref.cases:
            vals = {n: per_variant[n].get(c.case_id) for n in records}
            present = [v for v in vals.values() if v is not None]
            if len(present) >= 2 and max(present) - min(present) >= 0.5:
                disagreements.append(DisagreeingCase(case_id=c.case_id, metric=mid, values=vals))
    summaries = []
    for name, rec in records.items():
        lat = next((s for m, s in rec.summary.items() if m.startswith("latency")), None)
        cost = next((s for m, s in rec.summary.items() if m == "cost"), None)
        summaries.append(
            VariantSummary(
                variant=name,
                run_id=rec.run_id,
                means={m: s.mean for m, s in rec.summary.items()},
                latency_p50_ms=lat.p50 if lat else None,
                latency_p95_ms=lat.p95 if lat else None,
                cost_per_case=cost.mean if cost else None,
                endpoint_errors=rec.endpoint_errors,
            )
        )
    return ComparisonRecord(
        comparison_id=uuid.uuid4().hex,
        suite=ref.suite,
        reference=reference,
        variants=list(records),
        created_at=datetime.now(UTC),
        alpha=alpha,
        summaries=summaries,
        comparisons=comparisons,
        disagreements=disagreements[:max_disagreements],
        dataset_digest=ref.manifest.dataset_digest,
    )


def comparison_table(c: ComparisonRecord) -> Any:
    """The terminal table of a comparison, showing what decides each verdict.

    Each variant's metrics are several tests, so the verdict is taken on the Holm-adjusted
    p-value (against ``alpha``); the table shows that value next to the unadjusted one, and
    names the interval it prints (a 95% paired bootstrap interval of the mean difference,
    not adjusted for multiplicity).

    Returns:
        A ``rich.table.Table``.

    """
    # Suite and variant names are the user's text: printed literally, never as Rich markup.
    t = Table(
        title=f"{escape(c.suite)}: each variant against '{escape(c.reference)}'",
        header_style="bold",
        caption=(
            f"verdict: better/worse when the Holm-adjusted p < {c.alpha:g} (Holm across each "
            "variant's metrics, two-sided paired sign-flip test); CI: 95% paired bootstrap of "
            "the mean difference (unadjusted)"
        ),
    )
    for col in (
        "variant",
        "metric",
        "diff",
        "95% CI (paired bootstrap)",
        "p (unadjusted)",
        "p (Holm, decides)",
        "win/tie/loss",
        "verdict",
    ):
        t.add_column(col)
    for p in c.comparisons:
        verdict = {True: "better", False: "worse", None: "no clear difference"}[p.better]
        if p.p_value is None:
            verdict = "not tested"
        t.add_row(
            escape(p.variant),
            escape(p.metric),
            "–" if p.mean_diff is None else f"{p.mean_diff:+.3f}",
            "–" if p.ci_low is None or p.ci_high is None else f"{p.ci_low:+.3f} … {p.ci_high:+.3f}",
            "–" if p.p_value is None else f"{p.p_value:.3g}",
            "–" if p.p_adjusted is None else f"{p.p_adjusted:.3g}",
            f"{p.wins}/{p.ties}/{p.losses}",
            verdict,
        )
    return t


@dataclass
class CompareOutcome:
    """What ``compare_variants`` produced."""

    comparison: ComparisonRecord
    records: dict[str, RunRecord]
    out_dir: Path
    files: dict[str, Path] = field(default_factory=dict)


def compare_variants(
    suite: str | Path | SuiteSpec,
    variants: list[str],
    *,
    out_dir: Path | None = None,
    mlflow: bool = True,
    lang: str = "nl",
    progress: bool = True,
    base_url: str | None = None,
    refresh: bool = False,
    stable_cache: bool = False,
) -> CompareOutcome:
    """Run (or reuse cached responses of) each variant and compare them with the first."""
    spec = suite if isinstance(suite, SuiteSpec) else load_suite(suite)
    if lang not in ("nl", "en"):
        raise ConfigError(f"unknown report language '{lang}'", field="--lang", hint="use nl or en")
    if len(set(variants)) != len(variants):
        raise ConfigError("a variant is listed twice", field="--variants", hint="name each once")
    if len(variants) < 2:
        raise ConfigError(
            "compare needs at least two variants",
            field="--variants",
            hint="e.g. default,no-reranker",
        )
    unknown = [v for v in variants if v not in spec.variant_names()]
    if unknown:
        raise ConfigError(
            f"unknown variant(s): {', '.join(unknown)}",
            file=spec.path,
            field="variants",
            hint=f"declared: {', '.join(spec.variant_names())}",
        )
    out = (out_dir or spec.project_root / "reports" / spec.name / "compare").resolve()
    records: dict[str, RunRecord] = {}
    for v in variants:
        # The first stages of a run, then the shared finish with this variant's plain files
        # (JUnit, Markdown, metrics) and no report, CI annotations or MLflow run of its own:
        # the comparison is what gets reported and logged.
        ev = evaluate_suite(
            spec,
            RunOptions(
                variant=v,
                out_dir=out / v,
                mlflow=False,
                lang=lang,
                progress=progress,
                base_url=base_url,
                refresh=refresh,
                stable_cache=stable_cache,
            ),
        )
        finish_run(
            ev.record,
            policy=ev.gate_policy,
            lookup=BaselineLookup(),  # variants are compared with each other, not a baseline
            record_path=ev.files["record"],
            paths=OutputPaths.in_dir(out / v, report=False, ci=False),
            enforce_gate=False,
            lang=lang,
            artifacts=ev.files,
        )
        records[v] = ev.record
    alpha = parse_policy(spec.gate, file=spec.path).alpha  # the gate's own level
    comparison = compare_records(records, reference=variants[0], alpha=alpha)
    files = {"comparison": comparison.save(out / "comparison.json")}
    files["report"] = write_comparison_report(
        comparison, records, out / "comparison.html", lang=lang
    )
    if mlflow:
        parent = log_comparison(
            comparison, list(records.values()), artifacts=files, project_root=spec.project_root
        )
        comparison.mlflow_parent_run_id = parent
        comparison.save(files["comparison"])
    return CompareOutcome(comparison=comparison, records=records, out_dir=out, files=files)
