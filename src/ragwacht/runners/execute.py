"""Calling an endpoint for every golden case: concurrency, rate limit, retries, timeouts.

One event loop; per endpoint a named semaphore (so variants of the same endpoint share its
capacity) and optionally a rate limiter; a fixed pool of workers (memory stays flat however
many cases there are). Every (case, repeat) ends with an answer or with ``error``,
``error_kind`` and ``attempts``; nothing is dropped, and the overall timeout bounds the run.

Retries: connect/network errors, timeouts, 429 and 5xx, with exponential back-off and jitter;
``Retry-After`` is honoured. Other 4xx, malformed or unmappable responses are not retried: the
same request would fail the same way.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import math
import random
import time
import weakref
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import Field
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from ragwacht._env import scrub
from ragwacht._retry import backoff_delay
from ragwacht.datasets.conversations import expand_conversations, with_played_history
from ragwacht.datasets.models import GoldenCase
from ragwacht.errors import ConfigError
from ragwacht.records import Response, RetrievedContext, StrictModel
from ragwacht.runners.base import (
    AttemptError,
    CallRequest,
    CallResult,
    Deferred,
    Runner,
    build_runner,
)
from ragwacht.runners.profile import AnyProfile, Variant, apply_variant
from ragwacht.runners.store import (
    Key,
    RequestKeys,
    ResponseCache,
    ResponseStore,
    resolved_endpoint,
)

__all__ = [
    "ExecOptions",
    "RateLimiter",
    "ResponseCache",
    "ResponseStore",
    "endpoint_rate_limiter",
    "endpoint_semaphore",
    "response_stats",
    "run_cases",
    "run_cases_sync",
]


class ExecOptions(StrictModel):
    """How politely and how persistently to call an endpoint."""

    concurrency: int = Field(default=8, ge=1, le=1024, description="requests in flight")
    rate_limit: float | None = Field(default=None, gt=0, description="attempts per second")
    attempt_timeout_s: float = Field(default=30.0, gt=0, description="per attempt")
    overall_timeout_s: float | None = Field(default=None, gt=0, description="whole run")
    max_retries: int = Field(default=3, ge=0, le=20, description="retries after the first try")
    backoff_base_s: float = Field(default=0.5, ge=0)
    backoff_max_s: float = Field(default=20.0, ge=0)
    max_retry_after_s: float = Field(
        default=60.0, ge=0, description="give up when the server asks to wait longer"
    )
    retry_on_timeout: bool = True
    semaphore: str | None = Field(
        default=None, description="concurrency pool name (default: the endpoint's origin)"
    )

    def backoff(self, retry: int, rng: random.Random | None = None) -> float:
        """Delay before retry number ``retry`` (1-based): exponential with equal jitter."""
        return backoff_delay(retry, base_s=self.backoff_base_s, cap_s=self.backoff_max_s, rng=rng)


# Named semaphores and rate limiters, one set per event loop (asyncio primitives are bound to
# the loop they are first used in).
_SEMAPHORES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Semaphore]]
_SEMAPHORES = weakref.WeakKeyDictionary()
_LIMITERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, RateLimiter]]
_LIMITERS = weakref.WeakKeyDictionary()


def endpoint_semaphore(name: str, limit: int) -> asyncio.Semaphore:
    """The concurrency semaphore named ``name`` in this event loop (created with ``limit``)."""
    pool = _SEMAPHORES.setdefault(asyncio.get_running_loop(), {})
    if name not in pool:
        pool[name] = asyncio.Semaphore(limit)
    return pool[name]


class RateLimiter:
    """Spaces attempts at least ``1/rate`` seconds apart (no bursts)."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self._next = 0.0

    async def acquire(self) -> None:
        """Wait for the next free slot."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        slot = max(now, self._next)
        self._next = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)


def endpoint_rate_limiter(name: str, rate: float) -> RateLimiter:
    """The rate limiter named ``name`` in this event loop (created with ``rate``)."""
    pool = _LIMITERS.setdefault(asyncio.get_running_loop(), {})
    if name not in pool:
        pool[name] = RateLimiter(rate)
    return pool[name]


class _RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        elapsed = task.elapsed or 0.0
        rate = task.completed / elapsed if elapsed > 0 else 0.0
        return Text(f"{rate:.1f}/s", style="progress.data.speed")


def _make_progress(enabled: bool, console: Console | None) -> Progress | None:
    if not enabled:
        return None
    console = console or Console(stderr=True)
    if not console.is_terminal:
        return None
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        _RateColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[errors]} errors"),
        console=console,
    )


@dataclass(slots=True)
class _Received:
    """A successful attempt whose body may still need decoding (see :class:`Deferred`)."""

    request: CallRequest
    result: CallResult | Deferred
    latency_ms: float
    attempts: int
    started: datetime | None


@dataclass(slots=True)
class _Fresh:
    """What a new call produced, before it is decoded, keyed and kept."""

    outcome: Response | _Received
    request_key: str


class _Run:
    """State of one run_cases call."""

    def __init__(
        self,
        profile: AnyProfile,
        variant: Variant,
        options: ExecOptions,
        runner: Runner,
        store: ResponseStore | None,
        cache: ResponseCache | None,
        refresh: bool,
        done: dict[Key, Response],
        cache_identity: dict[str, Any] | None = None,
    ) -> None:
        self.profile = profile
        self.variant = variant
        self.options = options
        self.runner = runner
        self.store = store
        self.cache = cache
        self.refresh = refresh
        self.done = done
        self.public = cache_identity if cache_identity is not None else profile.public_dict()
        self.variant_dump = variant.model_dump(mode="json")
        self.keys = RequestKeys(self.public, self.variant_dump)
        self.loop = asyncio.get_running_loop()
        self.deadline = (
            self.loop.time() + options.overall_timeout_s if options.overall_timeout_s else None
        )
        key = options.semaphore or runner.name
        self.semaphore = endpoint_semaphore(key, options.concurrency)
        self.limiter = (
            endpoint_rate_limiter(key, options.rate_limit) if options.rate_limit else None
        )
        self.price = getattr(profile, "price", None)
        self.errors = 0
        self.fetch = getattr(runner, "fetch", None) or runner.call
        # Credential values the runner holds: an endpoint that echoes one back must not get
        # it into answers, sources, error texts or anything else the run writes.
        self.secrets = [s for s in getattr(runner, "secrets", None) or () if s]

    async def one(self, case: GoldenCase, repeat: int) -> Response | _Fresh:
        """A final Response (resumed, cached) or a fresh outcome for :meth:`settle`."""
        key = (case.id, self.variant.name, repeat)
        case_data = case.model_dump(mode="json")
        ckey = self.keys.key(case_data, repeat)
        stored = self.done.get(key)
        # Resume only reuses an answer given to this very request: an edited question, another
        # variant setting or another profile is asked again.
        if stored is not None and stored.request_key in (None, ckey):
            return stored
        if (
            self.cache is not None
            and not self.refresh
            and (hit := self.cache.get(ckey)) is not None
        ):
            update: dict[str, Any] = {
                "cached": True,
                "case_id": case.id,
                "variant": self.variant.name,
                "repeat": repeat,
                "request_key": ckey,
            }
            if self.secrets and hit.answer is not None:
                # An entry written before secrets were scrubbed must not bring one back.
                answer, contexts, cited = self._scrubbed(hit.answer, hit.contexts, hit.cited_ids)
                update.update(answer=answer, contexts=contexts, cited_ids=cited)
            response = hit.model_copy(update=update)
            self._keep(response, None)
            return response
        try:
            outcome: Response | _Received = await self.call(case, repeat, case_data)
        except Exception as exc:  # a bug in a runner must not lose the case
            outcome = self._error(
                case, repeat, AttemptError("internal", f"{type(exc).__name__}: {exc}"), 0, None
            )
        return _Fresh(outcome, ckey)

    def settle(self, item: Response | _Fresh) -> Response:
        """The final Response for what :meth:`one` returned: decoded, keyed and kept."""
        if isinstance(item, Response):
            return item
        outcome = item.outcome
        response = self._decode(outcome) if isinstance(outcome, _Received) else outcome
        response.request_key = item.request_key
        self._keep(response, item.request_key if self.cache is not None else None)
        return response

    def _decode(self, got: _Received) -> Response:
        result = got.result
        if isinstance(result, Deferred):
            try:
                result = result.finish()
            except Exception as exc:  # a runner bug must not lose the case either
                failure = (
                    exc
                    if isinstance(exc, AttemptError)
                    else AttemptError("internal", f"{type(exc).__name__}: {exc}")
                )
                case, repeat = got.request.case, got.request.repeat
                return self._error(case, repeat, failure, got.attempts, got.started)
        return self._success(got.request, result, got.latency_ms, got.attempts, got.started)

    def _keep(self, response: Response, ckey: str | None) -> None:
        if self.store is not None:
            self.store.append(response)
        if ckey is not None and self.cache is not None and not response.cached:
            self.cache.put(ckey, response)

    async def call(
        self, case: GoldenCase, repeat: int, case_data: dict[str, Any] | None = None
    ) -> Response | _Received:
        request = CallRequest(
            case=case, variant=self.variant.name, repeat=repeat, case_data=case_data
        )
        state: dict[str, Any] = {"attempts": 0, "last": None, "started": None}
        try:
            async with asyncio.timeout_at(self.deadline):
                return await self._attempts(request, state)
        except TimeoutError:
            last: AttemptError | None = state["last"]
            note = f"; last attempt: {last.kind}: {last.message}" if last else ""
            err = AttemptError(
                "overall_timeout",
                f"the run's overall timeout ({self.options.overall_timeout_s:g} s) passed before "
                f"this case finished{note}",
                status_code=last.status_code if last else None,
            )
            return self._error(case, repeat, err, state["attempts"], state["started"])

    async def _attempts(self, request: CallRequest, state: dict[str, Any]) -> Response | _Received:
        opts = self.options
        case, repeat = request.case, request.repeat
        while True:
            async with self.semaphore:
                if self.limiter is not None:
                    await self.limiter.acquire()
                if self.deadline is not None and self.loop.time() >= self.deadline:
                    # Past the deadline: no new attempt (the enclosing timeout has not yet had
                    # a chance to fire when nothing above had to wait).
                    raise TimeoutError
                state["attempts"] += 1
                if state["started"] is None:
                    state["started"] = datetime.now(UTC)
                t0 = time.perf_counter()
                try:
                    async with asyncio.timeout(opts.attempt_timeout_s):
                        result = await self.fetch(request)
                except TimeoutError:
                    err = AttemptError(
                        "timeout",
                        f"no complete response within {opts.attempt_timeout_s:g} s",
                        retryable=True,
                    )
                except AttemptError as exc:
                    err = exc
                else:
                    latency = (time.perf_counter() - t0) * 1000.0
                    return _Received(request, result, latency, state["attempts"], state["started"])
            state["last"] = err
            if err.kind == "timeout" and not opts.retry_on_timeout:
                err.retryable = False
            if not err.retryable or state["attempts"] > opts.max_retries:
                return self._error(case, repeat, err, state["attempts"], state["started"])
            if err.retry_after is not None:
                if err.retry_after > opts.max_retry_after_s:
                    err.message += (
                        f" (server asked to retry after {err.retry_after:g} s, more than "
                        f"max_retry_after_s={opts.max_retry_after_s:g})"
                    )
                    return self._error(case, repeat, err, state["attempts"], state["started"])
                # A little jitter so that clients told the same time do not return together.
                delay = err.retry_after + random.uniform(0, 0.1 * max(opts.backoff_base_s, 0.01))
            else:
                delay = opts.backoff(state["attempts"])
            if self.deadline is not None and self.loop.time() + delay >= self.deadline:
                err.message += " (no time left for another attempt before the overall timeout)"
                return self._error(case, repeat, err, state["attempts"], state["started"])
            await asyncio.sleep(delay)

    def _success(
        self,
        request: CallRequest,
        r: CallResult,
        latency_ms: float,
        attempts: int,
        started: datetime | None,
    ) -> Response:
        cost = r.cost
        if cost is None and self.price is not None:
            cost = self.price.cost(r.usage.prompt_tokens, r.usage.completion_tokens)
        if cost is not None and not math.isfinite(cost):  # a python endpoint's NaN, say
            err = AttemptError("mapping", f"cost is {cost!r}, expected a finite number")
            return self._error(request.case, request.repeat, err, attempts, started)
        answer, contexts, cited = r.answer, r.contexts, r.cited_ids
        if self.secrets:
            answer, contexts, cited = self._scrubbed(answer, contexts, cited)
        return Response(
            case_id=request.case.id,
            variant=self.variant.name,
            repeat=request.repeat,
            answer=answer,
            contexts=contexts,
            cited_ids=cited,
            refused=r.refused,
            latency_ms=latency_ms,
            usage=r.usage,
            cost=cost,
            attempts=attempts,
            status_code=r.status_code,
            started_at=started,
        )

    def _scrubbed(
        self, answer: str, contexts: list[RetrievedContext], cited: list[str] | None
    ) -> tuple[str, list[RetrievedContext], list[str] | None]:
        secrets = self.secrets

        def clean(text: str | None) -> str | None:
            return None if text is None else scrub(text, secrets)

        contexts = [
            c.model_copy(
                update={
                    "text": scrub(c.text, secrets),
                    "doc_id": clean(c.doc_id),
                    "title": clean(c.title),
                }
            )
            for c in contexts
        ]
        return (
            scrub(answer, secrets),
            contexts,
            None if cited is None else [scrub(i, secrets) for i in cited],
        )

    def skipped(self, case: GoldenCase, repeat: int) -> Response:
        """The response of a turn not asked because an earlier turn got no answer."""
        err = AttemptError(
            "skipped", "not asked: an earlier turn of this conversation got no answer"
        )
        response = self._error(case, repeat, err, 0, None)
        self._keep(response, None)
        return response

    def _error(
        self,
        case: GoldenCase,
        repeat: int,
        err: AttemptError,
        attempts: int,
        started: datetime | None,
    ) -> Response:
        self.errors += 1
        return Response(
            case_id=case.id,
            variant=self.variant.name,
            repeat=repeat,
            error=scrub(err.message, self.secrets) if self.secrets else err.message,
            error_kind=err.kind,
            attempts=attempts,
            status_code=err.status_code,
            started_at=started,
        )


def _next_turn(prev: GoldenCase, case: GoldenCase) -> bool:
    """Whether ``case`` is the turn right after ``prev`` in the same conversation."""
    a, b = prev.conversation, case.conversation
    return (
        a is not None
        and b is not None
        and (a.conversation_id == b.conversation_id and b.turn == a.turn + 1)
    )


async def run_cases(
    profile: AnyProfile,
    cases: Sequence[GoldenCase],
    *,
    variant: Variant | None = None,
    options: ExecOptions | None = None,
    store: ResponseStore | None = None,
    cache: ResponseCache | None = None,
    resume: bool = False,
    refresh: bool = False,
    repeats: int = 1,
    progress: bool = True,
    on_response: Callable[[Response], Any] | None = None,
    runner: Runner | None = None,
    transport: Any = None,
    console: Console | None = None,
    cache_identity: dict[str, Any] | None = None,
    keep: bool = True,
) -> list[Response]:
    """Call the endpoint for every case (``repeats`` times each) and return every Response.

    Args:
        profile: the endpoint profile (the variant is applied here).
        cases: the golden cases.
        variant: the variant to run (default: no changes, named ``default``).
        options: concurrency, rate limit, timeouts, retries.
        store: append-only JSONL that keeps each finished response (needed for ``resume``).
        cache: on-disk cache of successful responses, shared across runs.
        resume: reuse the successful responses already in ``store``; call only the rest.
        refresh: ignore cache hits (responses are still written to the cache).
        repeats: ask each case this many times (repeat index 0..repeats-1).
        progress: show a progress bar (only when stderr is a terminal).
        on_response: called with each response as it is final (sync or async).
        runner: a ready runner to use instead of building one from the profile.
        transport: an ``httpx`` transport for http/openai-chat runners (tests).
        console: where the progress bar goes (default: stderr).
        cache_identity: what identifies the endpoint in cache keys instead of the profile's
            public form (for a local server that gets a new port on every start).
        keep: hold every response for the return value; with False nothing is held (memory
            stays flat) and ``on_response`` is where the responses go.

    Returns:
        One Response per (case, repeat), in case order then repeat order (empty when ``keep``
        is False).

    Raises:
        ConfigError: a bad option, ``resume`` without a store, or a profile that cannot be
            built (a missing environment variable, a module that does not import).

    """
    variant = variant or Variant()
    options = options or ExecOptions()
    # A conversation is asked turn by turn; expanding twice is harmless.
    cases = expand_conversations(cases)
    if repeats < 1:
        raise ConfigError("repeats must be at least 1", field="repeats")
    if resume and store is None:
        raise ConfigError("resume needs a response store", hint="pass store=ResponseStore(run_dir)")
    applied = apply_variant(profile, variant)
    if cache_identity is None:
        cache_identity = profile.public_dict()
        if resolved := resolved_endpoint(applied):
            # Where ${env:...} URLs point today is part of what was asked (never a secret).
            cache_identity = {**cache_identity, "resolved": resolved}
    done: dict[Key, Response] = {}
    if resume and store is not None:
        done = {k: r for k, r in store.load().items() if r.ok and k[1] == variant.name}
    runner = runner or build_runner(applied, options, transport=transport)

    total = len(cases) * repeats
    results: list[Response | None] = [None] * total if keep else []
    settled = 0
    bar = _make_progress(progress, console)
    task_id = None
    state = _Run(profile, variant, options, runner, store, cache, refresh, done, cache_identity)

    def items() -> Any:
        # A unit is what one worker asks in order: a case, or every turn of one conversation
        # (each turn needs the answer to the one before it).
        i = 0
        while i < len(cases):
            j = i + 1
            while j < len(cases) and _next_turn(cases[j - 1], cases[j]):
                j += 1
            group = list(enumerate(cases[i:j], i))
            for rep in range(repeats):
                yield [(k * repeats + rep, case) for k, case in group], rep
            i = j

    source = items()
    # Workers only call the endpoint; one finisher decodes, keeps and reports what arrived. A
    # worker so sends its next request before the responses that came in with its own are
    # decoded: with many requests in flight, decoding on the worker would hold up every
    # response of a burst behind the decoding of the ones before it.
    arrived: deque[tuple[int, Response | _Fresh]] = deque()
    wake = asyncio.Event()
    n_workers = max(1, min(options.concurrency, total))
    active = n_workers

    async def worker() -> None:
        nonlocal active
        try:
            for unit, rep in source:
                if len(unit) == 1 and unit[0][1].conversation is None:
                    idx, case = unit[0]
                    arrived.append((idx, await state.one(case, rep)))
                    wake.set()
                    continue
                played: list[tuple[str, str]] = []
                for idx, case in unit:
                    if len(played) < (case.conversation.turn - 1 if case.conversation else 0):
                        # An earlier turn got no answer: this turn cannot be asked as the
                        # conversation would have gone, so it is reported, never invented.
                        arrived.append((idx, state.skipped(case, rep)))
                        wake.set()
                        continue
                    turn_case = with_played_history(case, played)
                    # Settled here, not by the finisher: the next turn needs this answer.
                    response = state.settle(await state.one(turn_case, rep))
                    if response.ok and response.answer is not None:
                        played.append((case.question, response.answer))
                    arrived.append((idx, response))
                    wake.set()
        finally:
            active -= 1
            wake.set()

    def final(idx: int, item: Response | _Fresh) -> Response:
        nonlocal settled
        response = state.settle(item)
        settled += 1
        if keep:
            results[idx] = response
        return response

    async def finisher() -> None:
        try:
            while arrived or active:
                await wake.wait()
                wake.clear()
                while arrived:
                    idx, item = arrived.popleft()
                    response = final(idx, item)
                    if bar is not None and task_id is not None:
                        bar.update(task_id, advance=1, errors=state.errors)
                    if on_response is not None:
                        out = on_response(response)
                        if inspect.isawaitable(out):
                            await out
        finally:
            # Interrupted or failed: every response that arrived is still kept.
            while arrived:
                idx, item = arrived.popleft()
                final(idx, item)

    label = f"{profile.name} [{variant.name}]"
    try:
        if bar is not None:
            bar.start()
            task_id = bar.add_task(label, total=total, errors=0)
        async with runner, asyncio.TaskGroup() as tg:
            tg.create_task(finisher())
            for _ in range(n_workers):
                tg.create_task(worker())
    finally:
        if bar is not None:
            bar.stop()
    if settled != total:  # pragma: no cover - the workers drain the whole source
        raise RuntimeError(f"{total - settled} responses missing after the run")
    return [r for r in results if r is not None]


def run_cases_sync(*args: Any, **kwargs: Any) -> list[Response]:
    """:func:`run_cases` for synchronous callers (works inside a running event loop too)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(run_cases(*args, **kwargs))
    # Called from inside a loop (a notebook, an async test): run on a fresh loop in a thread.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, run_cases(*args, **kwargs)).result()


def response_stats(responses: Sequence[Response]) -> dict[str, Any]:
    """Counts for a log line or a record: answered, errors by kind, retries, cached."""
    kinds = Counter(r.error_kind or "unknown" for r in responses if not r.ok)
    return {
        "total": len(responses),
        "answered": sum(1 for r in responses if r.ok),
        "errors": sum(kinds.values()),
        "errors_by_kind": dict(kinds),
        "retries": sum(max(0, r.attempts - 1) for r in responses),
        "cached": sum(1 for r in responses if r.cached),
    }
