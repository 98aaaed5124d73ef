"""The gate result as the report shows it, and the verdict banner's sentences.

:func:`gate_view` is the one place that knows the gate's keys; it tolerates missing ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ragwacht.records import GateResult
from ragwacht.reports.html._common import _float, _Fmt, _get
from ragwacht.reports.i18n import Translator

# ----------------------------------------------------------------------------- gate adapter


@dataclass
class RuleView:
    """One rule of the gate, normalised for display."""

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
    p_value: float | None
    passed: bool | None
    message: str | None
    p_raw: float | None = None
    p_adjusted: float | None = None
    higher_is_better: bool = True

    @property
    def unit_metric(self) -> str:
        """The metric whose unit formats this rule's numbers; '' for shares of cases."""
        if self.kind in ("scored_fraction", "error_budget"):
            return ""
        return self.metric or ""

    @property
    def is_regression(self) -> bool:
        """A rule on the change against the baseline, whose limit is the allowed drop."""
        return "regress" in self.kind.lower()

    @property
    def op_symbol(self) -> str:
        """The comparison as a mathematical sign (``>=`` and ``min`` become ``≥``)."""
        return _OPS.get(str(self.op).lower(), "") if self.op else ""


_OPS = {"ge": "≥", ">=": "≥", "min": "≥", "le": "≤", "<=": "≤", "max": "≤", "gt": ">",
        ">": ">", "lt": "<", "<": "<"}  # fmt: skip


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
    """What the report needs from the gate result; every field survives a missing key."""

    present: bool
    status: str  # "pass" | "fail" | "error" | "none"
    exit_code: int | None = None
    headline: str | None = None
    reasons: list[str] = field(default_factory=list)
    rules: list[RuleView] = field(default_factory=list)
    flips: list[FlipView] | None = None
    digest_changed: bool = False
    min_detectable: dict[str, float] = field(default_factory=dict)
    min_detectable_n: int | None = None
    has_baseline: bool | None = None
    min_detectable_paired: bool = False
    case_pass: dict[str, float] = field(default_factory=dict)
    family_wise: str | None = None
    baseline_run_id: str | None = None
    baseline_git_sha: str | None = None
    baseline_variant: str | None = None
    shared_cases: int | None = None
    notes: list[str] = field(default_factory=list)


def _flip_items(raw: Any, direction: str) -> list[FlipView]:
    out: list[FlipView] = []
    if isinstance(raw, Mapping):
        # {case_id: [metrics]} or {case_id: metric}
        for cid, ms in raw.items():
            metrics = [str(m) for m in ms] if isinstance(ms, list | tuple) else [str(ms)]
            out.append(FlipView(str(cid), direction, metrics))
        return out
    for item in raw or []:
        if isinstance(item, Mapping):
            cid = _get(item, "case_id", "id", "case")
            if cid is None:
                continue
            ms = _get(item, "metrics", "metric", default=[])
            metrics = [str(m) for m in ms] if isinstance(ms, list | tuple) else [str(ms)]
            out.append(FlipView(str(cid), direction, metrics))
        else:
            out.append(FlipView(str(item), direction, []))
    return out


