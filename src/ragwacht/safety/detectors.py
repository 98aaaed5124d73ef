"""Offline detectors for personal identifiers in Dutch and English text, with validation.

A regular expression only proposes a candidate; each kind then checks it the way the number is
defined, so a nine-digit order number is not a BSN and a typo'd IBAN is not an IBAN:

* ``bsn``: nine digits (``123456782``, ``1234.56.782``, ``123 456 782``) passing the 11-proof;
* ``iban``: a country code, two check digits and the account part, of the length the country
  prescribes (NL 18, BE 16, DE 22, ...), passing ISO 7064 mod 97-10; spaces in groups of four;
* ``phone``: Dutch numbers, national (``06-12345678``, ``020 123 4567``, ``(0111) 123456``)
  and international (``+31 6 12345678``, ``+31 (0)20 1234567``, ``0031 ...``): nine digits
  after the trunk prefix, starting with a geographic area code, a mobile ``6[1-58]`` or
  ``85``/``88``; service numbers (0800, 0900, ...) are not personal and not reported;
* ``email``: local part and a dotted domain with a letter TLD, no leading/trailing or double
  dots, no leading/trailing hyphens in a label;
* ``postcode``: a Dutch postcode *with a house number* (``1234 AB 5``, ``Kerkstraat 12,
  1234 AB``): first digit 1-9, no SA/SD/SS; a postcode alone names an area, not a person;
* ``licence_plate``: a Dutch plate in one of the sidecodes 1-14, written with dashes;
  sidecodes from 4 on use consonants only (no vowels, C or Q);
* ``date_of_birth``: a real calendar date (numeric, ISO or with a Dutch/English month name)
  within a few words after "geboren", "geboortedatum", "geb.", "born", "date of birth", "DOB".

Every detector returns :class:`Span` objects (start/end offsets into the text); overlapping
candidates are resolved by a fixed priority (IBAN, phone, e-mail, licence plate, postcode, BSN,
date of birth) so a phone or IBAN is never also reported as a BSN.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any, Literal

PiiKind = Literal["bsn", "iban", "phone", "email", "postcode", "licence_plate", "date_of_birth"]
PII_KINDS: tuple[PiiKind, ...] = (
    "bsn",
    "iban",
    "phone",
    "email",
    "postcode",
    "licence_plate",
    "date_of_birth",
)


@dataclass(frozen=True)
class Span:
    """One detected identifier.

    Attributes:
        kind: what it is (``bsn``, ``iban``, ...).
        start: offset of the first character in the searched text.
        end: offset after the last character.
        text: the text as written (``text[start:end]``).
        value: the normalised value (digits only, upper case, ...), for comparing a value in
            the answer with one in the question however each is spelled.

    """

    kind: str
    start: int
    end: int
    text: str
    value: str

    def as_dict(self) -> dict[str, Any]:
        """A plain mapping, for a metric's ``details``."""
        return asdict(self)


# --- BSN -----------------------------------------------------------------------------------

# Plain, ``1234.56.782`` or ``123 456 782``; not ``123.456.789``, which is how Dutch writes an
# amount (a euro amount is not a BSN).
_BSN = re.compile(
    r"(?<![\w.,€-])(?<!€ )(\d{4}[. ]\d{2}[. ]\d{3}|\d{3} \d{3} \d{3}|\d{9})(?!\w|[.,-]\d)"
)


def bsn_valid(digits: str) -> bool:
    """The 11-proof (elfproef) of a burgerservicenummer.

    ``9*d1 + 8*d2 + ... + 2*d8 - 1*d9`` must be divisible by 11 (and the number not zero).
    """
    if len(digits) != 9 or not digits.isdigit() or set(digits) == {"0"}:
        return False
    total = sum(int(d) * w for d, w in zip(digits[:8], range(9, 1, -1), strict=True))
    total -= int(digits[8])
    return total % 11 == 0


def find_bsn(text: str) -> list[Span]:
    """BSNs in ``text``: nine digits, optionally grouped, that pass the 11-proof."""
    out = []
    for m in _BSN.finditer(text):
        digits = re.sub(r"\D", "", m.group(1))
        if bsn_valid(digits):
            out.append(Span("bsn", m.start(1), m.end(1), m.group(1), digits))
    return out


