from __future__ import annotations

import statistics

from hypothesis import given

from ragwacht.datasets import GoldenCase, GoldenSet, diff, load_golden_set, stats
from ragwacht.datasets.summary import LengthSummary
from tests.helpers.datasets import MINI, MINI_DIGEST, PROPERTY, case_lists


def _set(cases: list[GoldenCase], **manifest: object) -> GoldenSet:
    return GoldenSet(manifest={"name": "s", **manifest}, cases=cases)


def test_stats_of_mini() -> None:
    s = stats(load_golden_set(MINI))
    assert (s.name, s.version, s.n_cases, s.digest) == ("mini", "1", 4, MINI_DIGEST)
    assert s.expected_behavior == {"answer": 3, "refuse": 1}
    assert s.languages == {"nl": 3, "en": 1}
    assert s.tags["topic"] == {"bag": 1, "brk": 1, "out-of-scope": 1, "woz": 1}
    assert s.tags["difficulty"] == {"easy": 1}
    assert s.tags["lang"] == {"nl": 3, "en": 1}
    assert s.plain_tags == {} and s.untagged == 0
    assert (s.with_gold_contexts, s.without_gold_contexts, s.gold_contexts_total) == (3, 1, 4)
    assert (s.with_reference_answer, s.without_reference_answer) == (2, 2)
    assert s.with_history == 1
    lengths = sorted(len(c.question) for c in load_golden_set(MINI).cases)
    assert s.question_chars.min == lengths[0] and s.question_chars.max == lengths[-1]
    assert s.question_chars.median == statistics.median(lengths)
    assert s.question_words.max == 8  # "Hoe wordt de WOZ-waarde van mijn woning bepaald?"


def test_stats_counts_cases_not_tag_repeats_and_uses_manifest_language() -> None:
    cases = [
        GoldenCase(id="a", question="x", tags=["topic:woz", "topic:woz", "urgent"]),
        GoldenCase(id="b", question="y z", tags=["topic:woz", "topic:bag"]),
        GoldenCase(id="c", question="y z w"),
    ]
    s = stats(_set(cases, language="en"))
    assert s.tags == {"topic": {"woz": 2, "bag": 1}}
    assert s.plain_tags == {"urgent": 1}
    assert s.untagged == 1
    assert s.languages == {"en": 3}
    assert s.expected_behavior == {"answer": 3, "refuse": 0}


def test_length_summary_nearest_rank_p90() -> None:
    q = LengthSummary.of(list(range(1, 11)))
    assert (q.min, q.median, q.mean, q.p90, q.max) == (1, 5.5, 5.5, 9.0, 10)
    assert LengthSummary.of([]).max == 0


@PROPERTY
@given(case_lists)
def test_stats_totals_are_consistent(cases: list[GoldenCase]) -> None:
    s = stats(_set(cases))
    assert sum(s.expected_behavior.values()) == s.n_cases == len(cases)
    assert sum(s.languages.values()) == s.n_cases
    assert s.with_gold_contexts + s.without_gold_contexts == s.n_cases
    assert s.with_reference_answer + s.without_reference_answer == s.n_cases


def test_diff_added_removed_changed_and_manifest() -> None:
    old = load_golden_set(MINI)
    cases = [c.model_copy(deep=True) for c in old.cases]
    cases[0].question = "Hoe bepaalt de gemeente de WOZ-waarde?"
    cases[0].tags.append("difficulty:medium")
    cases[1].gold_contexts[0].relevance = 2
    del cases[2]
    cases.append(GoldenCase(id="bgt-001", question="Wat is de BGT?"))
    new = GoldenSet(
        manifest=old.manifest.model_copy(update={"version": "2"}),
        cases=[cases[3], cases[0], cases[1], cases[2]],  # reordered as well
    )
    d = diff(old, new)
    assert d.added == ["bgt-001"]
    assert d.removed == ["brk-en-001"]
    assert [(c.id, c.fields) for c in d.changed] == [
        ("woz-001", ["question", "tags"]),
        ("bag-001", ["gold_contexts"]),
    ]
    assert d.unchanged == 1  # weer-001; its new position is not a change
    assert [(m.field, m.old, m.new) for m in d.manifest_changes] == [("version", "1", "2")]
    assert d.old_digest == MINI_DIGEST and d.new_digest == new.digest != MINI_DIGEST
    assert not d.identical


def test_diff_of_same_data_in_other_format_is_empty() -> None:
    from tests.helpers.datasets import DATA

    d = diff(load_golden_set(MINI), load_golden_set(DATA / "mini.yaml"))
    assert (d.added, d.removed, d.changed, d.unchanged) == ([], [], [], 4)
    assert d.old_digest == d.new_digest
    # The YAML file carries no owner/licence: those show as manifest changes.
    assert {m.field for m in d.manifest_changes} == {"owner", "licence"}


@PROPERTY
@given(case_lists, case_lists)
def test_diff_partitions_ids(old_cases: list[GoldenCase], new_cases: list[GoldenCase]) -> None:
    d = diff(_set(old_cases), _set(new_cases))
    old_ids = {c.id for c in old_cases}
    new_ids = {c.id for c in new_cases}
    assert set(d.added) == new_ids - old_ids
    assert set(d.removed) == old_ids - new_ids
    assert len(d.changed) + d.unchanged == len(old_ids & new_ids)
    assert d.identical == (old_ids == new_ids and not d.changed)
