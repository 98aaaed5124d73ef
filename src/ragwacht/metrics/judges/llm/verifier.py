"""The ``llm`` verifier: the judge's identity, the verifier protocol and the cache."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from pydantic import ValidationError

from ragwacht.errors import JudgeError
from ragwacht.metrics.judges.base import Verification
from ragwacht.metrics.judges.cache import JudgeCache, cache_key
from ragwacht.metrics.judges.config import LLMJudgeConfig, LocalLLMJudgeConfig
from ragwacht.metrics.judges.llm.methods import METHOD_PROMPTS, JudgingMethods, _Tally
from ragwacht.metrics.prompts import LANGUAGES, pick_language

if TYPE_CHECKING:
    pass


class LLMVerifier(JudgingMethods):
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
        super().__init__(cfg, base_url=base_url)
        self.method = cfg.method
        self.cache = JudgeCache(cache_dir) if (cache_dir is not None and cfg.cache) else None
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
