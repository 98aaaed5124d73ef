"""Execution with httpx.MockTransport: mapping, templating, retries, timeouts, cache, resume."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ragwacht.datasets.models import GoldenCase
from ragwacht.errors import ConfigError
from ragwacht.runners import (
    ExecOptions,
    Response,
    ResponseCache,
    ResponseStore,
    Variant,
    profile_from_dict,
    response_stats,
    run_cases,
    run_cases_sync,
)

FAST = {"backoff_base_s": 0.01, "backoff_max_s": 0.05}


def cases(*questions: str) -> list[GoldenCase]:
    return [GoldenCase(id=f"c{i}", question=q) for i, q in enumerate(questions)]


def http_profile(**over: Any):
    data: dict[str, Any] = {
        "type": "http",
        "url": "http://bot.test/chat",
        "response": {"answer": "$.answer", "contexts": "$.sources[*]"},
    }
    data.update(over)
    return profile_from_dict(data)


def ok_body(question: str = "q") -> dict[str, Any]:
    return {
        "answer": f"A: {question}",
        "sources": [{"doc_id": "d1", "text": "t1", "score": 0.9}, {"doc_id": 7, "text": "t2"}],
    }


def run(profile, cs, handler, **kw) -> list[Response]:
    kw.setdefault("progress", False)
    opts = kw.pop("options", ExecOptions(**FAST))
    return run_cases_sync(profile, cs, transport=httpx.MockTransport(handler), options=opts, **kw)


# -- mapping and templating -------------------------------------------------------------------


def test_request_template_and_response_mapping() -> None:
    seen: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        return httpx.Response(
            200,
            json={
                "data": {"text": "Het antwoord", "refused": False, "cites": ["d2"]},
                "hits": [{"meta": {"id": "d2"}, "body": "passage", "s": "0.25"}],
                "usage": {"in": 1000, "out": 500},
            },
        )

    prof = profile_from_dict(
        {
            "type": "http",
            "url": "http://bot.test/chat",
            "body": (
                '{"q": {{ question | tojson }}, "tags": {{ case.tags | tojson }}, '
                '"style": {{ settings.style | tojson }}, "turns": {{ history | length }}}'
            ),
            "fields": {"top_k": 3},
            "settings": {"style": "kort"},
            "price": {"prompt_per_1k": 0.5, "completion_per_1k": 1.0},
            "response": {
                "answer": "jmes: data.text",
                "contexts": "$.hits[*]",
                "context": {"doc_id": "meta.id", "text": "body", "score": "s"},
                "usage": {"prompt_tokens": "$.usage.in", "completion_tokens": "$.usage.out"},
                "cited_ids": "$.data.cites[*]",
                "refused": "$.data.refused",
            },
        }
    )
    case = GoldenCase(
        id="c1",
        question='Wat is "WOZ"?',
        tags=["topic:woz"],
        history=[{"role": "user", "content": "hoi"}, {"role": "assistant", "content": "dag"}],
    )
    [r] = run(prof, [case], handler, variant=Variant(name="v2", fields={"rerank": True}))
    assert seen == [
        {
            "q": 'Wat is "WOZ"?',
            "tags": ["topic:woz"],
            "style": "kort",
            "turns": 2,
            "top_k": 3,
            "rerank": True,
        }
    ]
    assert r.ok and r.answer == "Het antwoord" and r.variant == "v2"
    assert [(c.doc_id, c.text, c.score, c.rank) for c in r.contexts] == [("d2", "passage", 0.25, 1)]
    assert r.cited_ids == ["d2"] and r.refused is False
    assert r.usage.prompt_tokens == 1000 and r.usage.completion_tokens == 500
    assert r.cost == pytest.approx(0.5 + 0.5)


def test_default_context_fields_ranks_and_id_coercion() -> None:
    [r] = run(http_profile(), cases("q"), lambda req: httpx.Response(200, json=ok_body()))
    assert [(c.doc_id, c.text, c.score, c.rank) for c in r.contexts] == [
        ("d1", "t1", 0.9, 1),
        ("7", "t2", None, 2),
    ]


def test_string_contexts_and_null_answer() -> None:
    body = {"answer": None, "sources": ["alpha", "beta"]}
    [r] = run(http_profile(), cases("q"), lambda req: httpx.Response(200, json=body))
    assert r.ok and r.answer == ""
    assert [(c.text, c.rank) for c in r.contexts] == [("alpha", 1), ("beta", 2)]


@pytest.mark.parametrize(
    ("body", "kind", "needle"),
    [
        ({"reply": "x"}, "mapping", "top-level keys: reply"),
        ({"answer": {"nested": 1}}, "mapping", "expected text"),
        ({"answer": "x", "sources": [{"score": "high"}]}, "mapping", "expected a number"),
        ({"answer": "x", "sources": [42]}, "mapping", "expected an object"),
    ],
)
def test_mapping_errors_are_recorded_not_retried(body: Any, kind: str, needle: str) -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(200, json=body)

    [r] = run(http_profile(), cases("q"), handler)
    assert r.error_kind == kind and needle in (r.error or "")
    assert r.attempts == 1 and len(calls) == 1


def test_malformed_json_is_recorded_not_retried() -> None:
    [r] = run(http_profile(), cases("q"), lambda req: httpx.Response(200, text="<html>oops"))
    assert r.error_kind == "malformed" and r.attempts == 1 and "<html>oops" in (r.error or "")


def test_template_error_for_one_case_is_recorded() -> None:
    prof = http_profile(body='{"q": {{ question | tojson }}, "x": {{ settings.missing }}}')
    [r] = run(prof, cases("q"), lambda req: httpx.Response(200, json=ok_body()))
    assert r.error_kind == "template" and "missing" in (r.error or "") and r.attempts == 1


def test_get_request_with_query_template_and_fields() -> None:
    seen: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        assert request.method == "GET" and request.content == b""
        return httpx.Response(200, json=ok_body())

    prof = http_profile(method="GET", query={"q": "{{ question }}"}, fields={"k": 2})
    [r] = run(prof, cases("wat is bag"), handler)
    assert r.ok
    assert seen[0].params["q"] == "wat is bag" and seen[0].params["k"] == "2"


def test_sse_stream_concatenates_deltas() -> None:
    events = [
        {"choices": [{"delta": {"content": "Hal"}}]},
        {"choices": [{"delta": {"content": "lo"}}]},
        {"choices": [{"delta": {}}], "sources": [{"doc_id": "s1", "text": "x"}]},
    ]
    body = ": keep-alive\n\n" + "".join(f"data: {json.dumps(e)}\n\n" for e in events)
    body += "data: [DONE]\n\n"

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["accept"] == "text/event-stream"
        return httpx.Response(200, text=body, headers={"content-type": "text/event-stream"})

    prof = http_profile(stream={"delta": "$.choices[0].delta.content"})
    [r] = run(prof, cases("q"), handler)
    assert r.ok and r.answer == "Hallo"
    assert [c.doc_id for c in r.contexts] == ["s1"]


def test_sse_bad_event_is_malformed() -> None:
    body = 'data: {"choices": [{"delta": {"content": "a"}}]}\n\ndata: {broken\n\n'

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text=body, headers={"content-type": "text/event-stream"})

    [r] = run(http_profile(stream={"delta": "$.choices[0].delta.content"}), cases("q"), handler)
    assert r.error_kind == "malformed"


# -- retries ----------------------------------------------------------------------------------


def test_retries_5xx_then_succeeds_and_never_retries_4xx() -> None:
    calls: dict[str, int] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        q = json.loads(request.content)["question"]
        calls[q] = calls.get(q, 0) + 1
        if q == "flaky" and calls[q] <= 2:
            return httpx.Response(503)
        if q == "bad":
            return httpx.Response(404, text="no such route")
        if q == "down":
            return httpx.Response(500)
        return httpx.Response(200, json=ok_body(q))

    rs = run(
        http_profile(),
        cases("flaky", "bad", "down"),
        handler,
        options=ExecOptions(max_retries=3, **FAST),
    )
    flaky, bad, down = rs
    assert flaky.ok and flaky.attempts == 3 and calls["flaky"] == 3
    assert bad.error_kind == "http_status" and bad.status_code == 404 and bad.attempts == 1
    assert calls["bad"] == 1
    assert down.error_kind == "http_status" and down.attempts == 4 and calls["down"] == 4
    assert response_stats(rs) == {
        "total": 3,
        "answered": 1,
        "errors": 2,
        "errors_by_kind": {"http_status": 2},
        "retries": 2 + 0 + 3,
        "cached": 0,
    }


def test_connect_errors_are_retried() -> None:
    n = {"calls": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        n["calls"] += 1
        if n["calls"] == 1:
            raise httpx.ConnectError("refused", request=request)
        if n["calls"] == 2:
            raise httpx.RemoteProtocolError("closed", request=request)
        return httpx.Response(200, json=ok_body())

    [r] = run(http_profile(), cases("q"), handler)
    assert r.ok and r.attempts == 3


def test_retry_after_is_honoured() -> None:
    times: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        times.append(time.monotonic())
        if len(times) == 1:
            return httpx.Response(429, headers={"Retry-After": "0.4"})
        return httpx.Response(200, json=ok_body())

    [r] = run(http_profile(), cases("q"), handler)
    assert r.ok and r.attempts == 2
    assert times[1] - times[0] >= 0.4


def test_retry_after_longer_than_allowed_gives_up() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": "3600"})

    t0 = time.monotonic()
    [r] = run(http_profile(), cases("q"), handler, options=ExecOptions(max_retry_after_s=5, **FAST))
    assert time.monotonic() - t0 < 2
    assert r.error_kind == "http_status" and r.status_code == 429 and r.attempts == 1
    assert "3600" in (r.error or "")


def test_backoff_is_exponential_with_jitter() -> None:
    import random

    opts = ExecOptions(backoff_base_s=1.0, backoff_max_s=8.0)
    rng = random.Random(1)
    for retry, cap in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (6, 8.0)]:
        delays = [opts.backoff(retry, rng) for _ in range(200)]
        assert all(cap / 2 <= d <= cap for d in delays)
        assert max(delays) - min(delays) > cap / 4  # jittered, not constant


def test_parse_retry_after_forms() -> None:
    from email.utils import formatdate

    from ragwacht.runners.base import parse_retry_after

    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    now = time.time()
    assert parse_retry_after(formatdate(now + 30, usegmt=True), now=now) == pytest.approx(30, abs=1)


# -- timeouts and concurrency -----------------------------------------------------------------


def test_attempt_timeout_retries_then_records() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(200, json=ok_body())

    t0 = time.monotonic()
    [r] = run(
        http_profile(),
        cases("q"),
        handler,
        options=ExecOptions(attempt_timeout_s=0.1, max_retries=2, **FAST),
    )
    assert r.error_kind == "timeout" and r.attempts == 3
    assert time.monotonic() - t0 < 2
    [r] = run(
        http_profile(),
        cases("q"),
        handler,
        options=ExecOptions(attempt_timeout_s=0.1, retry_on_timeout=False, **FAST),
    )
    assert r.error_kind == "timeout" and r.attempts == 1


def test_overall_timeout_ends_every_case_and_drops_none() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.3)
        return httpx.Response(200, json=ok_body())

    cs = cases(*[f"q{i}" for i in range(20)])
    t0 = time.monotonic()
    rs = run(
        http_profile(),
        cs,
        handler,
        options=ExecOptions(concurrency=2, overall_timeout_s=0.75, **FAST),
    )
    wall = time.monotonic() - t0
    assert wall < 1.5
    assert [r.case_id for r in rs] == [c.id for c in cs]
    answered = [r for r in rs if r.ok]
    timed_out = [r for r in rs if r.error_kind == "overall_timeout"]
    assert len(answered) + len(timed_out) == 20
    assert 2 <= len(answered) <= 6
    assert all(r.attempts == 0 for r in timed_out if r.started_at is None)


def test_concurrency_is_bounded_and_shared_per_endpoint() -> None:
    state = {"now": 0, "max": 0}

    async def handler(request: httpx.Request) -> httpx.Response:
        state["now"] += 1
        state["max"] = max(state["max"], state["now"])
        await asyncio.sleep(0.02)
        state["now"] -= 1
        return httpx.Response(200, json=ok_body())

    prof = http_profile()
    opts = ExecOptions(concurrency=3, **FAST)
    transport = httpx.MockTransport(handler)

    async def both() -> list[list[Response]]:
        cs = cases(*[f"q{i}" for i in range(15)])
        return await asyncio.gather(
            run_cases(
                prof,
                cs,
                variant=Variant(name="a"),
                options=opts,
                transport=transport,
                progress=False,
            ),
            run_cases(
                prof,
                cs,
                variant=Variant(name="b", fields={"x": 1}),
                options=opts,
                transport=transport,
                progress=False,
            ),
        )

    a, b = asyncio.run(both())
    assert all(r.ok for r in a + b)
    # Two variants of one endpoint share its semaphore: never more than 3 in flight in total.
    assert state["max"] == 3


def test_rate_limit_spaces_attempts() -> None:
    times: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        times.append(time.monotonic())
        return httpx.Response(200, json=ok_body())

    rs = run(
        http_profile(),
        cases(*[f"q{i}" for i in range(6)]),
        handler,
        options=ExecOptions(concurrency=6, rate_limit=20, **FAST),
    )
    assert all(r.ok for r in rs)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 0.04  # 20/s = 50 ms apart, minus scheduling slack
    assert times[-1] - times[0] >= 0.24


def test_repeats_and_on_response() -> None:
    got: list[tuple[str, int]] = []
    rs = run(
        http_profile(),
        cases("a", "b"),
        lambda req: httpx.Response(200, json=ok_body()),
        repeats=3,
        on_response=lambda r: got.append((r.case_id, r.repeat)),
    )
    assert [(r.case_id, r.repeat) for r in rs] == [
        ("c0", 0),
        ("c0", 1),
        ("c0", 2),
        ("c1", 0),
        ("c1", 1),
        ("c1", 2),
    ]
    assert sorted(got) == sorted((r.case_id, r.repeat) for r in rs)


def test_runner_bug_is_recorded_as_internal_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise RuntimeError("boom")

    [r] = run(http_profile(), cases("q"), handler)
    assert r.error_kind == "internal" and "boom" in (r.error or "")


# -- cache and store --------------------------------------------------------------------------


def test_cache_avoids_calls_refresh_bypasses_failures_not_cached(tmp_path: Path) -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        q = json.loads(request.content)["question"]
        calls.append(q)
        if q == "bad":
            return httpx.Response(400)
        return httpx.Response(200, json=ok_body(q))

    cache = ResponseCache(tmp_path / "cache")
    cs = cases("a", "b", "bad")
    first = run(http_profile(), cs, handler, cache=cache)
    assert sorted(calls) == ["a", "b", "bad"] and len(cache) == 2
    calls.clear()
    second = run(http_profile(), cs, handler, cache=cache)
    assert calls == ["bad"]  # failed responses are not cached
    assert [r.cached for r in second] == [True, True, False]
    assert [r.answer for r in second[:2]] == [r.answer for r in first[:2]]
    calls.clear()
    run(http_profile(), cs, handler, cache=cache, refresh=True)
    assert sorted(calls) == ["a", "b", "bad"]
    calls.clear()
    # A different variant (or profile, or case content) is a different key.
    run(http_profile(), cs, handler, cache=cache, variant=Variant(name="x", fields={"k": 1}))
    assert sorted(calls) == ["a", "b", "bad"]
    calls.clear()
    run(http_profile(), [GoldenCase(id="c0", question="a", tags=["new"])], handler, cache=cache)
    assert calls == ["a"]


def test_store_and_resume_call_only_missing_or_failed(tmp_path: Path) -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        q = json.loads(request.content)["question"]
        calls.append(q)
        return httpx.Response(200, json=ok_body(q))

    store = ResponseStore(tmp_path / "run", fresh=True)
    store.append(Response(case_id="c0", answer="kept", attempts=1))
    store.append(Response(case_id="c1", error="x", error_kind="connect", attempts=4))
    store.close()
    # A run killed mid-write leaves a partial line; it is skipped and appended after safely.
    with store.path.open("a") as fh:
        fh.write('{"case_id": "c2", "answ')
    rs = run(
        http_profile(), cases("a", "b", "c"), handler, store=ResponseStore(store.path), resume=True
    )
    assert sorted(calls) == ["b", "c"]
    assert [r.answer for r in rs] == ["kept", "A: b", "A: c"]
    loaded = ResponseStore(store.path).load()
    assert {k[0] for k, r in loaded.items() if r.ok} == {"c0", "c1", "c2"}


def test_resume_without_store_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        run(http_profile(), cases("a"), lambda req: httpx.Response(200), resume=True)


def test_sync_wrapper_works_inside_a_running_loop() -> None:
    async def inside() -> list[Response]:
        return run(http_profile(), cases("a"), lambda req: httpx.Response(200, json=ok_body()))

    [r] = asyncio.run(inside())
    assert r.ok


def test_progress_bar_on_a_terminal_and_silent_otherwise() -> None:
    import io

    from rich.console import Console

    handler = lambda req: httpx.Response(200, json=ok_body())  # noqa: E731
    tty = io.StringIO()
    run(
        http_profile(),
        cases("a", "b", "c"),
        handler,
        progress=True,
        console=Console(file=tty, force_terminal=True, width=120),
    )
    out = tty.getvalue()
    assert "3/3" in out and "/s" in out and "0 errors" in out
    plain = io.StringIO()
    run(http_profile(), cases("a"), handler, progress=True, console=Console(file=plain))
    assert plain.getvalue() == ""


def test_resume_asks_again_when_the_question_changed(tmp_path: Path) -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        q = json.loads(request.content)["question"]
        calls.append(q)
        return httpx.Response(200, json=ok_body(q))

    store_dir = tmp_path / "run"
    first = run(
        http_profile(), cases("a", "b"), handler, store=ResponseStore(store_dir, fresh=True)
    )
    assert all(r.request_key for r in first)
    calls.clear()
    # c1's question was edited after the first run: its stored answer no longer applies.
    rs = run(
        http_profile(), cases("a", "b edited"), handler, store=ResponseStore(store_dir), resume=True
    )
    assert calls == ["b edited"]
    assert [r.answer for r in rs] == ["A: a", "A: b edited"]


@given(
    profile=st.dictionaries(st.text(max_size=5), st.one_of(st.text(), st.integers(), st.none())),
    variant=st.dictionaries(st.text(max_size=5), st.text()),
    case=st.dictionaries(
        st.text(max_size=5), st.one_of(st.text(), st.lists(st.text(), max_size=3))
    ),
    repeat=st.integers(min_value=0, max_value=50),
)
def test_request_key_is_sha256_of_the_canonical_request(profile, variant, case, repeat) -> None:
    # The digest stored caches and response files were written with: any change would make
    # --resume and the response cache silently miss.
    from ragwacht.runners.store import CACHE_FORMAT, RequestKeys, cache_key

    blob = json.dumps(
        {
            "format": CACHE_FORMAT,
            "profile": profile,
            "variant": variant,
            "case": case,
            "repeat": repeat,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    expected = hashlib.sha256(blob.encode("utf-8")).hexdigest()
    assert RequestKeys(profile, variant).key(case, repeat) == expected
    assert cache_key(profile, variant, case, repeat) == expected


# -- decoding after the next request is sent ----------------------------------------------------


class _BurstRunner:
    """Answers in bursts: every request waits until ``size`` are in flight, then all return."""

    name = "burst"

    def __init__(self, size: int, fail: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.size = size
        self.fail = fail
        self.log: list[str] = []
        self.waiting: list[asyncio.Future[None]] = []

    async def __aenter__(self) -> _BurstRunner:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def fetch(self, request: Any) -> Any:
        from ragwacht.runners.base import AttemptError, CallResult, Deferred

        cid = request.case.id
        self.log.append(f"send {cid}")
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiting.append(fut)
        if len(self.waiting) == self.size:
            for f in self.waiting:
                f.set_result(None)
            self.waiting = []
        await fut

        def finish() -> CallResult:
            self.log.append(f"decode {cid}")
            if cid in self.fail:
                raise AttemptError("malformed", "response is not JSON: 'oops'", status_code=200)
            return CallResult(answer=f"answer {cid}")

        return Deferred(finish)

    async def call(self, request: Any) -> Any:  # pragma: no cover - the executor uses fetch
        return (await self.fetch(request)).finish()


def test_responses_are_decoded_after_the_next_requests_went_out(tmp_path: Path) -> None:
    runner = _BurstRunner(size=4, fail={"c5"})
    store = ResponseStore(tmp_path)
    out = run_cases_sync(
        http_profile(),
        [GoldenCase(id=f"c{i}", question=f"q{i}") for i in range(8)],
        runner=runner,  # type: ignore[arg-type]
        options=ExecOptions(concurrency=4, **FAST),
        store=store,
        progress=False,
    )
    # The first burst of four answers is decoded only once all four workers sent their next
    # request: no response waits for the decoding of the others in its burst.
    first_decode = next(i for i, e in enumerate(runner.log) if e.startswith("decode"))
    assert sorted(runner.log[:first_decode]) == [f"send c{i}" for i in range(8)]
    assert [r.case_id for r in out] == [f"c{i}" for i in range(8)]
    # A body that does not decode is a recorded, non-retried error with its attempt count.
    bad = out[5]
    assert (bad.ok, bad.error_kind, bad.attempts, bad.status_code) == (False, "malformed", 1, 200)
    assert [r.answer for r in out if r.ok] == [f"answer c{i}" for i in range(8) if i != 5]
    assert all(r.latency_ms is not None for r in out if r.ok)
    # Every response is kept, decoded ones with their request key.
    kept = store.load()
    assert len(kept) == 8 and all(r.request_key for r in kept.values())
