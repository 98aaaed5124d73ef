"""The LLM judge against a misbehaving OpenAI-compatible server (real HTTP on loopback).

Every failure must end as a JudgeError with the right reason (counted as not scored by the
metrics), retries and repair re-asks must be used and bounded, and the server must see exactly
the requests we expect.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ragwacht.errors import JudgeError
from ragwacht.metrics.judges.base import Verdict
from ragwacht.metrics.judges.config import LLMJudgeConfig
from ragwacht.metrics.judges.llm import LLMVerifier
from tests.helpers.judge_server import FakeJudgeServer, Reply, ok

pytestmark = pytest.mark.integration

CTX = ["The BAG holds all addresses and buildings.", "The WOZ value is set every year."]
GOOD = {
    "claims": [
        {"claim": "The BAG holds all addresses.", "evidence": 1, "verdict": "supported"},
        {
            "claim": "The WOZ value is set every five years.",
            "evidence": 2,
            "verdict": "contradicted",
        },
    ]
}


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[FakeJudgeServer]:
    srv = FakeJudgeServer(request.param).start()
    yield srv
    srv.stop()


def verifier(srv: FakeJudgeServer, **kw: Any) -> LLMVerifier:
    cache_dir = kw.pop("cache_dir", None)
    opts: dict[str, Any] = {
        "base_url": srv.base_url,
        "model": "fake",
        "max_retries": 2,
        "backoff_s": 0.01,
        "timeout_s": 5.0,
        **kw,
    }
    return LLMVerifier(LLMJudgeConfig(**opts), cache_dir=cache_dir)


def run(v: LLMVerifier, answer: str = "BAG and WOZ.", lang: str = "en") -> Any:
    async def go() -> Any:
        try:
            return await v.verify(answer, CTX, question="What are BAG and WOZ?", language=lang)
        finally:
            await v.aclose()

    return asyncio.run(go())


@pytest.mark.parametrize("server", [[ok(GOOD)]], indirect=True)
def test_valid_reply_maps_claims_evidence_and_request_shape(server: FakeJudgeServer) -> None:
    v = verifier(server)
    out = run(v)
    assert [c.verdict for c in out.claims] == [Verdict.SUPPORTED, Verdict.CONTRADICTED]
    assert out.claims[1].evidence_index == 1 and out.claims[1].evidence == CTX[1]
    assert out.calls == 1 and out.prompt_tokens == 100 and out.prompt_version.endswith(".en")
    body = server.requests[0]
    assert body["temperature"] == 0.0 and body["model"] == "fake"
    assert body["response_format"]["type"] == "json_schema"
    schema = body["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["claims"]["items"]["properties"]["verdict"]["enum"] == [
        "supported",
        "contradicted",
        "unverifiable",
    ]
    assert "Question: What are BAG and WOZ?" in body["messages"][0]["content"]


@pytest.mark.parametrize("server", [[ok("this is not json"), ok(GOOD)]], indirect=True)
def test_malformed_then_repaired(server: FakeJudgeServer) -> None:
    v = verifier(server)
    out = run(v)
    assert len(out.claims) == 2 and out.calls == 2 and v.stats.repairs == 1
    # The re-ask shows the judge its own reply and the error.
    msgs = server.requests[1]["messages"]
    assert [m["role"] for m in msgs] == ["user", "assistant", "user"]
    assert msgs[1]["content"] == "this is not json" and "no JSON object" in msgs[2]["content"]


@pytest.mark.parametrize("server", [[ok('{"claims": [{"claim": "x"}]}')]], indirect=True)
def test_malformed_forever_is_bounded(server: FakeJudgeServer) -> None:
    v = verifier(server, max_repairs=2)
    with pytest.raises(JudgeError) as e:
        run(v)
    assert e.value.reason == "malformed_output" and "verdict" in str(e.value)
    assert len(server.requests) == 3 and v.stats.failures["malformed_output"] == 1


@pytest.mark.parametrize(
    "server", [[ok('{"claims": [{"claim": "x", "evid', finish_reason="length")]], indirect=True
)
def test_truncated_output_is_not_repaired(server: FakeJudgeServer) -> None:
    v = verifier(server, max_tokens=64)
    with pytest.raises(JudgeError) as e:
        run(v)
    assert e.value.reason == "truncated" and "max_tokens=64" in str(e.value)
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    "server", [[Reply(status=429, headers={"Retry-After": "1"}), ok(GOOD)]], indirect=True
)
def test_429_waits_for_retry_after(server: FakeJudgeServer) -> None:
    v = verifier(server)
    t0 = time.perf_counter()
    out = run(v)
    assert len(out.claims) == 2 and len(server.requests) == 2 and v.stats.retries == 1
    assert time.perf_counter() - t0 >= 0.95  # honoured Retry-After: 1


@pytest.mark.parametrize(
    "server", [[Reply(status=429, headers={"Retry-After": "0"})]], indirect=True
)
def test_429_forever_is_rate_limited(server: FakeJudgeServer) -> None:
    v = verifier(server, max_retries=2)
    with pytest.raises(JudgeError) as e:
        run(v)
    assert e.value.reason == "rate_limited" and e.value.attempts == 3
    assert len(server.requests) == 3


@pytest.mark.parametrize(
    "server", [[Reply(status=503), Reply(status=500), ok(GOOD)]], indirect=True
)
def test_5xx_retried(server: FakeJudgeServer) -> None:
    v = verifier(server)
    assert len(run(v).claims) == 2 and len(server.requests) == 3


@pytest.mark.parametrize("server", [[Reply(status=400)]], indirect=True)
def test_4xx_not_retried(server: FakeJudgeServer) -> None:
    v = verifier(server)
    with pytest.raises(JudgeError) as e:
        run(v)
    assert e.value.reason == "http_error" and len(server.requests) == 1


@pytest.mark.parametrize("server", [[Reply(delay=1.5, content="{}")]], indirect=True)
def test_timeouts(server: FakeJudgeServer) -> None:
    v = verifier(server, timeout_s=0.3, max_retries=1)
    with pytest.raises(JudgeError) as e:
        run(v)
    assert e.value.reason == "timeout" and len(server.requests) == 2


@pytest.mark.parametrize("server", [[Reply(choices=False)]], indirect=True)
def test_no_choices_is_malformed(server: FakeJudgeServer) -> None:
    v = verifier(server, max_repairs=0)
    with pytest.raises(JudgeError) as e:
        run(v)
    assert e.value.reason == "malformed_output"


def test_connection_refused() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    v = LLMVerifier(
        LLMJudgeConfig(base_url=f"http://127.0.0.1:{port}/v1", max_retries=1, backoff_s=0.01)
    )
    with pytest.raises(JudgeError) as e:
        run(v)
    assert e.value.reason == "connection"


def _verdicts(body: dict[str, Any]) -> Reply:
    n = body["response_format"]["json_schema"]["schema"]["properties"]["verdicts"]["minItems"]
    return ok(
        {"verdicts": [{"claim": i + 1, "evidence": 1, "verdict": "supported"} for i in range(n)]}
    )


@pytest.mark.parametrize("server", [_verdicts], indirect=True)
def test_split_verdicts_and_cache(server: FakeJudgeServer, tmp_path: Path) -> None:
    claims = ["The BAG holds all addresses.", "The WOZ value is set every year."]

    async def go(v: LLMVerifier, lang: str) -> Any:
        try:
            return await v.verify_claims(claims, CTX, language=lang)
        finally:
            await v.aclose()

    v1 = verifier(server, method="split_verdicts", cache_dir=tmp_path)
    a = asyncio.run(go(v1, "nl"))
    assert [c.claim for c in a.claims] == claims and not a.cached and a.calls == 1
    assert a.prompt_version == "verdicts_v3.nl"
    assert "Beweringen:" in server.requests[0]["messages"][0]["content"]
    v2 = verifier(server, method="split_verdicts", cache_dir=tmp_path)
    b = asyncio.run(go(v2, "nl"))
    assert b.cached and b.calls == 0 and b.claims == a.claims and v2.stats.requests == 0
    assert len(server.requests) == 1
    asyncio.run(go(verifier(server, method="split_verdicts", cache_dir=tmp_path), "en"))
    assert len(server.requests) == 2  # another language is another prompt: a miss


@pytest.mark.parametrize(
    "server",
    [[ok({"verdicts": [{"claim": 1, "evidence": 0, "verdict": "supported"}]})]],
    indirect=True,
)
def test_wrong_number_of_verdicts_is_repaired_then_fails(server: FakeJudgeServer) -> None:
    v = verifier(server, method="split_verdicts", max_repairs=1)

    async def go() -> Any:
        return await v.verify_claims(["a b c", "d e f"], CTX, language="en")

    with pytest.raises(JudgeError) as e:
        asyncio.run(go())
    assert e.value.reason == "malformed_output" and "expected 2 verdicts" in str(e.value)
    assert len(server.requests) == 2


@pytest.mark.parametrize(
    "server", [[Reply(content="Yes", top_logprobs=[("Yes", -0.1), ("No", -2.4)])]], indirect=True
)
def test_claim_logprobs(server: FakeJudgeServer) -> None:
    v = verifier(server, method="claim_logprobs", yes_threshold=0.5)

    async def go() -> Any:
        return await v.verify_claims(["claim one", "claim two"], CTX, language="nl")

    out = asyncio.run(go())
    assert out.calls == 2 and len(server.requests) == 2
    assert all(c.verdict == Verdict.SUPPORTED for c in out.claims)
    assert out.claims[0].score == pytest.approx(0.909, abs=1e-3)
    body = server.requests[0]
    assert body["max_tokens"] == 1 and body["logprobs"] is True and "ja of nee" in str(body)


@pytest.mark.parametrize("server", [[Reply(delay=0.3, content="{}")]], indirect=True)
def test_concurrency_limit(server: FakeJudgeServer) -> None:
    # Two slots, six calls of 0.3 s each: at least three rounds.
    server.script = lambda body: Reply(delay=0.3, content='{"claims": []}')
    v = verifier(server, concurrency=2)

    async def go() -> float:
        t0 = time.perf_counter()
        await asyncio.gather(*(v.verify(f"answer {i}", CTX, language="en") for i in range(6)))
        await v.aclose()
        return time.perf_counter() - t0

    assert asyncio.run(go()) >= 0.85 and len(server.requests) == 6
