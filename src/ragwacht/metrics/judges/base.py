"""The verifier protocol: split an answer into claims and check each against the contexts.

Every verifier (``llm``, ``local-llm``, ``nli``, ``lexical``) returns a :class:`Verification`
with one :class:`ClaimVerdict` per claim. A judge that fails raises
:class:`ragwacht.errors.JudgeError`; metrics turn that into a not-scored result with the reason,
never into a score.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol, runtime_checkable

from pydantic import Field

from ragwacht.records import StrictModel


class Verdict(StrEnum):
    """Whether the contexts support a claim."""

    SUPPORTED = "supported"
    CONTRADICTED = "contradicted"
    UNVERIFIABLE = "unverifiable"


class ClaimVerdict(StrictModel):
    """One claim with its verdict and the best evidence found for it."""

    claim: str
    verdict: Verdict
    evidence: str | None = None
    evidence_index: int | None = Field(default=None, description="index into the contexts")
    score: float | None = Field(default=None, description="P(supported) or similarity, if any")
    rationale: str | None = None


class Verification(StrictModel):
    """The verifier's output for one answer."""

    claims: list[ClaimVerdict]
    judge: str
    prompt_version: str | None = None
    prompt_hash: str | None = Field(default=None, description="sha256 of the prompt template")
    calls: int = 0
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached: bool = False

    def count(self, verdict: Verdict) -> int:
        """Number of claims with this verdict."""
        return sum(1 for c in self.claims if c.verdict == verdict)


@runtime_checkable
class Verifier(Protocol):
    """Checks the claims of an answer against retrieved contexts."""

    id: str
    kind: str
    weak: bool
    prompt_version: str | None

    async def verify(
        self, answer: str, contexts: list[str], *, question: str = "", language: str = "nl"
    ) -> Verification:
        """Extract the answer's claims and give each a verdict against ``contexts``."""
        ...

    async def verify_claims(
        self, claims: list[str], contexts: list[str], *, language: str = "nl"
    ) -> Verification:
        """Give each given claim a verdict against ``contexts`` (no extraction)."""
        ...

    async def aclose(self) -> None:
        """Release resources (HTTP clients, servers)."""
        ...
