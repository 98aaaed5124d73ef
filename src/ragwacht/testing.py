"""Score one answer in a hand-written test: ``score()`` and ``assert_scores()``.

For tests that build their own question and answer (a unit test of a prompt, a regression
test of one conversation) instead of running a whole suite::

    from ragwacht.testing import assert_scores

    def test_woz_answer(chatbot):
        reply = chatbot.ask("Wat is de WOZ-waarde?")
        assert_scores(
            "Wat is de WOZ-waarde?",
            {"answer": reply.text, "contexts": reply.passages},
            thresholds={"faithfulness": 0.9, "hallucination_rate": 0.0},
        )

A threshold is read in the metric's own direction: at least the value for higher-is-better
metrics (``faithfulness >= 0.9``), at most the value for lower-is-better ones
(``hallucination_rate <= 0``). A metric that cannot be scored fails its threshold with the
reason, never passes silently. The failure message lists the answer's claims with their
verdicts and the evidence the judge found for each.

Claim metrics use the ``lexical`` judge (weak) unless ``judge=`` names another, as a suite's
``judges:`` entry would (``{"type": "llm", "model": "..."}``) or as a ready verifier.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ragwacht.datasets.models import GoldenCase
from ragwacht.metrics.base import Metric, ScoreInput, create_metric, metric_class
from ragwacht.metrics.judges.factory import make_verifier, parse_judge_config
from ragwacht.records import MetricResult, Response, RetrievedContext

DEFAULT_METRICS: tuple[str, ...] = ("faithfulness", "hallucination_rate")
_CLAIM_LIMIT = 20  # claims shown per metric in a failure message
_TEXT_LIMIT = 300


@dataclass
class Scores(Mapping[str, MetricResult]):
    """The results of :func:`score`: a mapping ``metric id -> MetricResult``.

    Attributes:
        case: the golden case that was scored.
        response: the response that was scored.
        results: every metric's result, by metric id.
        metrics: the metric objects (direction and kind), by metric id.

    """

    case: GoldenCase
    response: Response
    results: dict[str, MetricResult]
    metrics: dict[str, Metric] = field(default_factory=dict)

    def __getitem__(self, key: str) -> MetricResult:
        return self.results[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    def value(self, metric: str) -> float | None:
        """The value of ``metric`` (None when not scored)."""
        return self.results[metric].value

    def as_dict(self) -> dict[str, float | None]:
        """``metric id -> value`` (None when not scored)."""
        return {k: r.value for k, r in self.results.items()}


def _as_case(case_or_question: GoldenCase | str | Mapping[str, Any], **extra: Any) -> GoldenCase:
    if isinstance(case_or_question, GoldenCase):
        updates = {k: v for k, v in extra.items() if v is not None}
        return case_or_question.model_copy(update=updates) if updates else case_or_question
    if isinstance(case_or_question, str):
        data: dict[str, Any] = {"id": "adhoc", "question": case_or_question}
    elif isinstance(case_or_question, Mapping):
        data = {"id": "adhoc", **dict(case_or_question)}
    else:
        raise TypeError(
            "score() takes a GoldenCase, a question string or a case mapping, "
            f"not {type(case_or_question).__name__}"
        )
    data.update({k: v for k, v in extra.items() if v is not None})
    return GoldenCase.model_validate(data)


def _as_context(i: int, raw: Any) -> RetrievedContext:
    if isinstance(raw, RetrievedContext):
        return raw
    if isinstance(raw, str):
        return RetrievedContext(text=raw, rank=i + 1)
    if isinstance(raw, Mapping):
        return RetrievedContext.model_validate({"rank": i + 1, **dict(raw)})
    raise TypeError(f"a context must be a string or a mapping, not {type(raw).__name__}")


def _as_response(
    response: Response | str | Mapping[str, Any],
    case_id: str,
    contexts: Sequence[Any] | None,
) -> Response:
    if isinstance(response, Response):
        resp = response
    elif isinstance(response, str):
        resp = Response(case_id=case_id, answer=response)
    elif isinstance(response, Mapping):
        data = dict(response)
        raw_contexts = data.pop("contexts", None) or []
        data.setdefault("case_id", case_id)
        resp = Response.model_validate(data)
        resp.contexts = [_as_context(i, c) for i, c in enumerate(raw_contexts)]
    else:
        raise TypeError(
            "score() takes a Response, an answer string or a response mapping, "
            f"not {type(response).__name__}"
        )
    if contexts is not None:
        resp = resp.model_copy(
            update={"contexts": [_as_context(i, c) for i, c in enumerate(contexts)]}
        )
    return resp


def _verifier(judge: Any) -> Any:
    if judge is None:
        return None
    if hasattr(judge, "verify"):
        return judge

    return make_verifier(parse_judge_config(judge, field="judge"))


def _build(metrics: Sequence[str | Metric], verifier: Any) -> list[Metric]:
    out: list[Metric] = []
    for m in metrics:
        if isinstance(m, Metric):
            out.append(m)
            continue
        options: dict[str, Any] = {}
        if verifier is not None and "judge" in metric_class(m).requires:
            options["verifier"] = verifier
        out.append(create_metric(m, **options))
    return out


async def ascore(
    case_or_question: GoldenCase | str | Mapping[str, Any],
    response: Response | str | Mapping[str, Any],
    *,
    metrics: Sequence[str | Metric] = DEFAULT_METRICS,
    judge: Any = None,
    contexts: Sequence[Any] | None = None,
    reference_answer: str | None = None,
    language: str | None = None,
) -> Scores:
    """Async form of :func:`score` (for tests that already run an event loop)."""
    case = _as_case(case_or_question, reference_answer=reference_answer)
    resp = _as_response(response, case.id, contexts)
    verifier = _verifier(judge)
    built = _build(metrics, verifier)
    item = ScoreInput(case=case, response=resp, language=language or case.language())
    results: dict[str, MetricResult] = {}
    try:
        for metric in built:
            (results[metric.id],) = await metric.score_batch([item])
    finally:
        close = getattr(verifier, "aclose", None)
        if close is not None:
            await close()
    return Scores(case=case, response=resp, results=results, metrics={m.id: m for m in built})


def score(
    case_or_question: GoldenCase | str | Mapping[str, Any],
    response: Response | str | Mapping[str, Any],
    *,
    metrics: Sequence[str | Metric] = DEFAULT_METRICS,
    judge: Any = None,
    contexts: Sequence[Any] | None = None,
    reference_answer: str | None = None,
    language: str | None = None,
) -> Scores:
    """Score one answer with the named metrics, as a suite run would.

    Args:
        case_or_question: a :class:`GoldenCase`, a question string, or a case mapping
            (``{"question": ..., "gold_contexts": [...], "expected_behavior": "refuse"}``).
        response: a :class:`Response`, the answer string, or a mapping with ``answer`` and
            ``contexts`` (strings or ``{"text", "doc_id", ...}`` mappings).
        metrics: metric names as in a suite (``faithfulness``, ``recall@5``,
            ``refusal_correctness``) or metric objects.
        judge: the verifier for claim metrics: a judge entry as in a suite (``"lexical"``,
            ``{"type": "llm", ...}``) or a verifier object; the weak lexical one when None.
        contexts: the retrieved passages, when ``response`` does not carry them.
        reference_answer: the expected answer, for correctness metrics.
        language: ``nl`` or ``en``; from the case's ``lang:`` tag (default ``nl``) when None.

    Returns:
        The results by metric id.

    Raises:
        ConfigError: an unknown metric or a bad judge entry (the message says how to fix it).
        RuntimeError: called inside a running event loop (use :func:`ascore` there).

    """
    return asyncio.run(
        ascore(
            case_or_question,
            response,
            metrics=metrics,
            judge=judge,
            contexts=contexts,
            reference_answer=reference_answer,
            language=language,
        )
    )


def _short(text: str | None, limit: int = _TEXT_LIMIT) -> str:
    if text is None:
        return "(none)"
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def explain(scores: Scores, metric: str) -> list[str]:
    """Lines that show why ``metric`` has its value: reason, claims, verdicts and evidence."""
    r = scores.results[metric]
    lines: list[str] = []
    if r.reason:
        lines.append(f"reason: {r.reason}")
    if r.judge:
        lines.append(f"judge: {r.judge}" + (" (weak)" if r.details.get("weak_judge") else ""))
    claims = r.details.get("claims") or []
    for c in claims[:_CLAIM_LIMIT]:
        verdict = str(c.get("verdict", "?"))
        lines.append(f"[{verdict}] {_short(c.get('claim'))}")
        if c.get("evidence"):
            # For a claim that is not supported the passage is the nearest miss, not proof.
            label = "evidence" if verdict == "supported" else "closest passage"
            lines.append(f"    {label}: {_short(c.get('evidence'))}")
        elif verdict != "supported":
            lines.append("    evidence: none found in the retrieved contexts")
    if len(claims) > _CLAIM_LIMIT:
        lines.append(f"... and {len(claims) - _CLAIM_LIMIT} more claims")
    return lines


def check_scores(
    scores: Scores, thresholds: Mapping[str, float], *, allow_not_scored: bool = False
) -> list[str]:
    """The failure lines of ``scores`` against ``thresholds`` (empty when all pass).

    Args:
        scores: results of :func:`score`.
        thresholds: ``metric id -> bound``, read in the metric's direction.
        allow_not_scored: let a metric without a value pass (it fails by default).

    Raises:
        KeyError: a threshold names a metric that was not scored at all.

    """
    failures: list[str] = []
    for name, bound in thresholds.items():
        if name not in scores.results:
            raise KeyError(
                f"threshold for '{name}', which was not computed; "
                f"add it to metrics= (computed: {', '.join(scores.results) or 'none'})"
            )
        r = scores.results[name]
        metric = scores.metrics.get(name)
        hib = metric.higher_is_better if metric is not None else True
        op, bad = (">=", "<") if hib else ("<=", ">")
        if r.value is None:
            if allow_not_scored:
                continue
            failures.append(f"{name}: not scored ({r.reason or 'no reason'}), need {op} {bound:g}")
        elif (r.value < bound - 1e-12) if hib else (r.value > bound + 1e-12):
            failures.append(f"{name} = {r.value:.3f} {bad} {bound:g}")
        else:
            continue
        failures.extend("  " + line for line in explain(scores, name))
    return failures


def assert_scores(
    case_or_question: GoldenCase | str | Mapping[str, Any] | Scores,
    response: Response | str | Mapping[str, Any] | None = None,
    *,
    thresholds: Mapping[str, float],
    metrics: Sequence[str | Metric] | None = None,
    judge: Any = None,
    contexts: Sequence[Any] | None = None,
    reference_answer: str | None = None,
    language: str | None = None,
    allow_not_scored: bool = False,
) -> Scores:
    """Score (or take scores) and fail the test when a threshold is missed.

    Args:
        case_or_question: as for :func:`score`, or the :class:`Scores` it returned.
        response: as for :func:`score` (not needed with ``Scores``).
        thresholds: ``metric id -> bound`` in the metric's direction.
        metrics: metrics to compute; the thresholds' metrics when None.
        judge: see :func:`score`.
        contexts: see :func:`score`.
        reference_answer: see :func:`score`.
        language: see :func:`score`.
        allow_not_scored: let a metric that cannot be scored pass.

    Returns:
        The scores, for further checks.

    Raises:
        AssertionError: a metric missed its threshold; the message shows the question, the
            answer and, per failed metric, its claims with verdicts and evidence.

    """
    if not thresholds:
        raise ValueError("assert_scores needs thresholds, e.g. {'faithfulness': 0.9}")
    if isinstance(case_or_question, Scores):
        scores = case_or_question
    else:
        if response is None:
            raise TypeError("assert_scores needs the response to score")
        scores = score(
            case_or_question,
            response,
            metrics=list(metrics) if metrics is not None else list(thresholds),
            judge=judge,
            contexts=contexts,
            reference_answer=reference_answer,
            language=language,
        )
    failures = check_scores(scores, thresholds, allow_not_scored=allow_not_scored)
    if failures:
        head = [
            f"{len([f for f in failures if not f.startswith('  ')])} of {len(thresholds)} "
            "score thresholds missed",
            f"question: {_short(scores.case.question)}",
            f"answer: {_short(scores.response.answer)}",
        ]
        raise AssertionError("\n".join(head + failures))
    return scores


__all__ = [
    "DEFAULT_METRICS",
    "Scores",
    "ascore",
    "assert_scores",
    "check_scores",
    "explain",
    "score",
]
