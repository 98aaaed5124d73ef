from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ragwacht.datasets import GoldenCase, digest_cases, load_cases, load_golden_set
from ragwacht.datasets.models import OPTIONAL_FIELDS
from tests.helpers.datasets import MINI, MINI_DIGEST, PROPERTY, case_lists, golden_cases

# Optional fields left out of dumps while unset (curation, conversations) have tests of their own.
FIELDS = [f for f in GoldenCase.model_fields if f not in OPTIONAL_FIELDS]


def _reference_digest(cases: list[GoldenCase]) -> str:
    """The documented canonical form, written out independently of the implementation."""
    lines = []
    for c in cases:
        d = c.model_dump(mode="json")
        lines.append(
            (d["id"], json.dumps(d, sort_keys=True, separators=(",", ":"), ensure_ascii=False))
        )
    body = "ragwacht-golden-cases/1" + "".join("\n" + line for _, line in sorted(lines))
    return "sha256:" + hashlib.sha256(body.encode("utf-8")).hexdigest()


def _shuffle_keys(value: object, rnd: random.Random) -> object:
    if isinstance(value, dict):
        items = list(value.items())
        rnd.shuffle(items)
        return {k: _shuffle_keys(v, rnd) for k, v in items}
    if isinstance(value, list):
        return [_shuffle_keys(v, rnd) for v in value]
    return value


def test_mini_digest_is_pinned() -> None:
    golden = load_golden_set(MINI)
    assert golden.digest == MINI_DIGEST
    assert _reference_digest(golden.cases) == MINI_DIGEST


def test_digest_format() -> None:
    d = digest_cases(load_golden_set(MINI).cases)
    assert d.startswith("sha256:")
    assert len(d) == len("sha256:") + 64
    assert all(c in "0123456789abcdef" for c in d.removeprefix("sha256:"))


@PROPERTY
@given(case_lists)
def test_digest_matches_documented_canonical_form(cases: list[GoldenCase]) -> None:
    assert digest_cases(cases) == _reference_digest(cases)


@PROPERTY
@given(cases=case_lists, seed=st.integers(0, 2**32 - 1), compact=st.booleans())
def test_key_order_whitespace_and_defaults_do_not_change_digest(
    tmp_path: Path, cases: list[GoldenCase], seed: int, compact: bool
) -> None:
    rnd = random.Random(seed)
    lines = []
    for c in cases:
        data = c.model_dump(mode="json", exclude_defaults=compact)
        sep = rnd.choice([(",", ":"), (", ", ": "), (" ,  ", " :\t")])
        text = json.dumps(_shuffle_keys(data, rnd), separators=sep, ensure_ascii=rnd.random() < 0.5)
        lines.append(" " * rnd.randint(0, 3) + text + "\t" * rnd.randint(0, 2))
        if rnd.random() < 0.3:
            lines.append("   ")  # blank lines are ignored
    path = tmp_path / "cases.jsonl"
    path.write_text("\r\n".join(lines) if rnd.random() < 0.5 else "\n".join(lines), "utf-8")
    assert digest_cases(load_cases(path)) == digest_cases(cases)


def test_explicit_defaults_equal_omitted_defaults() -> None:
    short = GoldenCase.model_validate(
        {"id": "a", "question": "q?", "gold_contexts": [{"doc_id": "d"}]}
    )
    explicit = GoldenCase.model_validate(
        {
            "id": "a",
            "question": "q?",
            "reference_answer": None,
            "expected_behavior": "answer",
            "tags": [],
            "history": [],
            "gold_contexts": [{"doc_id": "d", "text": None, "relevance": 1}],
        }
    )
    assert digest_cases([short]) == digest_cases([explicit])
    # A blank reference answer is no reference answer (and reads back so from CSV).
    blank = GoldenCase.model_validate(
        {
            "id": "a",
            "question": "q?",
            "reference_answer": " ",
            "gold_contexts": [{"doc_id": "d", "text": ""}],
        }
    )
    assert blank.reference_answer is None
    assert digest_cases([blank]) == digest_cases([short])


@PROPERTY
@given(case_lists, st.randoms(use_true_random=False))
def test_case_order_does_not_change_digest(cases: list[GoldenCase], rnd: random.Random) -> None:
    shuffled = list(cases)
    rnd.shuffle(shuffled)
    assert digest_cases(shuffled) == digest_cases(cases)


@PROPERTY
@given(case_lists, golden_cases, st.sampled_from(FIELDS), st.data())
def test_changing_any_field_changes_digest(
    cases: list[GoldenCase], donor: GoldenCase, field: str, data: st.DataObject
) -> None:
    i = data.draw(st.integers(0, len(cases) - 1))
    target = cases[i]
    changed = GoldenCase.model_validate(
        {**target.model_dump(mode="json"), field: donor.model_dump(mode="json")[field]}
    )
    if changed == target:
        return  # the donor happened to hold the same value
    if field == "id" and any(c.id == changed.id for c in cases):
        return  # would make a duplicate id, which validation rejects
    edited = [*cases[:i], changed, *cases[i + 1 :]]
    assert digest_cases(edited) != digest_cases(cases)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("question",), "Hoe wordt de WOZ-waarde bepaald?"),
        (("reference_answer",), "De gemeente taxeert de woning."),
        (("expected_behavior",), "refuse"),
        (("tags", 0), "topic:WOZ"),
        (("gold_contexts", 1, "relevance"), 3),
        (("gold_contexts", 0, "text"), "een passage"),
    ],
)
def test_small_edits_change_digest(path: tuple[object, ...], value: object) -> None:
    golden = load_golden_set(MINI)
    data = golden.cases[0].model_dump(mode="json")
    node: object = data
    for key in path[:-1]:
        node = node[key]  # type: ignore[index]
    node[path[-1]] = value  # type: ignore[index]
    edited = [GoldenCase.model_validate(data), *golden.cases[1:]]
    assert digest_cases(edited) != golden.digest


def test_adding_or_removing_a_case_changes_digest() -> None:
    cases = load_golden_set(MINI).cases
    assert digest_cases(cases[:-1]) != digest_cases(cases)
    extra = GoldenCase(id="new-1", question="Nieuwe vraag?")
    assert digest_cases([*cases, extra]) != digest_cases(cases)
