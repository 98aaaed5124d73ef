"""Retrieval for the demo bot: BM25, dense, hybrid fusion and an optional reranker.

Every retriever returns ranked ``(passage index, score)`` lists. Hybrid retrieval fuses the BM25
and dense rankings by reciprocal rank fusion (default) or by a weighted sum of min-max
normalised scores. The reranker re-scores the first-stage candidates: offline it uses the
embedding model itself (the best match between the query and any single sentence of the
passage, blended with the first-stage score); with a cross-encoder configured, that model's
relevance score takes the place of the sentence match.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from ragwacht._env import offline_model_env
from ragwacht.demo.bm25 import BM25Index
from ragwacht.demo.corpus import Passage
from ragwacht.embeddings import EmbeddingCache
from ragwacht.errors import ConfigError, MissingDependencyError

log = logging.getLogger(__name__)

RetrievalMode = Literal["bm25", "dense", "hybrid"]
FusionMethod = Literal["rrf", "score"]


def rrf_fuse(rankings: Sequence[Sequence[int]], *, k: int = 60) -> list[tuple[int, float]]:
    """Reciprocal rank fusion: ``score(d) = sum over rankings of 1 / (k + rank(d))``.

    Args:
        rankings: Each a list of item ids, best first (rank 1 is the first element).
        k: Damping constant; 60 is the value of Cormack et al. (2009).

    Returns:
        ``(id, fused score)`` best first; ties keep the order of first appearance.

    """
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, 1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda kv: -kv[1])


def minmax(scores: np.ndarray) -> np.ndarray:
    """Scale ``scores`` to [0, 1]; all-equal scores become all zeros (no information)."""
    s = np.asarray(scores, dtype=np.float64)
    if s.size == 0:
        return s
    lo, hi = float(s.min()), float(s.max())
    if hi - lo <= 1e-12:
        return np.zeros_like(s)
    return (s - lo) / (hi - lo)


def score_fuse(
    score_lists: Sequence[np.ndarray], weights: Sequence[float]
) -> list[tuple[int, float]]:
    """Weighted sum of min-max normalised score vectors over the same items.

    Returns:
        ``(index, fused score)`` for every item, best first (stable on ties).

    """
    if len(score_lists) != len(weights):
        raise ValueError("one weight per score list")
    total = np.zeros_like(np.asarray(score_lists[0], dtype=np.float64))
    for s, w in zip(score_lists, weights, strict=True):
        total += w * minmax(s)
    order = np.argsort(-total, kind="stable")
    return [(int(i), float(total[i])) for i in order]


class Reranker(Protocol):
    """Re-scores first-stage candidates."""

    name: str

    def rerank(
        self, query: str, query_vec: np.ndarray, candidates: Sequence[tuple[int, float]]
    ) -> list[tuple[int, float]]:
        """``candidates`` as ``(passage index, first-stage score)``; returns them re-scored."""
        ...


@dataclass
class Hit:
    """One retrieved passage."""

    index: int
    score: float
    # Cosine of the query and the passage, kept for the refusal decision.
    dense: float


@dataclass(frozen=True)
class RerankWeights:
    """Weights of the embedding reranker's evidence (each min-max normalised over candidates).

    The defaults were tuned on the ``registers-demo`` golden set: lexical evidence weighs most
    on this terminology-heavy Dutch corpus, passage and best-sentence similarity break ties
    between passages that share the terms. The first-stage score only picks the candidates.
    """

    first_stage: float = 0.0
    lexical: float = 1.0
    passage: float = 0.5
    sentence: float = 0.5


class EmbeddingReranker:
    """Re-scores candidates with lexical, passage and sentence-level evidence (works offline).

    The sentence feature is the best cosine between the query and any single sentence of the
    passage: a passage holding one sentence squarely about the question beats one that is only
    broadly on topic. BM25 and the passage cosine are recomputed for every candidate, so the
    reranker sees both kinds of evidence whichever first stage found the candidates.

    Args:
        bm25: The lexical index.
        passage_vecs: Passage vectors (rows match passage indices).
        sentence_vecs: Matrix of all sentence vectors.
        sentence_owner: Passage index of each sentence row.
        weights: How the evidence is blended.

    """

    name = "embedding"

    def __init__(
        self,
        bm25: BM25Index,
        passage_vecs: np.ndarray,
        sentence_vecs: np.ndarray,
        sentence_owner: np.ndarray,
        *,
        weights: RerankWeights | None = None,
    ) -> None:
        self.weights = weights or RerankWeights()
        self._bm25 = bm25
        self._passage_vecs = passage_vecs
        self._vecs = sentence_vecs
        rows: dict[int, list[int]] = {}
        for row, owner in enumerate(sentence_owner.tolist()):
            rows.setdefault(int(owner), []).append(row)
        self._rows = {k: np.asarray(v, dtype=np.int64) for k, v in rows.items()}

    def max_sim(self, query_vec: np.ndarray, index: int) -> float:
        """Highest cosine between the query and any sentence of passage ``index``."""
        rows = self._rows.get(index)
        if rows is None or not len(rows):
            return 0.0
        return float((self._vecs[rows] @ query_vec).max())

    def rerank(
        self, query: str, query_vec: np.ndarray, candidates: Sequence[tuple[int, float]]
    ) -> list[tuple[int, float]]:
        """The candidates re-scored by the weighted evidence, best first."""
        if not candidates:
            return []
        w = self.weights
        idx = [i for i, _ in candidates]
        first = np.array([s for _, s in candidates])
        lexical = self._bm25.scores(query)[idx]
        passage = self._passage_vecs[idx] @ query_vec
        sentence = np.array([self.max_sim(query_vec, i) for i in idx])
        blended = (
            w.first_stage * minmax(first)
            + w.lexical * minmax(lexical)
            + w.passage * minmax(passage)
            + w.sentence * minmax(sentence)
        )
        order = np.argsort(-blended, kind="stable")
        return [(idx[j], float(blended[j])) for j in order]


class CrossEncoderReranker:
    """A sentence-transformers ``CrossEncoder`` by hub name (local cache) or local path.

    Args:
        name_or_path: The model.
        passages: The corpus (the reranker reads passage texts).
        alpha: Weight of the cross-encoder score (min-max over candidates) in the blend.

    """

    def __init__(
        self, name_or_path: str, passages: Sequence[Passage], *, alpha: float = 0.8
    ) -> None:
        offline_model_env()
        try:
            from sentence_transformers import CrossEncoder  # lazy: heavy (torch)
        except ImportError as exc:  # pragma: no cover - a core dependency
            raise MissingDependencyError(
                "sentence-transformers", purpose="a cross-encoder reranker"
            ) from exc
        try:
            self._model = CrossEncoder(name_or_path, device="cpu")
        except Exception as exc:
            raise ConfigError(
                f"cannot load reranker {name_or_path!r}: {exc}",
                field="reranker",
                hint="use a local model path, or 'embedding' (the offline reranker)",
            ) from None
        self.name = f"cross-encoder:{name_or_path}"
        self.alpha = alpha
        self._texts = [p.text for p in passages]
        self._lock = threading.Lock()

    def rerank(
        self, query: str, query_vec: np.ndarray, candidates: Sequence[tuple[int, float]]
    ) -> list[tuple[int, float]]:
        """Blend of cross-encoder relevance and first-stage score."""
        if not candidates:
            return []
        idx = [i for i, _ in candidates]
        with self._lock:
            ce = np.asarray(
                self._model.predict([(query, self._texts[i]) for i in idx]), dtype=np.float64
            ).reshape(len(idx), -1)[:, -1]
        first = np.array([s for _, s in candidates])
        blended = self.alpha * minmax(ce) + (1.0 - self.alpha) * minmax(first)
        order = np.argsort(-blended, kind="stable")
        return [(idx[j], float(blended[j])) for j in order]


class Retriever:
    """BM25 + dense retrieval over one corpus, fused and optionally reranked.

    Args:
        passages: The corpus.
        cache: Embedding cache (and embedder) for passages and sentences.
        bm25: A BM25 index over the passages (title + text).
        fusion: ``rrf`` or ``score`` (weighted min-max sum) for hybrid retrieval.
        rrf_k: RRF damping constant.
        dense_weight: Weight of the dense scores in ``score`` fusion.
        candidates: How many first-stage candidates the reranker sees.
        reranker: The reranker used when a request asks for one.

    """

    def __init__(
        self,
        passages: Sequence[Passage],
        cache: EmbeddingCache,
        bm25: BM25Index,
        *,
        passage_vecs: np.ndarray,
        fusion: FusionMethod = "rrf",
        rrf_k: int = 60,
        dense_weight: float = 0.5,
        candidates: int = 20,
        reranker: Reranker | None = None,
    ) -> None:
        self.passages = list(passages)
        self.cache = cache
        self.bm25 = bm25
        self.passage_vecs = passage_vecs
        self.fusion: FusionMethod = fusion
        self.rrf_k = rrf_k
        self.dense_weight = dense_weight
        self.candidates = candidates
        self.reranker = reranker

    def first_stage(
        self, query: str, query_vec: np.ndarray, mode: RetrievalMode
    ) -> list[tuple[int, float]]:
        """Every passage ranked by the chosen retriever, ``(index, score)`` best first.

        BM25 lists only passages sharing a term with the query; dense and hybrid rank all.
        """
        if mode == "bm25":
            s = self.bm25.scores(query)
            order = np.argsort(-s, kind="stable")
            return [(int(i), float(s[i])) for i in order if s[i] > 0]
        dense = self.passage_vecs @ query_vec
        if mode == "dense":
            order = np.argsort(-dense, kind="stable")
            return [(int(i), float(dense[i])) for i in order]
        lexical = self.bm25.scores(query)
        if self.fusion == "score":
            return score_fuse([lexical, dense], [1.0 - self.dense_weight, self.dense_weight])
        bm25_rank = [int(i) for i in np.argsort(-lexical, kind="stable") if lexical[i] > 0]
        dense_rank = [int(i) for i in np.argsort(-dense, kind="stable")]
        return rrf_fuse([bm25_rank, dense_rank], k=self.rrf_k)

    def search(
        self,
        query: str,
        query_vec: np.ndarray,
        *,
        mode: RetrievalMode = "hybrid",
        top_k: int = 5,
        rerank: bool = False,
    ) -> list[Hit]:
        """The ``top_k`` passages for ``query``, best first."""
        ranked = self.first_stage(query, query_vec, mode)
        if rerank and self.reranker is not None and ranked:
            depth = max(self.candidates, top_k)
            head = self.reranker.rerank(query, query_vec, ranked[:depth])
            ranked = head + ranked[depth:]
        dense = self.passage_vecs @ query_vec if len(self.passage_vecs) else np.zeros(0)
        return [Hit(index=i, score=s, dense=float(dense[i])) for i, s in ranked[:top_k]]
