"""The Runner protocol: one endpoint call per attempt; retries and timeouts live in execute.

A runner turns one (case, variant) into one :class:`CallResult` or raises :class:`AttemptError`
saying what went wrong and whether trying again could help. Runners hold their connections
open between ``__aenter__`` and ``__aexit__`` (an HTTP client pool, an MCP session).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import httpx

from ragwacht._env import scrub
from ragwacht._registry import Registry
from ragwacht._retry import retry_after_seconds
from ragwacht.datasets.models import GoldenCase
from ragwacht.records import RetrievedContext, Usage
from ragwacht.runners.mapping import MappingError, apply_mapping, describe_keys

# error_kind values a Response can carry.
ERROR_KINDS = (
    "timeout",  # an attempt took longer than attempt_timeout_s
    "overall_timeout",  # the run's overall deadline passed before the case finished
    "connect",  # could not connect (refused, DNS, TLS)
    "network",  # the connection broke mid-request (reset, closed early)
    "http_status",  # a non-2xx status
    "malformed",  # the body is not the JSON (or SSE) it should be
    "mapping",  # the JSON lacks what the profile's response mapping points at
    "template",  # the request template failed for this case
    "tool_error",  # an MCP tool reported an error
    "callable",  # a python endpoint raised
    "skipped",  # a conversation turn not asked because an earlier turn got no answer
    "worker_lost",  # a distributed worker (Ray) died during the call; asked again
    "internal",  # anything else (a bug: reported, never hidden)
)


class AttemptError(Exception):
    """One attempt failed.

    Args:
        kind: one of :data:`ERROR_KINDS`.
        message: what happened, without secrets.
        retryable: whether another attempt could succeed (connect errors, 429, 5xx, timeouts).
        retry_after: seconds the server asked to wait (``Retry-After``), if it said.
        status_code: the HTTP status, if there was one.

    """

    def __init__(
        self,
        kind: str,
        message: str,
        *,
        retryable: bool = False,
        retry_after: float | None = None,
        status_code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.retryable = retryable
        self.retry_after = retry_after
        self.status_code = status_code


@dataclass(frozen=True)
class CallRequest:
    """What one attempt is about: the case, the variant name and the repeat index."""

    case: GoldenCase
    variant: str = "default"
    repeat: int = 0
    # ``case.model_dump(mode="json")``, made once per case (templates only read it).
    case_data: dict[str, Any] | None = field(default=None, compare=False, repr=False)


@dataclass
class CallResult:
    """What a successful attempt produced (the executor adds timing, attempts and ids)."""

    answer: str
    contexts: list[RetrievedContext] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    cost: float | None = None
    cited_ids: list[str] | None = None
    refused: bool | None = None
    status_code: int | None = None


@dataclass(frozen=True)
class Deferred:
    """A response that has arrived but is not decoded yet.

    Decoding and mapping are CPU work. A runner's optional ``fetch`` returns this so that the
    executor can do that work after the worker has sent its next request: at high concurrency
    every response otherwise waits behind the decoding of the ones that arrived with it.
    ``finish`` raises :class:`AttemptError` for a malformed or unmappable body, never a
    retryable one (the same bytes decode the same way).
    """

    finish: Callable[[], CallResult]


@runtime_checkable
class Runner(Protocol):
    """Calls one endpoint. Use as ``async with runner: await runner.call(request)``."""

    name: str

    async def __aenter__(self) -> Runner: ...

    async def __aexit__(self, *exc: object) -> None: ...

    async def call(self, request: CallRequest) -> CallResult:
        """Make one attempt; raise AttemptError on failure."""
        ...


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date).

    Not capped: the executor compares the wait with ``max_retry_after_s`` and gives up when
    the server asks for longer.
    """
    return retry_after_seconds(value, cap_s=math.inf, now=now)


def status_error(
    status: int, headers: httpx.Headers | dict[str, str], body: str, secrets: list[str]
) -> AttemptError:
    """The AttemptError for a non-2xx HTTP status: 429 and 5xx are retryable, other 4xx not."""
    # Scrubbed before it is cut, or a secret's prefix would survive the cut.
    snippet = scrub(body, secrets)[:300].strip().replace("\n", " ")
    retry_after = parse_retry_after(httpx.Headers(headers).get("retry-after"))
    return AttemptError(
        "http_status",
        f"HTTP {status}" + (f": {snippet}" if snippet else ""),
        retryable=status == 429 or status >= 500,
        retry_after=retry_after,
        status_code=status,
    )


def transport_error(exc: Exception, secrets: list[str]) -> AttemptError:
    """The AttemptError for an httpx transport failure."""
    detail = str(exc).strip()
    name = type(exc).__name__
    what = f"{name}: {detail}" if detail else name
    if isinstance(exc, httpx.TimeoutException):
        return AttemptError("timeout", scrub(f"timed out ({what})", secrets), retryable=True)
    if isinstance(exc, httpx.ConnectError):
        return AttemptError("connect", scrub(f"cannot connect ({what})", secrets), retryable=True)
    if isinstance(exc, httpx.TransportError):
        text = scrub(f"connection broke before a complete response ({what})", secrets)
        return AttemptError("network", text, retryable=True)
    text = scrub(what, secrets)
    return AttemptError("internal", text)


# Runner classes by profile ``type``; each takes ``(profile, options, *, transport=None)``.
RUNNERS: Registry[Callable[..., Runner]] = Registry(
    "profile type",
    {
        "http": "ragwacht.runners.http:HttpRunner",
        "openai-chat": "ragwacht.runners.openai_chat:OpenAIChatRunner",
        "python": "ragwacht.runners.python_callable:PythonRunner",
        "mcp": "ragwacht.runners.mcp_tool:McpRunner",
    },
    field="type",
)


def build_runner(profile: Any, options: Any, *, transport: Any = None) -> Runner:
    """The runner for a profile (an already variant-applied profile).

    Args:
        profile: an endpoint profile.
        options: the run's :class:`~ragwacht.runners.execute.ExecOptions`.
        transport: an ``httpx.AsyncBaseTransport`` to use instead of the network (tests).

    Raises:
        ConfigError: a referenced environment variable is unset, a module does not import, ...

    """
    return RUNNERS.get(profile.type)(profile, options, transport=transport)


def finish_mapping(mapping: Any, doc: Any, *, status_code: int | None = None) -> CallResult:
    """Map a response document into a CallResult.

    Raises:
        AttemptError: kind ``mapping`` when a value has the wrong type or the answer path (when
            the profile declares one) matches nothing.

    """
    try:
        mapped = apply_mapping(mapping, doc)
    except MappingError as exc:
        raise AttemptError("mapping", str(exc), status_code=status_code) from exc
    return result_from_mapped(mapping, mapped, doc, status_code=status_code, describe=describe_keys)


def result_from_mapped(
    mapping: Any, mapped: Any, doc: Any, *, status_code: int | None, describe: Any
) -> CallResult:
    """A CallResult from mapped parts; an expected answer that is missing is a mapping error."""
    if mapping.answer is not None and mapped.answer is None:
        raise AttemptError(
            "mapping",
            f"answer path {mapping.answer!r} matched nothing in the response ({describe(doc)})",
            status_code=status_code,
        )
    return CallResult(
        answer=mapped.answer or "",
        contexts=mapped.contexts or [],
        usage=mapped.usage or Usage(),
        cost=mapped.cost,
        cited_ids=mapped.cited_ids,
        refused=mapped.refused,
        status_code=status_code,
    )
