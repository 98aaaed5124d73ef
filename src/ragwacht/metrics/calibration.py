"""Judge calibration: how often a judge agrees with people about hallucinations.

A judge predicts *hallucinated* for an answer when any of its claims is not supported by the
contexts (contradicted or unverifiable). Against human (or by-construction) labels this gives a
confusion table, balanced accuracy with a 95% percentile-bootstrap interval, precision and
recall of *hallucinated*, and Cohen's kappa. Judge failures are counted apart (``n_failed``,
by reason) and are not predictions: ``scored_fraction`` says how much of the sample the numbers
rest on.

Results are stored per judge as ``metrics/calibration/<judge_id>.json`` in the project (one
entry per labelled data set) and found again by :func:`find_calibration`, which also looks in
the copies packaged under ``ragwacht/metrics/calibration_data/``.

Labelled data is JSONL, one item per line: ``id``, ``question``, ``contexts`` (list of str),
``answer``, ``hallucinated`` (true/false; null lines are skipped), optional ``dataset``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field, ValidationError

from ragwacht import __version__, stats
from ragwacht.errors import ConfigError, JudgeError
from ragwacht.metrics.judges.base import Verdict, Verification, Verifier
from ragwacht.records import StrictModel

SCHEMA_VERSION = 1
PACKAGED_DIR = Path(__file__).parent / "calibration_data"
PROJECT_SUBDIR = Path("metrics") / "calibration"


class LabelledItem(StrictModel):
    """One answer with its contexts and whether people judged it hallucinated."""

    id: str
    question: str = ""
    contexts: list[str]
    answer: str
    hallucinated: bool
    dataset: str | None = None


class Confusion(StrictModel):
    """Agreement table; positive = hallucinated."""

    tp: int = Field(0, description="judge: hallucinated; label: hallucinated")
    fp: int = Field(0, description="judge: hallucinated; label: faithful")
    tn: int = Field(0, description="judge: faithful; label: faithful")
    fn: int = Field(0, description="judge: faithful; label: hallucinated")

    @property
    def n(self) -> int:
        """Number of scored items."""
        return self.tp + self.fp + self.tn + self.fn


class BinaryScores(StrictModel):
    """Agreement of binary predictions with labels (None where undefined)."""

    balanced_accuracy: float | None
    precision: float | None
    recall: float | None
    cohen_kappa: float | None
    accuracy: float | None
    confusion: Confusion


class DatasetCalibration(StrictModel):
    """One judge on one labelled data set."""

    dataset: str
    data_file: str
    data_sha256: str
    language: str | None = Field(
        None, description="language the judge was told the items are in (None: not recorded)"
    )
    n_items: int
    n_scored: int
    n_failed: int
    n_no_claims: int = Field(0, description="scored items where the judge found no claims")
    scored_fraction: float
    failure_reasons: dict[str, int] = Field(default_factory=dict)
    n_positive: int = Field(description="scored items labelled hallucinated")
    n_negative: int
    balanced_accuracy: float | None
    balanced_accuracy_ci: tuple[float, float] | None = None
    ci_method: str = "percentile bootstrap, 2000 resamples"
    ci_level: float = 0.95
    precision: float | None
    recall: float | None
    cohen_kappa: float | None
    accuracy: float | None
    confusion: Confusion
    seed: int
    limit: int | None
    balanced: bool
    prompt_version: str | None = None
    prompt_hash: str | None = None
    judge_calls: int = 0
    prompt_tokens: int | None = None
    wall_s: float = 0.0
    score_auc: float | None = Field(
        None,
        description="ROC-AUC of the weakest claim's score for faithful vs hallucinated "
        "(judges that score claims: lexical support, P(yes), entailment)",
    )
    threshold_sweep: dict[str, float] | None = Field(
        None,
        description="balanced accuracy if a claim counted as supported at score >= threshold; "
        "in-sample: confirm a chosen threshold on other data",
    )
    created_at: datetime


class CalibrationResult(StrictModel):
    """A judge's calibration on one or more labelled data sets (one JSON file per judge)."""

    schema_version: int = SCHEMA_VERSION
    judge_id: str
    judge_kind: str
    weak: bool = False
    model: str | None = None
    harness_version: str = ""
    runs: list[DatasetCalibration] = Field(default_factory=list)

    def run(self, dataset: str) -> DatasetCalibration | None:
        """The entry for ``dataset``, if present."""
        return next((r for r in self.runs if r.dataset == dataset), None)

    def merged(self, run: DatasetCalibration) -> CalibrationResult:
        """A copy with ``run`` replacing any earlier entry for the same data set."""
        runs = [r for r in self.runs if r.dataset != run.dataset] + [run]
        return self.model_copy(update={"runs": sorted(runs, key=lambda r: r.dataset)})


