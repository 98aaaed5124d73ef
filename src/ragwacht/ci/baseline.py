"""Baseline files: a RunRecord JSON, slimmed to what the gate needs, kept in ``ci/baselines/``."""

from __future__ import annotations

from pathlib import Path

from ragwacht.records import RunRecord


def slim_record(record: RunRecord) -> RunRecord:
    """A copy with per-case metric values, reasons and versions, for a baseline file.

    Answers, retrieved contexts, repeats and claim details are dropped: they are often most of
    the bytes, and text a repository need not hold.
    """
    # Drop by name what a baseline does not need; every other field is kept as it is.
    cases = [
        c.model_copy(
            update={
                "reference_answer": None,
                "repeats": [],
                "response": c.response.model_copy(
                    update={"answer": None, "contexts": [], "cited_ids": None}
                ),
                "metrics": {k: m.model_copy(update={"details": {}}) for k, m in c.metrics.items()},
            }
        )
        for c in record.cases
    ]
    return record.model_copy(update={"cases": cases, "gate": None})


def default_baseline_path(record: RunRecord, root: Path | None = None) -> Path:
    """``ci/baselines/<suite>.json`` (``<suite>.<variant>.json`` for other variants)."""
    return (
        (root or Path.cwd()) / "ci" / "baselines" / baseline_filename(record.suite, record.variant)
    )


def baseline_filename(suite: str, variant: str) -> str:
    """The file name of a baseline; the gate looks files up by the same rule.

    ``<suite>.json`` for the default variant, ``<suite>.<variant>.json`` for the others.
    """
    return f"{suite}.json" if variant == "default" else f"{suite}.{variant}.json"


def save_baseline(record: RunRecord, path: str | Path | None = None, *, slim: bool = True) -> Path:
    """Write ``record`` (slimmed unless ``slim=False``) as a baseline file; return its path."""
    target = Path(path) if path is not None else default_baseline_path(record)
    out = slim_record(record) if slim else record.model_copy(update={"gate": None})
    return out.save(target)
