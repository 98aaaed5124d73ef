"""ragas metrics behind the Metric protocol: ``ragas:faithfulness``, ``ragas:context_recall``.

Uses ragas's own prompts (its collections API, structured output through instructor in JSON
mode) against the suite's LLM judge endpoint. ragas is imported on first use, with telemetry
off. A NaN, an exception or a failed judge call is a not-scored result, never a score.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ragwacht.errors import MissingDependencyError
from ragwacht.metrics.backends._common import BackendMetric, CallMeter, telemetry_off
from ragwacht.metrics.base import ScoreInput, register


def _ragas() -> Any:
    telemetry_off()
    try:
        import ragas.metrics.collections as collections  # lazy: heavy (ragas)
        from ragas.llms.base import llm_factory  # lazy: heavy (ragas)
    except ImportError:
        raise MissingDependencyError("ragas", purpose="ragas:* metrics") from None
    return collections, llm_factory


class _RagasMetric(BackendMetric):
    backend: ClassVar[str] = "ragas"
    ragas_class: ClassVar[str] = ""

    async def _score(self, meter: CallMeter, **inputs: Any) -> float | None:
        collections, llm_factory = _ragas()
        client, model = await self.openai_client(meter)
        try:
            llm = llm_factory(model, client=client, temperature=0.0, max_tokens=self.max_tokens)
            metric = getattr(collections, self.ragas_class)(llm=llm)
            res = await metric.ascore(**inputs)
        finally:
            await client.close()
        value: float | None = res.value
        return value


@register
class RagasFaithfulness(_RagasMetric):
    """ragas faithfulness: share of the answer's statements that the contexts support."""

    name = "ragas:faithfulness"
    ragas_class = "Faithfulness"
    description = "ragas faithfulness (cross-check): supported statements / statements"

    async def run(self, item: ScoreInput, meter: CallMeter) -> tuple[float | None, dict[str, Any]]:
        """Score one case with ragas."""
        value = await self._score(
            meter,
            user_input=item.case.question,
            response=item.response.answer or "",
            retrieved_contexts=[c.text for c in item.response.contexts],
        )
        return value, {}


@register
class RagasContextRecall(_RagasMetric):
    """ragas context recall: share of the reference answer's claims found in the contexts."""

    name = "ragas:context_recall"
    ragas_class = "ContextRecall"
    requires = frozenset({"contexts", "reference_answer", "judge"})
    description = "ragas context recall (cross-check): reference claims attributable to contexts"

    async def run(self, item: ScoreInput, meter: CallMeter) -> tuple[float | None, dict[str, Any]]:
        """Score one case with ragas."""
        value = await self._score(
            meter,
            user_input=item.case.question,
            retrieved_contexts=[c.text for c in item.response.contexts],
            reference=item.case.reference_answer or "",
        )
        return value, {}