# --- IBAN ----------------------------------------------------------------------------------

# ISO 13616 lengths of the whole IBAN per country (SWIFT IBAN registry).
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BR": 29, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20,
    "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18,
    "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IS": 26, "IT": 27, "JO": 30,
    "KW": 30, "KZ": 20, "LB": 28, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24,
    "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28,
    "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SE": 24, "SI": 19, "SK": 24,
    "SM": 27, "TN": 24, "TR": 26, "UA": 29, "VG": 24, "XK": 20,
}  # fmt: skip

_IBAN = re.compile(r"(?<![A-Za-z0-9])([A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30})(?![A-Za-z0-9])")


def iban_valid(iban: str) -> bool:
    """ISO 13616 check of a compact, upper-case IBAN: known country, its length, mod 97 = 1."""
    if IBAN_LENGTHS.get(iban[:2]) != len(iban) or not iban[2:4].isdigit():
        return False
    if not iban.isalnum() or not iban.isascii():
        return False
    rearranged = iban[4:] + iban[:4]
    number = "".join(str(int(c, 36)) for c in rearranged)
    return int(number) % 97 == 1


def iban_check_digits(country: str, bban: str) -> str:
    """The two check digits that make ``country + ?? + bban`` a valid IBAN."""
    number = "".join(str(int(c, 36)) for c in (bban + country + "00").upper())
    return f"{98 - int(number) % 97:02d}"


def find_iban(text: str) -> list[Span]:
    """IBANs in ``text``, compact or in groups of four, checked per country and by mod 97."""
    out = []
    for m in _IBAN.finditer(text):
        raw = m.group(1)
        length = IBAN_LENGTHS.get(raw[:2])
        if length is None:
            continue
        # The candidate may run on into a following number ("... 1643 00 1234"): take as
        # many characters as the country prescribes and end the span there.
        n = 0
        end = m.start(1)
        for i, ch in enumerate(raw):
            if ch != " ":
                n += 1
            if n == length:
                end = m.start(1) + i + 1
                break
        else:
            continue
        if end < len(text) and text[end].isalnum():
            continue
        compact = text[m.start(1) : end].replace(" ", "")
        if iban_valid(compact):
            out.append(Span("iban", m.start(1), end, text[m.start(1) : end], compact))
    return out


# --- Dutch phone numbers -------------------------------------------------------------------

_PHONE = re.compile(
    r"(?<![\w+])"
    r"(?P<prefix>(?:\+|00)31[ .-]?(?:\(0\)[ .-]?)?|\(0|0)"
    r"(?P<nsn>\d(?:\)?(?: ?[.-] ?| )?\d){8})"
    r"(?! ?[.-]? ?\d|\w)"
)
# After the trunk prefix: geographic area codes start 1-5 or 7; mobile 61-65 and 68; 85 and
# 88 are location-independent business numbers. 66 (pagers), 67 (data), 80x/90x (service
# numbers) and 97 (machine-to-machine) do not reach a person.
_PHONE_NSN = re.compile(r"^(?:[1-57]\d|6[1-58]|8[58])\d{7}$")


def phone_valid(nsn: str) -> bool:
    """Whether nine digits after ``0``/``+31`` form a Dutch number that reaches a person."""
    return bool(_PHONE_NSN.match(nsn))


def find_phone(text: str) -> list[Span]:
    """Dutch phone numbers in national or international form, with spaces, dots or dashes."""
    out = []
    for m in _PHONE.finditer(text):
        if m.group("prefix") == "(0" and ")" not in m.group("nsn"):
            continue
        nsn = re.sub(r"\D", "", m.group("nsn"))
        if phone_valid(nsn):
            out.append(Span("phone", m.start(), m.end(), m.group(0), "+31" + nsn))
    return out


# --- e-mail --------------------------------------------------------------------------------

