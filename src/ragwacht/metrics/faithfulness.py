"""``faithfulness`` and ``hallucination_rate``: the answer's claims checked against its sources.

Both metrics read the same verification of a case: the first one to ask runs the verifier,
the second gets the stored result (:class:`SharedVerifications`), so a case is judged once.

* ``faithfulness`` = supported claims / claims.
* ``hallucination_rate`` per case = 1 when at least one claim is not supported
  (contradicted always; unverifiable when ``count_unverifiable``, the default), else 0; its
  mean over answered cases is the share of answers with a hallucination. Lower is better.

Not scored (``None`` with a reason): an endpoint error, a refusal, no retrieved contexts, an
answer without claims. A verifier that fails gives ``None`` with ``error=True``, never a score.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections import OrderedDict
from typing import Any, ClassVar

from ragwacht.errors import ConfigError, JudgeError
from ragwacht.metrics.base import Metric, ScoreInput, register
from ragwacht.metrics.judges.base import Verdict, Verification, Verifier
from ragwacht.metrics.judges.lexical import LexicalVerifier
from ragwacht.metrics.refusal import detect_refusal
from ragwacht.records import MetricResult

_ERROR_TTL_S = 300.0


class SharedVerifications:
    """Remembers each verifier's verification per (answer, contexts, language).

    Concurrent requests for the same key wait on one call. Failures are remembered briefly
    (five minutes) so that the second metric of a case reports the same failure instead of
    calling a failing judge again.
    """

    def __init__(self, max_items: int = 4096) -> None:
        self.max_items = max_items
        self._by_verifier: weakref.WeakKeyDictionary[Any, OrderedDict[tuple[Any, ...], Any]] = (
            weakref.WeakKeyDictionary()
        )
        self._fallback: dict[int, OrderedDict[tuple[Any, ...], Any]] = {}
        self.calls = 0

    def _table(self, verifier: Any) -> OrderedDict[tuple[Any, ...], Any]:
        try:
            return self._by_verifier.setdefault(verifier, OrderedDict())
        except TypeError:  # not weak-referenceable
            return self._fallback.setdefault(id(verifier), OrderedDict())

    async def get(
        self,
        verifier: Verifier,
        answer: str,
        contexts: list[str],
        *,
        question: str = "",
        language: str = "nl",
    ) -> Verification:
        """The verification of ``answer`` against ``contexts``, computed at most once."""
        table = self._table(verifier)
        key = (answer, tuple(contexts), question, language)
        loop = asyncio.get_running_loop()
        entry = table.get(key)
        if entry is not None:
            kind, value, stamp = entry
            if kind == "ok":
                table.move_to_end(key)
                return value
            if kind == "pending" and value.get_loop() is loop:
                return await asyncio.shield(value)
            if kind == "error" and time.monotonic() - stamp < _ERROR_TTL_S:
                raise value
        fut: asyncio.Future[Verification] = loop.create_future()
        table[key] = ("pending", fut, time.monotonic())
        try:
            self.calls += 1
            result = await verifier.verify(answer, contexts, question=question, language=language)
        except BaseException as exc:
            table[key] = ("error", exc, time.monotonic())
            if not fut.done():
                fut.set_exception(exc)
                fut.exception()  # mark retrieved: waiters may be absent
            raise
        table[key] = ("ok", result, time.monotonic())
        table.move_to_end(key)
        while len(table) > self.max_items:
            table.popitem(last=False)
        if not fut.done():
            fut.set_result(result)
        return result

    def clear(self) -> None:
        """Forget everything (tests)."""
        self._by_verifier = weakref.WeakKeyDictionary()
        self._fallback.clear()


SHARED = SharedVerifications()
_DEFAULT_VERIFIER: Verifier | None = None


def default_verifier() -> Verifier:
    """The process-wide default verifier (a :class:`LexicalVerifier`), shared by metrics."""
    global _DEFAULT_VERIFIER
    if _DEFAULT_VERIFIER is None:
        _DEFAULT_VERIFIER = LexicalVerifier()
    return _DEFAULT_VERIFIER


def claim_details(v: Verification) -> list[dict[str, Any]]:
    """The claims of a verification as plain dicts for ``details``."""
    return [c.model_dump(mode="json", exclude_none=True) for c in v.claims]


class ClaimMetric(Metric):
    """Shared ground of the claim-verification metrics (option ``verifier``)."""

    requires: ClassVar[frozenset[str]] = frozenset({"answer", "contexts", "judge"})

    def __init__(self, verifier: Verifier | None = None, **options: Any) -> None:
        super().__init__(verifier=verifier, **options)
        self.verifier: Verifier = verifier if verifier is not None else default_verifier()
        self.judge_weak = bool(getattr(self.verifier, "weak", False))

    @property
    def judge_id(self) -> str | None:
        """The verifier's id."""
        return str(getattr(self.verifier, "id", type(self.verifier).__name__))

    def describe(self) -> dict[str, Any]:
        """Static description, with the verifier's weakness."""
        d = super().describe()
        d["weak"] = self.judge_weak
        return d

    def precheck(self, item: ScoreInput) -> MetricResult | None:
        """A not-scored result when the case cannot be verified, else None."""
        r = item.response
        if r.error is not None:
            return self.not_scored(f"endpoint error: {r.error_kind or 'error'}")
        if r.answer is None:
            return self.not_scored("no answer")
        decision = detect_refusal(r)
        if decision.refused:
            return self.not_scored("the bot refused", details=decision.as_details())
        if not any(c.text and c.text.strip() for c in r.contexts):
            return self.not_scored("no retrieved contexts")
        return None

    async def verification(self, item: ScoreInput) -> Verification | MetricResult:
        """The shared verification of the case, or a not-scored result saying why not."""
        r = item.response
        contexts = [c.text for c in r.contexts if c.text and c.text.strip()]
        try:
            return await SHARED.get(
                self.verifier,
                r.answer or "",
                contexts,
                question=item.case.question,
                language=item.language,
            )
        except JudgeError as exc:
            return self.not_scored(
                f"judge failed ({exc.reason}): {exc}"[:300],
                error=True,
                judge=self.judge_id,
                details={"judge_error": exc.reason},
            )
        except ConfigError:
            raise  # a judge set up wrongly is the user's to fix (exit 2), not a failed case
        except Exception as exc:  # any verifier bug is a failure to count, never a score
            return self.not_scored(
                f"judge failed: {type(exc).__name__}: {exc}"[:300],
                error=True,
                judge=self.judge_id,
                details={"judge_error": type(exc).__name__},
            )

    async def ascore(self, item: ScoreInput) -> MetricResult:
        """Verify (once per case, shared) and compute the value."""
        early = self.precheck(item)
        if early is not None:
            return early
        v = await self.verification(item)
        if isinstance(v, MetricResult):
            return v
        if not v.claims:
            return self.not_scored(
                "no claims in the answer", judge=v.judge, prompt_version=v.prompt_version
            )
        return self.from_verification(v)

    def score(self, item: ScoreInput) -> MetricResult:
        """Synchronous scoring (runs the async path; not for use inside an event loop)."""
        return asyncio.run(self.ascore(item))

    def from_verification(self, v: Verification) -> MetricResult:
        """The value from a verification with at least one claim."""
        raise NotImplementedError

    def _details(self, v: Verification) -> dict[str, Any]:
        return {
            "claims": claim_details(v),
            "supported": v.count(Verdict.SUPPORTED),
            "contradicted": v.count(Verdict.CONTRADICTED),
            "unverifiable": v.count(Verdict.UNVERIFIABLE),
            "n_claims": len(v.claims),
            "weak_judge": self.judge_weak,
            "cached": v.cached,
        }


