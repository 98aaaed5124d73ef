"""deepeval metrics behind the Metric protocol: faithfulness and answer relevancy.

Registered as ``deepeval:faithfulness`` and ``deepeval:answer_relevancy``.

deepeval's own prompts run against the suite's LLM judge endpoint through a small
OpenAI-compatible model adapter that asks for JSON constrained by deepeval's pydantic schemas.
deepeval is imported on first use, with telemetry, update checks and .env loading off. Any
failure is a not-scored result, never a score.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any, ClassVar

from ragwacht.errors import JudgeError, MissingDependencyError
from ragwacht.metrics.backends._common import BackendMetric, CallMeter, telemetry_off
from ragwacht.metrics.base import ScoreInput, register
from ragwacht.metrics.judges.llm import parse_json_reply


def _deepeval() -> Any:
    telemetry_off()
    try:
        import deepeval.metrics as metrics  # lazy: heavy (deepeval)
        from deepeval.models import DeepEvalBaseLLM  # lazy: heavy (deepeval)
        from deepeval.test_case import LLMTestCase  # lazy: heavy (deepeval)
    except ImportError:
        raise MissingDependencyError("deepeval", purpose="deepeval:* metrics") from None
    return metrics, DeepEvalBaseLLM, LLMTestCase


def _model(client: Any, model: str, max_tokens: int, json_mode: str) -> Any:
    """A deepeval model that calls an OpenAI-compatible endpoint with ``client``."""
    _, base, _ = _deepeval()

    class OpenAICompatible(base):  # type: ignore[misc, valid-type]
        def __init__(self) -> None:
            self._client = client
            super().__init__(model)

        def load_model(self) -> Any:
            return client

        def get_model_name(self) -> str:
            return f"ragwacht:{model}"

        def generate(self, prompt: str, schema: Any = None) -> Any:
            raise JudgeError("deepeval backend runs asynchronously only", reason="usage")

        async def a_generate(self, prompt: str, schema: Any = None) -> Any:
            kw: dict[str, Any] = {}
            if schema is not None and json_mode == "schema":
                kw["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {"name": schema.__name__, "schema": schema.model_json_schema()},
                }
            elif schema is not None and json_mode == "object":
                kw["response_format"] = {"type": "json_object"}
            resp = await client.chat.completions.create(
                model=model,
                messages=[{"role": "user", "content": prompt}],
                temperature=0.0,
                max_tokens=max_tokens,
                **kw,
            )
            choice = resp.choices[0]
            if choice.finish_reason == "length":
                raise JudgeError(
                    "judge output truncated (finish_reason=length)", reason="truncated"
                )
            text = choice.message.content or ""
            if schema is None:
                return text
            return schema.model_validate(parse_json_reply(text))

    return OpenAICompatible()


class _DeepEvalMetric(BackendMetric):
    backend: ClassVar[str] = "deepeval"
    deepeval_class: ClassVar[str] = ""

    async def run(self, item: ScoreInput, meter: CallMeter) -> tuple[float | None, dict[str, Any]]:
        metrics, _, test_case = _deepeval()
        client, model = await self.openai_client(meter)
        json_mode = getattr(getattr(self.verifier, "cfg", None), "json_mode", "schema")
        llm = _model(client, model, self.max_tokens, json_mode)
        # A fresh deepeval metric per case: it keeps per-case state on the instance.
        metric = getattr(metrics, self.deepeval_class)(
            model=llm, include_reason=False, async_mode=True, threshold=0.5
        )
        case = test_case(
            input=item.case.question,
            actual_output=item.response.answer or "",
            retrieval_context=[c.text for c in item.response.contexts] or None,
        )
        try:
            await metric.a_measure(case, _show_indicator=False)
        finally:
            await client.close()
        if getattr(metric, "error", None):
            raise JudgeError(f"deepeval error: {metric.error}", reason="backend_error")
        details: dict[str, Any] = {}
        verdicts = getattr(metric, "verdicts", None)
        if verdicts:
            with contextlib.suppress(TypeError, ValueError):
                details["verdicts"] = json.loads(
                    json.dumps([getattr(v, "model_dump", lambda v=v: str(v))() for v in verdicts])
                )
        return metric.score, details


@register
class DeepEvalFaithfulness(_DeepEvalMetric):
    """deepeval faithfulness: share of the answer's claims not contradicted by the contexts."""

    name = "deepeval:faithfulness"
    deepeval_class = "FaithfulnessMetric"
    description = "deepeval faithfulness (cross-check): claims not contradicted / claims"


@register
class DeepEvalAnswerRelevancy(_DeepEvalMetric):
    """deepeval answer relevancy: share of the answer's statements relevant to the question."""

    name = "deepeval:answer_relevancy"
    deepeval_class = "AnswerRelevancyMetric"
    requires = frozenset({"answer", "judge"})
    description = "deepeval answer relevancy (cross-check): relevant statements / statements"