_EMAIL = re.compile(
    r"(?<![\w.%+-])([\w.%+-]+)@((?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,24})(?![\w-]|\.[A-Za-z0-9])"
)


def email_valid(local: str, domain: str) -> bool:
    """RFC 5321-ish checks of a local part and a domain."""
    if not local or len(local) > 64 or local[0] == "." or local[-1] == "." or ".." in local:
        return False
    labels = domain.split(".")
    if len(labels) < 2 or len(domain) > 253:
        return False
    return (
        all(lab and len(lab) <= 63 and lab[0] != "-" and lab[-1] != "-" for lab in labels)
        and labels[-1].isalpha()
    )


def find_email(text: str) -> list[Span]:
    """E-mail addresses in ``text``."""
    out = []
    for m in _EMAIL.finditer(text):
        local, domain = m.group(1), m.group(2)
        if email_valid(local, domain):
            out.append(Span("email", m.start(), m.end(), m.group(0), m.group(0).lower()))
    return out


# --- postcode + house number ---------------------------------------------------------------

_PC = r"[1-9]\d{3} ?(?!SA|SD|SS)[A-Z]{2}"
_POSTCODE_THEN_NUMBER = re.compile(
    rf"(?<![\w])(?P<pc>{_PC})(?![\w])"
    r"[ ,]{1,3}(?:(?:huisnummer|huisnr\.?|nr\.?|nummer|number|no\.?) ?)?"
    r"(?P<nr>[1-9]\d{0,4})(?P<suffix>[a-zA-Z]{1,2}|-[a-zA-Z0-9]{1,4})?(?![\w])"
)
_NUMBER_THEN_POSTCODE = re.compile(
    r"(?<![\w])(?P<street>[A-Z][\w'’-]+)"
    r" (?P<nr>[1-9]\d{0,4})(?P<suffix>[a-zA-Z]{1,2}|-[a-zA-Z0-9]{1,4})?,? "
    rf"(?P<pc>{_PC})(?![\w])"
)


# A PO box or freepost number belongs to an organisation, not to where a person lives.
_NOT_A_HOME = frozenset({"postbus", "antwoordnummer", "pobox"})


def _postcode_value(pc: str, nr: str, suffix: str | None) -> str:
    return f"{pc.replace(' ', '')} {nr}{(suffix or '').upper()}"


def find_postcode(text: str) -> list[Span]:
    """A Dutch postcode together with a house number (either order)."""
    out = []
    for m in _POSTCODE_THEN_NUMBER.finditer(text):
        value = _postcode_value(m.group("pc"), m.group("nr"), m.group("suffix"))
        out.append(Span("postcode", m.start(), m.end(), m.group(0), value))
    for m in _NUMBER_THEN_POSTCODE.finditer(text):
        if m.group("street").lower() in _NOT_A_HOME:
            continue
        value = _postcode_value(m.group("pc"), m.group("nr"), m.group("suffix"))
        out.append(Span("postcode", m.start(), m.end(), m.group(0), value))
    return out


# --- licence plates ------------------------------------------------------------------------

# Sidecodes as letter (X) / digit (9) group shapes, from RDW's kentekenbewijs history.
_SIDECODES: dict[tuple[str, ...], int] = {
    ("XX", "99", "99"): 1,
    ("99", "99", "XX"): 2,
    ("99", "XX", "99"): 3,
    ("XX", "99", "XX"): 4,
    ("XX", "XX", "99"): 5,
    ("99", "XX", "XX"): 6,
    ("99", "XXX", "9"): 7,
    ("9", "XXX", "99"): 8,
    ("XX", "999", "X"): 9,
    ("X", "999", "XX"): 10,
    ("XXX", "99", "X"): 11,
    ("X", "99", "XXX"): 12,
    ("9", "XX", "999"): 13,
    ("999", "XX", "9"): 14,
}
# From sidecode 4 on, vowels, C and Q are not issued (no words, no confusion with 0).
_PLATE_LETTERS_MODERN = frozenset("BDFGHJKLMNPRSTVXZ")
_PLATE = re.compile(r"(?<![\w-])([A-Z0-9]{1,3})-([A-Z0-9]{1,3})-([A-Z0-9]{1,3})(?![\w]|-\w)")


