"""The OpenAI-compatible chat client of the ``llm`` judge.

Connection (OpenAI or Azure), bounded retries on 429, 5xx, timeouts and lost connections,
Retry-After, and the counters of what the judge cost and what went wrong.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from ragwacht._retry import backoff_delay, retry_after_seconds
from ragwacht.errors import ConfigError, JudgeError
from ragwacht.metrics.judges.config import LLMJudgeConfig, LocalLLMJudgeConfig

if TYPE_CHECKING:
    from openai import AsyncOpenAI


log = logging.getLogger(__name__)


@dataclass
class JudgeStats:
    """Counters for one verifier: what it cost and what went wrong."""

    requests: int = 0
    calls: int = 0
    retries: int = 0
    repairs: int = 0
    cache_hits: int = 0
    verifications: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    failures: Counter[str] = field(default_factory=Counter)


def _retry_after(exc: Any, cap: float) -> float | None:
    """Seconds from the Retry-After header of an API error (delta or HTTP date), capped."""
    resp = getattr(exc, "response", None)
    raw = resp.headers.get("retry-after") if resp is not None else None
    return retry_after_seconds(raw, cap_s=cap)


def _short(text: str, n: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


class LLMClient:
    """The judge's side of an OpenAI-compatible chat API: client, bounded retries, limits.

    The base of :class:`~ragwacht.metrics.judges.llm.verifier.LLMVerifier`; the verifier sets
    ``id``.

    Args:
        cfg: the judge configuration.
        base_url: overrides the configured URL (used by the ``local-llm`` judge).

    """

    id: str

    def __init__(
        self, cfg: LLMJudgeConfig | LocalLLMJudgeConfig, *, base_url: str | None = None
    ) -> None:
        self.cfg = cfg
        self.model = cfg.model
        self._base_url = base_url
        self.stats = JudgeStats()
        self._client: AsyncOpenAI | None = None
        self._client_lock: asyncio.Lock | None = None
        self._sem: asyncio.Semaphore | None = None

    # -- client -----------------------------------------------------------------------------

    async def resolve_base_url(self) -> str:
        """The API base URL (``.../v1``)."""
        if self._base_url:
            return self._base_url
        assert isinstance(self.cfg, LLMJudgeConfig)
        return self.cfg.resolved_base_url()

    def api_key(self) -> str | None:
        """The API key from the environment variable named in the config, if any."""
        name = getattr(self.cfg, "api_key_env", None)
        if not name:
            return None
        value = os.environ.get(name)
        if not value:
            raise ConfigError(
                f"environment variable {name} is not set",
                field="api_key_env",
                hint=f"export {name}=... (secrets are read from the environment only)",
            )
        return value

    async def endpoint(self) -> tuple[str, str, str | None]:
        """``(base_url, model, api_key)`` for other clients of the same judge (backends)."""
        return await self.resolve_base_url(), self.model, self.api_key()

    async def _on_request(self, request: httpx.Request) -> None:
        self.stats.requests += 1

    async def client(self) -> AsyncOpenAI:
        """The (lazily created) OpenAI client; our own retry loop, so ``max_retries=0``."""
        if self._client_lock is None:
            self._client_lock = asyncio.Lock()
        async with self._client_lock:
            if self._client is None:
                import openai  # lazy: heavy (openai)

                base_url = await self.resolve_base_url()
                http = httpx.AsyncClient(
                    timeout=httpx.Timeout(self.cfg.timeout_s),
                    event_hooks={"request": [self._on_request]},
                )
                key = self.api_key()
                cfg = self.cfg
                if isinstance(cfg, LLMJudgeConfig) and (cfg.azure or cfg.deployment):
                    self._client = openai.AsyncAzureOpenAI(
                        azure_endpoint=base_url,
                        api_version=cfg.api_version,
                        azure_deployment=cfg.deployment,
                        api_key=key,
                        http_client=http,
                        max_retries=0,
                        timeout=cfg.timeout_s,
                    )
                else:
                    self._client = openai.AsyncOpenAI(
                        base_url=base_url,
                        # llama.cpp and vLLM accept any key; the client insists on one.
                        api_key=key or "not-needed",
                        http_client=http,
                        max_retries=0,
                        timeout=self.cfg.timeout_s,
                    )
            return self._client

    async def aclose(self) -> None:
        """Close the HTTP client."""
        if self._client is not None:
            await self._client.close()
            self._client = None

    # -- transport --------------------------------------------------------------------------

    async def _chat(self, messages: list[dict[str, str]], **kw: Any) -> Any:
        """One chat completion with bounded retries on 429, 5xx, timeouts and lost connections."""
        import openai  # lazy: heavy (openai)

        client = await self.client()
        if self._sem is None:
            self._sem = asyncio.Semaphore(self.cfg.concurrency)
        attempt = 0
        while True:
            attempt += 1
            wait: float | None = None
            try:
                async with self._sem:
                    return await client.chat.completions.create(
                        model=self.model,
                        messages=messages,  # type: ignore[arg-type]
                        temperature=self.cfg.temperature,
                        **kw,
                    )
            except openai.RateLimitError as exc:
                reason, detail = "rate_limited", "HTTP 429"
                wait = _retry_after(exc, self.cfg.max_backoff_s)
            except openai.APITimeoutError:
                reason, detail = "timeout", f"no reply within {self.cfg.timeout_s:g} s"
            except openai.APIConnectionError as exc:
                reason, detail = "connection", f"connection failed: {exc}"
            except openai.APIStatusError as exc:
                if exc.status_code < 500 and exc.status_code not in (408, 409):
                    raise JudgeError(
                        f"judge API returned HTTP {exc.status_code}: {_short(str(exc.message))}",
                        reason="http_error",
                        attempts=attempt,
                    ) from None
                reason, detail = "server_error", f"HTTP {exc.status_code}"
                wait = _retry_after(exc, self.cfg.max_backoff_s)
            except openai.APIError as exc:
                raise JudgeError(
                    f"judge API gave an unusable response: {_short(str(exc))}",
                    reason="bad_response",
                    attempts=attempt,
                ) from None
            if attempt > self.cfg.max_retries:
                raise JudgeError(
                    f"judge call failed after {attempt} attempts: {detail}",
                    reason=reason,
                    attempts=attempt,
                )
            self.stats.retries += 1
            if wait is None:
                # Equal jitter (half fixed, half random) spreads retries of concurrent cases
                # apart.
                wait = backoff_delay(
                    attempt, base_s=self.cfg.backoff_s, cap_s=self.cfg.max_backoff_s
                )
            log.debug("judge %s: %s, retry %d in %.2f s", self.id, detail, attempt, wait)
            await asyncio.sleep(wait)

    async def complete_json(
        self, messages: list[dict[str, str]], schema: dict[str, Any], *, name: str
    ) -> tuple[str, int, int]:
        """One completion asked to follow ``schema``, with this judge's retries and limits.

        For other tasks that use the configured judge model (golden-set generation).

        Returns:
            ``(text, prompt_tokens, completion_tokens)``.

        Raises:
            JudgeError: The call failed after the configured retries.

        """
        resp = await self._chat(
            messages, max_tokens=self.cfg.max_tokens, **self._format_kwargs(schema, name)
        )
        self.stats.calls += 1
        choices = getattr(resp, "choices", None)
        text = (choices[0].message.content or "") if choices else ""
        usage = getattr(resp, "usage", None)
        return (
            text,
            int(getattr(usage, "prompt_tokens", 0) or 0),
            int(getattr(usage, "completion_tokens", 0) or 0),
        )

    def _format_kwargs(self, schema: dict[str, Any], name: str) -> dict[str, Any]:
        mode = self.cfg.json_mode
        if mode == "schema":
            return {
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {"name": name, "schema": schema, "strict": True},
                }
            }
        if mode == "object":
            return {"response_format": {"type": "json_object"}}
        return {}