@register
class Faithfulness(ClaimMetric):
    """Share of the answer's claims that the retrieved contexts support."""

    name = "faithfulness"
    version = "1"
    higher_is_better = True
    description = "supported claims / claims, checked against the retrieved contexts"

    def from_verification(self, v: Verification) -> MetricResult:
        """Supported / claims."""
        value = v.count(Verdict.SUPPORTED) / len(v.claims)
        return self.result(
            value, details=self._details(v), judge=v.judge, prompt_version=v.prompt_version
        )


@register
class HallucinationRate(ClaimMetric):
    """1 when the answer holds a claim the contexts do not support, else 0 (lower is better).

    Options:
        count_unverifiable: count unverifiable claims as hallucinations (default True);
            contradicted claims always count.
    """

    name = "hallucination_rate"
    version = "1"
    higher_is_better = False
    description = "share of answered cases with at least one unsupported claim"

    def __init__(self, verifier: Verifier | None = None, count_unverifiable: bool = True) -> None:
        super().__init__(verifier=verifier, count_unverifiable=count_unverifiable)
        self.count_unverifiable = bool(count_unverifiable)

    def from_verification(self, v: Verification) -> MetricResult:
        """1 if any claim is contradicted (or unverifiable, if counted)."""
        bad = {Verdict.CONTRADICTED}
        if self.count_unverifiable:
            bad.add(Verdict.UNVERIFIABLE)
        flagged = [c.claim for c in v.claims if c.verdict in bad]
        details = self._details(v)
        details["unsupported_claims"] = flagged
        details["count_unverifiable"] = self.count_unverifiable
        return self.result(
            1.0 if flagged else 0.0, details=details, judge=v.judge, prompt_version=v.prompt_version
        )
