"""Okapi BM25 over the demo corpus, with optional Dutch compound splitting.

Score of document ``d`` for query ``q`` (each distinct query term counted once)::

    sum over t in q:  idf(t) * tf(t, d) * (k1 + 1) / (tf(t, d) + k1 * (1 - b + b * |d| / avgdl))
    idf(t) = ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5))

This is the Lucene form of the Robertson/Sparck Jones idf, which never goes negative.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np

from ragwacht.demo.text import tokenize

Tokenizer = Callable[[str], list[str]]

# Dutch compounds glue parts together, sometimes with a linking "s" or "e(n)"
# ("bestemmingsplan", "huizenprijs"); parts shorter than this are not trusted as words.
_MIN_PART = 4
_LINKERS = ("", "s", "e", "en")


class BM25Index:
    """An in-memory BM25 index.

    Args:
        docs: Document texts, indexed by position.
        k1: Term-frequency saturation.
        b: Length normalisation (0 = none, 1 = full).
        tokenizer: Text -> tokens; :func:`ragwacht.demo.text.tokenize` when None.
        compounds: Also index (and query) the parts of compound words whose parts are
            themselves corpus words, so ``grondgebied`` matches ``gebied``.

    """

    def __init__(
        self,
        docs: Sequence[str],
        *,
        k1: float = 1.5,
        b: float = 0.75,
        tokenizer: Tokenizer | None = None,
        compounds: bool = False,
    ) -> None:
        self.k1 = k1
        self.b = b
        self._tokenize: Tokenizer = tokenizer or tokenize
        self.compounds = compounds
        base = [self._tokenize(d) for d in docs]
        self.vocabulary: frozenset[str] = frozenset(t for toks in base for t in toks)
        self._split_cache: dict[str, list[str]] = {}
        self.doc_tokens: list[list[str]] = [self._expand(toks) for toks in base]
        self.n_docs = len(self.doc_tokens)
        self.doc_len = np.array([len(t) for t in self.doc_tokens], dtype=np.float64)
        self.avgdl = float(self.doc_len.mean()) if self.n_docs else 0.0
        self._tf: list[Counter[str]] = [Counter(t) for t in self.doc_tokens]
        df: Counter[str] = Counter()
        for tf in self._tf:
            df.update(tf.keys())
        self.df: dict[str, int] = dict(df)
        # Postings let a query touch only the documents that contain its terms.
        self._postings: dict[str, list[tuple[int, int]]] = {}
        for i, tf in enumerate(self._tf):
            for term, n in tf.items():
                self._postings.setdefault(term, []).append((i, n))

    def idf(self, term: str) -> float:
        """Inverse document frequency of ``term`` (0 for an unknown term's contribution)."""
        df = self.df.get(term, 0)
        return math.log(1.0 + (self.n_docs - df + 0.5) / (df + 0.5))

    def query_terms(self, query: str) -> list[str]:
        """The distinct terms a query is matched on, in order of first appearance."""
        return list(dict.fromkeys(self._expand(self._tokenize(query))))

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every document for ``query`` (shape ``(n_docs,)``)."""
        out = np.zeros(self.n_docs, dtype=np.float64)
        if not self.n_docs:
            return out
        norm = self.k1 * (1.0 - self.b + self.b * self.doc_len / (self.avgdl or 1.0))
        for term in self.query_terms(query):
            postings = self._postings.get(term)
            if not postings:
                continue
            idf = self.idf(term)
            for i, tf in postings:
                out[i] += idf * tf * (self.k1 + 1.0) / (tf + norm[i])
        return out

    def top(self, query: str, k: int) -> list[tuple[int, float]]:
        """The ``k`` best (document index, score) pairs with a positive score, best first."""
        s = self.scores(query)
        order = np.argsort(-s, kind="stable")[:k]
        return [(int(i), float(s[i])) for i in order if s[i] > 0]

    def _expand(self, tokens: list[str]) -> list[str]:
        if not self.compounds:
            return tokens
        out: list[str] = []
        for t in tokens:
            out.append(t)
            out.extend(self._split(t))
        return out

    def _split(self, token: str) -> list[str]:
        cached = self._split_cache.get(token)
        if cached is not None:
            return cached
        parts: list[str] = []
        # Prefer the split with the longest head that leaves a known tail.
        for cut in range(len(token) - _MIN_PART, _MIN_PART - 1, -1):
            head, rest = token[:cut], token[cut:]
            if head not in self.vocabulary:
                continue
            for link in _LINKERS:
                if link and not rest.startswith(link):
                    continue
                tail = rest[len(link) :]
                if len(tail) >= _MIN_PART and tail in self.vocabulary:
                    parts = [head, tail]
                    break
            if parts:
                break
        self._split_cache[token] = parts
        return parts
