"""Rule-based claim splitting for Dutch and English answers (no models, no downloads).

:func:`split_claims` turns an answer into the short statements a verifier checks one by one:

* sentences, without breaking on abbreviations (``bijv.``, ``o.a.``, ``art.``, ``nr.``,
  ``blz.``, ``m.b.t.``, ``i.p.v.``, ``e.g.``, ``i.e.``, ``Dr.``, ``etc.`` ...), initials,
  decimal numbers and amounts (``3.5``, ``1.250,50``) or dates (``1 januari 2024``);
* list items (``-``, ``*``, ``•``, ``1.``, ``a)``) and ``;`` enumerations, each its own claim,
  prefixed with the lead-in that introduces them (``Je hebt nodig: een paspoort``), so a claim
  keeps the context it needs to be checked;
* citation markers (``[bag-001]``, ``[1]``, ``(bron: ...)``) and markdown emphasis removed; a
  marker after a sentence's end or before the next item, sentence or line ends the claim, so
  two cited statements never merge into one;
* filler and meta sentences (``Ik hoop dat dit helpt.``, ``Let me know if ...``) and markdown
  headings that introduce nothing dropped; a lead-in filler (``Hier is het antwoord:``,
  ``Here is the answer:``, ``Het antwoord is:``) is stripped and what follows it kept;
* lowercased or tokenized text (``... the rights . it may ...``) split into sentences too;
* optionally, coordinated main clauses (``..., maar ...``) split in two.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


def _wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


ABBREVIATIONS = _wordset(
    """
    bijv bv bijvoorbeeld o.a oa art nr nrs blz m.b.t mbt i.p.v ipv d.w.z dwz e.d enz etc e.g
    eg i.e ie dr drs ir ing mr mw mevr dhr prof st jr sr ca resp incl excl evt vgl zgn z.g
    jl a.s t.a.v m.u.v n.a.v o.b.v p.m p.p pp vol fig no vs v.s.o.p z.o.z t.z.t ggf bzw usw
    u.a mrs ms mt inc ltd co corp dept est approx jan feb mrt apr jun jul aug sep sept okt
    oct nov dec lid sub par hfdst h.o.o.f e.v a.u.b aub s.v.p c.q cq n.v.t nvt
    """
)
# Abbreviations that often end a sentence too ("..., enz. Daarna"): a boundary only when the
# next word starts with a capital.
_SOFT_ABBREVIATIONS = frozenset({"etc", "enz", "e.d", "usw", "bzw", "ca"})

_CITATION_BRACKETS = re.compile(r"\s*\[(?:[\w\-.:/#]+(?:\s*[,;]\s*[\w\-.:/#]+)*)\]")
_CITATION_PARENS = re.compile(
    r"\s*\((?:bron|bronnen|source|sources|zie|see|ref|referentie|reference)\s*:?[^()]*\)",
    re.IGNORECASE,
)
_FOOTNOTE = re.compile(r"(?<=\w)\^\d+")
_EMPHASIS = re.compile(r"(\*\*|__|\*|`)")
_BULLET = re.compile(r"^\s*(?:[-*•·–—▪◦]|\d{1,3}[.)]|[a-z][.)]|[A-Z]\)|\(\w{1,3}\))\s+")
_HEADING = re.compile(r"^\s*#{1,6}\s+")
_TERMINAL = re.compile(r"[.!?…]['\")\]]*$")

FILLER_PATTERNS = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        r"^(ik )?hoop dat dit (je|u|jou)?\s*(verder)?\s*helpt",
        r"^hopelijk (helpt|heb) ",
        r"^(laat|laten) (het )?(me|mij|ons) (het )?weten",
        r"^(heeft u|heb je|hebt u) (nog )?(andere|meer|verdere|overige) vragen",
        r"^(als|mocht) (u|je) (nog )?(andere |meer |verdere )?vragen",
        r"^(neem|neemt u) (gerust )?contact op",
        r"^(graag gedaan|succes|veel succes|fijne dag)\b",
        r"^(hier is|hieronder (vindt|staat|volgt)) ",
        r"^(i )?hope (this|that) helps",
        r"^(please )?(let|feel) (me|free)",
        r"^(do you|if you) have (any )?(other|more|further) questions",
        r"^is there anything else",
        r"^(you'?re welcome|good luck|have a (nice|great) day)\b",
        r"^here (is|are) (the|an?|some) (answer|overview|summary|information)",
        r"^(i am|i'm) (happy|glad) to help",
        r"^(ik help (u|je) graag|graag help ik)",
    )
)

# Lead-ins that announce an answer without stating anything. Only ever matched against the
# whole text before a colon (or the whole sentence): "Het antwoord is 42." is a claim.
LEAD_IN_PATTERNS = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        r"(hier|hieronder|dit) (is|staat|volgt|vindt u|vind je) (het|een|de|mijn)?\s*"
        r"(kort[e]? )?(antwoord|overzicht|samenvatting|informatie|uitleg)\b.*",
        r"(het|mijn) (korte |kort )?antwoord( op (uw|je|jouw|de) vraag)?( is| luidt)?",
        r"(here|below) (is|are|you have|follows?) (the|an?|some|my)?\s*(short |brief )?"
        r"(answer|overview|summary|information|explanation|response)\b.*",
        r"here'?s (the|an?|some|my)?\s*(short |brief )?"
        r"(answer|overview|summary|information|explanation|response)\b.*",
        r"(the|my) (short |brief )?answer( to (your|the) question)?( is)?",
        r"(sure|certainly|of course|natuurlijk|zeker|goede vraag|good question|great question)",
        r"(antwoord|answer)",
    )
)
_LEAD_IN_END = re.compile(r"\s*[:!,]\s+|\s*[:]\s*$")

_CLAUSE_SPLIT = re.compile(r",\s+(?=(?:maar|en|of|want|dus|but|and|or|so|yet)\s)", re.IGNORECASE)


@dataclass(frozen=True)
class _Unit:
    text: str
    lead: str = ""


def strip_citations(text: str) -> str:
    """Remove citation markers: ``[bag-001]``, ``[1]``, ``[1, 2]``, ``(bron: ...)``, ``^1``."""
    text = _CITATION_BRACKETS.sub("", text)
    text = _CITATION_PARENS.sub("", text)
    return _FOOTNOTE.sub("", text)


# A claim boundary left where a citation marker ended a claim. A private-use character: no
# answer contains it, and unlike the ASCII separators Python does not count it as whitespace.
_BREAK = "\ue000"
# A list bullet right after a marker: the next item starts there.
_INLINE_BULLET = re.compile(r"(?:[-*•·–—▪◦]|\d{1,3}[.)])\s")


def _starts_claim(after: str) -> bool:
    """Whether the text after a citation marker opens a new claim (or nothing follows)."""
    rest = after.lstrip(" \t")
    if not rest or rest[0] in "\r\n":
        return True
    if rest is after:  # glued to what follows ("[1]."): not a boundary of its own
        return False
    first = rest[0]
    return bool(
        first.isupper() or first.isdigit() or first in "\"'‘“" or _INLINE_BULLET.match(rest)
    )


def _mark_citation_breaks(text: str) -> str:
    """Remove citation markers, leaving a claim boundary where a marker ends a claim.

    A marker ends a claim when it follows a sentence's end (``regelen? [doc-a] - Overlijden``)
    or when the next item, sentence or line starts right after it (``... [doc-a] Daarna``). A
    marker inside a sentence (``wordt [1] jaarlijks bepaald``) or before the punctuation that
    ends it (``bepaald [1].``) is only removed.
    """

    def sub(pattern: re.Pattern[str], s: str) -> str:
        def repl(m: re.Match[str]) -> str:
            before = s[: m.start()].rstrip(" \t")
            if before[-1:] in (".", "!", "?", "…") or _starts_claim(s[m.end() :]):
                return " " + _BREAK
            return ""

        return pattern.sub(repl, s)

    # "(bron: ...)" first: "weken [1] (bron: X)." must see the full stop after both markers.
    text = sub(_CITATION_BRACKETS, sub(_CITATION_PARENS, text))
    return _FOOTNOTE.sub("", text)


def _is_boundary(text: str, dot: int, nxt: str) -> bool:
    """Whether the terminal punctuation at ``dot`` ends a sentence, given the next word."""
    if text[dot] in "!?…":
        return True
    # The word that ends with this dot, with inner dots kept ("m.b.t", "o.a").
    start = dot
    while start > 0 and not text[start - 1].isspace() and text[start - 1] not in "([\"'":
        start -= 1
    word = text[start:dot].lower().strip(".")
    if not word:
        return True
    if word in ABBREVIATIONS:
        return word in _SOFT_ABBREVIATIONS and nxt[:1].isupper()
    # Initials ("J. Jansen", "A.B. de Vries") and inner-dotted abbreviations not listed.
    if len(word) == 1 and word.isalpha():
        return False
    return not re.fullmatch(r"(?:[a-z]\.)+[a-z]", word)


_CANDIDATE = re.compile(r"([.!?…]+)(['\")\]]*)(\s+)(?=\S)")


def split_sentences(text: str) -> list[str]:
    """Split running text into sentences, respecting abbreviations, numbers and initials.

    Lowercased text (no capital anywhere) and tokenized text (``rights . it``: a space before
    the full stop) split before a lowercase word too, where a capital cannot mark the start.
    """
    if _BREAK in text:
        return [s for part in text.split(_BREAK) for s in split_sentences(part)]
    text = " ".join(text.split())
    lowercased = not any(ch.isupper() for ch in text)
    out: list[str] = []
    start = 0
    for m in _CANDIDATE.finditer(text):
        nxt = text[m.end() : m.end() + 20]
        # A sentence starts with a capital, a digit, a quote or a bracket; a lowercase word
        # after a dot is an abbreviation we do not know ("ca. tien") - unless the text has no
        # capitals at all or the stop stands apart like a token.
        first = nxt[:1]
        tokenized = m.start(1) > 0 and text[m.start(1) - 1] == " "
        if not (
            first.isupper()
            or first.isdigit()
            or first in "\"'([‘“"
            or ((lowercased or tokenized) and first.isalpha())
        ):
            continue
        if not _is_boundary(text, m.start(1) + len(m.group(1)) - 1, nxt):
            continue
        piece = text[start : m.end(2)].strip()
        if piece:
            out.append(piece)
        start = m.end()
    tail = text[start:].strip()
    if tail:
        out.append(tail)
    return out


def is_filler(sentence: str) -> bool:
    """Whether a sentence is filler or meta talk rather than a statement about the subject."""
    s = sentence.strip().strip("\"'").strip()
    if not any(ch.isalnum() for ch in s):
        return True
    if is_lead_in(s.rstrip(".:!, ")):
        return True
    return any(p.search(s) for p in FILLER_PATTERNS)


def is_lead_in(text: str) -> bool:
    """Whether ``text`` (the words before a colon) only announces an answer."""
    t = " ".join(text.strip().strip("\"'*_").split())
    return bool(t) and any(p.fullmatch(t) for p in LEAD_IN_PATTERNS)


def strip_lead_in(sentence: str) -> str:
    """``Hier is het antwoord: de WOZ ...`` -> ``de WOZ ...``; other sentences unchanged.

    The words before the first colon (or ``!``/``,``) are dropped when they only announce the
    answer (:data:`LEAD_IN_PATTERNS`) or are filler; a lead-in with nothing after it is left
    for :func:`is_filler` to drop.
    """
    for m in _LEAD_IN_END.finditer(sentence):
        head, rest = sentence[: m.start()], sentence[m.end() :].strip()
        if not rest:
            return sentence
        if is_lead_in(head) or any(p.search(head.strip()) for p in FILLER_PATTERNS):
            # The rest may open with another lead-in ("Sure! Here is the answer: ...").
            return strip_lead_in(rest)
        return sentence
    return sentence


def _units(text: str) -> list[_Unit]:
    """Lines grouped into paragraphs and list items, each item with its lead-in."""
    units: list[_Unit] = []
    para: list[str] = []
    lead = ""
    in_list = False

    def flush() -> None:
        if para:
            units.append(_Unit(" ".join(para)))
            para.clear()

    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            flush()
            in_list = False
            continue
        if _HEADING.match(line):
            flush()
            # A heading only introduces what follows; it is kept as a lead-in, not a claim.
            lead = _HEADING.sub("", line).strip().rstrip(":")
            in_list = False
            units.append(_Unit("", lead="\x00heading:" + lead))
            continue
        bullet = _BULLET.match(line)
        if bullet:
            if para:
                # The paragraph right before the list is its lead-in when it ends with ":".
                joined = " ".join(para)
                para.clear()
                sents = split_sentences(joined)
                if sents and sents[-1].rstrip().endswith(":"):
                    for s in sents[:-1]:
                        units.append(_Unit(s))
                    lead = sents[-1].rstrip().rstrip(":").strip()
                else:
                    units.append(_Unit(joined))
                    lead = "" if not in_list else lead
            elif units and units[-1].lead.startswith("\x00heading:") and not in_list:
                lead = units[-1].lead[len("\x00heading:") :]
            in_list = True
            units.append(_Unit(line[bullet.end() :].strip(), lead=lead))
            continue
        if in_list and units and not _TERMINAL.search(units[-1].text) and line[:1].islower():
            # A wrapped list item continues on the next line.
            last = units[-1]
            units[-1] = _Unit(f"{last.text} {line}", lead=last.lead)
            continue
        if in_list:
            in_list = False
            lead = ""
        para.append(line)
    flush()
    return [u for u in units if u.text]


def _enumeration(sentence: str) -> list[tuple[str, str]]:
    """``Je hebt nodig: a; b; c`` -> ``[(lead, a), (lead, b), (lead, c)]``."""
    parts = [p.strip() for p in sentence.split(";")]
    parts = [p for p in parts if p]
    if len(parts) < 2:
        return [("", sentence)]
    lead = ""
    first = parts[0]
    if ":" in first:
        lead, _, rest = first.partition(":")
        lead = lead.strip()
        parts[0] = rest.strip()
    return [(lead, p) for p in parts if p]


def _split_clauses(sentence: str, min_words: int = 4) -> list[str]:
    pieces = _CLAUSE_SPLIT.split(sentence)
    if len(pieces) < 2:
        return [sentence]
    out: list[str] = []
    for p in pieces:
        if (out and len(p.split()) < min_words) or (out and len(out[-1].split()) < min_words):
            out[-1] = f"{out[-1]}, {p}"
        else:
            out.append(p)
    return [o.strip() for o in out if o.strip()]


def _clean(text: str) -> str:
    text = _EMPHASIS.sub("", text)
    text = " ".join(text.split())
    text = re.sub(r"\s+([,.;:!?])", r"\1", text)
    return text.strip().strip(",;").strip()


def split_claims(
    text: str | None,
    language: str = "nl",
    *,
    split_clauses: bool = False,
    drop_filler: bool = True,
) -> list[str]:
    """Split an answer into atomic claims.

    Args:
        text: The answer.
        language: ``nl`` or ``en``; the rules cover both, so this only matters for future
            language-specific rules and is accepted for every language.
        split_clauses: Also split coordinated main clauses (``..., maar ...``, ``..., and ...``)
            when both halves have at least four words.
        drop_filler: Drop filler and meta sentences (``Ik hoop dat dit helpt.``).

    Returns:
        The claims in answer order; empty when the answer states nothing.

    """
    del language  # both languages share the rules; kept for the verifier protocol
    if not text or not text.strip():
        return []
    text = _mark_citation_breaks(text.replace(_BREAK, " "))
    claims: list[str] = []
    for unit in _units(text):
        unit_lead = _lead(unit.lead, drop_filler)
        for sentence in split_sentences(unit.text):
            # After a citation marker the next item may follow on the same line.
            bullet = _INLINE_BULLET.match(sentence)
            if bullet:
                sentence = sentence[bullet.end() :]
            for lead, part in _enumeration(sentence):
                lead = _lead(lead, drop_filler)
                pieces = _split_clauses(part) if split_clauses else [part]
                for piece in pieces:
                    piece = _clean(piece)
                    if drop_filler:
                        piece = strip_lead_in(piece)
                    if not piece or (drop_filler and is_filler(piece)):
                        continue
                    full_lead = "; ".join(x for x in (unit_lead, lead) if x)
                    claim = f"{full_lead}: {piece}" if full_lead else piece
                    if claim.endswith(":") and not full_lead:
                        # A dangling lead-in ("De voorwaarden zijn:") with no list after it.
                        claim = claim.rstrip(":").strip()
                    if claim:
                        claims.append(claim)
    return claims


def _lead(lead: str, drop_filler: bool) -> str:
    """A cleaned lead-in; empty when it only announces the answer ("Hier is het antwoord")."""
    lead = _clean(lead)
    if drop_filler and lead and is_filler(lead):
        return ""
    return lead


def split_passage(text: str) -> list[str]:
    """Split a retrieved passage into the pieces an answer quoting it would be split into.

    List items, lines and sentences, each with its lead-in, as :func:`split_claims` does for
    answers (nothing dropped as filler), so that an answer equal to its passage yields the
    same pieces and each claim is checked against its own item, not the whole list.
    """
    return split_claims(text, drop_filler=False)
