"""Claims of an answer: verdicts, evidence, and marking in the answer text.

:func:`mark_claims` marks the unsupported claims in the escaped answer text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from ragwacht.records import CaseResult
from ragwacht.reports.html._common import _float, _preview
from ragwacht.reports.i18n import Translator

# Evidence of a claim: the sentence of the judge's passage that matches the claim best.
EVIDENCE_CHARS = 200


UNSUPPORTED = ("contradicted", "unverifiable")


_SENTENCE = re.compile(r"(?<=[.!?…])\s+")
_WORD = re.compile(r"\w+")


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.casefold()) if len(w) > 2 or w.isdigit()}


def _same_text(a: str, b: str) -> bool:
    def norm(x: str) -> str:
        return " ".join(x.split()).rstrip(" .!?;:…").casefold()

    return norm(a) == norm(b)


def _evidence_snippet(claim: str, evidence: str) -> str | None:
    """The sentence of ``evidence`` that shares most words with ``claim`` (≤ EVIDENCE_CHARS).

    Judges store the whole passage (or window of passages) they judged against; the report
    shows only the sentence that matters and refers to the source for the rest. None when the
    sentence is the claim itself (the source link says everything then).
    """
    text = " ".join(evidence.split())
    if not text:
        return None
    sentences = [s for s in _SENTENCE.split(text) if s.strip()] or [text]
    want = _words(claim)
    # Most words in common; on a tie (or none in common) the earliest sentence.
    best = max(enumerate(sentences), key=lambda p: (len(want & _words(p[1])), -p[0]))[1]
    if _same_text(best, claim):
        return None
    return _preview(best, EVIDENCE_CHARS)


# ----------------------------------------------------------------------------- claims


@dataclass
class ClaimView:
    """One claim of an answer with its verdict and evidence."""

    n: int
    claim: str
    verdict: str
    evidence: str | None
    source: int | None  # 1-based index into the retrieved sources
    score: float | None
    located: bool = False

    @property
    def unsupported(self) -> bool:
        """Whether the verdict is one the answer should not make (contradicted, unverifiable)."""
        return self.verdict in UNSUPPORTED


def _claims_of(case: CaseResult) -> tuple[list[ClaimView], str | None]:
    """The claims of the first metric that kept them (faithfulness preferred)."""
    order = sorted(case.metrics, key=lambda m: (m != "faithfulness", m))
    for mid in order:
        raw = case.metrics[mid].details.get("claims")
        if not isinstance(raw, list) or not raw:
            continue
        out: list[ClaimView] = []
        for i, c in enumerate(raw, 1):
            if not isinstance(c, Mapping) or not c.get("claim"):
                continue
            verdict = str(c.get("verdict") or "unverifiable")
            verdict = getattr(c.get("verdict"), "value", verdict)
            idx = c.get("evidence_index")
            ev = c.get("evidence")
            out.append(
                ClaimView(
                    n=i,
                    claim=str(c["claim"]),
                    verdict=str(verdict),
                    evidence=_evidence_snippet(str(c["claim"]), str(ev)) if ev else None,
                    source=int(idx) + 1 if isinstance(idx, int) and idx >= 0 else None,
                    score=_float(c.get("score")),
                )
            )
        return out, case.metrics[mid].judge or mid
    return [], None


def _claim_pattern(claim: str) -> re.Pattern[str] | None:
    words = re.findall(r"\w+|[^\w\s]", claim.strip().rstrip(".!?;:").strip())
    if not words:
        return None
    return re.compile(r"\s*".join(re.escape(w) for w in words), re.IGNORECASE)


def mark_claims(answer: str, claims: Sequence[ClaimView], t: Translator) -> Markup:
    """The answer as HTML with every unsupported claim that occurs in it wrapped in ``<mark>``.

    Each piece of the answer is escaped first and only then wrapped, so no text of the answer
    can become markup. A claim is located by its words in order (case and spacing ignored);
    claims that are paraphrases stay unmarked and are listed in the claims table. Marks carry
    a text label (claim number and verdict) so colour is not the only signal.

    Args:
        answer: the untrusted answer text.
        claims: the claims; ``located`` is set on those that were marked.
        t: translator for the label text.

    """
    spans: list[tuple[int, int, ClaimView]] = []
    for c in claims:
        if not c.unsupported:
            continue
        pat = _claim_pattern(c.claim)
        m = pat.search(answer) if pat else None
        if m is None or m.end() <= m.start():
            continue
        if any(m.start() < e and s < m.end() for s, e, _ in spans):
            continue
        spans.append((m.start(), m.end(), c))
        c.located = True
    spans.sort(key=lambda s: s[0])
    parts: list[Markup] = []
    pos = 0
    for start, end, c in spans:
        parts.append(escape(answer[pos:start]))
        label = escape(f"[{c.n} · {t('verdict_' + c.verdict)}]")
        parts.append(
            Markup('<mark class="uns v-{}">{}<span class="ml"> {}</span></mark>').format(
                c.verdict, escape(answer[start:end]), label
            )
        )
        pos = end
    parts.append(escape(answer[pos:]))
    return Markup("").join(parts)
