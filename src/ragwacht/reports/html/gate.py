"""The gate result as the report shows it, and the verdict banner's sentences.

:func:`gate_view` turns the run's :class:`~ragwacht.records.GateResult` into what the page
needs; it is the one place in the HTML report that reads the gate result.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ragwacht.i18n import gate as gate_words
from ragwacht.records import GateResult, MetricFlips, RuleResult
from ragwacht.reports.html._common import _float, _Fmt
from ragwacht.reports.i18n import Translator

# ----------------------------------------------------------------------------- gate adapter


@dataclass
class RuleView:
    """One rule of the gate, as the page shows it."""

    name: str
    metric: str | None
    kind: str
    observed: float | None
    limit: float | None
    op: str | None
    baseline: float | None
    delta: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None  # the Holm-adjusted p where there is one, else the raw p
    passed: bool | None
    message: str | None
    p_raw: float | None = None
    p_adjusted: float | None = None
    higher_is_better: bool = True
    group: str | None = None  # the tag group a per-tag threshold checks ("topic:woz")

    @property
    def unit_metric(self) -> str:
        """The metric whose unit formats this rule's numbers; '' for shares of cases."""
        if self.kind in ("scored_fraction", "error_budget"):
            return ""
        return self.metric or ""

    @property
    def is_regression(self) -> bool:
        """A rule on the change against the baseline, whose limit is the allowed drop."""
        return self.kind == "regression"

    @property
    def op_symbol(self) -> str:
        """The comparison as a mathematical sign (``>=`` becomes ``≥``)."""
        return _OPS.get(self.op, "") if self.op else ""


_OPS = {">=": "≥", "<=": "≤"}


@dataclass
class FlipView:
    """A case that flipped against the baseline."""

    case_id: str
    direction: str  # "pass_to_fail" | "fail_to_pass"
    metrics: list[str] = field(default_factory=list)
    # Per metric: (metric, value in the baseline, value now), formatted; filled in by the report.
    values: list[tuple[str, str, str]] = field(default_factory=list)


@dataclass
class GateView:
    """What the report needs from the gate result (``present`` is False without a gate)."""

    present: bool
    status: str  # "pass" | "fail" | "error" | "none"
    exit_code: int | None = None
    headline: str | None = None
    rules: list[RuleView] = field(default_factory=list)
    flips: list[FlipView] | None = None
    digest_changed: bool = False
    min_detectable: dict[str, float] = field(default_factory=dict)
    min_detectable_n: int | None = None
    has_baseline: bool = False
    min_detectable_paired: bool = False
    case_pass: dict[str, float] = field(default_factory=dict)
    family_wise: str | None = None
    baseline_run_id: str | None = None
    baseline_git_sha: str | None = None
    baseline_variant: str | None = None
    shared_cases: int | None = None
    notes: list[str] = field(default_factory=list)


def _rule_view(r: RuleResult, higher_is_better: bool, message: str) -> RuleView:
    return RuleView(
        name=r.name,
        metric=r.metric,
        kind=r.kind,
        observed=_float(r.observed),
        limit=_float(r.limit),
        op=r.op,
        baseline=_float(r.baseline),
        delta=_float(r.delta),
        ci_low=_float(r.ci_low),
        ci_high=_float(r.ci_high),
        p_value=_float(r.p_adjusted if r.p_adjusted is not None else r.p_value),
        passed=r.passed,
        message=message,
        p_raw=_float(r.p_value),
        p_adjusted=_float(r.p_adjusted),
        higher_is_better=higher_is_better,
        group=str(r.facts["group"]) if r.facts.get("group") else None,
    )


def _flip_views(flips: list[MetricFlips]) -> list[FlipView]:
    """One view per case and direction, naming every metric that flipped it that way."""
    per_case: dict[tuple[str, str], FlipView] = {}
    for mf in flips:
        for direction, ids in (
            ("pass_to_fail", mf.pass_to_fail),
            ("fail_to_pass", mf.fail_to_pass),
        ):
            for cid in ids:
                view = per_case.setdefault((cid, direction), FlipView(cid, direction, []))
                if mf.metric and mf.metric not in view.metrics:
                    view.metrics.append(mf.metric)
    return list(per_case.values())


