"""Validate a golden set and report everything at once: problems (errors) and warnings."""

from __future__ import annotations

from pathlib import Path

from ragwacht.datasets._check import read_corpus_ids, read_golden_set
from ragwacht.datasets.digest import digest_cases
from ragwacht.errors import Location, Problem
from ragwacht.records import StrictModel


class ValidationReport(StrictModel):
    """The outcome of validating one golden set.

    Attributes:
        path: What was validated.
        name: The set's name, when the manifest could be read.
        n_cases: Cases that validated.
        digest: The set's digest, only when there are no problems.
        problems: Errors; any of them makes the set unusable.
        warnings: Suspicious but usable (e.g. a refuse case with gold contexts).

    """

    path: str
    name: str | None = None
    n_cases: int = 0
    digest: str | None = None
    problems: list[Problem]
    warnings: list[Problem]

    @property
    def ok(self) -> bool:
        """True when the set has no problems (warnings allowed)."""
        return not self.problems


def validate_golden_set(path: str | Path, *, corpus: str | Path | None = None) -> ValidationReport:
    """Check a golden set without raising for what is wrong with it.

    Args:
        path: A golden-set folder, its ``dataset.yaml``, or a single cases file.
        corpus: Optional JSONL corpus (one object per line with ``doc_id`` or ``id``); every
            gold context's ``doc_id`` must be in it.

    Returns:
        Every problem and warning, each with file, line and field.

    """
    loaded = read_golden_set(path)
    problems = list(loaded.problems)
    if corpus is not None:
        corpus_path = Path(corpus)
        if not corpus_path.is_file():
            problems.append(
                Problem(
                    "corpus file does not exist",
                    Location(str(corpus_path)),
                    "give the JSONL file of passages the chatbot retrieves from",
                )
            )
        else:
            ids = read_corpus_ids(corpus_path, problems)
            file = str(loaded.cases_file or loaded.path)
            for case in loaded.cases:
                for i, ctx in enumerate(case.gold_contexts):
                    if ctx.doc_id not in ids:
                        problems.append(
                            Problem(
                                f"case '{case.id}': gold doc_id '{ctx.doc_id}' is not in the "
                                f"corpus {corpus_path.name}",
                                Location(
                                    file, loaded.lines.get(case.id), f"gold_contexts.{i}.doc_id"
                                ),
                                "fix the id, or add the passage to the corpus",
                            )
                        )
    return ValidationReport(
        path=str(loaded.path),
        name=loaded.manifest.name if loaded.manifest is not None else None,
        n_cases=len(loaded.cases),
        digest=None if problems else digest_cases(loaded.cases),
        problems=problems,
        warnings=loaded.warnings,
    )
