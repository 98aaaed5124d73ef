"""A concise Markdown summary of a run and its gate: for ``$GITHUB_STEP_SUMMARY`` and MR comments.

Verdict first, then one table row per check (an icon *and* a word, so the result reads without
colour or emoji), flipped cases, the worst cases, what drop the set can detect, and links to
the full artifacts. Chatbot text is untrusted: it is escaped so it cannot break the table,
inject links or HTML, or ping people.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ragwacht.ci.cases import format_value, worst_cases
from ragwacht.ci.gate import GateResult, RuleResult, as_gate_result, output_metrics
from ragwacht.evals.record import RunRecord
from ragwacht.reports.conversations import conversation_markdown

DEFAULT_LINKS = {
    "HTML report": "report.html",
    "JUnit XML": "junit.xml",
    "run record": "run.json",
    "metrics": "metrics.txt",
}
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~@])")
MAX_FLIPS_SHOWN = 15


def md_escape(text: object, limit: int = 120) -> str:
    """One line of untrusted text, safe inside a Markdown table cell."""
    s = " ".join(str(text).split())
    if len(s) > limit:
        s = s[: limit - 1] + "…"
    return _MD_SPECIAL.sub(r"\\\1", s)


def md_code(text: object, limit: int = 60) -> str:
    """Untrusted text as inline code (backticks and line breaks removed)."""
    s = " ".join(str(text).replace("`", "'").split())
    if len(s) > limit:
        s = s[: limit - 1] + "…"
    return f"`{s}`" if s else "` `"


def _signed(x: float | None, unit: str) -> str:
    if x is None:
        return ""
    if not unit:
        return f"{100 * x:+.1f} pt"
    return ("+" if x >= 0 else "−") + format_value(abs(x), unit)


def _status(rule: RuleResult) -> str:
    if rule.passed is None:
        return "➖ not checked"
    return "✅ pass" if rule.passed else "❌ **FAIL**"


def _limit(rule: RuleResult) -> str:
    if rule.limit is None:
        return ""
    if rule.kind == "regression":
        lim = f"{100 * rule.limit:.1f} pt" if not rule.unit else format_value(rule.limit, rule.unit)
        return f"drop ≤ {lim}"
    if rule.kind in ("scored_fraction", "error_budget"):
        return f"{'≥' if rule.op == '>=' else '≤'} {rule.limit:.0%}"
    return f"{'≥' if rule.op == '>=' else '≤'} {format_value(rule.limit, rule.unit)}"


def _observed(rule: RuleResult) -> str:
    if rule.observed is None:
        return "–"
    if rule.kind in ("scored_fraction", "error_budget"):
        extra = f" of {rule.n}" if rule.n is not None else ""
        return f"{rule.observed:.0%}{extra}"
    text = format_value(rule.observed, rule.unit)
    if rule.kind == "threshold" and rule.ci_low is not None and rule.ci_high is not None:
        text += (
            f" [{format_value(rule.ci_low, rule.unit)}, {format_value(rule.ci_high, rule.unit)}]"
        )
    return text


def _change(rule: RuleResult) -> str:
    if rule.kind != "regression" or rule.delta is None:
        return ""
    ci = ""
    if rule.ci_low is not None and rule.ci_high is not None:
        ci = f" [{_signed(rule.ci_low, rule.unit)}, {_signed(rule.ci_high, rule.unit)}]"
    base = format_value(rule.baseline, rule.unit)
    p = ""
    if rule.p_adjusted is not None:
        p = f"; p={rule.p_adjusted:.2g}"
    return f"{base} → {_signed(rule.delta, rule.unit)}{ci}{p}"


def _what(rule: RuleResult) -> str:
    if rule.kind == "error_budget":
        return "error budget (endpoint + judge failures)"
    metric = md_code(rule.metric or "")
    if rule.kind == "threshold":
        return f"{metric} {rule.stat}"
    if rule.kind == "regression":
        return f"{metric} vs baseline"
    return f"{metric} scored cases"


def render_markdown(
    record: RunRecord,
    gate_result: GateResult | dict[str, Any] | None = None,
    *,
    links: Mapping[str, str] | None = None,
    worst: int = 5,
) -> str:
    """The Markdown summary of a run and its gate.

    Args:
        record: the run.
        gate_result: its gate result (or the stored ``record.gate``); None for a run without a
            gate policy.
        links: artifact name -> URL or relative path; defaults to the file names ragwacht
            writes next to the summary (replace them with CI artifact URLs where known).
        worst: how many worst cases to list.

    Returns:
        The Markdown text, ending with a newline.

    """
    result = as_gate_result(gate_result)
    out: list[str] = []
    title = f"{md_escape(record.suite)} / {md_escape(record.variant)}"
    if result is None:
        out.append(f"## ragwacht: {title} (no gate policy)")
    elif result.passed:
        out.append(f"## ✅ PASS: ragwacht gate for {title}")
    else:
        code = " (error budget exceeded)" if result.exit_code == 4 else ""
        out.append(f"## ❌ FAIL{code}: ragwacht gate for {title}")
    out.append("")
    m = record.manifest
    facts = [
        f"{len(record.cases)} cases",
        f"dataset {md_code(m.dataset_name)} v{md_escape(m.dataset_version)} "
        f"({md_code(m.dataset_digest[:19])})",
    ]
    if m.git_sha:
        facts.append(f"commit {md_code(m.git_sha[:12])}")
    if result is not None:
        if result.baseline_run_id:
            facts.append(f"baseline run {md_code(result.baseline_run_id[:12])}")
        else:
            facts.append("no baseline (thresholds only)")
    out.append(" · ".join(facts))
    out.append("")
    if conv_line := conversation_markdown(record):
        out.extend([conv_line, ""])
    if result is not None:
        out.append(f"**{md_escape(result.headline, 400)}**")
        out.append("")
        out.append("| | Check | Observed | Limit | Baseline → change [95% CI] |")
        out.append("|---|---|---|---|---|")
        for r in result.rules:
            out.append(
                f"| {_status(r)} | {_what(r)} | {_observed(r)} | {_limit(r)} | {_change(r)} |"
            )
        out.append("")
        fam = "Holm-adjusted across metrics" if result.family_wise == "holm" else "unadjusted"
        out.append(
            f"Regression = drop above the tolerance **and** one-sided paired sign-flip test "
            f"significant at α = {result.alpha:g} ({fam}). Thresholds compare the point "
            "estimate."
        )
        out.append("")
        for w in result.warnings:
            out.append(f"> ⚠️ **Warning:** {md_escape(w, 400)}")
            out.append("")
        flips = [f for f in result.flips if f.pass_to_fail or f.fail_to_pass]
        if flips:
            out.append("### Flipped cases")
            out.append("")
            for f in flips:
                out.append(
                    f"- {md_code(f.metric)}: pass → fail ({len(f.pass_to_fail)}): "
                    f"{_ids(f.pass_to_fail)}; fail → pass ({len(f.fail_to_pass)}): "
                    f"{_ids(f.fail_to_pass)}"
                )
            out.append("")
    metrics = output_metrics(record, result)
    worst_list = worst_cases(
        record, [(g.metric, g.higher_is_better, g.case_pass, g.unit) for g in metrics], worst
    )
    if worst_list:
        questions = {c.case_id: c.question for c in record.cases}
        out.append("### Worst cases")
        out.append("")
        out.append("| Case | Metric | Value | Why | Question |")
        out.append("|---|---|---|---|---|")
        for o in worst_list:
            value = "–" if o.value is None else f"{o.value:.3g}"
            out.append(
                f"| {md_code(o.case_id)} | {md_code(o.metric)} | {value} | "
                f"{md_escape(o.message, 80)} | {md_escape(questions.get(o.case_id, ''), 80)} |"
            )
        out.append("")
    detect = [g for g in metrics if g.min_detectable_drop is not None]
    if detect:
        parts = [
            f"{md_code(g.metric)} ≈ {100 * (g.min_detectable_drop or 0):.0f} pt" for g in detect[:6]
        ]
        power = float(result.policy.get("power", 0.8)) if result is not None else 0.8
        out.append(
            f"Smallest drop this set detects ({power:.0%} power, {len(record.cases)} cases): "
            + ", ".join(parts)
            + ". Grow the set to detect smaller drops."
        )
        out.append("")
    links = dict(DEFAULT_LINKS if links is None else links)
    if links:
        out.append("Artifacts: " + " · ".join(f"[{md_escape(k)}](<{v}>)" for k, v in links.items()))
        out.append("")
    return "\n".join(out)


def _ids(ids: list[str]) -> str:
    if not ids:
        return "none"
    shown = ", ".join(md_code(i, 40) for i in ids[:MAX_FLIPS_SHOWN])
    more = f" and {len(ids) - MAX_FLIPS_SHOWN} more" if len(ids) > MAX_FLIPS_SHOWN else ""
    return shown + more


def append_step_summary(markdown: str, env: Mapping[str, str] | None = None) -> Path | None:
    """Append ``markdown`` to ``$GITHUB_STEP_SUMMARY`` when it is set; return that path."""
    env = os.environ if env is None else env
    target = env.get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    path = Path(target)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(markdown if markdown.endswith("\n") else markdown + "\n")
    return path
