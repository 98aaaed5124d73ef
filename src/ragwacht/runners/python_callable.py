"""The ``python`` runner: a ``module:function`` in this process, sync (in a thread) or async."""

from __future__ import annotations

import asyncio
import importlib
import inspect
from collections.abc import Mapping
from typing import Any

from pydantic import Field, ValidationError

from ragwacht.errors import ConfigError
from ragwacht.records import Response, RetrievedContext, StrictModel, Usage
from ragwacht.runners.base import AttemptError, CallRequest, CallResult
from ragwacht.runners.profile import PythonProfile, template_variables


class CallableOutput(StrictModel):
    """What a python endpoint may return (as a dict): the answer and what came with it."""

    answer: str = ""
    contexts: list[RetrievedContext | str] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    cost: float | None = None
    cited_ids: list[str] | None = None
    refused: bool | None = None


def import_callable(spec: str, *, file: str | None = None) -> Any:
    """Import ``module:attr.path``; ConfigError naming the part that failed."""
    module_name, _, attr_path = spec.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(
            f"cannot import module '{module_name}': {exc}",
            file=file,
            field="callable",
            hint="the module must be importable (installed, or on PYTHONPATH)",
        ) from exc
    for part in attr_path.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError as exc:
            raise ConfigError(
                f"'{module_name}' has no attribute '{attr_path}'", file=file, field="callable"
            ) from exc
    if not callable(obj):
        raise ConfigError(f"'{spec}' is not callable", file=file, field="callable")
    return obj


class PythonRunner:
    """Calls a Python function as the endpoint."""

    def __init__(self, profile: PythonProfile, options: Any, *, transport: Any = None) -> None:
        # ``transport`` is unused (no HTTP client here): every runner is built alike.
        self.profile = profile
        self.name = profile.endpoint_key()
        self._fn = import_callable(profile.callable, file=profile.source_path)
        target = self._fn
        self._is_async = inspect.iscoroutinefunction(target) or inspect.iscoroutinefunction(
            getattr(target, "__call__", None)  # noqa: B004 - callable objects with async __call__
        )
        try:
            params: Mapping[str, inspect.Parameter] = inspect.signature(target).parameters
        except (TypeError, ValueError):
            params = {}
        self._takes_all = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
        self._accepts = set(params)

    async def __aenter__(self) -> PythonRunner:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    def _kwargs(self, request: CallRequest) -> dict[str, Any]:
        p = self.profile
        v = template_variables(
            request.case, fields=p.fields, settings=p.settings, variant=request.variant
        )
        offered = {
            "question": request.case.question,
            "history": v["history"],
            "case": request.case,
            "fields": p.fields,
            "settings": p.settings,
            "variant": request.variant,
            **p.kwargs,
        }
        if self._takes_all:
            return offered
        return {k: val for k, val in offered.items() if k in self._accepts}

    async def call(self, request: CallRequest) -> CallResult:
        """Call the function once for ``request``."""
        kwargs = self._kwargs(request)
        try:
            if self._is_async:
                out = await self._fn(**kwargs)
            else:
                # A sync function may block; a thread keeps the event loop (and timeouts) alive.
                out = await asyncio.to_thread(self._fn, **kwargs)
        except AttemptError:
            raise
        except Exception as exc:
            raise AttemptError("callable", f"{type(exc).__name__}: {exc}") from exc
        return _to_result(out)


def _to_result(out: Any) -> CallResult:
    if isinstance(out, str):
        return CallResult(answer=out)
    if isinstance(out, Response):
        if out.error:
            raise AttemptError(out.error_kind or "callable", out.error)
        out = out.model_dump(
            include={"answer", "contexts", "usage", "cost", "cited_ids", "refused"}
        )
        out["answer"] = out.get("answer") or ""
    if not isinstance(out, dict):
        raise AttemptError(
            "malformed", f"the function returned {type(out).__name__}; expected a dict or str"
        )
    try:
        parsed = CallableOutput.model_validate(out)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        raise AttemptError("malformed", f"returned value, field '{loc}': {err['msg']}") from exc
    contexts = [
        c if isinstance(c, RetrievedContext) else RetrievedContext(text=c, rank=i)
        for i, c in enumerate(parsed.contexts, 1)
    ]
    for i, c in enumerate(contexts, 1):
        if c.rank is None:
            c.rank = i
    return CallResult(
        answer=parsed.answer,
        contexts=contexts,
        usage=parsed.usage,
        cost=parsed.cost,
        cited_ids=parsed.cited_ids,
        refused=parsed.refused,
    )
