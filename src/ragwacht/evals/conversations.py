"""Conversation-level results: did every turn pass, where did it first fail, was context kept.

Each turn of a scripted conversation is scored as a case of its own (``<id>#t<N>``); this
module reads those case results back per conversation. Context retention asks of every
follow-up turn (after the first) that names gold contexts whether the chatbot retrieved one of
them: a follow-up such as "En wie beheert die?" can only be answered from the right passage
when the bot kept the subject of the earlier turn.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from ragwacht.ci.cases import case_passes
from ragwacht.ci.policy import DEFAULT_CASE_PASS
from ragwacht.records import CaseResult, ConversationResult, MetricSummary

__all__ = ["conversation_results", "turn_passed"]


def turn_passed(
    case: CaseResult,
    summary: Mapping[str, MetricSummary],
    case_pass: Mapping[str, float] | None = None,
    metrics: Collection[str] | None = None,
) -> bool:
    """Whether a turn got an answer and passed every judged metric's per-case mark.

    Args:
        case: the turn's case result.
        summary: the run's metric summaries (for each metric's kind and direction).
        case_pass: per-case marks by metric (the gate policy's); 0.5 for scores otherwise.
        metrics: the metrics that judge a turn (the gated ones); every metric when None.

    Returns:
        False on an endpoint error or any scored metric on the wrong side of its mark; metrics
        that could not score the turn neither pass nor fail it.

    """
    if case.response.error is not None:
        return False
    marks = case_pass or {}
    for metric, s in summary.items():
        if metrics is not None and metric not in metrics:
            continue
        result = case.metrics.get(metric)
        if result is None or result.value is None:
            continue
        mark = marks.get(metric)
        if mark is None:
            if s.kind != "score":
                continue  # latency, cost: no per-case mark unless the policy gives one
            mark = DEFAULT_CASE_PASS
        if not case_passes(float(result.value), s.higher_is_better, mark):
            return False
    return True


def _kept_context(case: CaseResult) -> bool:
    if case.response.error is not None:
        return False
    gold = set(case.gold_doc_ids)
    return any(c.doc_id in gold for c in case.response.contexts if c.doc_id)


def conversation_results(
    cases: Sequence[CaseResult],
    summary: Mapping[str, MetricSummary],
    case_pass: Mapping[str, float] | None = None,
    metrics: Collection[str] | None = None,
) -> list[ConversationResult]:
    """One :class:`ConversationResult` per conversation among ``cases``, in first-seen order.

    Args:
        cases: a run's case results (plain cases are ignored).
        summary: the run's metric summaries.
        case_pass: per-case marks by metric, as for :func:`turn_passed`.
        metrics: the metrics that judge a turn, as for :func:`turn_passed`.

    """
    turns: dict[str, list[CaseResult]] = {}
    for c in cases:
        if c.conversation_id is not None:
            turns.setdefault(c.conversation_id, []).append(c)
    out: list[ConversationResult] = []
    for conv_id, ts in turns.items():
        ts = sorted(ts, key=lambda c: c.turn or 0)
        passed = [turn_passed(c, summary, case_pass, metrics) for c in ts]
        first_fail = next((c.turn for c, ok in zip(ts, passed, strict=True) if not ok), None)
        follow_ups = [c for c in ts if (c.turn or 0) > 1 and c.gold_doc_ids]
        lost = [c.turn or 0 for c in follow_ups if not _kept_context(c)]
        kept = len(follow_ups) - len(lost)
        out.append(
            ConversationResult(
                conversation_id=conv_id,
                turns=len(ts),
                turn_ids=[c.case_id for c in ts],
                passed_turns=sum(passed),
                turn_passed=passed,
                all_passed=all(passed),
                first_failing_turn=first_fail,
                retention_checked=len(follow_ups),
                retention_kept=kept,
                context_retention=kept / len(follow_ups) if follow_ups else None,
                lost_context_turns=lost,
            )
        )
    return out
