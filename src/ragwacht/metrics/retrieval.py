"""Retrieval metrics with trec_eval's conventions: recall, precision, hit, MRR, nDCG, MAP.

The pure functions take ``(ranked_ids, qrels, k)``: the ranking in trec_eval order (see
:func:`trec_order`), the graded judgements (``doc_id -> grade``; relevant iff grade >= the
relevance threshold, 1 by default) and an optional cutoff. They agree with trec_eval to full
precision:

* ranking: score descending, ties broken by doc id **descending**;
* ``precision@k`` divides by ``k`` even when fewer documents came back;
* ``recall@k`` divides by all judged-relevant documents;
* reciprocal rank has no cutoff unless one is given;
* nDCG uses the grade as linear gain, ``log2(rank + 1)`` discount, and the ideal ranking of
  all judged grades;
* MAP is uncut; with ``k`` it is AP over the top ``k`` with every relevant document in the
  denominator (what ``trec_eval -M k`` computes).

Where trec_eval scores a query with no relevant document as 0, these functions return
``None``: such a query says nothing about the retriever, and not scorable is never 0.

On a response (:func:`rank_response`), the order is the endpoint's own when every context
carries a rank (mapped from the response, or its position in the returned list): that is the
order the bot used and its user saw, so hit@1, MRR, nDCG and MAP describe it even where
scores tie (fused rankings such as RRF tie often). Contexts without ranks are ordered by
trec_eval's rule. Every result names the order in ``details["order"]``; the option
``order: trec_eval`` applies trec_eval's rule to ranked contexts too.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

from ragwacht.datasets.models import GoldContext
from ragwacht.errors import ConfigError
from ragwacht.metrics import _text
from ragwacht.metrics.base import Metric, ScoreInput, register
from ragwacht.records import MetricResult, RetrievedContext

Qrels = Mapping[str, int]
NO_RELEVANT = "no relevant gold documents"


# -- ranking -------------------------------------------------------------------------------------


def trec_order(docs: Iterable[tuple[str, float | None]]) -> list[str]:
    """Order ``(doc_id, score)`` pairs as trec_eval does.

    When every document has a score: score descending, ties by doc id descending. When any
    score is missing the given order is kept (it is the rank order the system returned).
    Repeated doc ids (several chunks of one document) keep their first, best-ranked place.

    Args:
        docs: ``(doc_id, score)`` in the order the system returned them.

    Returns:
        Unique doc ids, best first.

    """
    items = list(docs)
    if items and all(s is not None for _, s in items):
        # Two stable sorts: doc id descending, then score descending, so ties keep id order.
        items.sort(key=lambda t: t[0], reverse=True)
        items.sort(key=lambda t: t[1], reverse=True)  # type: ignore[arg-type,return-value]
    seen: set[str] = set()
    out: list[str] = []
    for doc_id, _ in items:
        if doc_id not in seen:
            seen.add(doc_id)
            out.append(doc_id)
    return out


def _relevant(qrels: Qrels, threshold: int) -> set[str]:
    return {d for d, g in qrels.items() if g >= threshold}


def _cut(ranked: Sequence[str], k: int | None) -> Sequence[str]:
    return ranked if k is None else ranked[:k]


# -- pure measures -------------------------------------------------------------------------------


def recall(
    ranked: Sequence[str], qrels: Qrels, k: int | None = None, *, threshold: int = 1
) -> float | None:
    """Relevant documents in the top ``k`` / all relevant documents (trec_eval ``recall_k``)."""
    rel = _relevant(qrels, threshold)
    if not rel:
        return None
    return sum(1 for d in _cut(ranked, k) if d in rel) / len(rel)


def precision(
    ranked: Sequence[str], qrels: Qrels, k: int | None = None, *, threshold: int = 1
) -> float | None:
    """Relevant documents in the top ``k`` / ``k`` (trec_eval ``P_k``).

    Without ``k``: relevant retrieved / retrieved (trec_eval ``set_P``); 0 when nothing came back.
    """
    rel = _relevant(qrels, threshold)
    if not rel:
        return None
    hits = sum(1 for d in _cut(ranked, k) if d in rel)
    if k is not None:
        return hits / k
    return hits / len(ranked) if ranked else 0.0


def hit(
    ranked: Sequence[str], qrels: Qrels, k: int | None = None, *, threshold: int = 1
) -> float | None:
    """1 when a relevant document is in the top ``k`` (trec_eval ``success_k``), else 0."""
    rel = _relevant(qrels, threshold)
    if not rel:
        return None
    return 1.0 if any(d in rel for d in _cut(ranked, k)) else 0.0


def reciprocal_rank(
    ranked: Sequence[str], qrels: Qrels, k: int | None = None, *, threshold: int = 1
) -> float | None:
    """1 / rank of the first relevant document (trec_eval ``recip_rank``; no cutoff by default)."""
    rel = _relevant(qrels, threshold)
    if not rel:
        return None
    for i, d in enumerate(_cut(ranked, k), start=1):
        if d in rel:
            return 1.0 / i
    return 0.0


def average_precision(
    ranked: Sequence[str], qrels: Qrels, k: int | None = None, *, threshold: int = 1
) -> float | None:
    """Mean of precision at each relevant rank, over all relevant documents (trec_eval ``map``)."""
    rel = _relevant(qrels, threshold)
    if not rel:
        return None
    hits = 0
    total = 0.0
    for i, d in enumerate(_cut(ranked, k), start=1):
        if d in rel:
            hits += 1
            total += hits / i
    return total / len(rel)


def r_precision(ranked: Sequence[str], qrels: Qrels, *, threshold: int = 1) -> float | None:
    """Precision at rank R, R = number of relevant documents (trec_eval ``Rprec``)."""
    rel = _relevant(qrels, threshold)
    if not rel:
        return None
    return sum(1 for d in ranked[: len(rel)] if d in rel) / len(rel)


def ndcg(
    ranked: Sequence[str], qrels: Qrels, k: int | None = None, *, threshold: int = 1
) -> float | None:
    """Normalized DCG with the grade as linear gain (trec_eval ``ndcg`` / ``ndcg_cut_k``).

    Gains are the judged grades (unjudged and non-positive grades gain 0); the ideal ranking
    sorts all positive judged grades, cut at ``k`` like the ranking.
    """
    if not _relevant(qrels, threshold):
        return None
    dcg = sum(
        max(qrels.get(d, 0), 0) / math.log2(i + 1) for i, d in enumerate(_cut(ranked, k), start=1)
    )
    ideal_gains = sorted((g for g in qrels.values() if g > 0), reverse=True)
    if k is not None:
        ideal_gains = ideal_gains[:k]
    idcg = sum(g / math.log2(i + 1) for i, g in enumerate(ideal_gains, start=1))
    return dcg / idcg if idcg > 0 else 0.0


MEASURES = {
    "recall": recall,
    "precision": precision,
    "hit": hit,
    "mrr": reciprocal_rank,
    "ndcg": ndcg,
    "map": average_precision,
}


# -- from a response to a ranking -----------------------------------------------------------------


def _overlap(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


def match_text(
    text: str, gold: Sequence[GoldContext], *, min_overlap: float = 0.8
) -> tuple[str | None, float]:
    """The gold doc id whose text matches a retrieved passage, and how well.

    A match is normalized containment either way (a chunk inside the gold passage or the gold
    passage inside a longer chunk) or a content-word overlap coefficient of at least
    ``min_overlap``; the best-overlapping gold passage wins.

    Returns:
        ``(doc_id, overlap)``; ``doc_id`` is None when nothing matches.

    """
    norm = _text.normalize(text)
    words = _text.content_set(text)
    best: tuple[str | None, float] = (None, 0.0)
    for g in gold:
        if not g.text:
            continue
        gnorm = _text.normalize(g.text)
        if norm and gnorm and (norm in gnorm or gnorm in norm):
            score = 1.0
        else:
            score = _overlap(words, _text.content_set(g.text))
        if score >= min_overlap and score > best[1]:
            best = (g.doc_id, score)
    return best


ORDERS = ("auto", "endpoint", "trec_eval")


def rank_response(
    contexts: Sequence[RetrievedContext],
    gold: Sequence[GoldContext],
    *,
    min_overlap: float = 0.8,
    order: str = "auto",
) -> tuple[list[str], str, int, str]:
    """The ranking of a response's contexts, with doc ids found by text if needed.

    Contexts without a doc id are matched against the gold passages' text; unmatched ones get
    a placeholder id that no judgement names.

    Args:
        contexts: The retrieved contexts as returned.
        gold: The case's gold contexts (for matching by text).
        min_overlap: Content-word overlap needed to match a passage by text.
        order: ``auto`` (the endpoint's rank order when every context has a rank, else
            trec_eval's), ``endpoint`` (rank, then position) or ``trec_eval`` (score
            descending, ties by doc id descending, where every context has a score).

    Returns:
        ``(ranked_ids, matched_by, text_matches, order_used)`` with ``matched_by`` ``"id"``
        when every context carried a doc id, else ``"text"``, and ``order_used``
        ``"endpoint"`` or ``"trec_eval"``.

    """
    if order not in ORDERS:
        raise ConfigError(f"unknown retrieval order {order!r}", field="order")
    ordered = sorted(
        enumerate(contexts),
        key=lambda t: (t[1].rank if t[1].rank is not None else math.inf, t[0]),
    )
    pairs: list[tuple[str, float | None]] = []
    matched_by = "id"
    text_matches = 0
    for pos, ctx in ordered:
        doc_id = ctx.doc_id
        if not doc_id:
            matched_by = "text"
            doc_id, _ = match_text(ctx.text, gold, min_overlap=min_overlap)
            if doc_id is None:
                doc_id = f"\x00unmatched-{pos}"
            else:
                text_matches += 1
        pairs.append((doc_id, ctx.score))
    ranked_by_endpoint = bool(contexts) and all(c.rank is not None for c in contexts)
    use_endpoint = order == "endpoint" or (order == "auto" and ranked_by_endpoint)
    if use_endpoint or not all(s is not None for _, s in pairs):
        # trec_order keeps the given order when a score is missing: that is the endpoint's.
        return trec_order((d, None) for d, _ in pairs), matched_by, text_matches, "endpoint"
    return trec_order(pairs), matched_by, text_matches, "trec_eval"


# -- metric classes -----------------------------------------------------------------------------


class RetrievalMetric(Metric):
    """Common ground of the retrieval metrics: options, ranking and not-scored reasons.

    Options:
        k: cutoff (set by the name, ``recall@5``); None means the whole ranking.
        relevance_threshold: minimum grade that counts as relevant (default 1).
        min_text_overlap: content-word overlap needed to match a passage by text (default 0.8).
        empty_is_zero: score an empty retrieval as a miss instead of not scored (default False:
            many endpoints simply do not report their contexts).
        order: ``auto`` (default: the endpoint's order when its contexts carry ranks, else
            trec_eval's tie rule), ``endpoint`` or ``trec_eval``; see :func:`rank_response`.
    """

    requires: ClassVar[frozenset[str]] = frozenset({"gold_contexts"})
    measure: ClassVar[str] = ""
    cutoff_allowed: ClassVar[bool] = True

    def __init__(
        self,
        k: int | None = None,
        relevance_threshold: int = 1,
        min_text_overlap: float = 0.8,
        empty_is_zero: bool = False,
        order: str = "auto",
        **options: Any,
    ) -> None:
        if options:
            raise TypeError(f"unknown option(s): {', '.join(sorted(options))}")
        if k is not None and (not isinstance(k, int) or k < 1):
            raise ConfigError(f"{self.name}: k must be a positive integer, got {k!r}", field="k")
        if not 0.0 < float(min_text_overlap) <= 1.0:
            raise ConfigError(
                f"{self.name}: min_text_overlap must be in (0, 1]", field="min_text_overlap"
            )
        if order not in ORDERS:
            raise ConfigError(
                f"{self.name}: order must be one of {', '.join(ORDERS)}, got {order!r}",
                field="order",
            )
        super().__init__(
            k=k,
            relevance_threshold=relevance_threshold,
            min_text_overlap=min_text_overlap,
            empty_is_zero=empty_is_zero,
            order=order,
        )
        self.order = order
        self.k = k
        self.threshold = int(relevance_threshold)
        self.min_text_overlap = float(min_text_overlap)
        self.empty_is_zero = bool(empty_is_zero)

    @property
    def id(self) -> str:
        """``name@k`` when a cutoff is set."""
        return f"{self.name}@{self.k}" if self.k is not None else self.name

    def score(self, item: ScoreInput) -> MetricResult:
        """Rank the response's contexts and apply the measure against the gold judgements."""
        case, resp = item.case, item.response
        if resp.error is not None:
            return self.not_scored(f"endpoint error: {resp.error_kind or 'error'}")
        qrels: dict[str, int] = {}
        for g in case.gold_contexts:
            qrels[g.doc_id] = max(qrels.get(g.doc_id, 0), g.relevance)
        if not qrels or not _relevant(qrels, self.threshold):
            return self.not_scored(NO_RELEVANT)
        if not resp.contexts and not self.empty_is_zero:
            return self.not_scored("no retrieved contexts")
        needs_text = any(not c.doc_id for c in resp.contexts)
        if needs_text and not any(g.text for g in case.gold_contexts):
            return self.not_scored(
                "retrieved contexts have no doc ids and the gold contexts have no text to match"
            )
        ranked, matched_by, text_matches, order_used = rank_response(
            resp.contexts, case.gold_contexts, min_overlap=self.min_text_overlap, order=self.order
        )
        value = MEASURES[self.measure](ranked, qrels, self.k, threshold=self.threshold)
        if value is None:  # pragma: no cover - guarded above
            return self.not_scored(NO_RELEVANT)
        rel = _relevant(qrels, self.threshold)
        details: dict[str, Any] = {
            "matched_by": matched_by,
            "order": order_used,
            "ranked_ids": [d for d in ranked if not d.startswith("\x00")][:50],
            "relevant_ids": sorted(rel),
            "retrieved_relevant": [d for d in _cut(ranked, self.k) if d in rel],
            "k": self.k,
        }
        if matched_by == "text":
            details["text_matches"] = text_matches
        return self.result(value, details=details)


@register
class Recall(RetrievalMetric):
    """Share of the relevant gold documents among the top-k retrieved."""

    name = "recall"
    measure = "recall"
    description = "relevant gold documents in the top k / all relevant gold documents"


@register
class Precision(RetrievalMetric):
    """Share of the top-k slots filled with a relevant document (divides by k)."""

    name = "precision"
    measure = "precision"
    description = "relevant documents in the top k / k"


@register
class Hit(RetrievalMetric):
    """Whether any relevant document made the top k."""

    name = "hit"
    measure = "hit"
    description = "1 when a relevant document is in the top k"


@register
class MRR(RetrievalMetric):
    """Reciprocal rank of the first relevant document (no cutoff unless ``mrr@k``)."""

    name = "mrr"
    measure = "mrr"
    description = "1 / rank of the first relevant document; mean over cases is MRR"


@register
class NDCG(RetrievalMetric):
    """nDCG with graded relevance as linear gain."""

    name = "ndcg"
    measure = "ndcg"
    description = "normalized discounted cumulative gain, grade as linear gain"


@register
class MAP(RetrievalMetric):
    """Average precision (uncut; ``map@k`` as ``trec_eval -M k``); mean over cases is MAP."""

    name = "map"
    measure = "map"
    description = "average precision over all relevant documents; mean over cases is MAP"
