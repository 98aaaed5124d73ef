"""Claim features for the ``learned`` verifier: cheap, deterministic, no download.

Every feature compares one claim with the passages it must be checked against. The best
passage *unit* is the sentence, or the clause within a sentence, that holds most of the claim's
content words (Dutch compounds matched inside each other); word order, negation and numbers are
compared with that unit, novelty with everything retrieved. An optional embedding similarity
(the packaged multilingual-e5-small, :mod:`ragwacht.embeddings`) sees paraphrase the word
counts miss.

Names and order are part of the model file: a model states the features it was trained on and
:func:`feature_vector` returns them in that order.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from ragwacht.metrics import _text
from ragwacht.metrics.claims import split_sentences

#: The word-count features, in model order; ``emb_sim`` and ``llm_p`` are added when used.
BASE_FEATURES = (
    "cov_sentence",
    "cov_clause",
    "cov_all",
    "novel_words",
    "claim_words",
    "entity_missing",
    "number_missing",
    "number_conflict",
    "negation_mismatch",
    "bigram_order",
    "connective_new",
    "cov_passage",
    "lexical_ok",
)
EMBEDDING_FEATURE = "emb_sim"
LLM_FEATURE = "llm_p"

_MIN_PART = 4
_NOVEL_CAP = 5
# Words that state a conclusion or a cause: a claim that adds one the passage lacks is often
# an inference the passage does not make.
CONNECTIVES = frozenset(
    [
        "daarom",
        "dus",
        "daardoor",
        "hierdoor",
        "hieruit",
        "daaruit",
        "betekent",
        "betekend",
        "omdat",
        "doordat",
        "zodat",
        "therefore",
        "thus",
        "hence",
        "because",
        "consequently",
        "means",
        "so",
    ]
)
# Small numbers are often written out; a swap of "twee" for "drie" is a number swap too.
NUMBER_WORDS = {
    w: str(i)
    for i, ws in enumerate(
        [
            (),
            ("één", "een-", "one"),
            ("twee", "two"),
            ("drie", "three"),
            ("vier", "four"),
            ("vijf", "five"),
            ("zes", "six"),
            ("zeven", "seven"),
            ("acht", "eight"),
            ("negen", "nine"),
            ("tien", "ten"),
            ("elf", "eleven"),
            ("twaalf", "twelve"),
        ]
    )
    for w in ws
}
CONFLICT_COVERAGE = 0.6
_CLAUSE = re.compile(r"\s*(?:[,;:]|\s-\s|\s–\s)\s*|\s+(?=(?:maar|want|terwijl|waarna|but|while)\s)")
_ENTITY = re.compile(r"(?<![\w-])[A-Z][\w-]*|\b\w*\d\w*\b")


@dataclass(frozen=True)
class Unit:
    """A sentence or clause of a passage, prepared for matching."""

    text: str
    words: frozenset[str]
    order: tuple[str, ...]
    numbers: frozenset[str]
    negated: bool


@dataclass(frozen=True)
class Passage:
    """A context prepared once: its words, numbers, entity tokens, sentences and clauses."""

    text: str
    words: frozenset[str]
    numbers: frozenset[str]
    entities: frozenset[str]
    sentences: tuple[Unit, ...]
    clauses: tuple[tuple[Unit, ...], ...]


def numbers(text: str) -> frozenset[str]:
    """Numbers and dates as :func:`ragwacht.metrics._text.numbers`, plus written-out ones."""
    spelled = {NUMBER_WORDS[w] for w in re.findall(r"[^\W\d_]+", text.lower()) if w in NUMBER_WORDS}
    return _text.numbers(text) | spelled


def conflict(values: dict[str, float]) -> bool:
    """A number or negation disagrees with the sentence that holds most of the claim's words."""
    return values.get("cov_sentence", 0.0) >= CONFLICT_COVERAGE and (
        values.get("number_conflict", 0.0) > 0.5 or values.get("negation_mismatch", 0.0) > 0.5
    )


def _content_and_negated(text: str) -> tuple[tuple[str, ...], bool]:
    """:func:`_text.content_words` and :func:`_text.negated` from one folding of ``text``.

    Folding is most of the cost of a feature vector; the rules are the same as there.
    """
    ws = _text.words(text)
    content = tuple(
        _text.stem(w)
        for w in ws
        if w not in _text.STOPWORDS and w not in _text.NEGATIONS and not w.isdigit() and len(w) > 1
    )
    return content, sum(1 for w in ws if w in _text.NEGATIONS) % 2 == 1


def _unit(text: str) -> Unit:
    order, neg = _content_and_negated(text)
    return Unit(text, frozenset(order), order, numbers(text), neg)


def entities(text: str) -> frozenset[str]:
    """Folded capitalised words and tokens with digits that are not sentence-initial."""
    out = set()
    for sent in split_sentences(text) or [text]:
        for m in _ENTITY.finditer(sent):
            if m.start() == 0 or sent[: m.start()].rstrip().endswith((":", "(", '"')):
                continue
            out.add(_text.fold(m.group(0)))
    return frozenset(out)


def prepare(text: str) -> Passage:
    """Split one context into sentences and clauses and index its words."""
    sents = split_sentences(text) or [text]
    units = tuple(_unit(s) for s in sents)
    clauses = []
    for s, u in zip(sents, units, strict=True):
        parts = [c for c in _CLAUSE.split(s) if c and len(c.split()) >= 2]
        clauses.append(tuple(_unit(c) for c in parts) if len(parts) > 1 else (u,))
    # Every word, folded, hyphenated ones whole: where a claim's names are looked up.
    folded_words = frozenset(re.findall(r"[\w-]+", _text.fold(text)))
    words: frozenset[str] = frozenset().union(*(u.words for u in units))
    return Passage(text, words, numbers(text), folded_words, units, tuple(clauses))


