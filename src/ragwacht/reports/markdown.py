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
from ragwacht.ci.gate import as_gate_result, output_metrics
from ragwacht.records import GateResult, RuleResult, RunRecord
from ragwacht.reports._bidi import strip_bidi
from ragwacht.reports.conversations import conversation_counts
from ragwacht.reports.judges import calibration_sets, missing_languages, run_languages

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
    s = " ".join(strip_bidi(str(text)).split())
    if len(s) > limit:
        s = s[: limit - 1] + "…"
    return _MD_SPECIAL.sub(r"\\\1", s)


def md_code(text: object, limit: int = 60) -> str:
    """Untrusted text as inline code (backticks and line breaks removed)."""
    s = " ".join(strip_bidi(str(text)).replace("`", "'").split())
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


def _limit(rule: RuleResult, higher_is_better: bool = True) -> str:
    if rule.limit is None:
        return ""
    if rule.kind == "regression":
        lim = f"{100 * rule.limit:.1f} pt" if not rule.unit else format_value(rule.limit, rule.unit)
        # A lower-is-better metric (hallucination rate, latency) gets worse by rising.
        return f"{'drop' if higher_is_better else 'rise'} ≤ {lim}"
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


def _change(rule: RuleResult, holm: bool = True) -> str:
    if rule.kind != "regression" or rule.delta is None:
        return ""
    ci = ""
    if rule.ci_low is not None and rule.ci_high is not None:
        ci = f" [{_signed(rule.ci_low, rule.unit)}, {_signed(rule.ci_high, rule.unit)}]"
    base = format_value(rule.baseline, rule.unit)
    p = ""
    if rule.p_adjusted is not None:
        # The adjusted value is the one the gate decides on; name it as such.
        p = f"; {'Holm-adjusted p' if holm else 'p'}={rule.p_adjusted:.2g}"
    return f"{base} → {_signed(rule.delta, rule.unit)}{ci}{p}"


def _what(rule: RuleResult) -> str:
    if rule.kind == "error_budget":
        return "error budget (endpoint + judge failures)"
    if rule.kind == "baseline":
        return "baseline available and comparable"
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
        code = {4: " (error budget exceeded)", 5: " (regression checks could not run)"}.get(
            result.exit_code, ""
        )
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
        if result.baseline_status == "unavailable":
            facts.append("**baseline UNAVAILABLE: regressions not checked**")
        elif result.baseline_run_id:
            facts.append(f"baseline run {md_code(result.baseline_run_id[:12])}")
        else:
            facts.append("no baseline (thresholds only)")
        if result.cached_responses:
            facts.append(
                f"**{result.cached_responses} of {result.cases} answers from the response "
                "cache, not the endpoint**"
            )
    out.append(" · ".join(facts))
    out.append("")
    if conv_line := conversation_markdown(record):
        out.extend([conv_line, ""])
    if result is not None:
        out.append(f"**{md_escape(result.headline, 400)}**")
        out.append("")
        holm = result.family_wise == "holm"
        p_label = "Holm-adjusted p" if holm else "p"
        out.append(f"| | Check | Observed | Limit | Baseline → change [95% CI]; {p_label} |")
        out.append("|---|---|---|---|---|")
        hib = {g.metric: g.higher_is_better for g in result.metrics}
        for r in result.rules:
            limit = _limit(r, hib.get(r.metric or "", True))
            out.append(
                f"| {_status(r)} | {_what(r)} | {_observed(r)} | {limit} | {_change(r, holm)} |"
            )
        out.append("")
        fam = "Holm-adjusted across metrics" if result.family_wise == "holm" else "unadjusted"
        out.append(
            f"Regression = a change for the worse above the tolerance **and** one-sided paired "
            "sign-flip test "
            f"significant at α = {result.alpha:g} ({fam}). Thresholds compare the point "
            "estimate."
        )
        out.append("")
        for r in result.rules:
            if r.kind == "baseline" and r.passed is False:
                out.append(f"> ❌ **Regression checks could not run:** {md_escape(r.message, 600)}")
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
    out.extend(_judges(record))
    detect = [g for g in metrics if g.min_detectable_drop is not None]
    if detect:
        parts = [
            f"{md_code(g.metric)} ≈ {100 * (g.min_detectable_drop or 0):.0f} pt" for g in detect[:6]
        ]
        power = float(result.policy.get("power", 0.8)) if result is not None else 0.8
        paired = all(g.min_detectable_paired for g in detect[:6])
        how = (
            "with the gate's paired test against the baseline"
            if paired
            else f"against a fixed reference, {len(record.cases)} cases"
        )
        out.append(
            f"Smallest drop this set detects ({power:.0%} power, {how}): "
            + ", ".join(parts)
            + ". Grow the set to detect smaller drops."
        )
        out.append("")
    links = dict(DEFAULT_LINKS if links is None else links)
    if links:
        out.append("Artifacts: " + " · ".join(f"[{md_escape(k)}](<{v}>)" for k, v in links.items()))
        out.append("")
    return "\n".join(out)


def _judges(record: RunRecord) -> list[str]:
    """The judges of the run with every calibration set, and a warning per missing language."""
    judges = record.manifest.judges
    if not judges:
        return []
    languages = run_languages(record)
    out = ["### Judges and their calibration", ""]
    out.append("| Judge | Calibration set | Language | n | Balanced accuracy [95% CI] | Kappa |")
    out.append("|---|---|---|---|---|---|")
    notes: list[str] = []
    for j in judges:
        name = md_code(j.id) + (" (weak)" if j.weak else "")
        sets = calibration_sets(j)
        if not sets:
            out.append(f"| {name} | not calibrated | | | | |")
        for cs in sets:
            ba = "–" if cs.balanced_accuracy is None else f"{cs.balanced_accuracy:.3f}"
            if cs.ci_low is not None and cs.ci_high is not None:
                ba += f" [{cs.ci_low:.3f}, {cs.ci_high:.3f}]"
            kappa = "–" if cs.kappa is None else f"{cs.kappa:.3f}"
            n = "–" if cs.n is None else str(cs.n)
            lang = md_escape(cs.language) if cs.language else "unknown"
            out.append(f"| {name} | {md_code(cs.name)} | {lang} | {n} | {ba} | {kappa} |")
        missing = missing_languages(sets, languages)
        if missing:
            langs = ", ".join(md_escape(x) for x in missing)
            if sets:
                have = sorted({cs.language for cs in sets if cs.language}) or ["unknown"]
                notes.append(
                    f"> ⚠️ {md_code(j.id)} has no calibration in this run's language ({langs}): "
                    f"it was measured on {', '.join(md_escape(h) for h in have)} texts only."
                )
            else:
                notes.append(
                    f"> ⚠️ {md_code(j.id)} is not calibrated at all, so not in this run's "
                    f"language ({langs}) either."
                )
    out.append("")
    for n_ in notes:
        out.extend([n_, ""])
    return out


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


def conversation_markdown(record: RunRecord) -> str | None:
    """One Markdown line for the CI summary, or None when the run has no conversations."""
    n = conversation_counts(record)
    if not n:
        return None
    # Conversation ids are untrusted text: md_code keeps Markdown in them inert.
    failing = [
        f"{md_code(c.conversation_id)} (turn {c.first_failing_turn})"
        for c in record.conversations
        if c.first_failing_turn is not None
    ]
    line = (
        f"Conversations: {n['conversations_passed']}/{n['conversations']} passed every turn · "
        f"turns: {n['turns_passed']}/{n['turns']} passed"
    )
    if failing:
        line += " · first failing: " + ", ".join(failing[:10])
    return line
