"""The HTML report of a variant comparison.

:func:`render_comparison_report` and :func:`write_comparison_report`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ragwacht._env import redact_mapping
from ragwacht._io import write_atomic
from ragwacht.records import MetricSummary, RunRecord
from ragwacht.reports import svg
from ragwacht.reports.html._common import (
    _env,
    _flat,
    _Fmt,
    _page_context,
    _primary_metric,
    _truncate,
)
from ragwacht.reports.i18n import Translator

MAX_DISAGREEMENTS = 150


# ----------------------------------------------------------------------------- comparison


@dataclass
class PairView:
    """One row of the paired-difference table."""

    metric: str
    variant: str
    n: int
    mean_variant: str
    mean_reference: str
    diff: str
    ci: str
    p: str
    wins: int
    ties: int
    losses: int
    word: str  # better | worse | no_clear_change


@dataclass
class VariantVerdict:
    """Verdict words for one variant against the reference."""

    variant: str
    status: str  # reference | better | worse | mixed | same
    word: str
    better: list[str]
    worse: list[str]


def _records_by_variant(
    records: Mapping[str, RunRecord] | Iterable[RunRecord],
) -> dict[str, RunRecord]:
    if isinstance(records, Mapping):
        return dict(records)
    return {r.variant: r for r in records}


def render_comparison_report(
    comparison: Any,
    records: Mapping[str, RunRecord] | Iterable[RunRecord],
    *,
    lang: str = "nl",
    generated_at: datetime | None = None,
) -> str:
    """Render the comparison report of several variants.

    Args:
        comparison: a ``ComparisonRecord`` (``ragwacht.evals.compare``).
        records: the per-variant RunRecords, by variant name (or a list; keyed by ``variant``).
        lang: ``nl`` or ``en``.
        generated_at: time printed in the header (default: now).

    Returns:
        The complete, self-contained HTML document.

    """
    t = Translator(lang)
    recs = _records_by_variant(records)
    ref_name = comparison.reference
    ref_rec = recs.get(ref_name)
    summary: dict[str, MetricSummary] = dict(ref_rec.summary) if ref_rec else {}
    fmt = _Fmt(t, summary)
    pairs: list[PairView] = []
    verdicts: dict[str, VariantVerdict] = {
        v: VariantVerdict(v, "same", t("cmp_same", ref=ref_name), [], [])
        for v in comparison.variants
    }
    if ref_name in verdicts:
        verdicts[ref_name] = VariantVerdict(ref_name, "reference", t("cmp_reference"), [], [])
    for c in comparison.comparisons:
        word = "no_clear_change"
        if c.better is True:
            word = "better"
        elif c.better is False:
            word = "worse"
        ci = "–"
        if c.ci_low is not None and c.ci_high is not None:
            ci = f"{fmt.delta(c.metric, c.ci_low)} … {fmt.delta(c.metric, c.ci_high)}"
        pairs.append(
            PairView(
                metric=c.metric,
                variant=c.variant,
                n=c.n,
                mean_variant=fmt.value(c.metric, c.mean_variant),
                mean_reference=fmt.value(c.metric, c.mean_reference),
                diff=fmt.delta(c.metric, c.mean_diff),
                ci=ci,
                # The Holm-adjusted value decides "better"/"worse"; it is the one shown.
                p=t.p(c.p_adjusted if c.p_adjusted is not None else c.p_value),
                wins=c.wins,
                ties=c.ties,
                losses=c.losses,
                word=word,
            )
        )
        vv = verdicts.setdefault(
            c.variant, VariantVerdict(c.variant, "same", t("cmp_same", ref=ref_name), [], [])
        )
        if word == "better":
            vv.better.append(c.metric)
        elif word == "worse":
            vv.worse.append(c.metric)
    for vv in verdicts.values():
        if vv.status == "reference":
            continue
        if vv.better and vv.worse:
            vv.status, vv.word = "mixed", t("cmp_mixed")
        elif vv.better:
            vv.status, vv.word = "better", t("cmp_better", ref=ref_name)
        elif vv.worse:
            vv.status, vv.word = "worse", t("cmp_worse", ref=ref_name)

    primary = _primary_metric(summary)
    score_metrics = [m for m, s in summary.items() if s.kind == "score"]
    points_lat: list[svg.Point] = []
    points_cost: list[svg.Point] = []
    rows = []
    for s in comparison.summaries:
        q = s.means.get(primary) if primary else None
        emph = s.variant == ref_name
        points_lat.append(svg.Point(s.variant, s.latency_p95_ms, q, emph))
        points_cost.append(svg.Point(s.variant, s.cost_per_case, q, emph))
        rows.append(
            (
                s.variant,
                [fmt.value(m, s.means.get(m)) for m in score_metrics],
                t.ms(s.latency_p50_ms),
                t.ms(s.latency_p95_ms),
                t.cost(s.cost_per_case) if s.cost_per_case is not None else "–",
                s.endpoint_errors,
            )
        )
    qname = t.metric(primary) if primary else t("quality")
    chart_lat = svg.scatter(
        points_lat,
        label=t("tradeoff_chart", quality=qname),
        x_label=t("latency_p95"),
        y_label=qname,
        fmt_x=t.ms,
        fmt_y=lambda v: t.num(v, 2),
    )
    chart_cost = None
    if sum(1 for p in points_cost if p.x is not None and p.y is not None) >= 2:
        chart_cost = svg.scatter(
            points_cost,
            label=f"{qname} / {t('cost_per_case')}",
            x_label=t("cost_per_case"),
            y_label=qname,
            fmt_x=lambda v: t.cost(v),
            fmt_y=lambda v: t.num(v, 2),
        )
    questions = {c.case_id: c.question for c in ref_rec.cases} if ref_rec else {}
    disagreements = [
        (
            d.case_id,
            _truncate(questions.get(d.case_id, ""), 90),
            d.metric,
            [fmt.value(d.metric, d.values.get(v)) for v in comparison.variants],
        )
        for d in comparison.disagreements[:MAX_DISAGREEMENTS]
    ]
    ctx = {
        **_page_context(lang),
        "t": t,
        "title": t("comparison_title"),
        "cmp": comparison,
        "generated": t.date(generated_at or datetime.now(UTC)),
        "created": t.date(comparison.created_at),
        "alpha": t.num(comparison.alpha, 2),
        "verdicts": [verdicts[v] for v in comparison.variants if v in verdicts],
        "pairs": pairs,
        "score_metrics": score_metrics,
        "tradeoff_rows": rows,
        "chart_lat": chart_lat,
        "chart_cost": chart_cost,
        "qname": qname,
        "disagreements": disagreements,
        "more_disagreements": max(0, len(comparison.disagreements) - MAX_DISAGREEMENTS),
        "variant_rows": [
            (
                name,
                recs[name].run_id if name in recs else "–",
                _flat(redact_mapping(recs[name].manifest.variant_settings)) if name in recs else [],
                (recs[name].manifest.git_sha or "–")[:12] if name in recs else "–",
            )
            for name in comparison.variants
        ],
        "ref_name": ref_name,
    }
    return _env().get_template("comparison.html.j2").render(ctx)


def write_comparison_report(
    comparison: Any,
    records: Mapping[str, RunRecord] | Iterable[RunRecord],
    path: str | Path,
    *,
    lang: str = "nl",
) -> Path:
    """Write the comparison report to ``path`` (atomically) and return the path.

    See :func:`render_comparison_report` for the arguments.
    """
    path = Path(path)
    write_atomic(path, render_comparison_report(comparison, records, lang=lang))
    return path