def gate_view(gate: GateResult | Mapping[str, Any] | None) -> GateView:
    """Normalise a serialized ``GateResult`` for the report.

    This is the one function that knows the gate's keys. It accepts the documented shape
    (``verdict``, ``exit_code``, ``headline``, ``reasons``, ``rules``, ``flipped``,
    ``digest_changed``, ``min_detectable_drop``) and a few spellings of each, and never fails
    on a missing or malformed key.

    Args:
        gate: the gate result as stored in ``RunRecord.gate``, or None.

    """
    if isinstance(gate, GateResult):
        gate = gate.model_dump(mode="json")
    if not gate or not isinstance(gate, Mapping):
        return GateView(present=False, status="none")
    verdict = str(_get(gate, "verdict", "status", "outcome", default="")).lower()
    passed = _get(gate, "passed")
    exit_code = _get(gate, "exit_code")
    try:
        exit_code = int(exit_code) if exit_code is not None else None
    except (TypeError, ValueError):
        exit_code = None
    if verdict in ("pass", "passed", "ok", "success"):
        status = "pass"
    elif verdict in ("error", "error_budget", "errors", "error_budget_exceeded"):
        status = "error"
    elif verdict in ("fail", "failed", "failure", "regression"):
        status = "fail"
    elif isinstance(passed, bool):
        status = "pass" if passed else "fail"
    elif exit_code is not None:
        status = {0: "pass", 3: "fail", 4: "error"}.get(exit_code, "fail")
    else:
        status = "none"
    if status == "fail" and exit_code == 4:
        status = "error"

    hib = {
        str(gm.get("metric")): bool(gm.get("higher_is_better", True))
        for gm in _get(gate, "metrics", default=[]) or []
        if isinstance(gm, Mapping)
    }
    rules: list[RuleView] = []
    raw_rules = _get(gate, "rules", "results", "checks", default=[])
    if isinstance(raw_rules, Mapping):
        raw_rules = [{"name": k, **v} for k, v in raw_rules.items() if isinstance(v, Mapping)]
    for r in raw_rules if isinstance(raw_rules, list) else []:
        if not isinstance(r, Mapping):
            continue
        ci = _get(r, "ci")
        ci_low = _float(_get(r, "ci_low", "delta_ci_low"))
        ci_high = _float(_get(r, "ci_high", "delta_ci_high"))
        if isinstance(ci, list | tuple) and len(ci) == 2:
            ci_low, ci_high = _float(ci[0]), _float(ci[1])
        metric = _get(r, "metric")
        ok = _get(r, "passed", "ok")
        rules.append(
            RuleView(
                name=str(_get(r, "name", "rule", "id", default=metric or "")),
                metric=str(metric) if metric is not None else None,
                kind=str(_get(r, "kind", "type", default="threshold")),
                observed=_float(_get(r, "observed", "value", "mean")),
                limit=_float(_get(r, "limit", "threshold", "bound")),
                op=_get(r, "op", "operator", "comparison"),
                baseline=_float(_get(r, "baseline", "baseline_value", "baseline_mean")),
                delta=_float(_get(r, "delta", "mean_diff", "diff")),
                ci_low=ci_low,
                ci_high=ci_high,
                p_value=_float(_get(r, "p_adjusted", "p_value_adjusted", "p_value", "p")),
                passed=bool(ok) if ok is not None else None,
                message=_get(r, "message", "reason", "detail"),
                p_raw=_float(_get(r, "p_value", "p")),
                p_adjusted=_float(_get(r, "p_adjusted", "p_value_adjusted")),
                higher_is_better=hib.get(str(metric), True),
            )
        )

    flips: list[FlipView] | None = None
    flipped = _get(gate, "flipped", "flips")
    p2f = _get(gate, "flipped_pass_to_fail", "pass_to_fail")
    f2p = _get(gate, "flipped_fail_to_pass", "fail_to_pass")
    if isinstance(flipped, Mapping):
        p2f = _get(flipped, "pass_to_fail", "to_fail", "regressed", default=p2f)
        f2p = _get(flipped, "fail_to_pass", "to_pass", "improved", default=f2p)
    elif isinstance(flipped, list):
        flips = []
        per_case: dict[tuple[str, str], FlipView] = {}
        for item in flipped:
            if not isinstance(item, Mapping):
                continue
            if "pass_to_fail" in item or "fail_to_pass" in item:
                # One entry per metric (``MetricFlips``): merge them per case and direction.
                metric = str(_get(item, "metric", default=""))
                for d in ("pass_to_fail", "fail_to_pass"):
                    for fv in _flip_items(item.get(d), d):
                        view = per_case.setdefault((fv.case_id, d), FlipView(fv.case_id, d, []))
                        if metric and metric not in view.metrics:
                            view.metrics.append(metric)
                continue
            d = str(_get(item, "direction", "flip", default="pass_to_fail"))
            d = "fail_to_pass" if "pass" in d.split("_to_")[-1] else "pass_to_fail"
            flips.extend(_flip_items([item], d))
        flips.extend(per_case.values())
    if p2f is not None or f2p is not None:
        flips = (flips or []) + _flip_items(p2f, "pass_to_fail") + _flip_items(f2p, "fail_to_pass")

    mdd_raw = _get(gate, "min_detectable_drop", "min_detectable_drops", "mdd", "detectable_drop")
    mdd: dict[str, float] = {}
    mdd_n: int | None = None
    if isinstance(mdd_raw, Mapping):
        for k, v in mdd_raw.items():
            if isinstance(v, Mapping):
                f = _float(_get(v, "drop", "value", "mdd"))
                mdd_n = mdd_n or _get(v, "n")
            else:
                f = _float(v)
            if f is not None and k not in ("n", "power", "alpha"):
                mdd[str(k)] = f
        n_val = mdd_raw.get("n")
        if isinstance(n_val, int):
            mdd_n = n_val
    elif (f := _float(mdd_raw)) is not None:
        mdd["*"] = f
    mdd_paired = False
    if not mdd:
        # Per gated metric (``GateResult.metrics[].min_detectable_drop``).
        paired_flags = []
        for gm in _get(gate, "metrics", default=[]) or []:
            if isinstance(gm, Mapping) and (v := _float(gm.get("min_detectable_drop"))) is not None:
                mdd[str(gm.get("metric"))] = v
                paired_flags.append(bool(gm.get("min_detectable_paired")))
        mdd_paired = bool(paired_flags) and all(paired_flags)
    reasons = _get(gate, "reasons", "messages", default=[])
    baseline_present = _get(gate, "has_baseline", "baseline_found")
    if baseline_present is None and _get(gate, "baseline_run_id", "baseline") is not None:
        baseline_present = True
    return GateView(
        present=True,
        status=status,
        exit_code=exit_code,
        headline=_get(gate, "headline", "summary", "message"),
        reasons=[str(x) for x in reasons] if isinstance(reasons, list) else [str(reasons)],
        rules=rules,
        flips=flips,
        digest_changed=bool(_get(gate, "digest_changed", "dataset_changed", default=False)),
        notes=[str(x) for x in _get(gate, "notes", default=[]) or [] if x],
        min_detectable=mdd,
        min_detectable_n=mdd_n
        if isinstance(mdd_n, int)
        else _get(gate, "n_shared", "shared_cases", "n", "cases"),
        has_baseline=bool(baseline_present) if baseline_present is not None else None,
        min_detectable_paired=mdd_paired,
        case_pass={
            str(gm.get("metric")): v
            for gm in _get(gate, "metrics", default=[]) or []
            if isinstance(gm, Mapping) and (v := _float(gm.get("case_pass"))) is not None
        },
        family_wise=_get(gate, "family_wise"),
        baseline_run_id=_get(gate, "baseline_run_id"),
        baseline_git_sha=_get(gate, "baseline_git_sha"),
        baseline_variant=_get(gate, "baseline_variant"),
        shared_cases=_get(gate, "shared_cases"),
    )


# ----------------------------------------------------------------------------- verdict text


def _rule_sentence(r: RuleView, fmt: _Fmt, t: Translator) -> str:
    name = t.metric(r.metric) if r.metric else r.name
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
    if not lines:
        lines = list(gate.reasons)
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