def gate_view(gate: GateResult | None, lang: str = "en") -> GateView:
    """The run's gate result as the report shows it.

    Args:
        gate: ``RunRecord.gate``, or None for a run without a gate policy.
        lang: the language of the gate's sentences (rule messages, headline, notes); a record
            written before the gate stored its reasons keeps its own (English) sentences.

    """
    if gate is None:
        return GateView(present=False, status="none")
    # A failed error budget (exit 4) is shown as an error, not as a quality failure.
    status = "error" if gate.verdict == "fail" and gate.exit_code == 4 else gate.verdict
    hib = {gm.metric: gm.higher_is_better for gm in gate.metrics}
    mdd = {gm.metric: v for gm in gate.metrics if (v := _float(gm.min_detectable_drop)) is not None}
    paired = [gm.min_detectable_paired for gm in gate.metrics if gm.metric in mdd]
    return GateView(
        present=True,
        status=status,
        exit_code=gate.exit_code,
        headline=gate_words.headline_text(gate, lang),
        rules=[
            _rule_view(
                r,
                hib.get(r.metric or "", True),
                gate_words.rule_text(r, lang, rules=gate.rules),
            )
            for r in gate.rules
        ],
        flips=_flip_views(gate.flips),
        digest_changed=bool(gate.dataset_changed),
        notes=[x for x in gate_words.notes_text(gate, lang) if x],
        min_detectable=mdd,
        min_detectable_n=gate.shared_cases if gate.shared_cases is not None else gate.cases,
        has_baseline=gate.baseline_run_id is not None,
        min_detectable_paired=bool(paired) and all(paired),
        case_pass={gm.metric: v for gm in gate.metrics if (v := _float(gm.case_pass)) is not None},
        family_wise=gate.family_wise,
        baseline_run_id=gate.baseline_run_id,
        baseline_git_sha=gate.baseline_git_sha,
        baseline_variant=gate.baseline_variant,
        shared_cases=gate.shared_cases,
    )


# ----------------------------------------------------------------------------- verdict text


def _rule_sentence(r: RuleView, fmt: _Fmt, t: Translator) -> str:
    name = t.metric(r.metric) if r.metric else r.name
    if r.group:
        name += f" [{r.group}]"
    parts = [name]
    if r.observed is not None and r.metric and not r.is_regression:
        parts.append(f"{t('observed').lower()} {fmt.value(r.unit_metric, r.observed)}")
    if r.limit is not None and r.metric and not r.is_regression:
        op = r.op_symbol
        limit = fmt.value(r.unit_metric, r.limit)
        parts.append(f"{t('limit').lower()} {op}{' ' if op else ''}{limit}")
    if r.delta is not None and r.metric:
        d = f"{t('change').lower()} {fmt.delta(r.metric, r.delta)} {t('vs_baseline')}"
        if r.p_value is not None:
            label = t("p_holm_short") if r.p_adjusted is not None else "p"
            d += (
                f" ({label} {t.p(r.p_value)})"
                if r.p_value < 0.001
                else f" ({label} = {t.p(r.p_value)})"
            )
        parts.append(d)
        if r.is_regression and r.limit is not None:
            parts.append(f"{_allowed(r, t)} {fmt.value(r.unit_metric, r.limit)}")
    text = parts[0] + (": " + ", ".join(parts[1:]) if len(parts) > 1 else "")
    if r.message and len(parts) == 1:
        text += f": {r.message}"
    return text


def _allowed(r: RuleView, t: Translator) -> str:
    """The words for a regression rule's limit: a drop, or a rise where lower is better."""
    return t("allowed_drop") if r.higher_is_better else t("allowed_rise")


@dataclass
class VerdictView:
    """The banner at the top."""

    status: str
    word: str
    why: str
    lines: list[str]
    exit_code: int | None


def _verdict(gate: GateView, fmt: _Fmt, t: Translator) -> VerdictView:
    if not gate.present:
        return VerdictView("none", t("verdict_none"), t("verdict_none_why"), [], None)
    word = {"pass": t("verdict_pass"), "fail": t("verdict_fail"), "error": t("verdict_error")}
    failed = [r for r in gate.rules if r.passed is False]
    lines = [_rule_sentence(r, fmt, t) for r in failed]
    why = {
        "pass": t("verdict_pass_why"),
        "fail": t("verdict_fail_why"),
        "error": t("verdict_fail_why"),
    }.get(gate.status, t("verdict_none_why"))
    if gate.headline and (gate.status == "error" or gate.exit_code == 5):
        why = gate.headline
    # The baseline used (or why there was none) and any cached answers, stated by the verdict.
    lines.extend(gate.notes)
    return VerdictView(gate.status, word.get(gate.status, t("verdict_none")), why, lines,
                       gate.exit_code)  # fmt: skip
