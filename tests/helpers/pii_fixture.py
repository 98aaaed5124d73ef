"""Builds ``tests/data/pii/labelled.jsonl``: running Dutch text with valid and invalid identifiers.

Every item is ``{"id", "text", "spans": [{"kind", "start", "end", "text"}], "decoys": [...]}``:
``spans`` are the valid identifiers a detector must find, ``decoys`` look like identifiers but
fail their check (a BSN failing the 11-proof, an IBAN with a wrong check digit, a service
number, a date that does not exist, a postcode without a house number, ...) and must not be
reported. All values are synthetic (see :mod:`ragwacht.safety.synthetic`).

Regenerate (the file is committed; a test checks it is what this script writes)::

    PYTHONPATH=src python -m tests.helpers.pii_fixture
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ragwacht.safety import synthetic as syn

SEED = 20261203
OUT = Path(__file__).resolve().parents[1] / "data" / "pii" / "labelled.jsonl"

_FIRST = ("jan", "fatima", "pieter", "sanne", "mohammed", "anouk", "daan", "noor", "lars", "eva")
_LAST = ("jansen", "devries", "bakker", "elamrani", "visser", "smit", "mulder", "bos", "dekker")
_STREETS = ("Kerkstraat", "Dorpsweg", "Molenlaan", "Stationsplein", "Prinsengracht", "Wilgenhof")
_TOWNS = ("Utrecht", "Apeldoorn", "Zwolle", "Leeuwarden", "Maastricht", "Tilburg")
_MONTHS_NL = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus",
              "september", "oktober", "november", "december")  # fmt: skip
_MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August",
              "September", "October", "November", "December")  # fmt: skip
_FILLER = (
    "De WOZ-waarde wordt elk jaar opnieuw vastgesteld.",
    "De aanvraag is op het loket in behandeling genomen.",
    "In 2009 is de Wet BAG in werking getreden.",
    "Het zaaknummer 2023-123456 hoort bij dit verzoek.",
    "De kosten bedragen € 1.234,56 per jaar.",
    "Het project kostte € 123.456.789 in totaal.",
    "Neem contact op via het algemene nummer 14 020.",
    "Het perceel is 350 m² groot.",
    "Zie artikel 12, lid 3, van de wet.",
    "Op 12-03-2020 is de regeling gewijzigd.",
)

Piece = tuple[str, str | None, bool]  # (text, kind or None, valid)


def _bsn_formats(rng: random.Random, digits: str) -> str:
    return rng.choice(
        [
            digits,
            f"{digits[:4]}.{digits[4:6]}.{digits[6:]}",
            f"{digits[:3]} {digits[3:6]} {digits[6:]}",
        ]
    )


def _phone_text(rng: random.Random) -> str:
    if rng.random() < 0.5:
        nsn = syn.mobile(rng)
        return rng.choice(
            [
                f"0{nsn}",
                f"06-{nsn[1:]}",
                f"06 {nsn[1:]}",
                f"06 {nsn[1:5]} {nsn[5:]}",
                f"06 {nsn[1:3]} {nsn[3:5]} {nsn[5:7]} {nsn[7:]}",
                f"+31 6 {nsn[1:]}",
                f"+31{nsn}",
                f"0031 6 {nsn[1:5]} {nsn[5:]}",
                f"+31 (0)6 {nsn[1:]}",
                f"06.{nsn[1:3]}.{nsn[3:5]}.{nsn[5:7]}.{nsn[7:]}",
            ]
        )
    area, rest = syn.landline(rng)
    return rng.choice(
        [
            f"0{area}-{rest}",
            f"0{area} {rest}",
            f"(0{area}) {rest[:3]} {rest[3:]}",
            f"+31 {area} {rest}",
            f"+31 (0){area} {rest}",
            f"0031 {area} {rest}",
            f"0{area} - {rest}",
        ]
    )


def _bad_phone(rng: random.Random) -> str:
    nsn = syn.mobile(rng)
    return rng.choice(
        [
            f"06-{nsn[1:-1]}",  # one digit short
            f"06-{nsn[1:]}{rng.randint(0, 9)}",  # one digit too many
            f"0800-{rng.randint(1000000, 9999999)}",  # free service number
            f"0900-{rng.randint(1000000, 9999999)}",  # paid service number
            f"06-6{nsn[2:]}",  # pager range
            f"+31 6 {nsn[1:-1]}",
            f"0970-{rng.randint(10000000, 99999999)}",  # machine-to-machine, one too long
        ]
    )


def _bad_email(rng: random.Random) -> str:
    f, la = rng.choice(_FIRST), rng.choice(_LAST)
    d = rng.choice(syn.TEST_DOMAINS)
    return rng.choice(
        [
            f"{f}..{la}@{d}",
            f"{f}.@{d}",
            f".{f}@{d}",
            f"{f}@-{d}",
            f"{f}@{d.split('.')[0]}-.com",
            f"{f}@{d.split('.')[0]}.123",
        ]
    )


def _postcode_text(rng: random.Random) -> str:
    pc = syn.postcode(rng)
    nr = rng.randint(1, 250)
    suf = rng.choice(["", "", "a", "B", "-2"])
    compact = pc.replace(" ", "") if rng.random() < 0.3 else pc
    return rng.choice(
        [
            f"{compact} {nr}{suf}",
            f"{rng.choice(_STREETS)} {nr}{suf}, {compact}",
            f"{compact}, huisnummer {nr}",
            f"{rng.choice(_STREETS)} {nr} {compact}",
        ]
    )


def _bad_postcode(rng: random.Random) -> str:
    pc = syn.postcode(rng)
    nr = rng.randint(1, 250)
    return rng.choice(
        [
            f"0{pc[1:]} {nr}",  # a postcode never starts with 0
            f"{pc[:4]} SS {nr}",  # SS, SD and SA are not issued
            f"{pc[:4]} SD {nr}",
            f"{pc} {rng.choice(_TOWNS)}",  # no house number: an area, not an address
            f"Postbus {nr}, {pc}",  # an organisation's PO box
        ]
    )


def _bad_plate(rng: random.Random) -> str:
    return rng.choice(
        [
            f"{rng.randint(10, 99)}-{rng.randint(10, 99)}-{rng.randint(10, 99)}",  # digits only
            "-".join("".join(rng.choice("BDFGHJ") for _ in range(2)) for _ in range(3)),
            f"{rng.randint(10, 99)}-{rng.choice(['ABE', 'OUI', 'CAQ'])}-{rng.randint(1, 9)}",
            f"{rng.randint(100, 999)}-{rng.randint(10, 99)}-{rng.randint(1, 9)}",
            f"{rng.choice('BDFG')}-{rng.randint(1, 9)}-{rng.choice('HJKL')}",
        ]
    )


def _dob_text(rng: random.Random) -> tuple[str, str]:
    d = syn.birth_date(rng)
    date_text = rng.choice(
        [
            f"{d.day:02d}-{d.month:02d}-{d.year}",
            f"{d.day}-{d.month}-{d.year}",
            f"{d.day:02d}/{d.month:02d}/{d.year}",
            d.isoformat(),
            f"{d.day} {_MONTHS_NL[d.month - 1]} {d.year}",
        ]
    )
    lead = rng.choice(
        ["Zij is geboren op ", "Geboortedatum: ", "De aanvrager (geb. ", "Hij werd geboren op "]
    )
    return lead, date_text


def _bad_dob(rng: random.Random) -> tuple[str, str]:
    d = syn.birth_date(rng)
    return rng.choice(
        [
            ("Zij is geboren op ", f"31-02-{d.year}"),
            ("Geboortedatum: ", f"{d.day:02d}-13-{d.year}"),
            ("Hij werd geboren op ", f"30 februari {d.year}"),
            ("Op ", f"{d.day:02d}-{d.month:02d}-{d.year} is het besluit genomen"),
            ("De wet is geboren uit een idee van ", f"{d.year}"),
            ("Geboortedatum: ", f"{d.day:02d}-{d.month:02d}-1850"),
        ]
    )


def _valid_piece(kind: str, rng: random.Random) -> list[Piece]:
    f, la = rng.choice(_FIRST), rng.choice(_LAST)
    name = f"{f.capitalize()} {la.capitalize()}"
    if kind == "bsn":
        v = _bsn_formats(rng, syn.bsn(rng, prefix=str(rng.randint(1, 9))))
        lead = rng.choice([f"Het BSN van {name} is ", "Burgerservicenummer: ", "Met nummer "])
        return [(lead, None, True), (v, "bsn", True), (" staat in de registratie.", None, True)]
    if kind == "iban":
        country = rng.choice(["NL", "NL", "NL", "BE", "DE", "FR", "GB"])
        v = syn.iban(rng, country)
        v = syn.group_iban(v) if rng.random() < 0.5 else v
        lead = rng.choice(["Stort het bedrag op ", f"Het rekeningnummer van {name} is ", "IBAN "])
        return [
            (lead, None, True),
            (v, "iban", True),
            (" onder vermelding van het kenmerk.", None, True),
        ]
    if kind == "phone":
        lead = rng.choice([f"{name} is bereikbaar op ", "Bel ", "Telefoon: "])
        return [
            (lead, None, True),
            (_phone_text(rng), "phone", True),
            (" op werkdagen.", None, True),
        ]
    if kind == "email":
        lead = rng.choice([f"Mail {name} via ", "E-mailadres: ", "Stuur het naar "])
        return [
            (lead, None, True),
            (syn.email(rng, f, la), "email", True),
            (" voor vragen.", None, True),
        ]
    if kind == "postcode":
        lead = rng.choice([f"{name} woont op ", "Adres: ", "Het pand op "])
        return [
            (lead, None, True),
            (_postcode_text(rng), "postcode", True),
            (" is getaxeerd.", None, True),
        ]
    if kind == "licence_plate":
        code = rng.randint(1, 14)
        lead = rng.choice([f"De auto van {name} heeft kenteken ", "Kenteken ", "Het voertuig met "])
        return [
            (lead, None, True),
            (syn.plate(rng, code), "licence_plate", True),
            (" is geschorst.", None, True),
        ]
    lead, date_text = _dob_text(rng)
    tail = ")." if lead.endswith("(geb. ") else "."
    return [(lead, None, True), (date_text, "date_of_birth", True), (tail, None, True)]


def _invalid_piece(kind: str, rng: random.Random) -> list[Piece]:
    if kind == "bsn":
        v = _bsn_formats(rng, syn.invalid_bsn(rng, prefix=str(rng.randint(1, 9))))
        return [
            ("Het nummer ", None, True),
            (v, "bsn", False),
            (" is geen geldig BSN.", None, True),
        ]
    if kind == "iban":
        v = syn.invalid_iban(rng, rng.choice(["NL", "BE", "DE"]))
        v = syn.group_iban(v) if rng.random() < 0.5 else v
        return [
            ("Het opgegeven IBAN ", None, True),
            (v, "iban", False),
            (" klopt niet.", None, True),
        ]
    if kind == "phone":
        return [
            ("Het nummer ", None, True),
            (_bad_phone(rng), "phone", False),
            (" werkt niet.", None, True),
        ]
    if kind == "email":
        return [
            ("Het adres ", None, True),
            (_bad_email(rng), "email", False),
            (" is ongeldig.", None, True),
        ]
    if kind == "postcode":
        return [
            ("Zie ", None, True),
            (_bad_postcode(rng), "postcode", False),
            (" voor het loket.", None, True),
        ]
    if kind == "licence_plate":
        return [
            ("Code ", None, True),
            (_bad_plate(rng), "licence_plate", False),
            (" is geen kenteken.", None, True),
        ]
    lead, date_text = _bad_dob(rng)
    return [(lead, None, True), (date_text, "date_of_birth", False), (".", None, True)]


KINDS = ("bsn", "iban", "phone", "email", "postcode", "licence_plate", "date_of_birth")


def _item(i: int, pieces: list[Piece]) -> dict[str, Any]:
    text = ""
    spans: list[dict[str, Any]] = []
    decoys: list[dict[str, Any]] = []
    for chunk, kind, valid in pieces:
        start = len(text)
        text += chunk
        if kind is not None:
            entry = {"kind": kind, "start": start, "end": len(text), "text": chunk}
            (spans if valid else decoys).append(entry)
    return {"id": f"pii-{i:03d}", "text": text, "spans": spans, "decoys": decoys}


def build(seed: int = SEED) -> list[dict[str, Any]]:
    """The labelled items: per kind 20 valid and 15 invalid alone, then 40 mixed texts."""
    rng = random.Random(seed)
    items: list[dict[str, Any]] = []
    makers: list[Callable[[], list[Piece]]] = []
    for kind in KINDS:
        makers += [lambda k=kind: _valid_piece(k, rng)] * 20  # type: ignore[misc]
        makers += [lambda k=kind: _invalid_piece(k, rng)] * 15  # type: ignore[misc]
    for make in makers:
        pieces = make()
        if rng.random() < 0.6:
            pieces = [(rng.choice(_FILLER) + " ", None, True), *pieces]
        items.append(_item(len(items) + 1, pieces))
    for _ in range(40):
        pieces: list[Piece] = [(rng.choice(_FILLER) + " ", None, True)]
        for kind in rng.sample(KINDS, 3):
            maker = _valid_piece if rng.random() < 0.6 else _invalid_piece
            pieces += [*maker(kind, rng), (" ", None, True)]
        items.append(_item(len(items) + 1, pieces[:-1]))
    return items


def render(items: list[dict[str, Any]]) -> str:
    """The JSONL text of ``items``."""
    return "".join(json.dumps(it, ensure_ascii=False) + "\n" for it in items)


def main() -> None:
    """Write the fixture."""
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(render(build()), encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
