"""The LLM judge end to end against the real 0.5B test model served by xllamacpp on loopback.

The model is a fixture, not a trustworthy judge: these tests check plumbing and accounting
(valid Verification or JudgeError with a reason for every item, prompt version and hash
recorded, the cache answering a repeated question without a server call, the case's language
picking the prompt), not the quality of its verdicts.
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import pytest

from ragwacht.errors import JudgeError
from ragwacht.metrics.judges.base import Verification
from ragwacht.metrics.judges.config import LLMJudgeConfig, LocalLLMJudgeConfig
from ragwacht.metrics.judges.factory import make_verifier
from ragwacht.metrics.judges.llm import LLMVerifier
from ragwacht.metrics.prompts import load_prompt

pytestmark = [pytest.mark.integration, pytest.mark.llm]

ITEMS = [
    (
        "en",
        "What does the BAG hold?",
        "The BAG holds all addresses and buildings.",
        [
            "The BAG (Basisregistratie Adressen en Gebouwen) holds all addresses and buildings in "
            "the Netherlands."
        ],
    ),
    (
        "nl",
        "Wie stelt de WOZ-waarde vast?",
        "De gemeente stelt de WOZ-waarde elk jaar vast.",
        ["De WOZ-waarde van een woning wordt elk jaar door de gemeente vastgesteld."],
    ),
]


@pytest.fixture(scope="module")
def judge_url() -> str:
    from tests.helpers.judge_server import ModelUnavailable, shared_local_server

    try:
        url, _ = shared_local_server()
    except ModelUnavailable as exc:
        pytest.skip(str(exc))
    return url


def _cfg(url: str, **kw: Any) -> LLMJudgeConfig:
    return LLMJudgeConfig(
        base_url=url,
        model="qwen-test",
        max_tokens=256,
        timeout_s=300,
        max_retries=1,
        concurrency=1,
        **kw,
    )


def test_every_item_verified_or_failed_with_reason_then_cached(
    judge_url: str, tmp_path: Path
) -> None:
    async def run(v: LLMVerifier) -> list[Verification | JudgeError]:
        outs: list[Verification | JudgeError] = []
        for lang, q, a, ctx in ITEMS:
            try:
                outs.append(await v.verify(a, ctx, question=q, language=lang))
            except JudgeError as exc:
                outs.append(exc)
        await v.aclose()
        return outs

    v1 = LLMVerifier(_cfg(judge_url), cache_dir=tmp_path)
    first = asyncio.run(run(v1))
    assert v1.stats.requests >= len(ITEMS)
    for (lang, *_), out in zip(ITEMS, first, strict=True):
        if isinstance(out, JudgeError):
            assert out.reason in {"truncated", "malformed_output", "timeout"}, out
            continue
        prompt = load_prompt("faithfulness_v1", lang)
        assert out.prompt_version == f"faithfulness_v1.{lang}"
        assert out.prompt_hash == prompt.sha256
        assert out.judge == "llm:qwen-test" and out.calls >= 1 and out.prompt_tokens
        for c in out.claims:
            assert c.claim.strip()
            assert c.evidence_index in (None, 0)
    ok = [o for o in first if isinstance(o, Verification)]
    assert ok, "the test model produced no usable verification at all"
    # Second run, new verifier, same cache: identical results and no server request.
    v2 = LLMVerifier(_cfg(judge_url), cache_dir=tmp_path)
    second = asyncio.run(run(v2))
    assert v2.stats.requests == 0 and v2.stats.cache_hits == len(ok)
    for a, b in zip(first, second, strict=True):
        if isinstance(a, Verification):
            assert isinstance(b, Verification) and b.cached and b.calls == 0
            assert b.claims == a.claims


def test_language_picks_the_prompt_and_logprobs_work(judge_url: str) -> None:
    v = LLMVerifier(_cfg(judge_url, method="claim_logprobs"))

    async def go() -> tuple[Verification, Verification]:
        nl = await v.verify_claims(
            ["De gemeente stelt de WOZ-waarde vast."], ITEMS[1][3], language="nl"
        )
        en = await v.verify_claims(["The BAG holds all addresses."], ITEMS[0][3], language="en")
        await v.aclose()
        return nl, en

    nl, en = asyncio.run(go())
    assert nl.prompt_version == "claim_check_v3.nl" and en.prompt_version == "claim_check_v3.en"
    assert nl.prompt_hash != en.prompt_hash
    for out in (nl, en):
        assert out.calls == 1 and out.claims[0].score is not None
        assert 0.0 <= out.claims[0].score <= 1.0


def test_local_llm_judge_serves_itself_on_loopback(tmp_path: Path) -> None:
    from tests.helpers.judge_server import ModelUnavailable, small_gguf

    try:
        gguf = small_gguf()
    except ModelUnavailable as exc:
        pytest.skip(str(exc))
    v = make_verifier(
        LocalLLMJudgeConfig(gguf=str(gguf), max_tokens=64, method="split_verdicts", timeout_s=300),
        cache_dir=None,
    )
    assert v.kind == "local-llm" and v.id == f"local-llm:{gguf.stem}:split_verdicts"

    async def go() -> tuple[str, Verification | JudgeError]:
        url = await v.resolve_base_url()  # type: ignore[attr-defined]
        try:
            out: Verification | JudgeError = await v.verify_claims(
                ["The BAG holds addresses."], ITEMS[0][3], language="en"
            )
        except JudgeError as exc:
            out = exc
        await v.aclose()
        return url, out

    url, out = asyncio.run(go())
    assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
    assert isinstance(out, Verification) or out.reason in {"truncated", "malformed_output"}
    # Stopped: the port no longer accepts connections.
    host, port = url.removeprefix("http://").removesuffix("/v1").split(":")
    with socket.socket() as s:
        s.settimeout(1)
        assert s.connect_ex((host, int(port))) != 0
