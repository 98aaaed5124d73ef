"""Text handling for the demo bot: a Dutch-aware tokenizer, sentence splitting, language guess.

The tokenizer is deliberately small and predictable (it is what BM25 and the answer composer
match on): lowercase, accents folded, split on anything that is not a letter or digit, a short
Dutch + English stopword list dropped, and a light suffix stripper so that ``gebouwen`` and
``gebouw`` meet. Compound splitting is left to :class:`ragwacht.demo.bm25.BM25Index`, which
knows the corpus vocabulary.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


DUTCH_STOPWORDS = _wordset(
    """
    aan al alle alles als alsof altijd ander andere anders ben bent bij binnen daar daarin
    daarna daarom dan dat de deze die dit doch doen door dus een eens en er ge geen geweest
    haar had heb hebben heeft hem het hier hij hoe hun iemand iets ik in is ja je jij jou
    jouw kan kon kun kunnen maar me meer men met mij mijn moet moeten na naar niet niets
    nog nu of om omdat onder ons ook op over reeds te tegen toch toen tot u uit uw van veel
    voor want waren was wat we wel welk welke werd wie wij wil worden wordt zal ze zei zelf
    zich zij zijn zo zonder zou zouden
    """
)

ENGLISH_STOPWORDS = _wordset(
    """
    a about an and any are as at be been but by can could did do does for from had has
    have how i if in into is it its me my no not of on or our should so than that the
    their them then there these they this those to was we were what when where which who
    whom why will with would you your
    """
)

STOPWORDS = DUTCH_STOPWORDS | ENGLISH_STOPWORDS

# Words that say a question is English rather than Dutch ("is", "in" are in both languages).
_EN_MARKERS = ENGLISH_STOPWORDS - DUTCH_STOPWORDS - {"a", "me", "we", "i"}
_NL_MARKERS = DUTCH_STOPWORDS - ENGLISH_STOPWORDS - {"me", "we"}

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
# Dutch inflection endings, longest first; stripped only from longer words so short
# acronyms and codes (woz, bag, ozb) stay intact.
_SUFFIXES = ("heden", "heid", "ingen", "ing", "en", "s", "e")
_MIN_STEM = 4

# Abbreviations whose trailing dot does not end a sentence.
_ABBREVIATIONS = frozenset(
    {"bijv", "bv", "o.a", "m.b.t", "i.p.v", "d.w.z", "art", "nr", "e.g", "i.e", "etc", "z.g", "vs"}
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9ÀÁÂÄÈÉÊËÍÏÓÖÚÜ'])")


def fold(text: str, *, strip_accents: bool = True) -> str:
    """Lowercase ``text`` and, by default, remove diacritics (``ë`` -> ``e``)."""
    text = text.lower()
    if not strip_accents:
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def stem(word: str) -> str:
    """Strip one common Dutch/English inflection ending from a long enough word.

    Args:
        word: A folded (lowercase) word.

    Returns:
        The word without its ending, never shorter than four characters; digits are kept as is.

    """
    if word.isdigit():
        return word
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= _MIN_STEM:
            word = word[: -len(suffix)]
            break
    # "gebouwen" -> "gebouw", "panden" -> "pand", "straten" -> "strat": collapse a doubled
    # final consonant left behind ("bezitt" -> "bezit") so forms meet.
    if len(word) > _MIN_STEM and word[-1] == word[-2] and word[-1] not in "aeiou":
        word = word[:-1]
    return word


def words(text: str, *, strip_accents: bool = True) -> list[str]:
    """All folded words of ``text`` (no stopword removal, no stemming)."""
    return _WORD.findall(fold(text, strip_accents=strip_accents))


def tokenize(
    text: str,
    *,
    strip_accents: bool = True,
    stopwords: Iterable[str] | None = None,
    stemming: bool = True,
) -> list[str]:
    """Tokens for lexical matching: folded words minus stopwords, lightly stemmed.

    Args:
        text: Any text.
        strip_accents: Fold diacritics (``financiële`` matches ``financiele``).
        stopwords: Words to drop; the built-in Dutch + English list when None.
        stemming: Strip common inflection endings.

    Returns:
        The tokens in text order (duplicates kept: BM25 counts them).

    """
    stop = STOPWORDS if stopwords is None else frozenset(stopwords)
    out: list[str] = []
    for w in words(text, strip_accents=strip_accents):
        if w in stop:
            continue
        out.append(stem(w) if stemming else w)
    return out


def split_sentences(text: str) -> list[str]:
    """Split a passage into sentences (a simple rule set that knows common abbreviations)."""
    text = " ".join(text.split())
    if not text:
        return []
    pieces = _SENTENCE_END.split(text)
    out: list[str] = []
    for piece in pieces:
        if out:
            last = out[-1].rstrip(".").rsplit(" ", 1)[-1].lower()
            if last in _ABBREVIATIONS:
                out[-1] = f"{out[-1]} {piece}"
                continue
        out.append(piece)
    return [s.strip() for s in out if s.strip()]


def guess_language(text: str) -> str:
    """``"en"`` when ``text`` reads as English, else ``"nl"`` (the corpus language).

    Counts function words that belong to one language only; ties go to Dutch.
    """
    ws = words(text)
    en = sum(w in _EN_MARKERS for w in ws)
    nl = sum(w in _NL_MARKERS for w in ws)
    return "en" if en > nl else "nl"
