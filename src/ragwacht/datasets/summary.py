"""What is in a golden set: counts per tag, language and behaviour, and question lengths."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence

from ragwacht.datasets.models import ExpectedBehavior, GoldenSet
from ragwacht.records import StrictModel


class LengthSummary(StrictModel):
    """Five numbers about a length distribution."""

    min: int
    median: float
    mean: float
    p90: float
    max: int

    @classmethod
    def of(cls, values: Sequence[int]) -> LengthSummary:
        """Summarize ``values`` (all zeros for an empty sequence)."""
        if not values:
            return cls(min=0, median=0.0, mean=0.0, p90=0.0, max=0)
        ordered = sorted(values)
        # Nearest-rank p90: a length that really occurs, easy to check by hand.
        rank = max(1, -(-9 * len(ordered) // 10))
        return cls(
            min=ordered[0],
            median=float(statistics.median(ordered)),
            mean=round(statistics.fmean(ordered), 2),
            p90=float(ordered[rank - 1]),
            max=ordered[-1],
        )


class DatasetStats(StrictModel):
    """Counts that tell whether a golden set covers what it should.

    Every count is a number of cases. ``tags`` breaks ``key:value`` tags down by key; tags
    without a colon are in ``plain_tags``.
    """

    name: str
    version: str
    digest: str
    n_cases: int
    expected_behavior: dict[str, int]
    languages: dict[str, int]
    tags: dict[str, dict[str, int]]
    plain_tags: dict[str, int]
    untagged: int
    with_gold_contexts: int
    without_gold_contexts: int
    gold_contexts_total: int
    with_reference_answer: int
    without_reference_answer: int
    with_history: int
    question_chars: LengthSummary
    question_words: LengthSummary


def _ordered(counter: Counter[str]) -> dict[str, int]:
    return dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))


def stats(golden_set: GoldenSet) -> DatasetStats:
    """Count what a golden set holds.

    Args:
        golden_set: A loaded set.

    Returns:
        The counts; dictionaries are ordered by count (descending), then name.

    """
    cases = golden_set.cases
    behaviours: Counter[str] = Counter({b.value: 0 for b in ExpectedBehavior})
    languages: Counter[str] = Counter()
    by_key: dict[str, Counter[str]] = {}
    plain: Counter[str] = Counter()
    for case in cases:
        behaviours[case.expected_behavior.value] += 1
        languages[case.language(default=golden_set.manifest.language)] += 1
        for tag in dict.fromkeys(case.tags):  # a tag repeated in one case counts once
            key, sep, value = tag.partition(":")
            if sep:
                by_key.setdefault(key, Counter())[value] += 1
            else:
                plain[tag] += 1
    n = len(cases)
    with_gold = sum(1 for c in cases if c.gold_contexts)
    with_ref = sum(1 for c in cases if c.reference_answer is not None)
    return DatasetStats(
        name=golden_set.manifest.name,
        version=golden_set.manifest.version,
        digest=golden_set.digest,
        n_cases=n,
        expected_behavior=_ordered(behaviours),
        languages=_ordered(languages),
        tags={k: _ordered(v) for k, v in sorted(by_key.items())},
        plain_tags=_ordered(plain),
        untagged=sum(1 for c in cases if not c.tags),
        with_gold_contexts=with_gold,
        without_gold_contexts=n - with_gold,
        gold_contexts_total=sum(len(c.gold_contexts) for c in cases),
        with_reference_answer=with_ref,
        without_reference_answer=n - with_ref,
        with_history=sum(1 for c in cases if c.history),
        question_chars=LengthSummary.of([len(c.question) for c in cases]),
        question_words=LengthSummary.of([len(c.question.split()) for c in cases]),
    )
