"""The run report's sections beside the cases.

Scorecards, results by tag, trend, detectable drop, judges and the manifest.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from ragwacht._env import redact_mapping
from ragwacht.records import MetricSummary, RunRecord
from ragwacht.reports import svg
from ragwacht.reports.html._common import _flat, _float, _Fmt, _get, _primary_metric
from ragwacht.reports.html.gate import GateView, RuleView
from ragwacht.reports.i18n import Translator
from ragwacht.reports.judges import calibration_sets, missing_languages, run_languages
from ragwacht.stats import min_detectable_drop
from ragwacht.tracking.mlflow_store import sanitize_key

TAG_ORDER = ("topic", "lang", "language", "difficulty", "source")


# ----------------------------------------------------------------------------- scorecards


@dataclass
class ChangeView:
    """Change of a metric against the baseline."""

    delta: str
    ci: str | None
    p: str | None
    tested: bool
    significant: bool
    word: str  # "better" | "worse" | "no_clear_change" | "not_tested"
    p_label: str = "p"


@dataclass
class CardView:
    """One metric scorecard."""

    metric: str
    label: str
    kind: str
    value: str
    ci: str | None
    scored: int
    total: int
    errors: int
    judge: str | None
    weak: bool
    direction: str
    extras: list[tuple[str, str]]
    change: ChangeView | None
    status: str | None  # gate rule outcome on this metric: "pass" | "fail" | None
    not_scored: list[tuple[str, int]]


def _change(
    metric: str,
    s: MetricSummary,
    rules: Sequence[RuleView],
    baseline: RunRecord | None,
    fmt: _Fmt,
    t: Translator,
) -> ChangeView | None:
    reg = next(
        (r for r in rules if r.metric == metric and (r.delta is not None or r.p_value is not None)),
        None,
    )
    if reg is not None and reg.delta is not None:
        significant = reg.p_value is not None and (reg.passed is False or reg.p_value < 0.05)
        good = (reg.delta > 0) == s.higher_is_better
        word = (
            ("better" if good else "worse")
            if significant and reg.delta != 0
            else ("no_clear_change")
        )
        ci = None
        if reg.ci_low is not None and reg.ci_high is not None:
            ci = f"{fmt.delta(metric, reg.ci_low)} … {fmt.delta(metric, reg.ci_high)}"
        tested = reg.p_value is not None
        return ChangeView(
            delta=fmt.delta(metric, reg.delta),
            ci=ci,
            p=t.p(reg.p_value) if reg.p_value is not None else None,
            tested=tested,
            significant=significant,
            word=word if tested else "not_tested",
            p_label=t("p_holm_short") if reg.p_adjusted is not None else "p",
        )
    if baseline is not None and metric in baseline.summary:
        b = baseline.summary[metric]
        if b.mean is None or s.mean is None:
            return None
        cur = s.p95 if s.kind == "measure" and s.p95 is not None else s.mean
        old = b.p95 if b.kind == "measure" and b.p95 is not None else b.mean
        if cur is None or old is None:
            return None
        # Not gated, so not tested: show the change and say only that, not "no clear change".
        return ChangeView(
            delta=fmt.delta(metric, cur - old),
            ci=None,
            p=None,
            tested=False,
            significant=False,
            word="not_tested",
        )
    return None


def _cards(
    record: RunRecord, gate: GateView, baseline: RunRecord | None, fmt: _Fmt, t: Translator
) -> list[CardView]:
    cards: list[CardView] = []
    for mid, s in record.summary.items():
        extras: list[tuple[str, str]] = []
        if s.kind == "measure":
            if s.p50 is not None:
                extras.append((t("p50"), fmt.value(mid, s.p50)))
            if s.p95 is not None:
                extras.append((t("p95"), fmt.value(mid, s.p95)))
        ci = None
        if s.ci_low is not None and s.ci_high is not None:
            ci = f"{fmt.value(mid, s.ci_low)} – {fmt.value(mid, s.ci_high)}"
        rule_states = [r.passed for r in gate.rules if r.metric == mid and r.passed is not None]
        status = None
        if rule_states:
            status = "pass" if all(rule_states) else "fail"
        cards.append(
            CardView(
                metric=mid,
                label=t.metric(mid),
                kind=s.kind,
                value=fmt.value(mid, s.mean) if s.mean is not None else t("not_scored"),
                ci=ci,
                scored=s.scored,
                total=s.total,
                errors=s.errors,
                judge=s.judge,
                weak=s.weak,
                direction=t("higher_better") if s.higher_is_better else t("lower_better"),
                extras=extras,
                change=_change(mid, s, gate.rules, baseline, fmt, t),
                status=status,
                not_scored=sorted(s.not_scored_reasons.items(), key=lambda kv: -kv[1])[:3],
            )
        )
    return cards


# ----------------------------------------------------------------------------- tags, trend


@dataclass
class TagTableView:
    """One tag key: rows of values with each score metric's mean, and a bar chart."""

    key: str
    key_label: str
    metrics: list[str]
    rows: list[tuple[str, list[str], int]]  # (tag value, mean per metric, cases)
    chart_metric: str
    chart: Markup


