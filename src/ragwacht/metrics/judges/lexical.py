"""The ``lexical`` verifier: a cheap word-overlap heuristic, labelled weak.

A claim is **supported** by a passage when enough of its content words (stopwords removed,
lightly stemmed, accents folded) occur in the passage, every number and date it states occurs
there too, and each of its clauses has the negation polarity of the passage clauses that say
the same thing. It is **contradicted** when a passage that otherwise matches well states other
numbers or the opposite polarity. Anything else is **unverifiable**.

Passages are split the way answers are split (list items, lines, sentences, each item with
its lead-in), and polarity is compared clause by clause: a "niet" in another list item or in
another clause of the sentence says nothing about this claim, and an answer that quotes its
passage verbatim is fully supported.

It suits extractive bots that quote their sources; it cannot follow paraphrase or inference,
so its verdicts are a floor, not a judgement. Its thresholds were tuned on HaluEval QA and
BEGIN (see ``metrics/cards/faithfulness.md`` for the measured balanced accuracy).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal, Self

from ragwacht.errors import ConfigError
from ragwacht.metrics import _text
from ragwacht.metrics.claims import split_claims, split_passage
from ragwacht.metrics.judges.base import ClaimVerdict, Verdict, Verification

if TYPE_CHECKING:
    from pathlib import Path

    from ragwacht.metrics.judges.config import LexicalJudgeConfig

VERSION = "lexical-v2"
_MIN_PART = 4
# Clause boundaries inside a claim or passage piece: a comma, semicolon or colon followed by
# a space (not "3,70"), and the coordinating words that join two main clauses.
_CLAUSE = re.compile(
    r"\s*[,;:]\s+|\s+(?=(?:maar|want|doch|terwijl|echter|but|whereas|while|however)\s)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class _Clause:
    words: frozenset[str]
    numbers: frozenset[str]
    negated: bool


@dataclass(frozen=True)
class _Piece:
    words: frozenset[str]
    numbers: frozenset[str]
    clauses: tuple[_Clause, ...]
    text: str


@dataclass(frozen=True)
class _Passage:
    words: frozenset[str]
    numbers: frozenset[str]
    sentences: tuple[_Piece, ...]
    text: str


def _clauses(text: str) -> tuple[_Clause, ...]:
    """The clauses of ``text``; a clause without content words joins its neighbour.

    Without content words a clause cannot be matched, but its negation ("..., niet ...") still
    belongs to the statement next to it.
    """
    out: list[list[str]] = []
    pending = ""
    for part in _CLAUSE.split(text):
        if not part.strip():
            continue
        if _text.content_set(part) or _text.numbers(part):
            out.append([pending, part] if pending else [part])
            pending = ""
        elif out:
            out[-1].append(part)
        else:
            pending = f"{pending} {part}"
    if pending:
        if out:
            out[-1].append(pending)
        else:
            out.append([pending])
    clauses = []
    for parts in out:
        joined = " ".join(parts)
        clauses.append(
            _Clause(_text.content_set(joined), _text.numbers(joined), _text.negated(joined))
        )
    return tuple(clauses)


@lru_cache(maxsize=16384)
def _piece(text: str) -> _Piece:
    return _Piece(_text.content_set(text), _text.numbers(text), _clauses(text), text)


# Passages repeat across cases, metrics, runs and variants (a corpus is a few hundred of them):
# preparing each once per process is most of what re-scoring a suite costs otherwise.
@lru_cache(maxsize=8192)
def _prepare(text: str) -> _Passage:
    pieces = tuple(_piece(s) for s in (split_passage(text) or [text]))
    return _Passage(_text.content_set(text), _text.numbers(text), pieces, text)


def _overlap(a: _Piece | _Clause, b: _Piece | _Clause) -> int:
    return len(a.words & b.words) + len(a.numbers & b.numbers)


def _polarity_ok(clause: _Clause, pieces: tuple[_Piece, ...]) -> bool:
    """Whether the passage says ``clause`` with the same polarity (clause against clauses).

    The pieces that share most with the clause are where the passage says it; within such a
    piece only the clauses that share most words with it carry its polarity. When several pieces
    tie, one that agrees is enough: a passage saying both supports either.
    """
    scored = [(_overlap(clause, piece), -len(piece.words), piece) for piece in pieces]
    top = max((o, n) for o, n, _ in scored)
    if top[0] == 0:
        return True  # nothing in the passage is about this clause: coverage decides
    for o, n, piece in scored:
        if (o, n) != top:
            continue
        # The clauses that share most with this one say it; a word shared with a
        # neighbouring clause ("object" in both halves) does not make that clause's
        # negation this clause's.
        best = max(_overlap(clause, c) for c in piece.clauses)
        neg = False
        for c in piece.clauses:
            if _overlap(clause, c) == best:
                neg ^= c.negated
        if neg == clause.negated:
            return True
    return False


@dataclass(frozen=True)
class ClaimMatch:
    """How one claim matches one passage."""

    coverage: float
    numbers_ok: bool
    numbers_conflict: bool
    polarity_ok: bool
    sentence: str


class LexicalVerifier:
    """Word-overlap verifier (``id="lexical"``, ``weak=True``) for the Verifier protocol.

    Args:
        support_threshold: share of a claim's content words a passage must hold to support it.
        contradiction_threshold: share of content words above which a number or negation
            mismatch counts as a contradiction rather than as unrelated text.
        check_numbers: require every number/date of the claim in the passage.
        check_negation: require the same negation polarity as the best-matching sentence.
        split_clauses: let :func:`split_claims` split coordinated clauses too.
        compounds: let a word match inside a compound (``vergunning`` in
            ``bouwvergunning``) and the other way round; ``auto`` (default) does so for Dutch
            only (it costs about a point of balanced accuracy on English data).
        min_content_words: claims with fewer content words (and no numbers) are unverifiable.
        cache_size: how many answers' verifications to remember (0 disables).

    """

    id = "lexical"
    kind = "lexical"
    weak = True
    prompt_version: str | None = VERSION
    prompt_hash: str | None = None
    model: str | None = None

    @classmethod
    def from_config(cls, cfg: LexicalJudgeConfig, *, cache_dir: Path | None = None) -> Self:
        """The verifier for a ``type: lexical`` judge entry (``cache_dir`` is not used)."""
        try:
            return cls(**cfg.options)
        except TypeError as exc:
            raise ConfigError(f"bad option for the lexical judge: {exc}", field="options") from exc

    def __init__(
        self,
        support_threshold: float = 0.8,
        contradiction_threshold: float = 0.6,
        check_numbers: bool = True,
        check_negation: bool = True,
        split_clauses: bool = False,
        compounds: bool | Literal["auto"] = "auto",
        min_content_words: int = 1,
        cache_size: int = 2048,
    ) -> None:
        for name, val in (
            ("support_threshold", support_threshold),
            ("contradiction_threshold", contradiction_threshold),
        ):
            if not 0.0 < float(val) <= 1.0:
                raise ConfigError(
                    f"lexical judge: {name} must be in (0, 1], got {val!r}",
                    field=name,
                    hint="a share of the claim's content words, e.g. 0.7",
                )
        self.support_threshold = float(support_threshold)
        self.contradiction_threshold = float(contradiction_threshold)
        self.check_numbers = bool(check_numbers)
        self.check_negation = bool(check_negation)
        self.split_clauses = bool(split_clauses)
        if compounds not in (True, False, "auto"):
            raise ConfigError(
                f"lexical judge: compounds must be true, false or auto, got {compounds!r}",
                field="compounds",
            )
        self.compounds = compounds
        self.min_content_words = int(min_content_words)
        self.cache_size = int(cache_size)
        self._cache: OrderedDict[tuple[Any, ...], Verification] = OrderedDict()
        self.calls = 0

    def options(self) -> dict[str, Any]:
        """The settings, for records."""
        return {
            "support_threshold": self.support_threshold,
            "contradiction_threshold": self.contradiction_threshold,
            "check_numbers": self.check_numbers,
            "check_negation": self.check_negation,
            "split_clauses": self.split_clauses,
            "compounds": self.compounds,
        }

    # -- matching --------------------------------------------------------------------------

    def match(self, claim: str, passage: str | _Passage, *, language: str = "nl") -> ClaimMatch:
        """Compare one claim with one passage."""
        p = passage if isinstance(passage, _Passage) else _prepare(passage)
        return self._match(_piece(claim), p, self._compounds_for(language))

    def _compounds_for(self, language: str) -> bool:
        if self.compounds == "auto":
            return language.lower().startswith("nl")
        return bool(self.compounds)

    def _match(self, claim: _Piece, p: _Passage, compounds: bool = False) -> ClaimMatch:
        words, nums = claim.words, claim.numbers
        coverage = self._coverage(words, p, compounds) if words else (1.0 if nums else 0.0)
        # The piece (list item, sentence) that shares most content words is the evidence and
        # decides number conflicts: a number elsewhere in a long passage says nothing here.
        best = max(p.sentences, key=lambda s: (_overlap(claim, s), -len(s.words)))
        numbers_ok = nums <= p.numbers
        missing = nums - p.numbers
        numbers_conflict = bool(missing) and bool(best.numbers - nums)
        polarity_ok = all(_polarity_ok(c, p.sentences) for c in claim.clauses)
        return ClaimMatch(coverage, numbers_ok, numbers_conflict, polarity_ok, best.text)

    def _coverage(self, words: frozenset[str], p: _Passage, compounds: bool) -> float:
        hits = len(words & p.words)
        if compounds and hits < len(words):
            # Dutch glues words together ("bouwvergunning", "vastgesteld"): a word inside a
            # passage word, or a passage word inside it, counts when long enough to mean it.
            for w in words - p.words:
                if len(w) >= _MIN_PART and any(
                    (w in pw) or (len(pw) >= _MIN_PART and pw in w) for pw in p.words
                ):
                    hits += 1
        return hits / len(words)

    def judge(self, claim: str, passages: list[_Passage], *, language: str = "nl") -> ClaimVerdict:
        """Verdict for one claim against prepared passages."""
        piece = _piece(claim)
        words, nums = piece.words, piece.numbers
        if len(words) < self.min_content_words and not nums:
            return ClaimVerdict(
                claim=claim,
                verdict=Verdict.UNVERIFIABLE,
                score=0.0,
                rationale="no content words to match",
            )
        compounds = self._compounds_for(language)
        best: tuple[float, int, ClaimVerdict] | None = None
        for i, p in enumerate(passages):
            m = self._match(piece, p, compounds)
            nums_ok = m.numbers_ok or not self.check_numbers
            pol_ok = m.polarity_ok or not self.check_negation
            if m.coverage >= self.support_threshold and nums_ok and pol_ok:
                verdict, rank = Verdict.SUPPORTED, 2
                why = f"{m.coverage:.0%} of content words found"
            elif m.coverage >= self.contradiction_threshold and (
                (self.check_numbers and m.numbers_conflict)
                or (self.check_negation and not m.polarity_ok)
            ):
                verdict, rank = Verdict.CONTRADICTED, 1
                why = "numbers differ" if m.numbers_conflict else "negation differs"
            else:
                verdict, rank = Verdict.UNVERIFIABLE, 0
                parts = [f"{m.coverage:.0%} of content words found"]
                if not m.numbers_ok:
                    parts.append("numbers missing")
                why = ", ".join(parts)
            score = m.coverage * (1.0 if nums_ok else 0.5) * (1.0 if pol_ok else 0.5)
            cv = ClaimVerdict(
                claim=claim,
                verdict=verdict,
                evidence=m.sentence,
                evidence_index=i,
                score=round(score, 4),
                rationale=why,
            )
            key = (rank, score)
            if best is None or key > (best[1], best[0]):
                best = (score, rank, cv)
        if best is None:
            return ClaimVerdict(
                claim=claim, verdict=Verdict.UNVERIFIABLE, score=0.0, rationale="no contexts"
            )
        return best[2]

    # -- the verifier protocol ---------------------------------------------------------------

    async def verify(
        self, answer: str, contexts: list[str], *, question: str = "", language: str = "nl"
    ) -> Verification:
        """Split ``answer`` into claims and verify each against ``contexts``."""
        key = ("answer", answer, tuple(contexts), language)
        hit = self._cache_get(key)
        if hit is not None:
            return hit
        claims = split_claims(answer, language, split_clauses=self.split_clauses)
        out = self._verify(claims, contexts, language)
        self._cache_put(key, out)
        return out

    async def verify_claims(
        self, claims: list[str], contexts: list[str], *, language: str = "nl"
    ) -> Verification:
        """Verify the given claims against ``contexts``."""
        return self._verify(list(claims), contexts, language)

    def verify_sync(
        self, answer: str, contexts: list[str], *, language: str = "nl"
    ) -> Verification:
        """Synchronous :meth:`verify` (the heuristic never waits on anything)."""
        claims = split_claims(answer, language, split_clauses=self.split_clauses)
        return self._verify(claims, contexts, language)

    def _verify(self, claims: list[str], contexts: list[str], language: str) -> Verification:
        self.calls += 1
        passages = [_prepare(c) for c in contexts if c and c.strip()]
        index = [i for i, c in enumerate(contexts) if c and c.strip()]
        verdicts = []
        for claim in claims:
            v = self.judge(claim, passages, language=language)
            if v.evidence_index is not None:
                v = v.model_copy(update={"evidence_index": index[v.evidence_index]})
            verdicts.append(v)
        return Verification(claims=verdicts, judge=self.id, prompt_version=self.prompt_version)

    def _cache_get(self, key: tuple[Any, ...]) -> Verification | None:
        if not self.cache_size:
            return None
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit.model_copy(update={"cached": True})
        return None

    def _cache_put(self, key: tuple[Any, ...], value: Verification) -> None:
        if not self.cache_size:
            return
        self._cache[key] = value
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    async def aclose(self) -> None:
        """Nothing to release."""
        self._cache.clear()
