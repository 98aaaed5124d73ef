"""Self-contained HTML reports: one run (with gate, baseline, trend) and a variant comparison.

The output is a single file with inline CSS, inline SVG charts and a small optional script
(sorting and filtering); it makes no request of any kind and reads fine with JavaScript off.
Chatbot answers, sources and case ids are untrusted text: templates autoescape everything, no
untrusted value is ever marked safe, and marked claims are built by escaping each piece of the
answer first and wrapping it afterwards (:func:`mark_claims`). A Content-Security-Policy with
hashes of the one style block and the one script is a second line of defence.

The gate result arrives as a dict (the serialized ``GateResult``); :func:`gate_view` is the only
place that knows its keys, and it tolerates missing ones.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup, escape

from ragwacht import __version__
from ragwacht._env import redact_mapping
from ragwacht._io import write_atomic
from ragwacht.records import CaseResult, GateResult, MetricSummary, RunRecord
from ragwacht.reports import svg
from ragwacht.reports._bidi import strip_bidi
from ragwacht.reports.conversations import conversation_view
from ragwacht.reports.i18n import Translator
from ragwacht.reports.judges import calibration_sets, missing_languages, run_languages
from ragwacht.reports.safety import safety_view
from ragwacht.stats import min_detectable_drop
from ragwacht.tracking.mlflow_store import sanitize_key

# Display limits that keep a 1,000-case report small (< 5 MB). Each distinct source text is
# shown once, where it first appears; the distinct texts share SOURCE_BUDGET characters, so a
# run with few distinct texts shows them in full and one with thousands shows their opening.
SOURCE_BUDGET = 1_200_000
SOURCE_CHARS_MIN = 240
SOURCE_CHARS_MAX = 4000
# A long source shows about this much inline and the rest in a nested <details>.
INLINE_CHARS = 400
# A source text already shown for an earlier case gets a preview and a link instead.
PREVIEW_CHARS = 160
# Evidence of a claim: the sentence of the judge's passage that matches the claim best.
EVIDENCE_CHARS = 200
SUMMARY_QUESTION_CHARS = 110
# Untrusted long texts (an answer, question, reference or error can be megabytes) are cut for
# display, with a note giving the full length; the record keeps them whole.
ANSWER_CHARS = 20_000
TEXT_CHARS = 5_000
CLAIM_CHARS = 1_000
MAX_CLAIMS = 200
WORST_CASES = 10
MAX_DISAGREEMENTS = 150
TAG_ORDER = ("topic", "lang", "language", "difficulty", "source")
UNSUPPORTED = ("contradicted", "unverifiable")

# Text/background pairs of the palette (CSS variable names) that must meet WCAG AA 4.5:1.
CONTRAST_PAIRS: tuple[tuple[str, str], ...] = (
    ("--text", "--bg"),
    ("--muted", "--bg"),
    ("--accent", "--bg"),
    ("--text", "--panel"),
    ("--muted", "--panel"),
    ("--accent", "--panel"),
    ("--on-accent", "--accent"),
    ("--pass", "--pass-bg"),
    ("--fail", "--fail-bg"),
    ("--warn", "--warn-bg"),
    ("--info", "--info-bg"),
    ("--text", "--mark"),
    ("--fail", "--bg"),
    ("--pass", "--bg"),
    ("--warn", "--bg"),
    ("--text", "--code-bg"),
)


# ----------------------------------------------------------------------------- helpers


def _get(obj: Any, *names: str, default: Any = None) -> Any:
    """First present, non-None value of ``names`` on a mapping or an object."""
    for n in names:
        val = obj.get(n) if isinstance(obj, Mapping) else getattr(obj, n, None)
        if val is not None:
            return val
    return default


def _float(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _truncate(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _cut(text: str, limit: int) -> int:
    """Where to cut ``text`` to keep at most ``limit`` characters.

    After a sentence if one ends in the last 40 % of the window, else at a space, else at the
    limit.
    """
    if len(text) <= limit:
        return len(text)
    low = int(limit * 0.6)
    ends = [m.end() for m in re.finditer(r"[.!?…;:](?=\s)", text[: limit + 1]) if m.end() >= low]
    if ends:
        return ends[-1]
    space = text.rfind(" ", low, limit + 1)
    return space if space > 0 else limit


def _preview(text: str, limit: int) -> str:
    """``text`` (whitespace normalised) shortened at a sentence or word to ``limit`` characters."""
    at = _cut(text, limit - 2)
    if at >= len(text):
        return text
    head = text[:at].rstrip()
    return head + (" …" if head.endswith((".", "!", "?", ";", ":")) else "…")


_SENTENCE = re.compile(r"(?<=[.!?…])\s+")
_WORD = re.compile(r"\w+")


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.casefold()) if len(w) > 2 or w.isdigit()}


def _same_text(a: str, b: str) -> bool:
    def norm(x: str) -> str:
        return " ".join(x.split()).rstrip(" .!?;:…").casefold()

    return norm(a) == norm(b)


def _evidence_snippet(claim: str, evidence: str) -> str | None:
    """The sentence of ``evidence`` that shares most words with ``claim`` (≤ EVIDENCE_CHARS).

    Judges store the whole passage (or window of passages) they judged against; the report
    shows only the sentence that matters and refers to the source for the rest. None when the
    sentence is the claim itself (the source link says everything then).
    """
    text = " ".join(evidence.split())
    if not text:
        return None
    sentences = [s for s in _SENTENCE.split(text) if s.strip()] or [text]
    want = _words(claim)
    # Most words in common; on a tie (or none in common) the earliest sentence.
    best = max(enumerate(sentences), key=lambda p: (len(want & _words(p[1])), -p[0]))[1]
    if _same_text(best, claim):
        return None
    return _preview(best, EVIDENCE_CHARS)


def _oriented(value: float, higher_is_better: bool) -> float:
    return value if higher_is_better else 1.0 - value


def _tag_split(tag: str) -> tuple[str, str]:
    key, sep, val = tag.partition(":")
    return (key, val) if sep else ("tag", tag)


@dataclass
class _Fmt:
    """Formats metric values according to the metric's kind and unit."""

    t: Translator
    summary: Mapping[str, MetricSummary]

    def value(self, metric: str, value: float | None) -> str:
        s = self.summary.get(metric)
        unit = (s.unit if s else "") or ""
        low = metric.lower()
        if unit == "ms" or low.endswith("_ms") or low.startswith("latency"):
            return self.t.ms(value)
        if unit.upper() in ("EUR", "€", "USD") or low.startswith("cost"):
            return self.t.cost(value, unit or "EUR")
        if s is not None and s.kind == "measure":
            return self.t.num(value, 2) + (f" {unit}" if unit and value is not None else "")
        return self.t.num(value, 2)

    def delta(self, metric: str, value: float | None) -> str:
        s = self.summary.get(metric)
        low = metric.lower()
        if (s is not None and s.unit == "ms") or low.endswith("_ms") or low.startswith("latency"):
            return self.t.signed(value, 0) + " ms" if value is not None else "–"
        if low.startswith("cost"):
            return self.t.signed(value, 4) if value is not None else "–"
        return self.t.signed(value, 2)


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


