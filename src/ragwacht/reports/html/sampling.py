"""Which cases a run report shows in full, so the page stays one file of bounded size.

Up to ``max_cases`` cases every case is shown. Above that the report shows the cases a reader
needs (those with a problem or an error, worst first; the cases that flipped against the
baseline) and fills the rest with a stratified sample: per value of the first breakdown tag
key (``topic``), in proportion to its size, picked by a hash of the case id so the same run
always shows the same cases. Every aggregate on the page (scorecards, per-tag tables, the gate)
is still over all cases, and every case is in ``cases.csv`` beside the report.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ragwacht.records import MetricSummary, RunRecord
from ragwacht.reports.html.cases import _case_quality, case_status

MAX_REPORT_CASES = 1000


@dataclass
class CaseSelection:
    """The cases the report shows: indices into ``record.cases``, in the record's order."""

    indices: list[int]
    total: int
    problems: int  # cases with a problem or an error, over all cases
    stratum_key: str | None = None  # the tag key the sample is stratified by

    @property
    def sampled(self) -> bool:
        """Whether some cases are left out of the page."""
        return len(self.indices) < self.total


def _hash(case_id: str) -> bytes:
    return hashlib.sha256(case_id.encode("utf-8", "surrogatepass")).digest()


def _stratum_key(summary: Mapping[str, MetricSummary]) -> str | None:
    for s in summary.values():
        for key in s.by_tag:
            return key
    return None


def select_cases(
    record: RunRecord,
    marks: Mapping[str, float] | None = None,
    flipped: Iterable[str] = (),
    max_cases: int = MAX_REPORT_CASES,
) -> CaseSelection:
    """The cases to show in full (see the module docstring)."""
    cases, summary = record.cases, record.summary
    status = [case_status(c, summary, marks) for c in cases]
    problems = sum(1 for s in status if s != "ok")
    if len(cases) <= max_cases:
        return CaseSelection(list(range(len(cases))), len(cases), problems)
    chosen: set[int] = set()
    # The worst first: errors, then problems by quality (as the "needs attention" list).
    bad = [i for i, s in enumerate(status) if s != "ok"]
    bad.sort(key=lambda i: (status[i] != "error", _case_quality(cases[i], summary)[0] or -1.0))
    chosen.update(bad[: max_cases // 2])
    flips = set(flipped)
    flip_ix = [i for i, c in enumerate(cases) if c.case_id in flips]
    chosen.update(flip_ix[: max_cases // 4])
    # A stratified sample of the rest, proportional to each stratum's size.
    key = _stratum_key(summary)
    strata: dict[str, list[int]] = {}
    prefix = f"{key}:" if key else None
    for i, c in enumerate(cases):
        if i in chosen:
            continue
        label = ""
        if prefix is not None:
            label = next((t[len(prefix) :] for t in c.tags if t.startswith(prefix)), "")
        strata.setdefault(label, []).append(i)
    room = max_cases - len(chosen)
    rest = sum(len(v) for v in strata.values())
    if room > 0 and rest:
        for label in sorted(strata):
            members = sorted(strata[label], key=lambda i: _hash(cases[i].case_id))
            share = max(1, round(room * len(members) / rest))
            chosen.update(members[:share])
    indices = sorted(chosen)
    surplus = len(indices) - max_cases
    if surplus > 0:  # small strata were rounded up: drop sampled cases, never needed ones
        keep = set(bad[: max_cases // 2]) | set(flip_ix[: max_cases // 4])
        extra = sorted((i for i in indices if i not in keep), key=lambda i: _hash(cases[i].case_id))
        drop = set(extra[-surplus:])
        indices = [i for i in indices if i not in drop]
    return CaseSelection(indices, len(cases), problems, key)


__all__ = ["MAX_REPORT_CASES", "CaseSelection", "select_cases"]
