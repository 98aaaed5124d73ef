"""The ``llm`` verifier: an OpenAI-compatible chat API as faithfulness judge.

Three judging methods (``method:`` in the judge config):

* ``claims_verdicts`` (default): one call per case; the judge splits the answer into claims and
  gives each a verdict and the passage it rests on, as JSON constrained by a schema.
* ``split_verdicts``: claims come from the rule-based splitter
  (:func:`ragwacht.metrics.claims.split_claims`); one call gives verdicts for all of them.
* ``claim_logprobs``: rule-based claims; one yes/no call per claim, ``P(yes)`` read from the
  token log-probabilities (``supported`` when at or above ``yes_threshold``). Needs a server
  that returns logprobs (OpenAI, vLLM, llama.cpp).

Every failure raises :class:`ragwacht.errors.JudgeError` with a ``reason`` (``timeout``,
``rate_limited``, ``server_error``, ``connection``, ``http_error``, ``truncated``,
``malformed_output``, ``no_logprobs``); metrics count it as not scored. Output that does not
parse or validate is re-asked at most ``max_repairs`` times, showing the judge its error.
"""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import json
import logging
import math
import os
import random
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ragwacht.errors import ConfigError, JudgeError
from ragwacht.metrics.claims import split_claims
from ragwacht.metrics.judges.base import ClaimVerdict, Verdict, Verification
from ragwacht.metrics.judges.cache import JudgeCache, cache_key
from ragwacht.metrics.judges.config import LLMJudgeConfig, LocalLLMJudgeConfig
from ragwacht.metrics.prompts import LANGUAGES, Prompt, load_prompt, pick_language

if TYPE_CHECKING:
    from openai import AsyncOpenAI

log = logging.getLogger(__name__)

#: Which prompt each method uses (all versioned files under ``metrics/prompts``).
METHOD_PROMPTS: dict[str, str] = {
    "claims_verdicts": "faithfulness_v1",
    "split_verdicts": "verdicts_v3",
    "claim_logprobs": "claim_check_v3",
}
_VERDICTS = [v.value for v in Verdict]
_YES = {"yes", "ja", "y", "j"}
_NO = {"no", "nee", "n"}
_REPAIR = {
    "en": "Your reply could not be used: {error}. Reply again with only the JSON, "
    "exactly in the requested form.",
    "nl": "Je antwoord was niet bruikbaar: {error}. Antwoord opnieuw met alleen de JSON, "
    "precies in de gevraagde vorm.",
}
_EVIDENCE_CHARS = 1000


# Output models: lenient about extra keys (judges add them), strict about what we use.
class _ClaimOut(BaseModel):
    model_config = ConfigDict(extra="ignore")
    claim: str = Field(min_length=1)
    evidence: int | None = None
    verdict: Verdict


class _ClaimsOut(BaseModel):
    model_config = ConfigDict(extra="ignore")
    claims: list[_ClaimOut]


class _VerdictOut(BaseModel):
    model_config = ConfigDict(extra="ignore")
    claim: int | None = None
    evidence: int | None = None
    verdict: Verdict


class _VerdictsOut(BaseModel):
    model_config = ConfigDict(extra="ignore")
    verdicts: list[_VerdictOut]


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


