"""RAGChecker's claim-level metrics as pure functions over claim verdicts.

Follows amazon-science/RAGChecker (``ragchecker/metrics.py``). The inputs are the verdict
matrices RAGChecker's checker produces, each verdict ``"Entailment"``, ``"Neutral"`` or
``"Contradiction"`` (only entailment counts):

* ``answer2response[i]``: is response claim *i* entailed by the ground-truth answer;
* ``response2answer[j]``: is ground-truth claim *j* entailed by the response;
* ``retrieved2response[i][c]``: is response claim *i* entailed by retrieved chunk *c*;
* ``retrieved2answer[j][c]``: is ground-truth claim *j* entailed by retrieved chunk *c*.

Each function returns a value in [0, 1], or ``None`` where its denominator is empty
(RAGChecker reports 0 for ``context_utilization`` with nothing recalled; not scorable is
never 0 here). :func:`aggregate` averages per-example values and scales to percentages
rounded to one decimal, as RAGChecker's report does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

ENTAILMENT = "entailment"

Verdicts = Sequence[str | bool]
Matrix = Sequence[Sequence[str | bool]]


def _entailed(v: str | bool) -> bool:
    if isinstance(v, bool):
        return v
    return v.strip().lower() == ENTAILMENT


def _vec(v: Verdicts) -> list[bool]:
    return [_entailed(x) for x in v]


def _mat(m: Matrix) -> list[list[bool]]:
    return [[_entailed(x) for x in row] for row in m]


def _mean(xs: Sequence[bool] | Sequence[float]) -> float | None:
    return sum(float(x) for x in xs) / len(xs) if xs else None


@dataclass(frozen=True)
class ClaimVerdicts:
    """One example's verdict matrices (see the module docstring)."""

    answer2response: Verdicts
    response2answer: Verdicts
    retrieved2response: Matrix
    retrieved2answer: Matrix

    @classmethod
    def from_mapping(cls, d: Mapping[str, object]) -> ClaimVerdicts:
        """Build from a mapping with RAGChecker's field names."""
        return cls(
            answer2response=d["answer2response"],  # type: ignore[arg-type]
            response2answer=d["response2answer"],  # type: ignore[arg-type]
            retrieved2response=d["retrieved2response"],  # type: ignore[arg-type]
            retrieved2answer=d["retrieved2answer"],  # type: ignore[arg-type]
        )


def precision(answer2response: Verdicts) -> float | None:
    """Share of response claims entailed by the ground-truth answer."""
    return _mean(_vec(answer2response))


def recall(response2answer: Verdicts) -> float | None:
    """Share of ground-truth claims entailed by the response."""
    return _mean(_vec(response2answer))


def f1(p: float | None, r: float | None) -> float | None:
    """Harmonic mean of precision and recall (0 when both are 0)."""
    if p is None or r is None:
        return None
    return 2 * p * r / (p + r) if p + r > 0 else 0.0


def _claim_recalled(retrieved2answer: Matrix) -> list[bool]:
    return [any(row) for row in _mat(retrieved2answer)]


def _chunk_useful(retrieved2answer: Matrix) -> list[bool]:
    m = _mat(retrieved2answer)
    if not m:
        return []
    return [any(row[c] for row in m) for c in range(len(m[0]))]


def claim_recall(retrieved2answer: Matrix) -> float | None:
    """Share of ground-truth claims entailed by at least one retrieved chunk."""
    return _mean(_claim_recalled(retrieved2answer))


def context_precision(retrieved2answer: Matrix) -> float | None:
    """Share of retrieved chunks that entail at least one ground-truth claim."""
    return _mean(_chunk_useful(retrieved2answer))


def context_utilization(retrieved2answer: Matrix, response2answer: Verdicts) -> float | None:
    """Of the ground-truth claims the chunks hold, the share the response also states."""
    recalled = _claim_recalled(retrieved2answer)
    used = [a and b for a, b in zip(recalled, _vec(response2answer), strict=True)]
    n = sum(recalled)
    return sum(used) / n if n else None