def _tag_tables(record: RunRecord, fmt: _Fmt, t: Translator) -> list[TagTableView]:
    score_metrics = [m for m, s in record.summary.items() if s.kind == "score"]
    keys: list[str] = []
    for m in score_metrics:
        for k in record.summary[m].by_tag:
            if k not in keys:
                keys.append(k)
    if not keys:
        # Fall back to the cases' own tags when the summary has no breakdown.
        return []
    keys.sort(key=lambda k: (TAG_ORDER.index(k) if k in TAG_ORDER else len(TAG_ORDER), k))
    primary = _primary_metric(record.summary)
    out: list[TagTableView] = []
    for key in keys:
        metrics = [m for m in score_metrics if key in record.summary[m].by_tag]
        values: list[str] = []
        for m in metrics:
            for v in record.summary[m].by_tag[key]:
                if v not in values:
                    values.append(v)
        rows = []
        for v in values:
            cells = []
            total = 0
            for m in metrics:
                ts = record.summary[m].by_tag[key].get(v)
                cells.append(fmt.value(m, ts.mean) if ts is not None else "–")
                total = max(total, ts.total if ts is not None else 0)
            rows.append((v, cells, total))
        chart_metric = primary if primary in metrics else metrics[0]
        groups = record.summary[chart_metric].by_tag[key]
        bars = [svg.Bar(v, groups[v].mean if v in groups else None) for v in values]
        label = t("by_tag_chart", metric=t.metric(chart_metric), key=t.tag_key(key))

        def fmt_bar(x: float | None, m: str = chart_metric) -> str:
            return fmt.value(m, x)

        chart = svg.bar_chart(bars, label=label, fmt=fmt_bar, not_scored=t("not_scored"))
        out.append(TagTableView(key, t.tag_key(key), metrics, rows, chart_metric, chart))
    return out


@dataclass
class TrendView:
    """Sparklines per metric and the runs as a table."""

    runs: list[tuple[str, str, str]]  # (date, commit, run id)
    metrics: list[str]
    cells: list[list[str]]  # per run, per metric
    sparks: list[tuple[str, Markup, str, str]]  # (metric, svg, first, last)


def _trend(
    trend: Sequence[Any] | None, record: RunRecord, fmt: _Fmt, t: Translator
) -> TrendView | None:
    """Adapter for ``tracking.list_runs`` output (objects or dicts with ``means``)."""
    if not trend:
        return None

    items: list[tuple[Any, str | None, str, Mapping[str, float]]] = []
    for r in trend:
        means = _get(r, "means", default={})
        items.append(
            (
                _get(r, "start_time", "started_at"),
                _get(r, "git_sha"),
                str(_get(r, "run_id", default="")),
                means if isinstance(means, Mapping) else {},
            )
        )
    ids = {i[2] for i in items}
    if record.mlflow_run_id not in ids:
        cur = {sanitize_key(m): s.mean for m, s in record.summary.items() if s.mean is not None}
        items.append((record.manifest.started_at, record.manifest.git_sha, t("this_run"), cur))
    metrics = [m for m, s in record.summary.items() if s.kind == "score"]
    metrics += [m for m, s in record.summary.items() if s.kind != "score"]
    keys = {m: sanitize_key(m) for m in metrics}
    metrics = [m for m in metrics if sum(1 for i in items if keys[m] in i[3]) >= 2]
    if not metrics:
        return None
    runs = [
        (t.date(i[0], time=False) if i[0] is not None else "–", (i[1] or "")[:8], i[2][:12])
        for i in items
    ]
    cells = [[fmt.value(m, _float(i[3].get(keys[m]))) for m in metrics] for i in items]
    sparks = []
    for m in metrics:
        series = [_float(i[3].get(keys[m])) for i in items]
        present = [v for v in series if v is not None]
        first, last = fmt.value(m, present[0]), fmt.value(m, present[-1])
        label = t("trend_chart", metric=t.metric(m), n=len(series), first=first, last=last)
        is_score = record.summary[m].kind == "score"
        spark = svg.sparkline(
            series, label=label, lo=0.0 if is_score else None, hi=1.0 if is_score else None
        )
        sparks.append((m, spark, first, last))
    return TrendView(runs, metrics, cells, sparks)


# ----------------------------------------------------------------------------- detectable drop


@dataclass
class DetectView:
    """What drop the set can detect."""

    n: int
    lines: list[str]
    ci_width: str | None
    paired: bool = False