# ----------------------------------------------------------------------------- claims


@dataclass
class ClaimView:
    """One claim of an answer with its verdict and evidence."""

    n: int
    claim: str
    verdict: str
    evidence: str | None
    source: int | None  # 1-based index into the retrieved sources
    score: float | None
    located: bool = False

    @property
    def unsupported(self) -> bool:
        return self.verdict in UNSUPPORTED


def _claims_of(case: CaseResult) -> tuple[list[ClaimView], str | None]:
    """The claims of the first metric that kept them (faithfulness preferred)."""
    order = sorted(case.metrics, key=lambda m: (m != "faithfulness", m))
    for mid in order:
        raw = case.metrics[mid].details.get("claims")
        if not isinstance(raw, list) or not raw:
            continue
        out: list[ClaimView] = []
        for i, c in enumerate(raw, 1):
            if not isinstance(c, Mapping) or not c.get("claim"):
                continue
            verdict = str(c.get("verdict") or "unverifiable")
            verdict = getattr(c.get("verdict"), "value", verdict)
            idx = c.get("evidence_index")
            ev = c.get("evidence")
            out.append(
                ClaimView(
                    n=i,
                    claim=str(c["claim"]),
                    verdict=str(verdict),
                    evidence=_evidence_snippet(str(c["claim"]), str(ev)) if ev else None,
                    source=int(idx) + 1 if isinstance(idx, int) and idx >= 0 else None,
                    score=_float(c.get("score")),
                )
            )
        return out, case.metrics[mid].judge or mid
    return [], None


