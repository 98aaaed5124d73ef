"""openai-chat against a real OpenAI-compatible server; mcp against a real MCP server."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ragwacht.datasets.models import GoldenCase
from ragwacht.runners import ExecOptions, Variant, profile_from_dict, run_cases_sync
from tests.helpers.fake_openai import FakeOpenAIServer

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
KEY = "sk-local-test-0123456789"


def test_openai_chat_profile_against_a_real_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RW_FAKE_OPENAI_KEY", KEY)
    with FakeOpenAIServer(api_key=KEY, fail_first=1) as srv:
        prof = profile_from_dict(
            {
                "type": "openai-chat",
                "base_url": "http://127.0.0.1:1/v1",
                "model": "fake-model",
                "api_key_env": "RW_FAKE_OPENAI_KEY",
                "system_prompt": "Je bent een behulpzame assistent.",
                "response": {"contexts": "$.sources[*]"},
            }
        ).with_base_url(srv.base_url.removesuffix("/v1"))
        cases = [GoldenCase(id="a", question="Wat is de WOZ?"), GoldenCase(id="b", question="BAG?")]
        rs = run_cases_sync(
            prof,
            cases,
            variant=Variant(name="bm25", fields={"retrieval": "bm25"}),
            options=ExecOptions(concurrency=1, backoff_base_s=0.01),
            progress=False,
        )
        requests = list(srv.requests)
    assert [r.answer for r in rs] == ["echo: Wat is de WOZ?", "echo: BAG?"]
    assert all([c.doc_id for c in r.contexts] == ["doc-a", "doc-b"] for r in rs)
    assert all(r.usage.total_tokens == 16 for r in rs)
    # One 429 (Retry-After: 0) was retried; the server saw three requests in all.
    assert sorted(r.attempts for r in rs) == [1, 2] and len(requests) == 3
    assert all(req["body"]["retrieval"] == "bm25" for req in requests)
    assert requests[-1]["body"]["messages"][0]["role"] == "system"


def test_openai_chat_tool_call_sources_and_wrong_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RW_FAKE_OPENAI_KEY", "sk-wrong-key-abcdef")
    tool = {"type": "function", "function": {"name": "cite_sources", "parameters": {}}}
    with FakeOpenAIServer(api_key=KEY) as srv:
        base = {
            "type": "openai-chat",
            "base_url": srv.base_url,
            "model": "m",
            "params": {"tools": [tool]},
            "tool_sources": {"tool_name": "cite_sources"},
        }
        [bad] = run_cases_sync(
            profile_from_dict({**base, "api_key_env": "RW_FAKE_OPENAI_KEY"}),
            [GoldenCase(id="a", question="q")],
            progress=False,
        )
        monkeypatch.setenv("RW_FAKE_OPENAI_KEY", KEY)
        [good] = run_cases_sync(
            profile_from_dict({**base, "api_key_env": "RW_FAKE_OPENAI_KEY"}),
            [GoldenCase(id="a", question="q")],
            progress=False,
        )
    assert bad.error_kind == "http_status" and bad.status_code == 401 and bad.attempts == 1
    assert "sk-wrong-key-abcdef" not in (bad.error or "")
    assert good.ok and [c.doc_id for c in good.contexts] == ["tool-doc"]


def test_mcp_stdio_search_tool_gives_contexts() -> None:
    prof = profile_from_dict(
        {
            "type": "mcp",
            "command": [sys.executable, "-m", "tests.helpers.mcp_server"],
            "cwd": str(REPO),
            "tool": "search",
            "arguments": '{"query": {{ question | tojson }}}',
            "fields": {"top_k": 2},
        }
    )
    cases = [
        GoldenCase(id="woz", question="Wat is de WOZ waarde van een woning?"),
        GoldenCase(id="bag", question="Welke adressen staan in de BAG?"),
    ]
    rs = run_cases_sync(prof, cases, options=ExecOptions(concurrency=2), progress=False)
    assert all(r.ok and r.answer == "" for r in rs)
    assert next(c.doc_id for c in rs[0].contexts) == "woz-1"
    assert next(c.doc_id for c in rs[1].contexts) == "bag-1"
    assert all(len(r.contexts) == 2 for r in rs)  # the variant field top_k reached the tool
    assert rs[0].contexts[0].text.startswith("De WOZ-waarde")
    assert rs[0].contexts[0].score is not None and rs[0].contexts[0].rank == 1

    [err] = run_cases_sync(
        prof.model_copy(update={"tool": "explode", "fields": {}}),
        [GoldenCase(id="x", question="q")],
        progress=False,
    )
    assert err.error_kind == "tool_error" and err.attempts == 1


def test_mcp_call_timeout_leaves_the_session_usable() -> None:
    prof = profile_from_dict(
        {
            "type": "mcp",
            "command": [sys.executable, "-m", "tests.helpers.mcp_server"],
            "cwd": str(REPO),
            "tool": "slow",
            "arguments": '{"query": {{ question | tojson }}, "seconds": {{ case.tags[0] }}}',
            "result": {"answer": "$.text", "contexts": None},
        }
    )
    cases = [
        GoldenCase(id="late", question="q", tags=["5"]),
        GoldenCase(id="quick", question="q", tags=["0"]),
    ]
    late, quick = run_cases_sync(
        prof,
        cases,
        options=ExecOptions(
            concurrency=1, attempt_timeout_s=0.5, max_retries=1, backoff_base_s=0.01
        ),
        progress=False,
    )
    assert late.error_kind == "timeout" and late.attempts == 2
    # The abandoned 5 s calls did not hold up the session for the next case.
    assert quick.ok and quick.answer == "late"
    assert quick.latency_ms is not None and quick.latency_ms < 4000


def test_mcp_server_that_cannot_start_is_recorded_per_case() -> None:
    prof = profile_from_dict(
        {"type": "mcp", "command": ["/nonexistent/mcp-server-binary"], "tool": "search"}
    )
    rs = run_cases_sync(
        prof, [GoldenCase(id="a", question="q"), GoldenCase(id="b", question="r")], progress=False
    )
    assert [r.error_kind for r in rs] == ["connect", "connect"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_mcp_streamable_http_search_tool() -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.helpers.mcp_server", "--http", str(port)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail("MCP HTTP server did not start")
                time.sleep(0.1)
        prof = profile_from_dict(
            {"type": "mcp", "url": f"http://127.0.0.1:{port}/mcp", "tool": "search"}
        )
        [r] = run_cases_sync(prof, [GoldenCase(id="b", question="BRK percelen")], progress=False)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert r.ok, r.error
    assert r.contexts[0].doc_id == "brk-1" and len(r.contexts) == 3


def test_mcp_server_crash_reconnects_for_later_cases(tmp_path: Path) -> None:
    starts = tmp_path / "starts.txt"
    prof = profile_from_dict(
        {
            "type": "mcp",
            "command": [sys.executable, "-m", "tests.helpers.mcp_server"],
            "cwd": str(REPO),
            "env": {"MCP_TEST_STARTS": str(starts)},
            "tool": "search_or_die",
            "arguments": '{"query": {{ question | tojson }}}',
        }
    )
    cases = [
        GoldenCase(id="woz", question="Wat is de WOZ waarde"),
        GoldenCase(id="die", question="die"),  # kills the server on every attempt
        GoldenCase(id="bag", question="adressen in de BAG"),
        GoldenCase(id="brk", question="eigendom percelen BRK"),
    ]
    opts = ExecOptions(concurrency=1, max_retries=1, backoff_base_s=0.01, attempt_timeout_s=10)
    woz, die, bag, brk = run_cases_sync(prof, cases, options=opts, progress=False)
    assert woz.ok and woz.contexts[0].doc_id == "woz-1"
    assert die.error_kind == "network" and die.attempts == 2 and "closed" in (die.error or "")
    # Later cases were answered on a new session instead of failing on the dead one.
    assert bag.ok and bag.contexts[0].doc_id == "bag-1"
    assert brk.ok and brk.contexts[0].doc_id == "brk-1"
    assert len(starts.read_text().split()) == 3  # the first start and one per crash