# -- data --------------------------------------------------------------------------------------


def load_labelled(
    path: str | Path,
    *,
    limit: int | None = None,
    seed: int = 0,
    balanced: bool = False,
) -> list[LabelledItem]:
    """Read labelled JSONL; skip unlabelled lines; optionally sample.

    Args:
        path: the JSONL file.
        limit: at most this many items (a seeded random sample).
        seed: seed of the sample.
        balanced: as many hallucinated as faithful items (limit/2 each, or as many as the
            smaller class has).

    Raises:
        ConfigError: naming the line and field of a malformed item.

    """
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"labelled data not found: {p}", file=p, hint="give a .jsonl file")
    items: list[LabelledItem] = []
    with p.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
            except ValueError as exc:
                raise ConfigError(f"invalid JSON: {exc}", file=p, line=lineno) from None
            if not isinstance(raw, dict):
                raise ConfigError("a line must be a JSON object", file=p, line=lineno)
            if raw.get("hallucinated") is None:
                continue  # unlabelled (e.g. generic responses): not evidence either way
            try:
                items.append(
                    LabelledItem(
                        id=str(raw.get("id", lineno)),
                        question=raw.get("question") or "",
                        contexts=raw.get("contexts"),
                        answer=raw.get("answer"),
                        hallucinated=raw.get("hallucinated"),
                        dataset=raw.get("dataset"),
                    )
                )
            except ValidationError as exc:
                err = exc.errors()[0]
                raise ConfigError(
                    str(err.get("msg")),
                    file=p,
                    line=lineno,
                    field=".".join(str(x) for x in err.get("loc", ())),
                    hint="each line needs contexts (list of str), answer (str), hallucinated",
                ) from None
    return sample(items, limit=limit, seed=seed, balanced=balanced)