def _claim_pattern(claim: str) -> re.Pattern[str] | None:
    words = re.findall(r"\w+|[^\w\s]", claim.strip().rstrip(".!?;:").strip())
    if not words:
        return None
    return re.compile(r"\s*".join(re.escape(w) for w in words), re.IGNORECASE)


def mark_claims(answer: str, claims: Sequence[ClaimView], t: Translator) -> Markup:
    """The answer as HTML with every unsupported claim that occurs in it wrapped in ``<mark>``.

    Each piece of the answer is escaped first and only then wrapped, so no text of the answer
    can become markup. A claim is located by its words in order (case and spacing ignored);
    claims that are paraphrases stay unmarked and are listed in the claims table. Marks carry
    a text label (claim number and verdict) so colour is not the only signal.

    Args:
        answer: the untrusted answer text.
        claims: the claims; ``located`` is set on those that were marked.
        t: translator for the label text.

    """
    spans: list[tuple[int, int, ClaimView]] = []
    for c in claims:
        if not c.unsupported:
            continue
        pat = _claim_pattern(c.claim)
        m = pat.search(answer) if pat else None
        if m is None or m.end() <= m.start():
            continue
        if any(m.start() < e and s < m.end() for s, e, _ in spans):
            continue
        spans.append((m.start(), m.end(), c))
        c.located = True
    spans.sort(key=lambda s: s[0])
    parts: list[Markup] = []
    pos = 0
    for start, end, c in spans:
        parts.append(escape(answer[pos:start]))
        label = escape(f"[{c.n} · {t('verdict_' + c.verdict)}]")
        parts.append(
            Markup('<mark class="uns v-{}">{}<span class="ml"> {}</span></mark>').format(
                c.verdict, escape(answer[start:end]), label
            )
        )
        pos = end
    parts.append(escape(answer[pos:]))
    return Markup("").join(parts)


# ----------------------------------------------------------------------------- case views


@dataclass
class SourceView:
    """One retrieved source as displayed."""

    n: int
    doc_id: str | None
    title: str | None
    score: str
    rank: int | None
    gold: bool
    text: str  # shown inline
    more: str  # the rest of the shown text, in a nested <details> ("" for none)
    full_len: int
    truncated: bool
    same_as: tuple[str, str, int] | None = None  # (anchor, case id, source number) shown in full


@dataclass
class _SourceTexts:
    """Report-wide bookkeeping of source texts: where each was first shown, how much to show."""

    cap: int
    shown: dict[str, tuple[str, str, int]] = field(default_factory=dict)

    @classmethod
    def of(cls, cases: Iterable[CaseResult]) -> _SourceTexts:
        distinct = {
            _digest(" ".join(ctx.text.split())) for c in cases for ctx in c.response.contexts
        }
        share = SOURCE_BUDGET // max(1, len(distinct))
        return cls(cap=max(SOURCE_CHARS_MIN, min(SOURCE_CHARS_MAX, share)))

    def first(self, text: str, where: tuple[str, str, int]) -> tuple[str, str, int] | None:
        """None where ``text`` is shown here (first time, or short); else where it was shown."""
        if len(text) <= PREVIEW_CHARS:
            return None
        key = _digest(text)
        earlier = self.shown.get(key)
        if earlier is None:
            self.shown[key] = where
        return earlier


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


@dataclass
class CaseMetricView:
    """One metric's result on one case."""

    metric: str
    value: str
    reason: str | None
    judge: str | None
    bad: bool
    error: bool


@dataclass
class CaseView:
    """Everything shown for one case."""

    idx: int
    anchor: str
    case_id: str
    question: str
    question_short: str
    reference_answer: str | None
    expected: str
    tags: list[str]
    answer_html: Markup | None
    error: str | None
    status: str  # "ok" | "problem" | "error"
    quality: float | None
    worst_metric: str | None
    claims: list[ClaimView]
    claims_judge: str | None
    unlocated: int
    sources: list[SourceView]
    gold_missing: list[str]
    metrics: list[CaseMetricView]
    latency: str
    cost: str
    tokens: str
    attempts: int
    question_in_summary: bool
    no_source: bool = False
    # Full lengths of texts cut for display (None: shown whole); claims left out.
    answer_cut: int | None = None
    question_cut: int | None = None
    reference_cut: int | None = None
    claims_cut: int = 0


