"""``citation_correctness``: whether cited sources were retrieved and say what the bot says.

Citations come from ``[doc_id]`` markers in the answer (``[bag-001]``, ``[1, 3]``; a number
that is no retrieved doc id is read as the 1-based position of a retrieved context) or from
``Response.cited_ids`` mapped by the endpoint profile. A citation is correct when its id is
among the retrieved doc ids and the cited passage supports the sentence it is attached to
(checked by the verifier; for ``cited_ids`` without markers: supports at least one claim of the
answer). The value is correct citations / citations; ``None`` when nothing is cited.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Any, ClassVar

from ragwacht.errors import ConfigError, JudgeError
from ragwacht.metrics.base import Metric, ScoreInput, register
from ragwacht.metrics.claims import split_claims, split_sentences, strip_citations
from ragwacht.metrics.faithfulness import default_verifier
from ragwacht.metrics.judges.base import Verdict, Verifier
from ragwacht.records import MetricResult, RetrievedContext

_MARKER = re.compile(r"\[([\w\-.:/#]+(?:\s*[,;]\s*[\w\-.:/#]+)*)\]")
_LEADING_MARKERS = re.compile(r"^(?:\s*\[[\w\-.:/#,; ]+\])+[.,;]?\s*")


@dataclass
class Citation:
    """One cited id with the sentence that cites it."""

    raw: str
    sentence: str
    doc_id: str | None = None
    resolved_by: str = "id"  # "id" | "position" | "unresolved"
    retrieved: bool = False
    supported: bool | None = None
    verdict: str | None = None
    evidence_index: int | None = None


def find_markers(answer: str) -> list[tuple[str, str]]:
    """``(marker, sentence_without_markers)`` for every citation marker in ``answer``.

    A marker at the start of a sentence (``... weken. [bag-001]``) belongs to the sentence
    before it.
    """
    out: list[tuple[str, str]] = []
    sentences = split_sentences(answer)
    prev_clean = ""
    for s in sentences:
        lead = _LEADING_MARKERS.match(s)
        if lead and prev_clean:
            for m in _MARKER.finditer(lead.group(0)):
                out.extend((x.strip(), prev_clean) for x in re.split(r"[,;]", m.group(1)))
            s = s[lead.end() :]
        clean = " ".join(strip_citations(s).split())
        for m in _MARKER.finditer(s):
            out.extend((x.strip(), clean) for x in re.split(r"[,;]", m.group(1)) if x.strip())
        if clean:
            prev_clean = clean
    return out


def _resolve(raw: str, contexts: list[RetrievedContext]) -> tuple[str | None, str]:
    ids = [c.doc_id for c in contexts]
    if raw in ids:
        return raw, "id"
    lowered = {i.lower(): i for i in ids if i}
    if raw.lower() in lowered:
        return lowered[raw.lower()], "id"
    if raw.isdigit() and 1 <= int(raw) <= len(contexts):
        ctx = contexts[int(raw) - 1]
        return (ctx.doc_id or f"#{raw}"), "position"
    return raw, "unresolved"


@register
class CitationCorrectness(Metric):
    """Share of citations that name a retrieved source which supports the cited sentence.

    Options:
        verifier: checks that the cited passage supports the sentence (default: lexical).
        check_support: also require support, not only a retrieved id (default True).
    """

    name = "citation_correctness"
    version = "1"
    higher_is_better = True
    requires: ClassVar[frozenset[str]] = frozenset({"answer"})
    description = "cited ids that were retrieved and support the citing sentence / citations"

    def __init__(self, verifier: Verifier | None = None, check_support: bool = True) -> None:
        super().__init__(verifier=verifier, check_support=check_support)
        self.verifier: Verifier = verifier if verifier is not None else default_verifier()
        self.check_support = bool(check_support)

    @property
    def judge_id(self) -> str | None:
        """The verifier's id when support is checked."""
        if not self.check_support:
            return None
        return str(getattr(self.verifier, "id", type(self.verifier).__name__))

    def citations(self, item: ScoreInput) -> list[Citation]:
        """The citations of a response, resolved against its retrieved contexts."""
        r = item.response
        answer = r.answer or ""
        cites: list[Citation] = []
        for raw, sentence in find_markers(answer):
            doc_id, how = _resolve(raw, r.contexts)
            cites.append(Citation(raw=raw, sentence=sentence, doc_id=doc_id, resolved_by=how))
        if not cites and r.cited_ids:
            whole = " ".join(split_claims(answer, item.language))
            for raw in r.cited_ids:
                doc_id, how = _resolve(str(raw), r.contexts)
                cites.append(Citation(raw=str(raw), sentence=whole, doc_id=doc_id, resolved_by=how))
        retrieved = {c.doc_id for c in r.contexts if c.doc_id}
        for c in cites:
            c.retrieved = c.resolved_by == "position" or (c.doc_id in retrieved)
        return cites

    async def ascore(self, item: ScoreInput) -> MetricResult:
        """Check every citation."""
        r = item.response
        if r.error is not None:
            return self.not_scored(f"endpoint error: {r.error_kind or 'error'}")
        cites = self.citations(item)
        if not cites:
            return self.not_scored("nothing cited")
        if self.check_support:
            for c in cites:
                if not c.retrieved:
                    c.supported = False
                    continue
                passages = self._passages(c, r.contexts)
                claims = split_claims(c.sentence, item.language) or [c.sentence]
                if not passages or not claims:
                    c.supported = False
                    c.verdict = "no passage text"
                    continue
                try:
                    v = await self.verifier.verify_claims(claims, passages, language=item.language)
                except JudgeError as exc:
                    return self.not_scored(
                        f"judge failed ({exc.reason}): {exc}"[:300],
                        error=True,
                        judge=self.judge_id,
                    )
                except ConfigError:
                    raise  # a judge set up wrongly is the user's to fix (exit 2), not a failed case
                except Exception as exc:
                    return self.not_scored(
                        f"judge failed: {type(exc).__name__}: {exc}"[:300],
                        error=True,
                        judge=self.judge_id,
                    )
                verdicts = [cv.verdict for cv in v.claims]
                if r.cited_ids and c.sentence and not _MARKER.search(r.answer or ""):
                    c.supported = Verdict.SUPPORTED in verdicts
                else:
                    c.supported = bool(verdicts) and all(x == Verdict.SUPPORTED for x in verdicts)
                c.verdict = (
                    "supported"
                    if c.supported
                    else ("contradicted" if Verdict.CONTRADICTED in verdicts else "unverifiable")
                )
        correct = [c for c in cites if c.retrieved and (c.supported or not self.check_support)]
        details: dict[str, Any] = {
            "citations": [
                {
                    "cited": c.raw,
                    "doc_id": c.doc_id,
                    "resolved_by": c.resolved_by,
                    "retrieved": c.retrieved,
                    "supported": c.supported,
                    "verdict": c.verdict,
                    "sentence": c.sentence[:500],
                }
                for c in cites
            ],
            "n_citations": len(cites),
            "not_retrieved": sorted({c.raw for c in cites if not c.retrieved}),
        }
        return self.result(len(correct) / len(cites), details=details, judge=self.judge_id)

    @staticmethod
    def _passages(c: Citation, contexts: list[RetrievedContext]) -> list[str]:
        if c.resolved_by == "position":
            ctx = contexts[int(c.raw) - 1]
            return [ctx.text] if ctx.text else []
        return [x.text for x in contexts if x.doc_id == c.doc_id and x.text]

    def score(self, item: ScoreInput) -> MetricResult:
        """Synchronous scoring (not for use inside an event loop)."""
        return asyncio.run(self.ascore(item))