def _faithful(retrieved2response: Matrix) -> list[bool]:
    return [any(row) for row in _mat(retrieved2response)]


def noise_sensitivity_in_relevant(
    retrieved2response: Matrix, answer2response: Verdicts, retrieved2answer: Matrix
) -> float | None:
    """Share of response claims that are wrong yet entailed by a relevant chunk."""
    useful = _chunk_useful(retrieved2answer)
    r2r = _mat(retrieved2response)
    correct = _vec(answer2response)
    flags = [
        any(u and e for u, e in zip(useful, row, strict=False)) and not ok
        for row, ok in zip(r2r, correct, strict=True)
    ]
    return _mean(flags)


def noise_sensitivity_in_irrelevant(
    retrieved2response: Matrix, answer2response: Verdicts, retrieved2answer: Matrix
) -> float | None:
    """Share of response claims that are wrong and entailed only by irrelevant chunks."""
    useful = _chunk_useful(retrieved2answer)
    r2r = _mat(retrieved2response)
    correct = _vec(answer2response)
    flags = []
    for row, ok in zip(r2r, correct, strict=True):
        rel = any(u and e for u, e in zip(useful, row, strict=False))
        irr = any((not u) and e for u, e in zip(useful, row, strict=False))
        flags.append(irr and not rel and not ok)
    return _mean(flags)


def hallucination(retrieved2response: Matrix, answer2response: Verdicts) -> float | None:
    """Share of response claims that are wrong and entailed by no chunk."""
    faithful = _faithful(retrieved2response)
    return _mean(
        [(not f) and not ok for f, ok in zip(faithful, _vec(answer2response), strict=True)]
    )


def self_knowledge(retrieved2response: Matrix, answer2response: Verdicts) -> float | None:
    """Share of response claims that are right though entailed by no chunk."""
    faithful = _faithful(retrieved2response)
    return _mean([(not f) and ok for f, ok in zip(faithful, _vec(answer2response), strict=True)])


def faithfulness(retrieved2response: Matrix) -> float | None:
    """Share of response claims entailed by at least one chunk."""
    return _mean(_faithful(retrieved2response))


def compute_all(v: ClaimVerdicts) -> dict[str, float | None]:
    """Every RAGChecker metric for one example."""
    p = precision(v.answer2response)
    r = recall(v.response2answer)
    return {
        "precision": p,
        "recall": r,
        "f1": f1(p, r),
        "claim_recall": claim_recall(v.retrieved2answer),
        "context_precision": context_precision(v.retrieved2answer),
        "context_utilization": context_utilization(v.retrieved2answer, v.response2answer),
        "noise_sensitivity_in_relevant": noise_sensitivity_in_relevant(
            v.retrieved2response, v.answer2response, v.retrieved2answer
        ),
        "noise_sensitivity_in_irrelevant": noise_sensitivity_in_irrelevant(
            v.retrieved2response, v.answer2response, v.retrieved2answer
        ),
        "hallucination": hallucination(v.retrieved2response, v.answer2response),
        "self_knowledge": self_knowledge(v.retrieved2response, v.answer2response),
        "faithfulness": faithfulness(v.retrieved2response),
    }


GROUPS = {
    "overall": ("precision", "recall", "f1"),
    "retriever": ("claim_recall", "context_precision"),
    "generator": (
        "context_utilization",
        "noise_sensitivity_in_relevant",
        "noise_sensitivity_in_irrelevant",
        "hallucination",
        "self_knowledge",
        "faithfulness",
    ),
}


def aggregate(per_example: Iterable[Mapping[str, float | None]]) -> dict[str, dict[str, float]]:
    """RAGChecker's report: mean per metric over examples that have it, x100, 1 decimal."""
    rows = list(per_example)
    out: dict[str, dict[str, float]] = {}
    for group, names in GROUPS.items():
        out[group] = {}
        for name in names:
            vals = [float(v) for r in rows if (v := r.get(name)) is not None]
            if vals:
                out[group][name] = round(sum(vals) / len(vals) * 100, 1)
    return out
