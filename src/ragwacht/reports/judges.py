"""What reports say about a judge's calibration, shared by the HTML report and the summary.

A run stores each judge's calibration as the ``CalibrationResult`` that ``ragwacht judges
calibrate`` wrote (``manifest.judges[].calibration``): one entry per labelled data set under
``runs``. Both reports show every set (name, language, n, balanced accuracy with its interval,
kappa) and say plainly when none of the sets is in the language of the run's cases, because a
judge measured on English labels says little about how it judges Dutch answers.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ragwacht.records import JudgeInfo, RunRecord


@dataclass(frozen=True)
class CalibrationSet:
    """One labelled data set a judge was scored on."""

    name: str
    language: str | None
    n: int | None
    balanced_accuracy: float | None
    ci_low: float | None
    ci_high: float | None
    kappa: float | None


def _num(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def calibration_sets(judge: JudgeInfo) -> list[CalibrationSet]:
    """The calibration sets stored with ``judge`` (empty when it was never calibrated)."""
    cal = judge.calibration
    if not isinstance(cal, Mapping):
        return []
    runs = cal.get("runs")
    out: list[CalibrationSet] = []
    for run in runs if isinstance(runs, list) else []:
        if not isinstance(run, Mapping):
            continue
        ci = run.get("balanced_accuracy_ci")
        low = high = None
        if isinstance(ci, list | tuple) and len(ci) == 2:
            low, high = _num(ci[0]), _num(ci[1])
        n = run.get("n_scored", run.get("n_items"))
        lang = run.get("language")
        out.append(
            CalibrationSet(
                name=str(run.get("dataset") or run.get("data_file") or "?"),
                language=str(lang) if lang else None,
                n=int(n) if isinstance(n, int) and not isinstance(n, bool) else None,
                balanced_accuracy=_num(run.get("balanced_accuracy")),
                ci_low=low,
                ci_high=high,
                kappa=_num(run.get("cohen_kappa")),
            )
        )
    return out


def run_languages(record: RunRecord) -> list[str]:
    """Languages of the run's cases, most frequent first.

    A case's ``lang:`` (or ``language:``) tag wins; cases without one are in the data set's
    language.
    """
    default = record.manifest.dataset_language
    counts: Counter[str] = Counter()
    for c in record.cases:
        tagged = [
            t.split(":", 1)[1] for t in c.tags if t.startswith(("lang:", "language:")) and ":" in t
        ]
        lang = tagged[0] if tagged else default
        if lang:
            counts[lang.strip().lower()] += 1
    return [lang for lang, _ in counts.most_common()]


def missing_languages(sets: list[CalibrationSet], languages: list[str]) -> list[str]:
    """The run's languages that none of a judge's calibration sets is in."""
    have = {s.language.lower() for s in sets if s.language}
    return [lang for lang in languages if lang not in have]


__all__ = ["CalibrationSet", "calibration_sets", "missing_languages", "run_languages"]