@dataclass
class _Tally:
    """Per-verification accounting."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    usage_known: bool = False

    def add(self, resp: Any) -> None:
        self.calls += 1
        usage = getattr(resp, "usage", None)
        if usage is not None:
            self.usage_known = True
            self.prompt_tokens += int(getattr(usage, "prompt_tokens", 0) or 0)
            self.completion_tokens += int(getattr(usage, "completion_tokens", 0) or 0)


def claims_schema(n_passages: int, max_claims: int) -> dict[str, Any]:
    """JSON schema of the ``claims_verdicts`` reply."""
    return {
        "type": "object",
        "properties": {
            "claims": {
                "type": "array",
                "maxItems": max_claims,
                "items": {
                    "type": "object",
                    "properties": {
                        "claim": {"type": "string"},
                        "evidence": {"type": "integer", "minimum": 0, "maximum": n_passages},
                        "verdict": {"type": "string", "enum": _VERDICTS},
                    },
                    "required": ["claim", "evidence", "verdict"],
                    "additionalProperties": False,
                },
            }
        },
        "required": ["claims"],
        "additionalProperties": False,
    }


def verdicts_schema(n_passages: int, n_claims: int) -> dict[str, Any]:
    """JSON schema of the ``split_verdicts`` reply (exactly one verdict per claim)."""
    return {
        "type": "object",
        "properties": {
            "verdicts": {
                "type": "array",
                "minItems": n_claims,
                "maxItems": n_claims,
                "items": {
                    "type": "object",
                    "properties": {
                        "claim": {"type": "integer", "minimum": 1, "maximum": n_claims},
                        "evidence": {"type": "integer", "minimum": 0, "maximum": n_passages},
                        "verdict": {"type": "string", "enum": _VERDICTS},
                    },
                    "required": ["claim", "evidence", "verdict"],
                    "additionalProperties": False,
                },
            }
        },
        "required": ["verdicts"],
        "additionalProperties": False,
    }


_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.S)


def parse_json_reply(text: str) -> Any:
    """Parse a JSON reply, tolerating a code fence or prose around one JSON object.

    Raises:
        ValueError: when no JSON object can be read.

    """
    m = _FENCE.match(text)
    if m:
        text = m.group(1)
    try:
        return json.loads(text)
    except ValueError:
        start, end = text.find("{"), text.rfind("}")
        if start == -1 or end <= start:
            raise ValueError("no JSON object in the reply") from None
        try:
            return json.loads(text[start : end + 1])
        except ValueError as exc:
            raise ValueError(f"invalid JSON: {exc}") from None


def _retry_after(exc: Any, cap: float) -> float | None:
    """Seconds from a Retry-After header (delta or HTTP date), capped; None when absent."""
    resp = getattr(exc, "response", None)
    raw = resp.headers.get("retry-after") if resp is not None else None
    if not raw:
        return None
    try:
        secs = float(raw)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            return None
        secs = when.timestamp() - time.time()
    return max(0.0, min(cap, secs))


def _short(text: str, n: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


class LLMVerifier:
    """Faithfulness judge behind an OpenAI-compatible chat API.

    Args:
        cfg: the judge configuration.
        cache_dir: folder of the on-disk judge cache (None: no cache).
        base_url: overrides the configured URL (used by the ``local-llm`` judge).

    """

    kind: str = "llm"
    weak: bool = False

    @classmethod
    def from_config(
        cls, cfg: LLMJudgeConfig | LocalLLMJudgeConfig, *, cache_dir: Path | None = None
    ) -> Self:
        """The verifier for a ``type: llm`` (or, on the subclass, ``local-llm``) judge entry."""
        return cls(cfg, cache_dir=cache_dir)

    def __init__(
        self,
        cfg: LLMJudgeConfig | LocalLLMJudgeConfig,
        *,
        cache_dir: Path | None = None,
        base_url: str | None = None,
    ) -> None:
        self.cfg = cfg
        self.model = cfg.model
        self.method = cfg.method
        self._base_url = base_url
        self.cache = JudgeCache(cache_dir) if (cache_dir is not None and cfg.cache) else None
        self.stats = JudgeStats()
        self._client: AsyncOpenAI | None = None
        self._client_lock: asyncio.Lock | None = None
        self._sem: asyncio.Semaphore | None = None
        self.id: str = self._make_id()
        self.prompt_version: str | None = METHOD_PROMPTS[cfg.method]
        # One hash over every language's template, so the judge's identity covers them all.
        prompts = [self._prompt(self.method, lang) for lang in LANGUAGES]
        self.prompt_hash: str | None = hashlib.sha256(
            "".join(p.sha256 for p in prompts).encode()
        ).hexdigest()

    # -- identity ---------------------------------------------------------------------------

    def _make_id(self) -> str:
        """``llm:<model>`` plus ``:<method>`` for a method other than the default."""
        base = f"{self.kind}:{self.model}"
        return base if self.method == "claims_verdicts" else f"{base}:{self.method}"

    def _prompt(self, method: str, language: str) -> Prompt:
        return load_prompt(METHOD_PROMPTS[method], language, override_dir=self.cfg.prompt_dir)

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
                backoff = min(self.cfg.max_backoff_s, self.cfg.backoff_s * 2 ** (attempt - 1))
                # Full jitter spreads retries of concurrent cases apart.
                wait = backoff * (0.5 + random.random() / 2)
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

    async def _ask_json(
        self,
        prompt: str,
        schema: dict[str, Any],
        name: str,
        language: str,
        parse: Any,
        tally: _Tally,
    ) -> Any:
        """Ask for JSON; re-ask (bounded) with the error when it does not parse or validate."""
        messages = [{"role": "user", "content": prompt}]
        last_error = ""
        for round_ in range(self.cfg.max_repairs + 1):
            resp = await self._chat(
                messages, max_tokens=self.cfg.max_tokens, **self._format_kwargs(schema, name)
            )
            tally.add(resp)
            self.stats.calls += 1
            if not getattr(resp, "choices", None):
                last_error = "the reply has no choices"
                content = ""
            else:
                choice = resp.choices[0]
                content = choice.message.content or ""
                if choice.finish_reason == "length":
                    # Re-asking with the same budget would be cut off again.
                    raise JudgeError(
                        f"judge output truncated at max_tokens={self.cfg.max_tokens} "
                        "(finish_reason=length); raise max_tokens or lower max_claims",
                        reason="truncated",
                        attempts=tally.calls,
                    )
                try:
                    return parse(parse_json_reply(content))
                except ValidationError as exc:
                    first = exc.errors()[0]
                    where = ".".join(str(x) for x in first.get("loc", ()))
                    last_error = f"{where}: {first.get('msg')}"
                except ValueError as exc:
                    last_error = str(exc)
            if round_ < self.cfg.max_repairs:
                self.stats.repairs += 1
                messages = [
                    *messages,
                    {"role": "assistant", "content": content[:4000]},
                    {"role": "user", "content": _REPAIR[language].format(error=last_error)},
                ]
        raise JudgeError(
            f"judge output unusable after {tally.calls} call(s): {_short(last_error)}",
            reason="malformed_output",
            attempts=tally.calls,
        )

    # -- the verifier protocol --------------------------------------------------------------

    async def verify(
        self, answer: str, contexts: list[str], *, question: str = "", language: str = "nl"
    ) -> Verification:
        """Extract the answer's claims and give each a verdict against ``contexts``."""
        lang = pick_language(language)
        if not answer.strip():
            return self._verification([], lang, _Tally())
        if self.method == "claims_verdicts":
            key_parts = {"question": question, "answer": answer}
            return await self._cached(
                key_parts, contexts, lang, self._claims_verdicts(answer, contexts, question, lang)
            )
        claims = self._split(answer, lang)
        return await self.verify_claims(claims, contexts, language=lang, question=question)

    async def verify_claims(
        self, claims: list[str], contexts: list[str], *, language: str = "nl", question: str = ""
    ) -> Verification:
        """Give each given claim a verdict against ``contexts`` (no extraction).

        ``question``, when given, is shown with the claims: a short answer ("1994", "yes") is
        only a claim together with its question.
        """
        lang = pick_language(language)
        claims = [c for c in (c.strip() for c in claims) if c]
        if not claims:
            return self._verification([], lang, _Tally(), method="split_verdicts")
        if self.method == "claim_logprobs":
            coro = self._claim_logprobs(claims, contexts, lang, question)
            method = "claim_logprobs"
        else:
            coro = self._split_verdicts(claims, contexts, lang, question)
            method = "split_verdicts"
        parts: dict[str, Any] = {"claims": claims}
        if question:
            parts["question"] = question
        return await self._cached(parts, contexts, lang, coro, method=method)

    # -- methods ----------------------------------------------------------------------------

    def _split(self, answer: str, lang: str) -> list[str]:

        return list(split_claims(answer, lang))[: self.cfg.max_claims]

    async def _cached(
        self,
        parts: dict[str, Any],
        contexts: list[str],
        lang: str,
        coro: Any,
        *,
        method: str | None = None,
    ) -> Verification:
        method = method or self.method
        prompt = self._prompt(method, lang)
        key = None
        if self.cache is not None:
            key = cache_key(
                v=1,
                model=self.model,
                method=method,
                prompt=prompt.sha256,
                contexts=contexts,
                language=lang,
                temperature=self.cfg.temperature,
                json_mode=self.cfg.json_mode,
                max_claims=self.cfg.max_claims,
                yes_threshold=self.cfg.yes_threshold,
                **parts,
            )
            hit = self.cache.get(key)
            cached: Verification | None = None
            if hit is not None:
                try:
                    cached = Verification.model_validate(hit)
                except ValidationError:
                    cached = None
            if cached is not None:
                coro.close()
                self.stats.cache_hits += 1
                self.stats.verifications += 1
                # A cached verdict cost nothing this time.
                return cached.model_copy(
                    update={"cached": True, "calls": 0, "prompt_tokens": 0, "completion_tokens": 0}
                )
        try:
            if self.cfg.overall_timeout_s is not None:
                v = await asyncio.wait_for(coro, self.cfg.overall_timeout_s)
            else:
                v = await coro
        except TimeoutError:
            self.stats.failures["timeout"] += 1
            raise JudgeError(
                f"judge took longer than overall_timeout_s={self.cfg.overall_timeout_s:g}",
                reason="timeout",
            ) from None
        except JudgeError as exc:
            self.stats.failures[exc.reason] += 1
            raise
        self.stats.verifications += 1
        if self.cache is not None and key is not None:
            self.cache.put(key, v.model_dump(mode="json"))
        return v

    def _verification(
        self, claims: list[ClaimVerdict], lang: str, tally: _Tally, *, method: str | None = None
    ) -> Verification:
        prompt = self._prompt(method or self.method, lang)
        if tally.usage_known:
            self.stats.prompt_tokens += tally.prompt_tokens
            self.stats.completion_tokens += tally.completion_tokens
        return Verification(
            claims=claims,
            judge=self.id,
            prompt_version=prompt.version,
            prompt_hash=prompt.sha256,
            calls=tally.calls,
            prompt_tokens=tally.prompt_tokens if tally.usage_known else None,
            completion_tokens=tally.completion_tokens if tally.usage_known else None,
        )

    @staticmethod
    def _evidence(index: int | None, contexts: list[str]) -> tuple[int | None, str | None]:
        # The judge numbers passages from 1; 0 or out of range means "none".
        if index is None or not 1 <= index <= len(contexts):
            return None, None
        return index - 1, contexts[index - 1][:_EVIDENCE_CHARS]

    async def _claims_verdicts(
        self, answer: str, contexts: list[str], question: str, lang: str
    ) -> Verification:
        prompt = self._prompt("claims_verdicts", lang)
        text = prompt.render(
            question=question, passages=contexts, answer=answer, max_claims=self.cfg.max_claims
        )
        tally = _Tally()
        out: _ClaimsOut = await self._ask_json(
            text,
            claims_schema(len(contexts), self.cfg.max_claims),
            "claims_verdicts",
            lang,
            _ClaimsOut.model_validate,
            tally,
        )
        claims = []
        for c in out.claims[: self.cfg.max_claims]:
            idx, ev = self._evidence(c.evidence, contexts)
            claims.append(
                ClaimVerdict(claim=c.claim, verdict=c.verdict, evidence=ev, evidence_index=idx)
            )
        return self._verification(claims, lang, tally)

    async def _split_verdicts(
        self, claims: list[str], contexts: list[str], lang: str, question: str = ""
    ) -> Verification:
        prompt = self._prompt("split_verdicts", lang)
        text = prompt.render(passages=contexts, claims=claims, question=question)
        n = len(claims)

        def parse(data: Any) -> _VerdictsOut:
            out = _VerdictsOut.model_validate(data)
            if len(out.verdicts) != n:
                raise ValueError(f"expected {n} verdicts, got {len(out.verdicts)}")
            return out

        tally = _Tally()
        out: _VerdictsOut = await self._ask_json(
            text, verdicts_schema(len(contexts), n), "verdicts", lang, parse, tally
        )
        result = []
        for claim, v in zip(claims, out.verdicts, strict=True):
            idx, ev = self._evidence(v.evidence, contexts)
            result.append(
                ClaimVerdict(claim=claim, verdict=v.verdict, evidence=ev, evidence_index=idx)
            )
        return self._verification(result, lang, tally, method="split_verdicts")

    async def _claim_logprobs(
        self, claims: list[str], contexts: list[str], lang: str, question: str = ""
    ) -> Verification:
        prompt = self._prompt("claim_logprobs", lang)
        tally = _Tally()

        async def one(claim: str) -> ClaimVerdict:
            text = prompt.render(passages=contexts, claim=claim, question=question)
            resp = await self._chat(
                [{"role": "user", "content": text}],
                max_tokens=1,
                logprobs=True,
                top_logprobs=10,
            )
            tally.add(resp)
            self.stats.calls += 1
            p = p_yes(resp)
            verdict = Verdict.SUPPORTED if p >= self.cfg.yes_threshold else Verdict.UNVERIFIABLE
            return ClaimVerdict(claim=claim, verdict=verdict, score=p)

        verdicts = await asyncio.gather(*(one(c) for c in claims))
        return self._verification(list(verdicts), lang, tally, method="claim_logprobs")


def p_yes(resp: Any) -> float:
    """``P(yes) / (P(yes) + P(no))`` from the first token's top log-probabilities.

    Raises:
        JudgeError: when the reply has no log-probabilities or neither yes nor no among them.

    """
    try:
        first = resp.choices[0].logprobs.content[0]
        tops = list(first.top_logprobs or [])
    except (AttributeError, IndexError, TypeError):
        raise JudgeError(
            "judge server returned no logprobs; use method claims_verdicts or split_verdicts",
            reason="no_logprobs",
        ) from None
    if not tops:
        tops = [first]
    yes = no = 0.0
    for t in tops:
        word = str(t.token).strip().lower()
        prob = math.exp(float(t.logprob))
        if word in _YES:
            yes += prob
        elif word in _NO:
            no += prob
    if yes + no <= 0.0:
        raise JudgeError(
            f"neither yes nor no among the judge's top tokens ({first.token!r})",
            reason="malformed_output",
        )
    return yes / (yes + no)
