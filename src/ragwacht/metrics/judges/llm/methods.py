"""The judging methods of the ``llm`` judge: prompts, reply schemas, parsing and repair.

``claims_verdicts``, ``split_verdicts`` and ``claim_logprobs`` (see
:mod:`ragwacht.metrics.judges.llm`).
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ragwacht.errors import JudgeError
from ragwacht.metrics.claims import split_claims
from ragwacht.metrics.judges.base import ClaimVerdict, Verdict, Verification
from ragwacht.metrics.judges.config import LLMMethod
from ragwacht.metrics.judges.llm.client import LLMClient, _short
from ragwacht.metrics.prompts import Prompt, load_prompt

if TYPE_CHECKING:
    pass


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


class JudgingMethods(LLMClient):
    """The three judging methods, their prompts and the parsing and repair of replies."""

    method: LLMMethod

    def _prompt(self, method: str, language: str) -> Prompt:
        return load_prompt(METHOD_PROMPTS[method], language, override_dir=self.cfg.prompt_dir)

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

    # -- methods ----------------------------------------------------------------------------

    def _split(self, answer: str, lang: str) -> list[str]:

        return list(split_claims(answer, lang))[: self.cfg.max_claims]

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
