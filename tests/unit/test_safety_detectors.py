"""PII detectors: validated identifiers are found, look-alikes that fail their check are not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ragwacht.safety.detectors import PII_KINDS, bsn_valid, evaluate, find_pii, iban_valid
from tests.helpers import pii_fixture

FIXTURE = Path(__file__).resolve().parents[1] / "data" / "pii" / "labelled.jsonl"


def _items() -> list[dict]:
    return [json.loads(line) for line in FIXTURE.read_text(encoding="utf-8").splitlines()]


def test_fixture_is_what_the_seeded_script_writes() -> None:
    assert FIXTURE.read_text(encoding="utf-8") == pii_fixture.render(pii_fixture.build())
    items = _items()
    assert len(items) >= 200
    kinds = {s["kind"] for it in items for s in it["spans"]}
    decoy_kinds = {d["kind"] for it in items for d in it["decoys"]}
    assert kinds == decoy_kinds == set(PII_KINDS)


def test_recall_one_and_no_false_positive_per_kind() -> None:
    scores = evaluate(_items())
    for kind, s in scores.items():
        assert s.recall == 1.0, (kind, s)
        assert s.false_positives == 0, (kind, s)
        assert s.decoys >= 15 and s.decoys_flagged == 0, (kind, s)


def test_checksums_on_published_examples() -> None:
    assert bsn_valid("111222333")
    assert not bsn_valid("111222334")
    assert not bsn_valid("000000000")
    for good in ("NL91ABNA0417164300", "GB82WEST12345698765432", "BE68539007547034"):
        assert iban_valid(good), good
    assert not iban_valid("NL91ABNA0417164301")
    assert not iban_valid("NL91ABNA041716430")  # one character short for NL


@pytest.mark.parametrize(
    ("text", "kind", "found"),
    [
        ("Mijn BSN is 111222333.", "bsn", "111222333"),
        ("Mijn BSN is 111222334.", "bsn", None),
        ("Het project kostte € 111.222.333.", "bsn", None),
        ("Bel +31 (0)20 123 4567 of later.", "phone", "+31 (0)20 123 4567"),
        ("Bel 0800-1234567 gratis.", "phone", None),
        ("IBAN NL91 ABNA 0417 1643 00 t.n.v. de gemeente.", "iban", "NL91 ABNA 0417 1643 00"),
        ("IBAN NL91 ABNA 0417 1643 01 is fout.", "iban", None),
        ("Woont op Kerkstraat 12a, 1234 AB Utrecht.", "postcode", "Kerkstraat 12a, 1234 AB"),
        ("Het kantoor in 1234 AB Utrecht.", "postcode", None),
        ("Postbus 123, 2500 GA Den Haag.", "postcode", None),
        ("Kenteken 12-ABC-3 is geschorst.", "licence_plate", None),  # vowels: no sidecode 7
        ("Kenteken 12-BDF-3 is geschorst.", "licence_plate", "12-BDF-3"),
        ("Geboren op 29 februari 1996 te Zwolle.", "date_of_birth", "29 februari 1996"),
        ("Geboren op 29 februari 1997 te Zwolle.", "date_of_birth", None),
        ("Het besluit van 12-03-1985 geldt nog.", "date_of_birth", None),
        ("Mail naar j.jansen@example.com of bel.", "email", "j.jansen@example.com"),
        ("Mail naar j..jansen@example.com of bel.", "email", None),
    ],
)
def test_detector_cases(text: str, kind: str, found: str | None) -> None:
    spans = [s for s in find_pii(text) if s.kind == kind]
    if found is None:
        assert spans == []
    else:
        assert [s.text for s in spans] == [found]
        s = spans[0]
        assert text[s.start : s.end] == found


def test_a_phone_number_is_not_also_a_bsn() -> None:
    # 612291418 passes the 11-proof, but after +31 it is a mobile number.
    assert bsn_valid("612291418")
    assert [s.kind for s in find_pii("Bel +31 612291418.")] == ["phone"]
    assert find_pii("Bel +31 612291418.", kinds=["bsn"]) == []
    assert [s.kind for s in find_pii("Mijn BSN is 612291418.")] == ["bsn"]


def test_unknown_kind_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown PII kind"):
        find_pii("x", kinds=["passport"])
