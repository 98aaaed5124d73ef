"""Builders for metric tests: cases, responses and score inputs in one line."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from ragwacht.datasets.models import ExpectedBehavior, GoldContext, GoldenCase
from ragwacht.metrics.base import Metric, ScoreInput
from ragwacht.metrics.judges.base import ClaimVerdict, Verdict, Verification
from ragwacht.records import MetricResult, Response, RetrievedContext


def case(
    *,
    question: str = "Wat is de WOZ-waarde?",
    reference: str | None = None,
    gold: Sequence[GoldContext | tuple[str, int] | tuple[str, int, str]] = (),
    refuse: bool = False,
    tags: Sequence[str] = (),
    cid: str = "c1",
) -> GoldenCase:
    """A golden case; ``gold`` items may be ``(doc_id, grade[, text])`` tuples."""
    golds = []
    for g in gold:
        if isinstance(g, GoldContext):
            golds.append(g)
        elif len(g) == 2:
            golds.append(GoldContext(doc_id=g[0], relevance=g[1]))
        else:
            golds.append(GoldContext(doc_id=g[0], relevance=g[1], text=g[2]))  # type: ignore[misc]
    return GoldenCase(
        id=cid,
        question=question,
        reference_answer=reference,
        gold_contexts=golds,
        expected_behavior=ExpectedBehavior.REFUSE if refuse else ExpectedBehavior.ANSWER,
        tags=list(tags),
    )


def response(
    answer: str | None = "antwoord",
    contexts: Sequence[RetrievedContext | str | tuple[str | None, float | None, str]] = (),
    **kw: Any,
) -> Response:
    """A response; contexts may be texts or ``(doc_id, score, text)`` tuples."""
    ctxs = []
    for c in contexts:
        if isinstance(c, RetrievedContext):
            ctxs.append(c)
        elif isinstance(c, str):
            ctxs.append(RetrievedContext(text=c))
        else:
            ctxs.append(RetrievedContext(doc_id=c[0], score=c[1], text=c[2]))
    return Response(case_id=kw.pop("case_id", "c1"), answer=answer, contexts=ctxs, **kw)


def item(
    c: GoldenCase, r: Response, *, repeats: Sequence[Response] = (), lang: str = "nl"
) -> ScoreInput:
    """A score input."""
    return ScoreInput(case=c, response=r, repeats=list(repeats), language=lang)


def score(metric: Metric, *items: ScoreInput) -> list[MetricResult]:
    """Score through the public batch path (guards included), synchronously."""
    return asyncio.run(metric.score_batch(list(items)))


class ScriptedVerifier:
    """A verifier that returns fixed verdicts and counts its calls (for metric unit tests)."""

    id = "scripted"
    kind = "test"
    weak = False
    prompt_version: str | None = "test-v1"

    def __init__(self, verdicts: Sequence[Verdict] = (), error: Exception | None = None) -> None:
        self.verdicts = list(verdicts)
        self.error = error
        self.calls = 0

    async def verify(
        self, answer: str, contexts: list[str], *, question: str = "", language: str = "nl"
    ) -> Verification:
        self.calls += 1
        await asyncio.sleep(0)
        if self.error is not None:
            raise self.error
        claims = [
            ClaimVerdict(claim=f"claim {i}", verdict=v, evidence=contexts[0], evidence_index=0)
            for i, v in enumerate(self.verdicts)
        ]
        return Verification(claims=claims, judge=self.id, prompt_version=self.prompt_version)

    async def verify_claims(
        self, claims: list[str], contexts: list[str], *, language: str = "nl"
    ) -> Verification:
        self.calls += 1
        if self.error is not None:
            raise self.error
        verdicts = (self.verdicts * (len(claims) // max(len(self.verdicts), 1) + 1))[: len(claims)]
        return Verification(
            claims=[
                ClaimVerdict(claim=c, verdict=v) for c, v in zip(claims, verdicts, strict=True)
            ],
            judge=self.id,
            prompt_version=self.prompt_version,
        )

    async def aclose(self) -> None:
        return None