def _detectable(record: RunRecord, gate: GateView, t: Translator) -> DetectView:
    n = len(record.cases)
    lines: list[str] = []
    scores = {m: s for m, s in record.summary.items() if s.kind == "score"}
    paired = False
    if gate.min_detectable:
        if gate.min_detectable_n:
            n = int(gate.min_detectable_n)
        paired = gate.min_detectable_paired
        for m, v in gate.min_detectable.items():
            lines.append(t("detectable_metric", metric=t.metric(m), drop=t.num(v, 2)))
    else:
        # The project's rough guide: a one-sided test at 5% with 80% power against a fixed
        # reference; conservative for paired runs, which the gate refines when it has them.

        for m, s in scores.items():
            if s.mean is None or s.scored < 1:
                continue
            drop = min_detectable_drop(s.scored, max(0.0, min(1.0, s.mean)))
            if math.isfinite(drop):
                lines.append(t("detectable_metric", metric=t.metric(m), drop=t.num(drop, 2)))
    widths = [
        s.ci_high - s.ci_low
        for s in scores.values()
        if s.ci_low is not None and s.ci_high is not None
    ]
    # The width of one run's intervals says nothing about a paired comparison; shown only
    # when the figures are the unpaired guide.
    ci_width = t.num(sum(widths) / len(widths), 2) if widths and not paired else None
    return DetectView(n=n, lines=lines, ci_width=ci_width, paired=paired)


# ----------------------------------------------------------------------------- judges, manifest


@dataclass
class CalibrationRow:
    """One calibration set of a judge, formatted."""

    name: str
    language: str
    n: str
    balanced_accuracy: str
    ci: str | None
    kappa: str


@dataclass
class JudgeView:
    """A judge with its calibration sets."""

    id: str
    kind: str
    model: str | None
    prompt: str | None
    weak: bool
    sets: list[CalibrationRow]
    language_note: str | None

    @property
    def calibrated(self) -> bool:
        """Whether the judge was scored against human labels at all."""
        return bool(self.sets)


def _judges(record: RunRecord, t: Translator) -> list[JudgeView]:
    languages = run_languages(record)
    out = []
    for j in record.manifest.judges:
        sets = calibration_sets(j)
        rows = [
            CalibrationRow(
                name=cs.name,
                language=cs.language or t("language_unknown"),
                n=t.num(cs.n, 0) if cs.n is not None else "–",
                balanced_accuracy=t.num(cs.balanced_accuracy, 3),
                ci=f"{t.num(cs.ci_low, 3)} – {t.num(cs.ci_high, 3)}"
                if cs.ci_low is not None and cs.ci_high is not None
                else None,
                kappa=t.num(cs.kappa, 3),
            )
            for cs in sets
        ]
        missing = missing_languages(sets, languages)
        note = None
        if missing:
            have = sorted({cs.language for cs in sets if cs.language})
            note = t(
                "judge_lang_missing" if sets else "judge_lang_uncalibrated",
                judge=j.id,
                langs=", ".join(missing),
                have=", ".join(have) if have else t("language_unknown"),
            )
        out.append(
            JudgeView(
                id=j.id,
                kind=j.kind,
                model=j.model,
                prompt=" ".join(x for x in (j.prompt_version, (j.prompt_hash or "")[:12]) if x)
                or None,
                weak=j.weak,
                sets=rows,
                language_note=note,
            )
        )
    return out


def _manifest(record: RunRecord, t: Translator) -> list[tuple[str, str]]:
    m = record.manifest
    git = " ".join(x for x in (m.git_sha, f"({m.git_branch})" if m.git_branch else None) if x)
    rows = [
        (t("harness_version"), m.harness_version),
        (t("run_id"), record.run_id),
        (t("suite"), f"{m.suite_name}" + (f" ({m.suite_path})" if m.suite_path else "")),
        (t("suite_hash"), m.suite_hash),
        (t("dataset"), f"{m.dataset_name} {m.dataset_version}"),
        (t("dataset_digest"), m.dataset_digest),
        (t("variant"), m.variant),
        (t("git"), git or "–"),
        (t("started"), t.date(m.started_at)),
        (t("finished"), t.date(m.finished_at)),
        (t("python"), m.python or "–"),
        (t("platform"), m.platform or "–"),
        (t("endpoint_errors"), str(record.endpoint_errors)),
        (t("judge_errors"), str(record.judge_errors)),
    ]
    if record.mlflow_run_id:
        rows.append(("MLflow", record.mlflow_run_id))
    for k, v in _flat(redact_mapping(m.endpoint_profile)):
        rows.append((f"{t('endpoint_profile')}: {k}", v))
    for k, v in _flat(redact_mapping(m.variant_settings)):
        rows.append((f"{t('variant_settings')}: {k}", v))
    for k, v in sorted(m.ci.items()):
        rows.append((f"{t('ci')}: {k}", v))
    return rows
