"""Small, predictable text helpers shared by the lexical metrics (Dutch + English).

Folding, content words (stopwords removed, light stemming), numbers and dates as comparable
tokens, and negation cues. No downloads, no language models: what the lexical verifier,
text-based retrieval matching and the consistency metric can afford on every case.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache


def _wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


DUTCH_STOPWORDS = _wordset(
    """
    aan al alle alles als alsof altijd ander andere anders ben bent bij binnen daar daarin
    daarna daarom dan dat de deze die dit doch doen door dus een eens en er ge haar had heb
    hebben heeft hem het hier hij hoe hun iemand iets ik in is ja je jij jou jouw kan kon
    kunnen kun maar me meer men met mij mijn moet moeten na naar nog nu of om omdat onder
    ons ook op over reeds te tegen toch toen tot u uit uw van veel voor want waren was wat
    we wel welk welke werd wie wij wil worden wordt zal ze zei zelf zich zij zijn zo zou
    zouden hierbij daarbij waarin waarbij wanneer waar worden geworden deze dezelfde elk
    elke ieder iedere zoals
    """
)

ENGLISH_STOPWORDS = _wordset(
    """
    a about an and any are as at be been being but by can could did do does doing for from
    had has have having how i if in into is it its itself me my of on or our ours should so
    than that the their theirs them then there these they this those to was we were what
    when where which while who whom why will with would you your yours also such very just
    each both other some upon onto within via per
    """
)

STOPWORDS = DUTCH_STOPWORDS | ENGLISH_STOPWORDS

# Negation cues. "geen"/"niet"/"no"/"not" are not stopwords here: they carry the polarity a
# faithfulness check must not ignore.
NEGATIONS = _wordset(
    """
    niet geen nooit niets niemand nergens noch not no never nothing nobody nowhere neither
    nor cannot cant dont doesnt didnt isnt arent wasnt werent wont wouldnt shouldnt couldnt
    hasnt havent hadnt without zonder
    """
)

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)
# A number: digits with optional Dutch/English thousands and decimal separators (1.250,50;
# 1,250.50; 3.5; 2024) and an optional percent sign.
_NUMBER = re.compile(r"(?<![\w.,])\d+(?:[.,]\d{3})*(?:[.,]\d+)?%?(?![\w])|\d+")

MONTHS = {
    "januari": 1, "februari": 2, "maart": 3, "april": 4, "mei": 5, "juni": 6, "juli": 7,
    "augustus": 8, "september": 9, "oktober": 10, "november": 11, "december": 12,
    "january": 1, "february": 2, "march": 3, "may": 5, "june": 6, "july": 7, "august": 8,
    "october": 10, "jan": 1, "feb": 2, "mrt": 3, "mar": 3, "apr": 4, "jun": 6, "jul": 7,
    "aug": 8, "sep": 9, "sept": 9, "okt": 10, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip

_SUFFIXES = (
    "heden", "ations", "ation", "ingen", "ities", "ness", "ment", "heid", "ing", "ies", "ied",
    "ed", "en", "er", "es", "ly", "s", "e",
)  # fmt: skip
_MIN_STEM = 3


def fold(text: str) -> str:
    """Lowercase and strip diacritics (``financiële`` -> ``financiele``)."""
    if text.isascii():  # most text: nothing to decompose, and this is the verifier's hot path
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def normalize(text: str) -> str:
    """Folded text with punctuation removed and whitespace collapsed (for containment checks)."""
    return " ".join(re.sub(r"[^\w]+", " ", fold(text)).split())


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Strip one common Dutch/English inflection ending from a long enough folded word."""
    if not word.isalpha():
        return word
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= _MIN_STEM:
            word = word[: -len(suffix)]
            break
    # "gebouwen" -> "gebouww" -> "gebouw"; "stopped" -> "stopp" -> "stop": collapse a doubled
    # final consonant so inflected forms meet.
    if len(word) > _MIN_STEM and word[-1] == word[-2] and word[-1] not in "aeiou":
        word = word[:-1]
    return word


