"""The ``nli`` verifier: a cross-encoder NLI model checks each claim against each passage.

The model is a sentence-transformers ``CrossEncoder`` loaded by hub name (needs hub access, or a
populated local cache) or by local folder, e.g. ``cross-encoder/nli-deberta-v3-xsmall`` or a
multilingual XNLI model for Dutch. No NLI model ships on PyPI, so the tests build a tiny
random-weight cross-encoder themselves: they test this code path, not the quality of judgement.

Each claim is scored against every passage and against windows of ``window`` adjacent passages
joined (a claim may combine facts from neighbouring chunks). A claim is ``supported`` when the
best entailment probability reaches ``entailment_threshold``, else ``contradicted`` when the
best contradiction probability reaches ``contradiction_threshold``, else ``unverifiable``.
All (premise, claim) pairs of a batch of cases go through the model together, in batches of
``batch_size``.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self

from ragwacht._env import offline_model_env
from ragwacht.errors import ConfigError, JudgeError, MissingDependencyError
from ragwacht.metrics.claims import split_claims
from ragwacht.metrics.judges.base import ClaimVerdict, Verdict, Verification
from ragwacht.metrics.judges.config import NLIJudgeConfig

if TYPE_CHECKING:
    from pathlib import Path

_LABELS = ("entailment", "neutral", "contradiction")
_EVIDENCE_CHARS = 1000


@dataclass
class _Premise:
    text: str
    index: int  # first passage in the window


def premises(contexts: Sequence[str], window: int) -> list[_Premise]:
    """Every passage, plus each run of ``window`` adjacent passages joined by a space."""
    out = [_Premise(t, i) for i, t in enumerate(contexts)]
    if window >= 2:
        for i in range(len(contexts) - window + 1):
            out.append(_Premise(" ".join(contexts[i : i + window]), i))
    return out


class NLIVerifier:
    """Claim verification with a cross-encoder NLI model.

    Args:
        cfg: the judge configuration (model name or path, labels, thresholds, window).

    """

    kind = "nli"
    weak = False
    prompt_version: str | None = None
    prompt_hash: str | None = None

    @classmethod
    def from_config(cls, cfg: NLIJudgeConfig, *, cache_dir: Path | None = None) -> Self:
        """The verifier for a ``type: nli`` judge entry (``cache_dir`` is not used)."""
        return cls(cfg)

    def __init__(self, cfg: NLIJudgeConfig) -> None:
        self.cfg = cfg
        self.model = cfg.model
        self.id = f"nli:{cfg.model}"
        self._encoder: Any = None
        self._label_index: dict[str, int] | None = None
        self._load_lock = threading.Lock()
        self.pairs_scored = 0

    def load(self) -> Any:
        """Load the cross-encoder once (thread-safe); resolves the label mapping."""
        with self._load_lock:
            if self._encoder is None:
                offline_model_env()
                try:
                    from sentence_transformers import (
                        CrossEncoder,  # lazy: heavy (sentence-transformers)
                    )
                except ImportError:
                    raise MissingDependencyError(
                        "sentence-transformers", purpose="the nli judge"
                    ) from None
                try:
                    enc = CrossEncoder(
                        self.cfg.model, device=self.cfg.device, max_length=self.cfg.max_length
                    )
                except Exception as exc:
                    raise ConfigError(
                        f"cannot load NLI model '{self.cfg.model}': {type(exc).__name__}: {exc}",
                        field="model",
                        hint="give a local folder with a cross-encoder (config, weights, "
                        "tokenizer), or a hub name that is in the local cache",
                    ) from exc
                self._label_index = self._labels(enc)
                self._encoder = enc
        return self._encoder

    def _labels(self, enc: Any) -> dict[str, int]:
        config = getattr(enc, "config", None) or enc.model.config
        n = int(getattr(config, "num_labels", 0) or 0)
        if self.cfg.labels is not None:
            mapping = {k.lower(): v for k, v in self.cfg.labels.items()}
        else:
            id2label = getattr(config, "id2label", {}) or {}
            mapping = {str(lbl).lower(): int(i) for i, lbl in id2label.items()}
        if "entailment" not in mapping or any(v >= n or v < 0 for v in mapping.values()):
            raise ConfigError(
                f"NLI model '{self.cfg.model}' has labels {mapping} for {n} outputs; "
                "cannot tell which output is entailment",
                field="labels",
                hint="set labels: {entailment: 1, neutral: 2, contradiction: 0} to match the model",
            )
        return mapping

    def _probs(self, pairs: list[tuple[str, str]]) -> Any:
        enc = self.load()
        if not pairs:
            return []
        import torch  # lazy: heavy (torch)

        scores = enc.predict(
            pairs,
            batch_size=self.cfg.batch_size,
            activation_fn=torch.nn.Softmax(dim=-1),
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        self.pairs_scored += len(pairs)
        return scores

    def judge_batch(self, items: Sequence[tuple[list[str], list[str]]]) -> list[Verification]:
        """Verdicts for many ``(claims, contexts)`` items in one pass through the model."""
        pairs: list[tuple[str, str]] = []
        plan: list[list[list[tuple[int, _Premise]]]] = []
        for claims, contexts in items:
            prem = premises(contexts, self.cfg.window)
            per_claim = []
            for claim in claims:
                rows = []
                for p in prem:
                    rows.append((len(pairs), p))
                    pairs.append((p.text, claim))
                per_claim.append(rows)
            plan.append(per_claim)
        try:
            probs = self._probs(pairs)
        except (ConfigError, MissingDependencyError):
            raise
        except Exception as exc:  # a model that fails on some input is a judge failure
            raise JudgeError(
                f"NLI model failed: {type(exc).__name__}: {exc}", reason="model_error"
            ) from exc
        assert self._label_index is not None
        ent = self._label_index["entailment"]
        con = self._label_index.get("contradiction")
        out = []
        for (claims, contexts), per_claim in zip(items, plan, strict=True):
            verdicts = []
            for claim, rows in zip(claims, per_claim, strict=True):
                verdicts.append(self._verdict(claim, rows, probs, ent, con, contexts))
            out.append(Verification(claims=verdicts, judge=self.id, calls=1 if claims else 0))
        return out

    def _verdict(
        self,
        claim: str,
        rows: list[tuple[int, _Premise]],
        probs: Any,
        ent: int,
        con: int | None,
        contexts: list[str],
    ) -> ClaimVerdict:
        if not rows:
            return ClaimVerdict(claim=claim, verdict=Verdict.UNVERIFIABLE, score=0.0)
        best_e = max(rows, key=lambda r: float(probs[r[0]][ent]))
        p_e = float(probs[best_e[0]][ent])
        if p_e >= self.cfg.entailment_threshold:
            verdict, best = Verdict.SUPPORTED, best_e
        else:
            verdict, best = Verdict.UNVERIFIABLE, best_e
            if con is not None:
                best_c = max(rows, key=lambda r: float(probs[r[0]][con]))
                if float(probs[best_c[0]][con]) >= self.cfg.contradiction_threshold:
                    verdict, best = Verdict.CONTRADICTED, best_c
        prem = best[1]
        return ClaimVerdict(
            claim=claim,
            verdict=verdict,
            evidence=prem.text[:_EVIDENCE_CHARS],
            evidence_index=prem.index,
            score=p_e,
        )

    async def verify(
        self, answer: str, contexts: list[str], *, question: str = "", language: str = "nl"
    ) -> Verification:
        """Split ``answer`` into claims (rule-based) and verify them."""
        return await self.verify_claims(list(split_claims(answer, language)), contexts)

    async def verify_claims(
        self, claims: list[str], contexts: list[str], *, language: str = "nl"
    ) -> Verification:
        """Verdicts for the given claims against ``contexts``."""
        return (await self.verify_batch([(claims, contexts)]))[0]

    async def verify_batch(
        self, items: Sequence[tuple[list[str], list[str]]]
    ) -> list[Verification]:
        """Verdicts for many ``(claims, contexts)`` items; the model runs in a worker thread."""
        return await asyncio.to_thread(self.judge_batch, list(items))

    async def aclose(self) -> None:
        """Drop the model."""
        self._encoder = None