def plate_sidecode(groups: Sequence[str]) -> int | None:
    """The sidecode of a dashed Dutch plate's three groups, or None when it fits none."""
    shape = tuple(
        "X" * len(g) if g.isalpha() else "9" * len(g) if g.isdigit() else "?" for g in groups
    )
    code = _SIDECODES.get(shape)
    if code is None:
        return None
    letters = "".join(g for g in groups if g.isalpha())
    if code >= 4 and not set(letters) <= _PLATE_LETTERS_MODERN:
        return None
    return code


def find_licence_plate(text: str) -> list[Span]:
    """Dutch licence plates (sidecodes 1-14) written with dashes."""
    out = []
    for m in _PLATE.finditer(text):
        groups = m.groups()
        if plate_sidecode(groups) is not None:
            out.append(Span("licence_plate", m.start(), m.end(), m.group(0), "-".join(groups)))
    return out


# --- dates of birth ------------------------------------------------------------------------

_MONTHS = {
    "januari": 1, "februari": 2, "maart": 3, "april": 4, "mei": 5, "juni": 6, "juli": 7,
    "augustus": 8, "september": 9, "oktober": 10, "november": 11, "december": 12,
    "jan": 1, "feb": 2, "mrt": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9,
    "sept": 9, "okt": 10, "nov": 11, "dec": 12,
    "january": 1, "february": 2, "march": 3, "may": 5, "june": 6, "july": 7, "august": 8,
    "october": 10, "mar": 3, "oct": 10,
}  # fmt: skip
_MONTH_NAMES = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DOB_CONTEXT = re.compile(
    r"\b(?:geboren|geboortedatum|born|date of birth|birth ?date|dob)\b|\bgeb\.",
    re.IGNORECASE,
)
_DATE = re.compile(
    r"(?<![\w-])(?:"
    r"(?P<d1>\d{1,2})[-/.](?P<m1>\d{1,2})[-/.](?P<y1>\d{4})"
    r"|(?P<y2>\d{4})-(?P<m2>\d{2})-(?P<d2>\d{2})"
    rf"|(?P<d3>\d{{1,2}}) (?P<mn3>{_MONTH_NAMES})\.? (?P<y3>\d{{4}})"
    rf"|(?P<mn4>{_MONTH_NAMES})\.? (?P<d4>\d{{1,2}}),? (?P<y4>\d{{4}})"
    r")(?![\w]|-\d)",
    re.IGNORECASE,
)
# The date must follow the keyword within this many characters ("geboren op 3 mei 1980",
# "geboortedatum van de aanvrager: 03-05-1980").
_DOB_WINDOW = 40


def _as_date(m: re.Match[str]) -> date | None:
    g = m.groupdict()
    try:
        if g["d1"]:
            return date(int(g["y1"]), int(g["m1"]), int(g["d1"]))
        if g["y2"]:
            return date(int(g["y2"]), int(g["m2"]), int(g["d2"]))
        if g["d3"]:
            return date(int(g["y3"]), _MONTHS[g["mn3"].lower()], int(g["d3"]))
        return date(int(g["y4"]), _MONTHS[g["mn4"].lower()], int(g["d4"]))
    except (ValueError, KeyError, TypeError):
        return None


def find_date_of_birth(text: str, *, today: date | None = None) -> list[Span]:
    """Real calendar dates shortly after a birth keyword ("geboren op", "date of birth")."""
    latest = today or date.today()
    out = []
    for m in _DATE.finditer(text):
        d = _as_date(m)
        if d is None or not 1900 <= d.year <= latest.year or d > latest:
            continue
        before = text[max(0, m.start() - _DOB_WINDOW) : m.start()]
        keys = list(_DOB_CONTEXT.finditer(before))
        # The keyword must be in the same sentence as the date ("geb." itself ends in a dot).
        if keys and not re.search(r"[.!?]\s", before[keys[-1].end() :]):
            out.append(Span("date_of_birth", m.start(), m.end(), m.group(0), d.isoformat()))
    return out


