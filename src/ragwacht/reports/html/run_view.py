"""The HTML report of one run: :func:`render_run_report` and :func:`write_run_report`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ragwacht._io import write_atomic
from ragwacht.records import RunRecord
from ragwacht.reports._bidi import strip_bidi
from ragwacht.reports.conversations import conversation_view
from ragwacht.reports.html._common import _env, _Fmt, _page_context
from ragwacht.reports.html.cases import _case_view, _SourceTexts
from ragwacht.reports.html.gate import (
    FlipView,
    GateView,
    _allowed,
    _rule_sentence,
    _verdict,
    gate_view,
)
from ragwacht.reports.html.sampling import MAX_REPORT_CASES, select_cases
from ragwacht.reports.html.sections import (
    _cards,
    _detectable,
    _judges,
    _manifest,
    _tag_tables,
    _trend,
)
from ragwacht.reports.i18n import Translator
from ragwacht.reports.safety import safety_view

WORST_CASES = 10


def render_run_report(
    record: RunRecord,
    *,
    lang: str = "nl",
    baseline: RunRecord | None = None,
    trend: Sequence[Any] | None = None,
    generated_at: datetime | None = None,
    max_cases: int = MAX_REPORT_CASES,
) -> str:
    """Render the HTML report of one run.

    Args:
        record: the run.
        lang: ``nl`` or ``en`` (text, numbers and dates).
        baseline: the baseline run, used for changes where the gate gives none.
        trend: earlier runs, oldest first, as returned by ``ragwacht.tracking.list_runs``
            (objects or dicts with ``run_id``, ``start_time``, ``git_sha`` and ``means`` keyed
            by sanitized metric name).
        generated_at: time printed in the header (default: now).
        max_cases: above this many cases the page shows the needed ones and a stratified
            sample (:mod:`ragwacht.reports.html.sampling`), so it stays of bounded size.

    Returns:
        The complete, self-contained HTML document.

    Raises:
        ConfigError: for an unsupported language.

    """
    t = Translator(lang)
    fmt = _Fmt(t, record.summary)
    gate = gate_view(record.gate, lang)
    marks = gate.case_pass
    flipped = [f.case_id for f in gate.flips or []]
    shown = select_cases(record, marks, flipped, max_cases)
    picked = [record.cases[i] for i in shown.indices]
    texts = _SourceTexts.of(picked)
    cases = [
        _case_view(i + 1, record.cases[i], record.summary, fmt, t, texts, marks)
        for i in shown.indices
    ]
    by_id = {c.case_id: c for c in cases}
    ranked = [c for c in cases if c.status != "ok"]
    ranked.sort(key=lambda c: (c.status != "error", c.quality if c.quality is not None else -1))
    flips = gate.flips
    if flips:
        _flip_values(flips, record, baseline, fmt)
    ctx = {
        **_page_context(lang),
        "t": t,
        "title": t("run_title"),
        "record": record,
        "m": record.manifest,
        "generated": t.date(generated_at or datetime.now(UTC)),
        "verdict": _verdict(gate, fmt, t),
        "gate": gate,
        "rules": [(r, _rule_sentence(r, fmt, t)) for r in gate.rules],
        "fmt": fmt,
        "cards": _cards(record, gate, baseline, fmt, t),
        "detect": _detectable(record, gate, t),
        "trend": _trend(trend, record, fmt, t),
        "tag_tables": _tag_tables(record, fmt, t),
        "flips": flips,
        "has_baseline": baseline is not None or gate.has_baseline,
        "by_id": by_id,
        "worst": ranked[:WORST_CASES],
        "cases": cases,
        "n_problem": shown.problems,
        "shown": shown,
        "shown_note": t(
            "cases_sampled",
            shown=t.num(len(shown.indices), 0),
            total=t.num(shown.total, 0),
            sample=t("sample_by", key=shown.stratum_key)
            if shown.stratum_key
            else t("sample_plain"),
        )
        if shown.sampled
        else None,
        "judges": _judges(record, t),
        "manifest": _manifest(record, t),
        "safety": safety_view(record, lang, {c.case_id: c.anchor for c in cases}),
        "baseline_line": _baseline_line(gate, baseline, record, t),
        "p_header": t("p_holm") if gate.family_wise == "holm" else t("p_value"),
        "allowed": lambda r: _allowed(r, t),
        "conversations": conversation_view(record, lang, {c.case_id: c.anchor for c in cases}),
    }
    return _env().get_template("run.html.j2").render(ctx)


def _baseline_line(
    gate: GateView, baseline: RunRecord | None, record: RunRecord, t: Translator
) -> str | None:
    """Which baseline run (and variant) the changes on the page are against."""
    run_id = baseline.run_id if baseline is not None else gate.baseline_run_id
    if not run_id:
        return None
    sha = baseline.manifest.git_sha if baseline is not None else gate.baseline_git_sha
    extra = t("commit_of", sha=sha[:12]) if sha else ""
    if baseline is not None:
        extra += t("started_on", date=t.date(baseline.manifest.started_at))
    variant = baseline.variant if baseline is not None else gate.baseline_variant
    # Untrusted names inside a sentence of the report's own: no bidi controls.
    run_id, variant = strip_bidi(run_id), strip_bidi(variant) if variant is not None else None
    if variant is None:
        return t("baseline_named_short", run=run_id, extra=extra)
    if baseline is not None:
        ids = {c.case_id for c in baseline.cases}
        shared = sum(1 for c in record.cases if c.case_id in ids)
    else:
        shared = gate.shared_cases if gate.shared_cases is not None else len(record.cases)
    return t("baseline_named", run=run_id, variant=variant, extra=extra, n=shared)


def _flip_values(
    flips: list[FlipView], record: RunRecord, baseline: RunRecord | None, fmt: _Fmt
) -> None:
    """Fill in each flipped case's value per metric before (baseline) and now."""
    wanted = {f.case_id for f in flips}
    if not wanted:
        return
    # Only the flipped cases are kept: a record may hold 100,000 cases, read from disk.
    now = {c.case_id: c for c in record.cases if c.case_id in wanted}
    before = {}
    if baseline is not None:
        before = {c.case_id: c for c in baseline.cases if c.case_id in wanted}
    for f in flips:
        f.values = []
        for m in f.metrics:
            a = now.get(f.case_id)
            b = before.get(f.case_id)
            va = a.metrics[m].value if a is not None and m in a.metrics else None
            vb = b.metrics[m].value if b is not None and m in b.metrics else None
            f.values.append((m, fmt.value(m, vb), fmt.value(m, va)))


def write_run_report(
    record: RunRecord,
    path: str | Path,
    *,
    lang: str = "nl",
    baseline: RunRecord | None = None,
    trend: Sequence[Any] | None = None,
) -> Path:
    """Write the run report to ``path`` (atomically) and return the path.

    See :func:`render_run_report` for the arguments.
    """
    path = Path(path)
    write_atomic(path, render_run_report(record, lang=lang, baseline=baseline, trend=trend))
    return path
