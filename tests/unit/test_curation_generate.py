"""Generation's checks and plan, and the digest staying put for sets without curation fields."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ragwacht.curation.generate import (
    GenerationPlan,
    detect_language,
    longest_copied_run,
    quote_in_passage,
)
from ragwacht.datasets.digest import canonical_case
from ragwacht.datasets.models import CaseStatus, GoldenCase, Provenance

PASSAGE = (
    "De WOZ-waarde van een woning wordt elk jaar door de gemeente vastgesteld. "
    "U kunt binnen zes weken bezwaar maken."
)


def test_quote_must_come_from_the_passage() -> None:
    assert quote_in_passage("binnen zes weken bezwaar maken", PASSAGE)
    assert quote_in_passage("De WOZ-waarde van een woning wordt, elk jaar", PASSAGE)
    assert not quote_in_passage("binnen acht weken bezwaar maken bij het Kadaster", PASSAGE)
    assert not quote_in_passage("", PASSAGE)


def test_copied_run_is_measured_in_words() -> None:
    assert (
        longest_copied_run("Wordt de WOZ-waarde van een woning elk jaar vastgesteld?", PASSAGE) == 6
    )
    copied = "De WOZ-waarde van een woning wordt elk jaar door de gemeente vastgesteld?"
    assert longest_copied_run(copied, PASSAGE) >= 8


def test_language_by_function_words() -> None:
    assert detect_language("Wie stelt de WOZ-waarde van mijn huis vast?") == "nl"
    assert detect_language("Who sets the value of my house?") == "en"
    assert detect_language("WOZ?") is None


@given(
    n=st.integers(1, 500),
    shares=st.lists(st.floats(0.01, 5), min_size=1, max_size=5),
)
def test_plan_wants_exactly_n(n: int, shares: list[float]) -> None:
    kinds = ["factual", "synthesis", "refuse", "followup", "rephrase"][: len(shares)]
    wanted = GenerationPlan(n=n, mix=dict(zip(kinds, shares, strict=False))).wanted()
    assert sum(wanted.values()) == n and set(wanted) <= set(kinds)


def test_curation_fields_leave_old_digests_alone() -> None:
    case = GoldenCase(id="q1", question="Wat is de BAG?")
    # The canonical form of a case without curation fields is what version 1 always wrote.
    assert "status" not in canonical_case(case) and "provenance" not in canonical_case(case)
    marked = case.model_copy(
        update={"status": CaseStatus.CANDIDATE, "provenance": Provenance(kind="factual")}
    )
    assert canonical_case(marked) != canonical_case(case)