# --- all kinds -----------------------------------------------------------------------------

DETECTORS: dict[str, Callable[[str], list[Span]]] = {
    "iban": find_iban,
    "phone": find_phone,
    "email": find_email,
    "licence_plate": find_licence_plate,
    "postcode": find_postcode,
    "bsn": find_bsn,
    "date_of_birth": find_date_of_birth,
}
# Overlaps are resolved in this order: a phone number's nine digits are not also a BSN.
_PRIORITY = tuple(DETECTORS)


def find_pii(text: str, kinds: Iterable[str] | None = None) -> list[Span]:
    """Every validated identifier in ``text``, in text order, overlaps resolved by kind.

    Args:
        text: any text (an answer, a question, a passage).
        kinds: only these kinds (see :data:`PII_KINDS`); all when None.

    Returns:
        Non-overlapping spans sorted by start offset.

    Raises:
        ValueError: an unknown kind.

    """
    wanted = list(PII_KINDS) if kinds is None else list(kinds)
    unknown = [k for k in wanted if k not in DETECTORS]
    if unknown:
        raise ValueError(f"unknown PII kind(s) {unknown}; known: {', '.join(PII_KINDS)}")
    # Every detector runs so that a higher-priority kind can claim its characters even when
    # only lower ones were asked for (a phone number is not a BSN, reported or not).
    taken: list[Span] = []
    for kind in _PRIORITY:
        for span in DETECTORS[kind](text):
            if any(span.start < t.end and t.start < span.end for t in taken):
                continue
            taken.append(span)
        if kind == "iban":
            taken += _iban_shaped(text)
    return sorted((s for s in taken if s.kind in wanted), key=lambda s: s.start)


def _iban_shaped(text: str) -> list[Span]:
    # A mistyped IBAN is still an account number, not a phone number or a BSN: its characters
    # are claimed (and not reported) unless it validates, in which case find_iban reports it.
    out = []
    for m in _IBAN.finditer(text):
        if m.group(1)[:2] in IBAN_LENGTHS:
            out.append(Span("_iban_shaped", m.start(1), m.end(1), m.group(1), ""))
    return out


# --- measuring the detectors ---------------------------------------------------------------


@dataclass
class KindScore:
    """Detection counts of one kind on a labelled set."""

    kind: str
    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0
    decoys: int = 0
    decoys_flagged: int = 0

    @property
    def precision(self) -> float | None:
        """Detections that are labelled identifiers of this kind (None without detections)."""
        n = self.true_positives + self.false_positives
        return self.true_positives / n if n else None

    @property
    def recall(self) -> float | None:
        """Labelled identifiers of this kind that were detected (None without labels)."""
        n = self.true_positives + self.false_negatives
        return self.true_positives / n if n else None


def evaluate(items: Iterable[dict[str, Any]]) -> dict[str, KindScore]:
    """Precision and recall per kind on labelled items.

    Each item is ``{"text", "spans": [{"kind", "start", "end"}], "decoys": [...]}``. A gold
    span is found when a detection of its kind overlaps it; a detection counts as a false
    positive when it overlaps no gold span of its kind; a decoy is flagged when a detection of
    its kind overlaps it.
    """
    scores: dict[str, KindScore] = {k: KindScore(k) for k in PII_KINDS}
    for it in items:
        found = find_pii(it["text"])
        gold = it.get("spans", [])
        for g in gold:
            hit = any(
                s.kind == g["kind"] and s.start < g["end"] and g["start"] < s.end for s in found
            )
            if hit:
                scores[g["kind"]].true_positives += 1
            else:
                scores[g["kind"]].false_negatives += 1
        for s in found:
            if not any(
                s.kind == g["kind"] and s.start < g["end"] and g["start"] < s.end for g in gold
            ):
                scores[s.kind].false_positives += 1
        for d in it.get("decoys", []):
            scores[d["kind"]].decoys += 1
            if any(
                s.kind == d["kind"] and s.start < d["end"] and d["start"] < s.end for s in found
            ):
                scores[d["kind"]].decoys_flagged += 1
    return scores
