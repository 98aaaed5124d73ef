"""Runner against a real misbehaving HTTP server on loopback: nothing lost, retries counted."""

from __future__ import annotations

import socket
import time

import pytest

from ragwacht.datasets.models import GoldenCase
from ragwacht.runners import (
    ExecOptions,
    ResponseStore,
    profile_from_dict,
    response_stats,
    run_cases_sync,
)
from tests.helpers.fault_server import FaultServer

pytestmark = pytest.mark.integration

EXPECTED = {
    # question: (answered?, error_kind, attempts the client and the server both count)
    "ok one": (True, None, 1),
    "500": (False, "http_status", 3),
    "400": (False, "http_status", 1),
    "flaky:1": (True, None, 2),
    "429:1": (True, None, 2),
    "hang": (False, "timeout", 3),
    "malformed": (False, "malformed", 1),
    "reset": (False, "network", 3),
    "drip": (False, "timeout", 3),
    "slow:0.2": (True, None, 1),
}


def profile(url: str):
    return profile_from_dict(
        {"type": "http", "url": url, "response": {"answer": "$.answer", "contexts": "$.sources"}}
    )


def test_every_fault_ends_answered_or_recorded(tmp_path) -> None:
    cases = [GoldenCase(id=f"c{i}", question=q) for i, q in enumerate(EXPECTED)]
    opts = ExecOptions(
        concurrency=8,
        attempt_timeout_s=0.5,
        max_retries=2,
        backoff_base_s=0.05,
        overall_timeout_s=20,
    )
    store = ResponseStore(tmp_path, fresh=True)
    with FaultServer() as srv:
        t0 = time.monotonic()
        rs = run_cases_sync(profile(srv.url), cases, options=opts, store=store, progress=False)
        wall = time.monotonic() - t0
        counts = dict(srv.counts)
        times = {q: list(ts) for q, ts in srv.times.items()}
    assert [r.case_id for r in rs] == [c.id for c in cases]
    for case, r in zip(cases, rs, strict=True):
        answered, kind, attempts = EXPECTED[case.question]
        assert r.ok is answered, (case.question, r)
        assert r.error_kind == kind, (case.question, r.error)
        assert r.attempts == attempts, (case.question, r.attempts)
        # The server saw exactly the attempts the client recorded: retries are counted.
        assert counts[case.question] == attempts, case.question
        if answered:
            assert r.answer == f"answer to: {case.question}"
            assert [c.doc_id for c in r.contexts] == ["doc-1", "doc-2"]
        else:
            assert r.error and r.answer is None
    # Retry-After: 1 was honoured between the 429 and the retry.
    t429 = times["429:1"]
    assert t429[1] - t429[0] >= 1.0
    assert wall < 10
    # Every response was stored as it finished.
    assert len(store.load()) == len(cases)
    stats = response_stats(rs)
    assert stats["answered"] == 4 and stats["errors"] == 6


def test_overall_timeout_bounds_the_run() -> None:
    cases = [GoldenCase(id=f"h{i}", question=f"hang {i}") for i in range(6)]
    cases += [GoldenCase(id="fine", question="ok fine")]
    opts = ExecOptions(concurrency=3, attempt_timeout_s=30, overall_timeout_s=1.0)
    with FaultServer() as srv:
        t0 = time.monotonic()
        rs = run_cases_sync(profile(srv.url), cases, options=opts, progress=False)
        wall = time.monotonic() - t0
    assert wall < 2.5
    assert len(rs) == 7
    assert {r.error_kind for r in rs if not r.ok} == {"overall_timeout"}
    # Cases that never got a slot are recorded too, with zero attempts.
    assert any(r.attempts == 0 for r in rs if not r.ok)
    assert sum(1 for r in rs if r.attempts == 1 and not r.ok) == 3


def test_connection_refused_is_retried_then_recorded() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # Nothing listens on the port any more.
    opts = ExecOptions(max_retries=2, backoff_base_s=0.01, attempt_timeout_s=2)
    [r] = run_cases_sync(
        profile(f"http://127.0.0.1:{port}/chat"),
        [GoldenCase(id="c", question="q")],
        options=opts,
        progress=False,
    )
    assert r.error_kind == "connect" and r.attempts == 3


def test_sse_streaming_against_a_real_server() -> None:
    prof = profile_from_dict(
        {
            "type": "http",
            "stream": {"delta": "$.delta"},
            "response": {
                "contexts": "$.sources",
                "usage": {"total_tokens": "$.usage.total_tokens"},
            },
            "url": "http://127.0.0.1:1/chat",
        }
    )
    with FaultServer() as srv:
        [r] = run_cases_sync(
            prof.with_base_url(srv.base_url),
            [GoldenCase(id="s", question="stream please")],
            progress=False,
        )
    assert r.ok and r.answer == "answer to: stream please"
    assert [c.doc_id for c in r.contexts] == ["doc-s"] and r.usage.total_tokens == 10