def words(text: str) -> list[str]:
    """All folded words of ``text`` (apostrophes inside words dropped: ``don't`` -> ``dont``)."""
    return [w.replace("'", "").replace("’", "") for w in _WORD.findall(fold(text))]


def content_words(text: str) -> list[str]:
    """Stemmed words that carry content: no stopwords, no negation cues, no bare numbers."""
    out = []
    for w in words(text):
        if w in STOPWORDS or w in NEGATIONS or w.isdigit():
            continue
        if len(w) == 1:
            continue
        out.append(stem(w))
    return out


def content_set(text: str) -> frozenset[str]:
    """The set of :func:`content_words`."""
    return frozenset(content_words(text))


def _canon_number(raw: str) -> str:
    s = raw.strip().rstrip("%").replace(" ", "")
    s = s.lstrip("+")
    # Decide which separator is the decimal mark: the last one when followed by other than
    # exactly three digits, or when both kinds occur.
    if "," in s and "." in s:
        dec = "," if s.rfind(",") > s.rfind(".") else "."
        thou = "." if dec == "," else ","
        s = s.replace(thou, "").replace(dec, ".")
    elif "," in s or "." in s:
        sep = "," if "," in s else "."
        parts = s.split(sep)
        if len(parts) > 2 or (
            len(parts) == 2 and len(parts[1]) == 3 and parts[0] not in ("0", "-0")
        ):
            s = s.replace(sep, "")  # thousands separator: 1.250 / 1,250
        else:
            s = s.replace(sep, ".")
    try:
        val = float(s)
    except ValueError:
        return raw
    return str(int(val)) if val == int(val) else repr(val)


def numbers(text: str) -> frozenset[str]:
    """Numbers in ``text`` as canonical strings (``1.250,50`` and ``1,250.50`` -> ``1250.5``).

    Dates such as ``1 januari 2024`` / ``January 1, 2024`` also yield a ``2024-01-01`` token, so
    a date written differently still matches while its day, month or year must agree.
    """
    folded = fold(text)
    out: set[str] = set()
    for m in _NUMBER.finditer(folded):
        tok = m.group(0).strip()
        if not tok or not any(ch.isdigit() for ch in tok):
            continue
        out.add(_canon_number(tok))
    for d in dates(folded):
        out.add(d)
    return frozenset(out)


_DATE_DMY = re.compile(r"\b(\d{1,2})\s+([a-z]{3,9})\.?\s+(\d{4})\b")
_DATE_MDY = re.compile(r"\b([a-z]{3,9})\.?\s+(\d{1,2}),?\s+(\d{4})\b")
_DATE_NUM = re.compile(r"\b(\d{1,2})[-/](\d{1,2})[-/](\d{4})\b")
_DATE_ISO = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")


def dates(folded: str) -> set[str]:
    """ISO date tokens for the dates written in ``folded`` text (day-month order for d/m/y)."""
    out: set[str] = set()
    for d, mon, y in _DATE_DMY.findall(folded):
        if mon in MONTHS:
            out.add(f"{int(y):04d}-{MONTHS[mon]:02d}-{int(d):02d}")
    for mon, d, y in _DATE_MDY.findall(folded):
        if mon in MONTHS:
            out.add(f"{int(y):04d}-{MONTHS[mon]:02d}-{int(d):02d}")
    for d, mo, y in _DATE_NUM.findall(folded):
        out.add(f"{int(y):04d}-{int(mo):02d}-{int(d):02d}")
    for y, mo, d in _DATE_ISO.findall(folded):
        out.add(f"{int(y):04d}-{int(mo):02d}-{int(d):02d}")
    return out


def negated(text: str) -> bool:
    """Whether ``text`` carries an odd number of negation cues (double negation cancels)."""
    return sum(1 for w in words(text) if w in NEGATIONS) % 2 == 1


def jaccard(a: frozenset[str] | set[str], b: frozenset[str] | set[str]) -> float:
    """Jaccard similarity of two sets (1.0 when both are empty)."""
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)