def _case_quality(
    case: CaseResult, summary: Mapping[str, MetricSummary]
) -> tuple[float | None, str | None]:
    """Mean of the case's score metrics oriented so that higher is better, and the worst one."""
    vals: list[tuple[float, str]] = []
    for mid, res in case.metrics.items():
        s = summary.get(mid)
        if res.value is None or (s is not None and s.kind != "score"):
            continue
        hib = s.higher_is_better if s is not None else True
        score = case_score(mid, res.value, case)
        vals.append((_oriented(max(0.0, min(1.0, score)), hib), mid))
    if not vals:
        return None, None
    return sum(v for v, _ in vals) / len(vals), min(vals)[1]


# Retrieval metrics by name: ``recall@5``, ``precision@5``, ``hit@1``, ``mrr``, ``ndcg@5``,
# ``map``, ``r_precision``.
_RETRIEVAL = re.compile(r"^(recall|precision|hit|ndcg|map|mrr|r_precision)(@(\d+))?$")
DEFAULT_CASE_PASS = 0.5


def is_retrieval_metric(metric: str) -> bool:
    """Whether ``metric`` is one of the retrieval metrics (recall@k, precision@k, ...)."""
    return _RETRIEVAL.match(metric) is not None


def case_score(metric: str, value: float, case: CaseResult) -> float:
    """A case's value of ``metric`` on the scale its pass mark applies to.

    precision@k cannot exceed ``min(k, n_gold) / k`` (with two gold passages precision@5 is at
    most 0.4), so it is taken relative to that achievable maximum; other metrics as they are.
    """
    m = _RETRIEVAL.match(metric)
    if m is not None and m.group(1) == "precision" and m.group(3):
        k = int(m.group(3))
        n_gold = len(set(case.gold_doc_ids))
        best = min(k, n_gold) / k if k > 0 else 0.0
        if best > 0:
            return min(1.0, value / best)
    return value


def no_relevant_source(case: CaseResult) -> bool:
    """Every retrieval metric of the case was scored and is 0: nothing relevant came back."""
    vals = [
        r.value
        for mid, r in case.metrics.items()
        if is_retrieval_metric(mid) and r.value is not None
    ]
    return bool(vals) and all(v <= 0.0 for v in vals)


def _below_mark(
    mid: str,
    value: float,
    case: CaseResult,
    s: MetricSummary | None,
    marks: Mapping[str, float] | None,
) -> bool:
    hib = s.higher_is_better if s is not None else True
    mark = (marks or {}).get(mid, DEFAULT_CASE_PASS)
    score = case_score(mid, value, case)
    # The gate's own pass mark where it set one (``case_pass``), oriented like the metric.
    return score < mark if hib else score > mark


def case_status(
    case: CaseResult,
    summary: Mapping[str, MetricSummary],
    marks: Mapping[str, float] | None = None,
) -> str:
    """``error`` (no answer), ``problem`` (a score on the wrong side of its pass mark) or ``ok``.

    Args:
        case: the case.
        summary: the run's metric summaries (direction and kind of each metric).
        marks: per-metric pass marks (the gate's ``case_pass``); 0.5 where none is given.
            precision@k is compared relative to its achievable maximum (:func:`case_score`).

    """
    if case.response.error is not None:
        return "error"
    for mid, res in case.metrics.items():
        s = summary.get(mid)
        if res.value is None or (s is not None and s.kind != "score"):
            continue
        if _below_mark(mid, res.value, case, s, marks):
            return "problem"
    return "ok"


def _display(text: str, limit: int) -> tuple[str, int | None]:
    """``text`` cut at a sentence or word to at most ``limit`` characters.

    Returns:
        The text to show, and the full length when it was cut (else None).

    """
    if len(text) <= limit:
        return text, None
    return text[: _cut(text, limit)].rstrip(), len(text)