class PassageCache:
    """Prepared passages by text (a bot retrieves the same passages for many questions)."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._items: OrderedDict[str, Passage] = OrderedDict()

    def get(self, text: str) -> Passage:
        """The prepared passage for ``text``."""
        hit = self._items.get(text)
        if hit is None:
            hit = prepare(text)
            self._items[text] = hit
            if len(self._items) > self.size:
                self._items.popitem(last=False)
        else:
            self._items.move_to_end(text)
        return hit


def _coverage(words: frozenset[str], pool: frozenset[str], compounds: bool) -> float:
    if not words:
        return 0.0
    hits = len(words & pool)
    if compounds and hits < len(words):
        for w in words - pool:
            if len(w) >= _MIN_PART and any(
                (w in pw) or (len(pw) >= _MIN_PART and pw in w) for pw in pool
            ):
                hits += 1
    return hits / len(words)


def _bigram_order(order: Sequence[str], unit: Unit) -> float:
    """Share of the claim's consecutive content-word pairs that occur in that order in the unit.

    A role swap (``A verwerkt B`` -> ``B verwerkt A``) keeps every word and breaks this.
    """
    pairs = [(a, b) for a, b in itertools.pairwise(order) if a != b]
    if not pairs:
        return 1.0
    pos: dict[str, list[int]] = {}
    for i, w in enumerate(unit.order):
        pos.setdefault(w, []).append(i)
    ok = 0
    for a, b in pairs:
        pa, pb = pos.get(a), pos.get(b)
        if pa and pb and min(pa) < max(pb):
            ok += 1
    return ok / len(pairs)


@dataclass(frozen=True)
class ClaimFeatures:
    """The features of one claim and the unit that best matches it."""

    values: dict[str, float]
    best_sentence: str | None
    best_index: int | None
    explicit_conflict: bool
    """A number or negation that disagrees with a unit holding most of the claim's words."""


def claim_features(
    claim: str, passages: Sequence[Passage], *, compounds: bool = False
) -> ClaimFeatures:
    """Word-count features of ``claim`` against prepared ``passages`` (see the module doc)."""
    order, neg = _content_and_negated(claim)
    words = frozenset(order)
    nums = numbers(claim)
    all_words: frozenset[str] = frozenset().union(*(p.words for p in passages))
    all_nums: frozenset[str] = frozenset().union(*(p.numbers for p in passages))
    all_ents: frozenset[str] = frozenset().union(*(p.entities for p in passages))
    best_s: tuple[float, int, int] | None = None  # coverage, passage, sentence
    for pi, p in enumerate(passages):
        for si, u in enumerate(p.sentences):
            c = _coverage(words, u.words, compounds) + 0.01 * len(nums & u.numbers)
            if best_s is None or c > best_s[0]:
                best_s = (c, pi, si)
    if best_s is None:
        values = dict.fromkeys(BASE_FEATURES, 0.0)
        values["novel_words"] = min(len(words), _NOVEL_CAP) / _NOVEL_CAP
        values["claim_words"] = math.log1p(len(words))
        values["number_missing"] = float(bool(nums))
        return ClaimFeatures(values, None, None, False)
    _, pi, si = best_s
    sent = passages[pi].sentences[si]
    cov_sent = _coverage(words, sent.words, compounds)
    clause = max(
        passages[pi].clauses[si],
        key=lambda u: (_coverage(words, u.words, compounds), -len(u.words)),
    )
    cov_clause = _coverage(words, clause.words, compounds)
    cov_all = _coverage(words, all_words, compounds)
    novel = len(words) - round(cov_all * len(words))
    claim_ents = entities(claim)
    ent_missing = (
        sum(1 for e in claim_ents if e not in all_ents) / len(claim_ents) if claim_ents else 0.0
    )
    num_missing = bool(nums - all_nums)
    num_conflict = bool(nums - sent.numbers) and bool(sent.numbers - nums)
    neg_mismatch = neg != sent.negated and neg != clause.negated
    # Lexical's own rule (one passage holds 80% of the words and all numbers, same polarity).
    per_passage = [_coverage(words, p.words, compounds) for p in passages]
    cov_passage = max(per_passage)
    lexical_ok = any(
        c >= 0.8 and nums <= p.numbers for c, p in zip(per_passage, passages, strict=True)
    ) and (neg == sent.negated)
    claim_conn = {w for w in _text.words(claim) if w in CONNECTIVES}
    sent_conn = {w for w in _text.words(sent.text) if w in CONNECTIVES}
    values = {
        "cov_sentence": cov_sent,
        "cov_clause": cov_clause,
        "cov_all": cov_all,
        "novel_words": min(novel, _NOVEL_CAP) / _NOVEL_CAP,
        "claim_words": math.log1p(len(words)),
        "entity_missing": ent_missing,
        "number_missing": float(num_missing),
        "number_conflict": float(num_conflict),
        "negation_mismatch": float(neg_mismatch),
        "bigram_order": _bigram_order(order, sent),
        "connective_new": float(bool(claim_conn - sent_conn)),
        "cov_passage": cov_passage,
        "lexical_ok": float(lexical_ok),
    }
    return ClaimFeatures(values, sent.text, pi, conflict(values))


def feature_vector(values: dict[str, float], names: Sequence[str]) -> list[float]:
    """The values of ``names`` in order (a missing optional feature is an error upstream)."""
    return [float(values[n]) for n in names]
