"""Synthetic personal identifiers for probes and fixtures: valid checksums, never real data.

Everything here is generated from a seeded :class:`random.Random`, so a probe set is the same
on every machine. Where a range exists that is never issued to a person, it is used:

* BSNs start with ``9999`` by default, the range the BRP uses for test persons;
* IBANs use the bank code ``XTST`` (no bank has it) with a correct mod-97 check;
* e-mail addresses are at ``example.com``/``example.org``/``example.net`` (RFC 2606);
* phone numbers, postcodes, plates and dates are random and carry no link to anyone.

Their invalid counterparts (a BSN failing the 11-proof, an IBAN with a wrong check digit, ...)
are what a detector must *not* report.
"""

from __future__ import annotations

import random
import string
from datetime import date, timedelta

from ragwacht.safety.detectors import (
    _PLATE_LETTERS_MODERN,
    _SIDECODES,
    bsn_valid,
    iban_check_digits,
    iban_valid,
)

TEST_BSN_PREFIX = "9999"
TEST_BANK = "XTST"
TEST_DOMAINS = ("example.com", "example.org", "example.net")


def bsn(rng: random.Random, prefix: str = TEST_BSN_PREFIX) -> str:
    """A nine-digit number that passes the 11-proof, starting with ``prefix``."""
    while True:
        head = prefix + "".join(rng.choice(string.digits) for _ in range(8 - len(prefix)))
        total = sum(int(d) * w for d, w in zip(head, range(9, 1, -1), strict=True))
        check = total % 11
        if check < 10:
            candidate = head + str(check)
            if bsn_valid(candidate):
                return candidate


def invalid_bsn(rng: random.Random, prefix: str = TEST_BSN_PREFIX) -> str:
    """A nine-digit number that fails the 11-proof (a valid one with its last digit changed)."""
    good = bsn(rng, prefix)
    while True:
        bad = good[:8] + rng.choice([d for d in string.digits if d != good[8]])
        if not bsn_valid(bad):
            return bad


def iban(rng: random.Random, country: str = "NL", bank: str = TEST_BANK) -> str:
    """A compact IBAN with a correct check; Dutch ones use the unissued bank ``XTST``."""
    if country == "NL":
        bban = bank + "".join(rng.choice(string.digits) for _ in range(10))
    elif country == "BE":
        bban = "".join(rng.choice(string.digits) for _ in range(12))
    elif country == "DE":
        bban = "".join(rng.choice(string.digits) for _ in range(18))
    elif country == "FR":
        bban = "".join(rng.choice(string.digits) for _ in range(23))
    elif country == "GB":
        bban = bank + "".join(rng.choice(string.digits) for _ in range(14))
    else:
        raise ValueError(f"no synthetic IBAN layout for {country}")
    out = country + iban_check_digits(country, bban) + bban
    assert iban_valid(out), out
    return out


def invalid_iban(rng: random.Random, country: str = "NL") -> str:
    """An IBAN of the right shape whose mod-97 check fails (one digit changed)."""
    good = iban(rng, country)
    while True:
        i = rng.randrange(4, len(good))
        if not good[i].isdigit():
            continue
        bad = good[:i] + rng.choice([d for d in string.digits if d != good[i]]) + good[i + 1 :]
        if not iban_valid(bad):
            return bad


def group_iban(value: str) -> str:
    """An IBAN written in groups of four, as on a bank card."""
    return " ".join(value[i : i + 4] for i in range(0, len(value), 4))


def mobile(rng: random.Random) -> str:
    """Nine national digits of a Dutch mobile number (``6`` + ``1``-``5`` + seven digits)."""
    return "6" + rng.choice("12345") + "".join(rng.choice(string.digits) for _ in range(7))


_AREA_CODES_2 = ("10", "13", "15", "20", "23", "24", "26", "30", "33", "35", "36", "38", "40",
                 "43", "45", "46", "50", "53", "55", "58", "70", "71", "72", "73", "74", "75",
                 "76", "77", "78", "79")  # fmt: skip
_AREA_CODES_3 = ("111", "113", "114", "115", "117", "118", "161", "162", "164", "165", "166",
                 "167", "168", "172", "174", "180", "181", "182", "183", "184", "186", "187",
                 "222", "223", "224", "226", "227", "228", "229", "251", "252", "255", "294",
                 "297", "299", "313", "314", "315", "316", "317", "318", "320", "321", "341",
                 "342", "343", "344", "345", "346", "347", "348", "411", "412", "413", "416",
                 "418", "475", "478", "481", "485", "486", "487", "488", "492", "493", "495",
                 "497", "499", "511", "512", "513", "514", "515", "516", "517", "518", "519",
                 "521", "522", "523", "524", "525", "527", "528", "529", "541", "543", "544",
                 "545", "546", "547", "548", "561", "562", "566", "570", "571", "572", "573",
                 "575", "577", "578", "591", "592", "593", "594", "595", "596", "597", "598",
                 "599")  # fmt: skip


def landline(rng: random.Random) -> tuple[str, str]:
    """A Dutch landline as (area code without 0, subscriber digits); nine digits in all."""
    area = rng.choice(_AREA_CODES_2 + _AREA_CODES_3)
    rest = str(rng.randint(1, 9)) + "".join(
        rng.choice(string.digits) for _ in range(9 - len(area) - 1)
    )
    return area, rest


def email(rng: random.Random, first: str, last: str) -> str:
    """An address at a reserved example domain."""
    local = rng.choice([f"{first}.{last}", f"{first[0]}.{last}", f"{first}{rng.randint(1, 99)}"])
    return f"{local.lower()}@{rng.choice(TEST_DOMAINS)}"


def postcode(rng: random.Random) -> str:
    """A Dutch postcode (``1234 AB``): first digit 1-9, never SA, SD or SS."""
    while True:
        letters = rng.choice(string.ascii_uppercase) + rng.choice(string.ascii_uppercase)
        if letters not in ("SA", "SD", "SS"):
            return f"{rng.randint(1000, 9999)} {letters}"


def plate(rng: random.Random, sidecode: int | None = None) -> str:
    """A dashed Dutch licence plate of ``sidecode`` (random from 4-14 when None)."""
    code = sidecode if sidecode is not None else rng.randint(4, 14)
    shape = next(s for s, c in _SIDECODES.items() if c == code)
    letters = sorted(_PLATE_LETTERS_MODERN) if code >= 4 else list(string.ascii_uppercase)
    groups = [
        "".join(rng.choice(letters) if ch == "X" else rng.choice(string.digits) for ch in g)
        for g in shape
    ]
    return "-".join(groups)


def birth_date(rng: random.Random) -> date:
    """A date between 1930 and 2005."""
    return date(1930, 1, 1) + timedelta(days=rng.randrange(0, 75 * 365))