def _case_view(
    idx: int,
    case: CaseResult,
    summary: Mapping[str, MetricSummary],
    fmt: _Fmt,
    t: Translator,
    texts: _SourceTexts | None = None,
    marks: Mapping[str, float] | None = None,
) -> CaseView:
    r = case.response
    texts = texts if texts is not None else _SourceTexts.of([case])
    claims, claims_judge = _claims_of(case)
    claims_cut = max(0, len(claims) - MAX_CLAIMS)
    claims = claims[:MAX_CLAIMS]
    for c in claims:
        c.claim = _display(c.claim, CLAIM_CHARS)[0]
    answer, answer_cut = (None, None) if r.answer is None else _display(r.answer, ANSWER_CHARS)
    answer_html = mark_claims(answer, claims, t) if answer is not None else None
    gold = set(case.gold_doc_ids)
    sources: list[SourceView] = []
    seen: set[str] = set()
    norm = [" ".join(ctx.text.split()) for ctx in r.contexts]
    for c in claims:
        # Point at the passage that holds the evidence sentence (a judge that reads windows of
        # adjacent passages names the first of the window).
        if c.evidence and c.source is not None:
            needle = c.evidence.rstrip(" …")
            hit = next((i for i in range(c.source - 1, len(norm)) if needle in norm[i]), None)
            if hit is not None:
                c.source = hit + 1
    for n, (ctx, text) in enumerate(zip(r.contexts, norm, strict=True), 1):
        if ctx.doc_id:
            seen.add(ctx.doc_id)
        first = texts.first(text, (f"c{idx}s{n}", case.case_id, n))
        more = ""
        if first is not None:
            head = _preview(text, PREVIEW_CHARS)
        else:
            head = _preview(text, texts.cap)
            if len(head) > INLINE_CHARS * 3 // 2:
                at = _cut(head, INLINE_CHARS)
                head, more = head[:at].rstrip(), head[at:].lstrip()
        sources.append(
            SourceView(
                n=n,
                doc_id=ctx.doc_id,
                title=ctx.title,
                score=t.num(ctx.score, 3) if ctx.score is not None else "",
                rank=ctx.rank,
                gold=bool(ctx.doc_id and ctx.doc_id in gold),
                text=head,
                more=more,
                full_len=len(text),
                truncated=first is None and len(text) > texts.cap,
                same_as=first,
            )
        )
    metrics: list[CaseMetricView] = []
    for mid, res in case.metrics.items():
        s = summary.get(mid)
        is_score = s is None or s.kind == "score"
        bad = res.value is not None and is_score and _below_mark(mid, res.value, case, s, marks)
        metrics.append(
            CaseMetricView(
                metric=mid,
                value=fmt.value(mid, res.value) if res.value is not None else t("not_scored"),
                reason=res.reason,
                judge=res.judge,
                bad=bad,
                error=res.error,
            )
        )
    quality, worst = _case_quality(case, summary)
    u = r.usage
    tokens = ""
    if u.total_tokens is not None or u.prompt_tokens is not None:
        total = u.total_tokens
        if total is None:
            total = (u.prompt_tokens or 0) + (u.completion_tokens or 0)
        tokens = t.num(total, 0)
    question, question_cut = _display(case.question, TEXT_CHARS)
    reference, reference_cut = (None, None)
    if case.reference_answer is not None:
        reference, reference_cut = _display(case.reference_answer, TEXT_CHARS)
    error_text = (f"{r.error_kind}: {r.error}" if r.error_kind else r.error) if r.error else None
    question_short = _truncate(question[: SUMMARY_QUESTION_CHARS * 4], SUMMARY_QUESTION_CHARS)
    return CaseView(
        idx=idx,
        anchor=f"c{idx}",
        case_id=case.case_id,
        question=question,
        question_short=question_short,
        reference_answer=reference,
        expected=t("behavior_" + case.expected_behavior)
        if case.expected_behavior in ("answer", "refuse")
        else case.expected_behavior,
        tags=list(case.tags),
        answer_html=answer_html,
        error=_display(error_text, TEXT_CHARS)[0] if error_text is not None else None,
        status=case_status(case, summary, marks),
        no_source=no_relevant_source(case),
        quality=quality,
        worst_metric=worst,
        claims=claims,
        claims_judge=claims_judge,
        unlocated=sum(1 for c in claims if c.unsupported and not c.located),
        sources=sources,
        gold_missing=[g for g in case.gold_doc_ids if g not in seen],
        metrics=metrics,
        latency=t.ms(r.latency_ms),
        cost=t.cost(r.cost) if r.cost is not None else "–",
        tokens=tokens or "–",
        attempts=r.attempts,
        question_in_summary=question_short == " ".join(case.question.split()),
        answer_cut=answer_cut,
        question_cut=question_cut,
        reference_cut=reference_cut,
        claims_cut=claims_cut,
    )


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


