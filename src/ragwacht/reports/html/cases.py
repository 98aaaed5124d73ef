"""One case as the run report shows it.

Answer, sources, metrics and status against the pass marks, with the display limits that keep
a large report small.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from markupsafe import Markup

from ragwacht.records import CaseResult, MetricSummary
from ragwacht.reports.html._common import _cut, _Fmt, _oriented, _preview, _truncate
from ragwacht.reports.html.claims import ClaimView, _claims_of, mark_claims
from ragwacht.reports.i18n import Translator

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


SUMMARY_QUESTION_CHARS = 110
# Untrusted long texts (an answer, question, reference or error can be megabytes) are cut for
# display, with a note giving the full length; the record keeps them whole.
ANSWER_CHARS = 20_000
TEXT_CHARS = 5_000
CLAIM_CHARS = 1_000
MAX_CLAIMS = 200


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
