"""The ``mcp`` runner: call one tool on an MCP server and map its result into contexts.

One session is opened per run (starting a stdio server per case would cost seconds each) and
shared by all concurrent calls; MCP multiplexes requests over it. When the connection closes
under a call (the server crashed or was restarted), that attempt fails as a retryable network
error and the next attempt opens a new session, so one crash does not fail every later case.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from typing import Any

from ragwacht._env import scrub, secret_values
from ragwacht.errors import MissingDependencyError
from ragwacht.runners._wire import url_secrets
from ragwacht.runners.base import AttemptError, CallRequest, CallResult, finish_mapping
from ragwacht.runners.profile import McpProfile, resolve_url, template_variables
from ragwacht.runners.templating import TemplateRenderError, env_names, render_json, resolve_env

_SECRET_NAME = re.compile(r"key|token|secret|passw|auth|cred", re.I)
_CONNECTION_CLOSED = -32000  # mcp.types.CONNECTION_CLOSED: the transport ended


def result_document(result: Any) -> dict[str, Any]:
    """The JSON document a tool result is mapped from.

    ``content``: each content item (text that parses as JSON is parsed, other text kept as a
    string, other items as their dict form); ``structured``: the structured result;
    ``text``: all text content joined by newlines.
    """
    content: list[Any] = []
    texts: list[str] = []
    for item in getattr(result, "content", None) or []:
        text = getattr(item, "text", None)
        if text is None:
            resource = getattr(item, "resource", None)
            text = getattr(resource, "text", None)
        if isinstance(text, str):
            texts.append(text)
            try:
                content.append(json.loads(text))
            except (ValueError, RecursionError):  # nested too deeply is text as well
                content.append(text)
        else:
            content.append(item.model_dump(mode="json") if hasattr(item, "model_dump") else item)
    return {
        "content": content,
        "structured": getattr(result, "structured_content", None),
        "text": "\n".join(texts),
    }


class McpRunner:
    """Calls a tool on an MCP server (stdio command or streamable HTTP URL)."""

    def __init__(self, profile: McpProfile, options: Any, *, transport: Any = None) -> None:
        # ``transport`` is unused (no HTTP client here): every runner is built alike.
        try:
            import mcp  # lazy: optional (MCP SDK)
        except ImportError as exc:  # pragma: no cover - a core dependency
            raise MissingDependencyError("mcp", purpose="mcp endpoints") from exc
        if not hasattr(mcp, "Client"):
            raise MissingDependencyError("mcp>=2", purpose="mcp endpoints")
        self.profile = profile
        self.name = profile.endpoint_key()
        self._mcp = mcp
        self._timeout = float(options.attempt_timeout_s)
        self._env = {
            k: resolve_env(v, file=profile.source_path, field=f"env.{k}")
            for k, v in profile.env.items()
        }
        self._headers = {
            k: resolve_env(v, file=profile.source_path, field=f"headers.{k}")
            for k, v in profile.headers.items()
        }
        self._url = (
            resolve_url(profile.url, file=profile.source_path, field="url") if profile.url else None
        )
        refs = [*profile.env.values(), *profile.headers.values()]
        names = [n for v in refs for n in env_names(v)]
        self._secrets = secret_values(names)
        # Credentials the server could echo: header values and secret-looking env entries
        # (scrubbed from everything the run keeps; a data directory is no secret).
        credential_names = [n for v in profile.headers.values() for n in env_names(v)] + [
            n
            for k, v in profile.env.items()
            for n in env_names(v)
            if _SECRET_NAME.search(k) or _SECRET_NAME.search(n)
        ]
        self.secrets = secret_values(credential_names) + url_secrets(self._url or "")
        self._task: asyncio.Task[None] | None = None
        self._client: Any = None
        self._open_error: str | None = None
        self._generation = 0  # which session; a failed call names the one it failed on
        self._broken: int | None = None
        self._lock: asyncio.Lock | None = None

    def _server(self) -> Any:
        mcp = self._mcp
        if self._url is not None:
            if not self._headers:
                return self._url
            from mcp.client.streamable_http import (
                streamable_http_client,  # lazy: optional (MCP SDK)
            )
            from mcp.shared._httpx_utils import create_mcp_http_client  # lazy: optional (MCP SDK)

            return streamable_http_client(
                self._url, http_client=create_mcp_http_client(headers=self._headers)
            )
        cmd = self.profile.command or []
        return mcp.StdioServerParameters(
            command=cmd[0], args=cmd[1:], env=self._env or None, cwd=self.profile.cwd
        )

    async def _own_session(self) -> None:
        # The session is entered and left in this one task: anyio cancel scopes inside the SDK
        # must be exited by the task that entered them, while calls come from many workers.
        try:
            async with self._mcp.Client(
                self._server(), read_timeout_seconds=self._timeout, cache=None
            ) as client:
                self._client = client
                self._ready.set()
                await self._closing.wait()
        except Exception as exc:
            if self._client is None:
                self._open_error = scrub(
                    f"cannot open MCP session ({self.name}): {type(exc).__name__}: {exc}",
                    self._secrets,
                )
        finally:
            self._client = None
            self._ready.set()

    async def _open(self) -> None:
        self._client = None
        self._open_error = None
        self._ready = asyncio.Event()
        self._closing = asyncio.Event()
        self._task = asyncio.create_task(self._own_session())
        self._generation += 1
        try:
            await asyncio.wait_for(self._ready.wait(), timeout=max(self._timeout, 10.0))
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
            self._open_error = f"cannot open MCP session ({self.name}): no handshake in time"
        if self._client is None and self._open_error is None:
            self._open_error = f"cannot open MCP session ({self.name})"

    async def _close(self) -> None:
        if self._task is not None:
            self._closing.set()
            # A server that died already leaves nothing to close.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, timeout=10)
            self._task = None

    async def _session(self) -> tuple[Any, int]:
        """The live client and its generation, reopening a session that broke."""
        if self._broken == self._generation:
            assert self._lock is not None
            async with self._lock:
                if self._broken == self._generation:  # not yet reopened by another call
                    await self._close()
                    await self._open()
        if self._open_error is not None:
            if self._generation > 1:
                # A session that worked before may come back (a restarted server): the next
                # attempt tries again instead of failing every later case on this error.
                self._broken = self._generation
                raise AttemptError("connect", self._open_error, retryable=True)
            raise AttemptError("connect", self._open_error)
        if self._client is None:
            raise RuntimeError("use the runner as 'async with runner:'")
        return self._client, self._generation

    async def __aenter__(self) -> McpRunner:
        self._lock = asyncio.Lock()
        await self._open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._close()

    async def call(self, request: CallRequest) -> CallResult:
        """Call the tool once for ``request``."""
        client, generation = await self._session()
        p = self.profile
        variables = template_variables(
            request.case,
            fields=p.fields,
            settings=p.settings,
            variant=request.variant,
            case_data=request.case_data,
        )
        try:
            args = render_json(p.arguments, variables)
        except TemplateRenderError as exc:
            raise AttemptError("template", str(exc)) from exc
        if not isinstance(args, dict):
            raise AttemptError("template", "tool arguments must render a JSON object")
        args = {**args, **p.fields}
        try:
            result = await client.call_tool(p.tool, args, read_timeout_seconds=self._timeout)
        except self._mcp.MCPError as exc:
            if exc.code == _CONNECTION_CLOSED:
                self._broken = generation
                raise AttemptError(
                    "network",
                    scrub(f"MCP connection closed during the call: {exc.message}", self._secrets),
                    retryable=True,
                ) from exc
            raise AttemptError("tool_error", scrub(f"MCP error: {exc}", self._secrets)) from exc
        except TimeoutError as exc:
            raise AttemptError("timeout", "the tool call timed out", retryable=True) from exc
        except Exception as exc:
            self._broken = generation
            raise AttemptError(
                "network", scrub(f"{type(exc).__name__}: {exc}", self._secrets), retryable=True
            ) from exc
        doc = result_document(result)
        if getattr(result, "is_error", False):
            text = scrub(doc["text"], self._secrets)[:300] or "the tool reported an error"
            raise AttemptError("tool_error", text)
        return finish_mapping(p.result, doc)