def _primary_metric(summary: Mapping[str, MetricSummary]) -> str | None:
    scores = [m for m, s in summary.items() if s.kind == "score"]
    for pref in ("faithfulness", "answer_correctness"):
        if pref in scores:
            return pref
    return scores[0] if scores else None


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
    text: str | None
    lines: list[str]
    ci_width: str | None
    paired: bool = False


def _detectable(record: RunRecord, gate: GateView, t: Translator) -> DetectView:
    n = len(record.cases)
    text: str | None = None
    lines: list[str] = []
    scores = {m: s for m, s in record.summary.items() if s.kind == "score"}
    paired = False
    if gate.min_detectable:
        if gate.min_detectable_n:
            n = int(gate.min_detectable_n)
        paired = gate.min_detectable_paired
        if "*" in gate.min_detectable:
            text = t("detectable_text", n=n, drop=t.num(gate.min_detectable["*"], 2))
        for m, v in gate.min_detectable.items():
            if m != "*":
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
    return DetectView(n=n, text=text, lines=lines, ci_width=ci_width, paired=paired)


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


def _flat(data: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for k, v in data.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping) and v:
            out.extend(_flat(v, key + "."))
        elif isinstance(v, str):
            out.append((key, v))
        else:
            out.append((key, json.dumps(v, ensure_ascii=False, default=str)))
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


# ----------------------------------------------------------------------------- rendering


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("ragwacht.reports", "templates"),
        # Always on: every template renders untrusted chatbot text.
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["cap"] = lambda s: s[:1].upper() + s[1:]
    # For <title>, which holds text only (no <bdi>): untrusted names lose bidi controls there.
    env.filters["nobidi"] = lambda s: strip_bidi(str(s))
    return env


@lru_cache(maxsize=4)
def _asset(name: str) -> str:
    return resources.files("ragwacht.reports").joinpath("templates", name).read_text("utf-8")


def _sha256(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def _page_context(lang: str) -> dict[str, Any]:
    css, js = _asset("report.css"), _asset("report.js")
    csp = (
        "default-src 'none'; img-src data:; "
        f"style-src 'sha256-{_sha256(css)}'; script-src 'sha256-{_sha256(js)}'; "
        "base-uri 'none'; form-action 'none'"
    )
    return {"css": Markup(css), "js": Markup(js), "csp": csp, "lang": lang, "version": __version__}


def render_run_report(
    record: RunRecord,
    *,
    lang: str = "nl",
    baseline: RunRecord | None = None,
    trend: Sequence[Any] | None = None,
    generated_at: datetime | None = None,
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

    Returns:
        The complete, self-contained HTML document.

    Raises:
        ConfigError: for an unsupported language.

    """
    t = Translator(lang)
    fmt = _Fmt(t, record.summary)
    gate = gate_view(record.gate)
    texts = _SourceTexts.of(record.cases)
    marks = gate.case_pass
    cases = [
        _case_view(i, c, record.summary, fmt, t, texts, marks)
        for i, c in enumerate(record.cases, 1)
    ]
    by_id = {c.case_id: c for c in cases}
    ranked = [c for c in cases if c.status != "ok"]
    ranked.sort(key=lambda c: (c.status != "error", c.quality if c.quality is not None else -1))
    flips = gate.flips
    if flips is None and gate.present and gate.has_baseline is False:
        flips = None
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
        "has_baseline": baseline is not None or bool(gate.has_baseline),
        "by_id": by_id,
        "worst": ranked[:WORST_CASES],
        "cases": cases,
        "n_problem": sum(1 for c in cases if c.status != "ok"),
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
    now = record.case_map()
    before = baseline.case_map() if baseline is not None else {}
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


__all__ = [
    "CONTRAST_PAIRS",
    "GateView",
    "gate_view",
    "mark_claims",
    "render_comparison_report",
    "render_run_report",
    "write_comparison_report",
    "write_run_report",
]
