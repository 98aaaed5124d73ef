"""ragas and deepeval backends behind the Metric protocol, over real HTTP on loopback.

A scripted OpenAI-compatible server checks that the adapters compute what the libraries
compute from known judge replies, and that NaN and failed calls end as not scored with
``error=True``; the real 0.5B test model checks that every case ends scored or not scored with
a reason.
"""

from __future__ import annotations

import asyncio
import json
import math
from typing import Any

import pytest

from ragwacht.datasets.models import GoldenCase
from ragwacht.errors import ConfigError
from ragwacht.metrics.base import ScoreInput, create_metric, metric_class
from ragwacht.metrics.judges.config import LLMJudgeConfig
from ragwacht.metrics.judges.llm import LLMVerifier
from ragwacht.records import MetricResult, Response, RetrievedContext
from tests.helpers.judge_server import FakeJudgeServer, Reply, ok

pytestmark = pytest.mark.integration

CTX = "The BAG holds all addresses and buildings in the Netherlands."


def item(answer: str = "The BAG holds all addresses. It was founded in 1850.") -> ScoreInput:
    case = GoldenCase(
        id="c1",
        question="What does the BAG hold?",
        reference_answer="The BAG holds all addresses and buildings.",
    )
    resp = Response(case_id="c1", answer=answer, contexts=[RetrievedContext(text=CTX)])
    return ScoreInput(case=case, response=resp, language="en")


def score(name: str, url: str, **kw: Any) -> MetricResult:
    v = LLMVerifier(LLMJudgeConfig(base_url=url, model="judge", max_tokens=256, timeout_s=300))
    m = create_metric(name, verifier=v, **kw)

    async def go() -> MetricResult:
        try:
            return (await m.score_batch([item()]))[0]
        finally:
            await v.aclose()

    return asyncio.run(go())


def test_registry_and_missing_judge() -> None:
    for name in (
        "ragas:faithfulness",
        "ragas:context_recall",
        "deepeval:faithfulness",
        "deepeval:answer_relevancy",
    ):
        assert metric_class(name).name == name
    with pytest.raises(ConfigError) as e:
        create_metric("ragas:faithfulness")
    assert "judge" in str(e.value)


def _ragas_script(body: dict[str, Any]) -> Reply:
    if "Your task is to judge the faithfulness" in json.dumps(body["messages"]):
        return ok(
            {
                "statements": [
                    {"statement": "The BAG holds all addresses.", "reason": "stated", "verdict": 1},
                    {
                        "statement": "The BAG was founded in 1850.",
                        "reason": "not stated",
                        "verdict": 0,
                    },
                ]
            }
        )
    return ok({"statements": ["The BAG holds all addresses.", "The BAG was founded in 1850."]})


def test_ragas_faithfulness_from_known_verdicts() -> None:
    with FakeJudgeServer(_ragas_script) as srv:
        r = score("ragas:faithfulness", srv.base_url)
    assert r.value == pytest.approx(0.5), r
    assert r.judge == "ragas@llm:judge" and r.details["judge_calls"] == 2
    assert r.details["prompt_tokens"] == 200 and not r.error


def test_ragas_nan_is_not_scored() -> None:
    # No statements: ragas returns NaN, which must never become a score.
    with FakeJudgeServer([ok({"statements": []})]) as srv:
        r = score("ragas:faithfulness", srv.base_url)
    assert r.value is None and r.error and "nan" in (r.reason or "").lower()


def test_backend_failures_are_not_scored() -> None:
    with FakeJudgeServer([Reply(status=400)]) as srv:
        r = score("deepeval:faithfulness", srv.base_url)
    assert r.value is None and r.error and r.reason
    with FakeJudgeServer([ok("certainly not json")]) as srv:
        r2 = score("ragas:context_recall", srv.base_url)
    assert r2.value is None and r2.error and r2.reason


def _deepeval_script(body: dict[str, Any]) -> Reply:
    fmt = body.get("response_format", {}).get("json_schema", {}).get("name")
    if fmt == "Truths":
        return ok({"truths": ["The BAG holds all addresses and buildings."]})
    if fmt == "Claims":
        return ok(
            {
                "claims": [
                    "The BAG holds all addresses.",
                    "The BAG was founded in 1850.",
                    "The BAG is Dutch.",
                ]
            }
        )
    if fmt == "Verdicts":
        return ok(
            {
                "verdicts": [
                    {"verdict": "yes"},
                    {"verdict": "no", "reason": "x"},
                    {"verdict": "borderline"},
                ]
            }
        )
    return Reply(status=400)


def test_deepeval_faithfulness_from_known_verdicts() -> None:
    with FakeJudgeServer(_deepeval_script) as srv:
        r = score("deepeval:faithfulness", srv.base_url)
        formats = [
            b.get("response_format", {}).get("json_schema", {}).get("name") for b in srv.requests
        ]
    # deepeval counts yes and borderline as faithful (penalize_ambiguous_claims off): 2 of 3.
    assert r.value == pytest.approx(2 / 3), r
    assert sorted(formats) == ["Claims", "Truths", "Verdicts"] and r.details["judge_calls"] == 3


@pytest.mark.llm
@pytest.mark.parametrize("name", ["ragas:faithfulness", "deepeval:faithfulness"])
def test_backends_against_the_real_test_model(name: str) -> None:
    from tests.helpers.judge_server import ModelUnavailable, shared_local_server

    try:
        url, _ = shared_local_server()
    except ModelUnavailable as exc:
        pytest.skip(str(exc))
    r = score(name, url)
    if r.value is None:
        assert r.reason and r.error  # not scored, with the backend's reason
    else:
        assert 0.0 <= r.value <= 1.0 and not math.isnan(r.value)
    assert r.details["judge_calls"] >= 1
