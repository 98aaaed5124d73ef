"""python-callable and openai-chat runners (openai-chat over httpx.MockTransport)."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import httpx
import pytest

from ragwacht.datasets.models import GoldenCase
from ragwacht.errors import ConfigError
from ragwacht.runners import ExecOptions, Response, Variant, profile_from_dict, run_cases_sync

CASES = [GoldenCase(id="c1", question="Wat is de BRK?")]
THREADS: list[str] = []


def answer_sync(question: str, fields: dict[str, Any], top_k: int) -> dict[str, Any]:
    THREADS.append(threading.current_thread().name)
    return {
        "answer": f"sync: {question} {fields.get('retrieval')}",
        "contexts": [{"doc_id": "brk-1", "text": "Kadaster", "score": 1.0}, "plain text"],
        "usage": {"prompt_tokens": top_k},
    }


async def answer_async(question: str, **kwargs: Any) -> str:
    await asyncio.sleep(0)
    assert isinstance(kwargs["case"], GoldenCase) and kwargs["variant"] == "default"
    return f"async: {question}"


def returns_response(question: str) -> Response:
    return Response(case_id="ignored", answer="as response", refused=True)


def returns_junk(question: str) -> dict[str, Any]:
    return {"answer": "x", "unexpected": 1}


def raises(question: str) -> str:
    raise ValueError("model offline")


def py(name: str, **extra: Any):
    return profile_from_dict({"type": "python", "callable": f"{__name__}:{name}", **extra})


def test_sync_callable_runs_in_a_thread_with_declared_kwargs() -> None:
    THREADS.clear()
    [r] = run_cases_sync(
        py("answer_sync", kwargs={"top_k": 4}),
        CASES,
        variant=Variant(name="v", fields={"retrieval": "bm25"}),
        progress=False,
    )
    assert r.ok and r.answer == "sync: Wat is de BRK? bm25" and r.variant == "v"
    assert [(c.doc_id, c.text, c.rank) for c in r.contexts] == [
        ("brk-1", "Kadaster", 1),
        (None, "plain text", 2),
    ]
    assert r.usage.prompt_tokens == 4
    assert THREADS and THREADS[0] != threading.main_thread().name


def test_async_callable_and_other_return_shapes() -> None:
    [r] = run_cases_sync(py("answer_async"), CASES, progress=False)
    assert r.answer == "async: Wat is de BRK?"
    [r] = run_cases_sync(py("returns_response"), CASES, progress=False)
    assert r.answer == "as response" and r.refused is True and r.case_id == "c1"


def test_callable_failures_are_recorded() -> None:
    [r] = run_cases_sync(py("returns_junk"), CASES, progress=False)
    assert r.error_kind == "malformed" and "unexpected" in (r.error or "")
    [r] = run_cases_sync(py("raises"), CASES, progress=False)
    assert r.error_kind == "callable" and "model offline" in (r.error or "") and r.attempts == 1


def test_callable_that_does_not_import_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as exc:
        run_cases_sync(py("nope"), CASES, progress=False)
    assert exc.value.first.location.field == "callable"
    with pytest.raises(ConfigError):
        run_cases_sync(
            profile_from_dict({"type": "python", "callable": "no_such_module_x:f"}), CASES
        )


def completion(content: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": "x",
        "object": "chat.completion",
        "created": 0,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
        **extra,
    }


def test_openai_chat_request_and_sources_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RW_OPENAI_KEY", "sk-unit-abcdef")
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200, json=completion("Antwoord", sources=[{"doc_id": "d", "text": "t"}])
        )

    prof = profile_from_dict(
        {
            "type": "openai-chat",
            "base_url": "http://llm.test/v1",
            "model": "m",
            "api_key_env": "RW_OPENAI_KEY",
            "system_prompt": "Stijl: {{ settings.style }}",
            "params": {"temperature": 0},
            "extra_body": {"top_k": 2},
            "settings": {"style": "kort"},
            "response": {"contexts": "$.sources"},
        }
    )
    case = GoldenCase(id="c", question="vraag", history=[{"role": "user", "content": "eerder"}])
    [r] = run_cases_sync(
        prof,
        [case],
        variant=Variant(name="v", fields={"retrieval": "dense"}),
        transport=httpx.MockTransport(handler),
        progress=False,
    )
    assert r.ok and r.answer == "Antwoord"
    assert [c.doc_id for c in r.contexts] == ["d"]
    assert r.usage.total_tokens == 5
    req = seen[0]
    assert str(req.url) == "http://llm.test/v1/chat/completions"
    assert req.headers["authorization"] == "Bearer sk-unit-abcdef"
    body = json.loads(req.content)
    assert body["messages"] == [
        {"role": "system", "content": "Stijl: kort"},
        {"role": "user", "content": "eerder"},
        {"role": "user", "content": "vraag"},
    ]
    assert body["temperature"] == 0 and body["top_k"] == 2 and body["retrieval"] == "dense"


def test_openai_chat_status_errors_map_to_retry_policy() -> None:
    n = {"calls": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        n["calls"] += 1
        if n["calls"] == 1:
            return httpx.Response(503, json={"error": {"message": "busy"}})
        if n["calls"] == 2:
            return httpx.Response(
                429, json={"error": {"message": "rate"}}, headers={"retry-after": "0"}
            )
        if n["calls"] == 3:
            return httpx.Response(400, json={"error": {"message": "bad model"}})
        return httpx.Response(200, json=completion("x"))

    prof = profile_from_dict(
        {"type": "openai-chat", "base_url": "http://llm.test/v1", "model": "m"}
    )
    [r] = run_cases_sync(
        prof,
        CASES,
        transport=httpx.MockTransport(handler),
        progress=False,
        options=ExecOptions(backoff_base_s=0.01),
    )
    assert r.error_kind == "http_status" and r.status_code == 400 and r.attempts == 3
    assert "bad model" in (r.error or "")


def test_azure_openai_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RW_AZURE_KEY", "azure-key-123")
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=completion("hallo"))

    prof = profile_from_dict(
        {
            "type": "openai-chat",
            "model": "gpt-4o",
            "api_key_env": "RW_AZURE_KEY",
            "azure": {
                "endpoint": "https://res.openai.azure.com",
                "api_version": "2024-10-21",
                "deployment": "dep1",
            },
        }
    )
    [r] = run_cases_sync(prof, CASES, transport=httpx.MockTransport(handler), progress=False)
    assert r.ok and r.answer == "hallo"
    url = seen[0].url
    assert url.host == "res.openai.azure.com"
    assert url.path == "/openai/deployments/dep1/chat/completions"
    assert url.params["api-version"] == "2024-10-21"
    assert seen[0].headers["api-key"] == "azure-key-123"
    assert "azure-key-123" not in json.dumps(prof.public_dict())