def sample(
    items: Sequence[LabelledItem], *, limit: int | None, seed: int, balanced: bool
) -> list[LabelledItem]:
    """A seeded sample (stable for a given seed and input order)."""
    rng = random.Random(seed)
    if balanced:
        pos = [i for i in items if i.hallucinated]
        neg = [i for i in items if not i.hallucinated]
        rng.shuffle(pos)
        rng.shuffle(neg)
        k = min(len(pos), len(neg))
        if limit is not None:
            k = min(k, limit // 2)
        out = pos[:k] + neg[:k]
        rng.shuffle(out)
        return out
    out = list(items)
    if limit is not None and limit < len(out):
        rng.shuffle(out)
        out = out[:limit]
    return out


def file_sha256(path: str | Path) -> str:
    """sha256 of a file's bytes."""
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# -- statistics --------------------------------------------------------------------------------


def confusion(y_true: Sequence[bool], y_pred: Sequence[bool]) -> Confusion:
    """Confusion table with hallucinated as the positive class."""
    c = Counter(zip(y_true, y_pred, strict=True))
    return Confusion(
        tp=c[(True, True)], fp=c[(False, True)], tn=c[(False, False)], fn=c[(True, False)]
    )


def scores_from_confusion(c: Confusion) -> BinaryScores:
    """Balanced accuracy, precision, recall, kappa and accuracy from a confusion table.

    Balanced accuracy averages the recall of the classes present (as scikit-learn does);
    kappa is None when chance agreement is 1 (one class everywhere).
    """
    n = c.n
    recalls = []
    if c.tp + c.fn:
        recalls.append(c.tp / (c.tp + c.fn))
    if c.tn + c.fp:
        recalls.append(c.tn / (c.tn + c.fp))
    bal = sum(recalls) / len(recalls) if recalls else None
    precision = c.tp / (c.tp + c.fp) if (c.tp + c.fp) else None
    recall = c.tp / (c.tp + c.fn) if (c.tp + c.fn) else None
    kappa = None
    acc = None
    if n:
        po = (c.tp + c.tn) / n
        pe = ((c.tp + c.fp) * (c.tp + c.fn) + (c.tn + c.fn) * (c.tn + c.fp)) / (n * n)
        kappa = (po - pe) / (1 - pe) if pe < 1 else None
        acc = po
    return BinaryScores(
        balanced_accuracy=bal,
        precision=precision,
        recall=recall,
        cohen_kappa=kappa,
        accuracy=acc,
        confusion=c,
    )


def binary_scores(y_true: Sequence[bool], y_pred: Sequence[bool]) -> BinaryScores:
    """:func:`scores_from_confusion` of the predictions."""
    return scores_from_confusion(confusion(y_true, y_pred))


def bootstrap_ci(
    y_true: Sequence[bool],
    y_pred: Sequence[bool],
    statistic: Callable[[Confusion], float | None] = lambda c: (
        scores_from_confusion(c).balanced_accuracy
    ),
    *,
    resamples: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float] | None:
    """Percentile-bootstrap interval of ``statistic`` over items resampled with replacement.

    Resamples where the statistic is undefined are dropped; None when fewer than half remain.
    """
    n = len(y_true)
    if n < 2:
        return None
    t = np.asarray(y_true, dtype=bool)
    p = np.asarray(y_pred, dtype=bool)
    idx = stats.bootstrap_indices(n, resamples, seed)
    tt, pp = t[idx], p[idx]
    tp = (tt & pp).sum(axis=1)
    fp = (~tt & pp).sum(axis=1)
    tn = (~tt & ~pp).sum(axis=1)
    fn = (tt & ~pp).sum(axis=1)
    values = []
    for a, b, c_, d in zip(tp, fp, tn, fn, strict=True):
        v = statistic(Confusion(tp=int(a), fp=int(b), tn=int(c_), fn=int(d)))
        if v is not None and not math.isnan(v):
            values.append(v)
    if len(values) < resamples / 2:
        return None
    return stats.percentile_interval(values, level)


# -- running a judge ---------------------------------------------------------------------------


def predicts_hallucination(v: Verification) -> bool:
    """Hallucinated = at least one claim not supported (contradicted or unverifiable)."""
    return any(c.verdict != Verdict.SUPPORTED for c in v.claims)


def min_claim_score(v: Verification) -> float | None:
    """The weakest claim's score, or None when the method scores no claims."""
    scores = [c.score for c in v.claims if c.score is not None]
    return min(scores) if scores else None


class ItemOutcome(StrictModel):
    """What the judge said about one labelled item."""

    id: str
    label: bool
    predicted: bool | None
    failure: str | None = None
    claims: int = 0
    calls: int = 0
    prompt_tokens: int | None = None
    score: float | None = None
    """Lowest claim score (e.g. P(yes)) where the method gives one: for threshold studies."""


async def judge_items(
    verifier: Verifier,
    items: Sequence[LabelledItem],
    *,
    concurrency: int = 4,
    language: str = "en",
    on_done: Callable[[ItemOutcome], None] | None = None,
) -> list[ItemOutcome]:
    """Run the judge over ``items``; failures become outcomes with a reason, not predictions."""
    sem = asyncio.Semaphore(concurrency)

    async def one(item: LabelledItem) -> ItemOutcome:
        async with sem:
            try:
                v = await verifier.verify(
                    item.answer, item.contexts, question=item.question, language=language
                )
            except JudgeError as exc:
                out = ItemOutcome(
                    id=item.id,
                    label=item.hallucinated,
                    predicted=None,
                    failure=getattr(exc, "reason", "error"),
                )
            else:
                out = ItemOutcome(
                    id=item.id,
                    label=item.hallucinated,
                    predicted=predicts_hallucination(v),
                    claims=len(v.claims),
                    calls=v.calls,
                    prompt_tokens=v.prompt_tokens,
                    score=min_claim_score(v),
                )
        if on_done is not None:
            on_done(out)
        return out

    return list(await asyncio.gather(*(one(i) for i in items)))


def summarize(
    outcomes: Sequence[ItemOutcome],
    *,
    dataset: str,
    data_file: str | Path,
    seed: int,
    limit: int | None,
    balanced: bool,
    verifier: Any = None,
    wall_s: float = 0.0,
    resamples: int = 2000,
    language: str | None = None,
) -> DatasetCalibration:
    """Turn outcomes into a :class:`DatasetCalibration`."""
    scored = [o for o in outcomes if o.predicted is not None]
    y_true = [o.label for o in scored]
    y_pred = [bool(o.predicted) for o in scored]
    s = binary_scores(y_true, y_pred)
    ci = bootstrap_ci(y_true, y_pred, resamples=resamples, seed=seed)
    tokens = [o.prompt_tokens for o in scored if o.prompt_tokens is not None]
    auc, sweep = score_study(scored)
    path = Path(data_file)
    return DatasetCalibration(
        dataset=dataset,
        data_file=path.name,
        data_sha256=file_sha256(path) if path.is_file() else "",
        language=language,
        n_items=len(outcomes),
        n_scored=len(scored),
        n_failed=len(outcomes) - len(scored),
        n_no_claims=sum(1 for o in scored if o.claims == 0),
        scored_fraction=len(scored) / len(outcomes) if outcomes else 0.0,
        failure_reasons=dict(
            Counter(o.failure or "error" for o in outcomes if o.predicted is None)
        ),
        n_positive=sum(y_true),
        n_negative=len(y_true) - sum(y_true),
        balanced_accuracy=s.balanced_accuracy,
        balanced_accuracy_ci=ci,
        ci_method=f"percentile bootstrap, {resamples} resamples",
        precision=s.precision,
        recall=s.recall,
        cohen_kappa=s.cohen_kappa,
        accuracy=s.accuracy,
        confusion=s.confusion,
        seed=seed,
        limit=limit,
        balanced=balanced,
        prompt_version=getattr(verifier, "prompt_version", None),
        prompt_hash=getattr(verifier, "prompt_hash", None),
        judge_calls=sum(o.calls for o in outcomes),
        prompt_tokens=sum(tokens) if tokens else None,
        wall_s=round(wall_s, 3),
        score_auc=auc,
        threshold_sweep=sweep,
        created_at=datetime.now(UTC),
    )


SWEEP = tuple(round(0.05 * k, 2) for k in range(1, 20))


def score_study(
    outcomes: Sequence[ItemOutcome], grid: Sequence[float] = SWEEP
) -> tuple[float | None, dict[str, float] | None]:
    """ROC-AUC of the weakest-claim score and balanced accuracy per support threshold.

    Only when most scored items carry a score; an item without one (no claims) keeps the
    judge's own prediction.
    """
    with_score = [o for o in outcomes if o.score is not None]
    if not outcomes or len(with_score) < 0.5 * len(outcomes):
        return None, None
    pos = [o.score for o in with_score if o.label]
    neg = [o.score for o in with_score if not o.label]
    auc = None
    if pos and neg:
        # P(a faithful item's score > a hallucinated one's), ties half: Mann-Whitney U / (n m).
        ranked = sorted([(v, 0) for v in pos] + [(v, 1) for v in neg])
        rank_sum, i = 0.0, 0
        while i < len(ranked):
            j = i
            while j < len(ranked) and ranked[j][0] == ranked[i][0]:
                j += 1
            mid = (i + j + 1) / 2  # average rank of the tie group (1-based)
            rank_sum += mid * sum(1 for k in range(i, j) if ranked[k][1] == 1)
            i = j
        u = rank_sum - len(neg) * (len(neg) + 1) / 2
        auc = u / (len(pos) * len(neg))
    sweep = {}
    labels = [o.label for o in outcomes]
    for t in grid:
        pred = [bool(o.predicted) if o.score is None else o.score < t for o in outcomes]
        ba = binary_scores(labels, pred).balanced_accuracy
        if ba is not None:
            sweep[f"{t:.2f}"] = round(ba, 4)
    return auc, sweep


async def calibrate(
    verifier: Verifier,
    data_file: str | Path,
    *,
    limit: int | None = None,
    seed: int = 0,
    balanced: bool = False,
    concurrency: int = 4,
    on_done: Callable[[ItemOutcome], None] | None = None,
    language: str = "en",
) -> DatasetCalibration:
    """Score ``verifier`` against the labels in ``data_file`` (see :func:`load_labelled`).

    ``language`` is the language of the labelled items; the judge is told it and the result
    records it, so a report can say whether a judge was measured in the suite's language.
    """
    items = load_labelled(data_file, limit=limit, seed=seed, balanced=balanced)
    if not items:
        raise ConfigError("no labelled items in the file", file=data_file)
    start = time.perf_counter()
    outcomes = await judge_items(
        verifier, items, concurrency=concurrency, on_done=on_done, language=language
    )
    return summarize(
        outcomes,
        dataset=Path(data_file).stem,
        data_file=data_file,
        seed=seed,
        limit=limit,
        balanced=balanced,
        verifier=verifier,
        wall_s=time.perf_counter() - start,
        language=language,
    )


# -- storing and finding -----------------------------------------------------------------------


def safe_name(judge_id: str) -> str:
    """File-name form of a judge id (``llm:gpt-4o`` -> ``llm_gpt-4o``)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", judge_id).strip("_") or "judge"


def calibration_path(judge_id: str, project_dir: str | Path | None = None) -> Path:
    """``<project>/metrics/calibration/<judge_id>.json``."""
    root = Path(project_dir) if project_dir is not None else Path.cwd()
    return root / PROJECT_SUBDIR / f"{safe_name(judge_id)}.json"


def read_calibration(path: str | Path) -> CalibrationResult:
    """Read a stored result.

    Raises:
        ConfigError: when the file is not a calibration result.

    """
    p = Path(path)
    try:
        return CalibrationResult.model_validate_json(p.read_text("utf-8"))
    except (OSError, ValidationError) as exc:
        raise ConfigError(f"not a readable calibration result: {exc}", file=p) from None


def save_calibration(
    run: DatasetCalibration,
    verifier: Any,
    *,
    out: str | Path | None = None,
    project_dir: str | Path | None = None,
) -> Path:
    """Store ``run`` for the verifier's judge, merging with earlier data sets in the file."""
    judge_id = str(getattr(verifier, "id", "judge"))
    path = Path(out) if out is not None else calibration_path(judge_id, project_dir)
    result = CalibrationResult(
        judge_id=judge_id,
        judge_kind=str(getattr(verifier, "kind", "unknown")),
        weak=bool(getattr(verifier, "weak", False)),
        model=getattr(verifier, "model", None),
        harness_version=__version__,
    )
    if path.is_file():
        try:
            old = read_calibration(path)
        except ConfigError:
            old = None
        if old is not None and old.judge_id == judge_id:
            result = old.model_copy(update={"harness_version": __version__})
    result = result.merged(run)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(result.model_dump_json(indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def find_calibration(
    judge_id: str, *, project_dir: str | Path | None = None
) -> CalibrationResult | None:
    """The stored calibration of ``judge_id``, or None.

    Looks in ``metrics/calibration/`` of ``project_dir`` (default: the current directory and
    its parents), then in the copies packaged with ragwacht.
    """
    name = f"{safe_name(judge_id)}.json"
    if project_dir is not None:
        roots = [Path(project_dir)]
    else:
        cwd = Path.cwd()
        roots = [cwd, *cwd.parents]
    candidates = [r / PROJECT_SUBDIR / name for r in roots]
    candidates.append(PACKAGED_DIR / name)
    for path in candidates:
        if path.is_file():
            try:
                result = read_calibration(path)
            except ConfigError:
                continue
            if result.judge_id == judge_id:
                return result
    return None
