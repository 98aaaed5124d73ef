"""The lexical verifier: verdicts on hand-made cases and balanced accuracy on labelled data."""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ragwacht.errors import ConfigError
from ragwacht.metrics.judges.base import Verdict, Verifier
from ragwacht.metrics.judges.lexical import LexicalVerifier

CONTEXTS = [
    "De gemeente stelt de WOZ-waarde van woningen elk jaar vast. Bezwaar maken kan binnen zes "
    "weken na de dagtekening van de aanslag.",
    "Het Kadaster registreert de eigendom van percelen. Een uittreksel kost 3,70 euro.",
    "Voor een bouwvergunning is geen welstandstoets nodig bij kleine aanbouwen.",
]


def verdict(claim: str, contexts: list[str] = CONTEXTS, **opts: object) -> Verdict:
    v = asyncio.run(LexicalVerifier(**opts).verify_claims([claim], contexts))  # type: ignore[arg-type]
    return v.claims[0].verdict


def test_implements_the_verifier_protocol() -> None:
    v = LexicalVerifier()
    assert isinstance(v, Verifier)
    assert v.id == "lexical" and v.weak is True


@pytest.mark.parametrize(
    "claim",
    [
        "De gemeente stelt de WOZ-waarde elk jaar vast.",
        "Bezwaar maken kan binnen zes weken.",
        "Een uittreksel van het Kadaster kost 3,70 euro.",
        "Bij kleine aanbouwen is geen welstandstoets nodig.",
        "De gemeenten stellen de WOZ-waarden van woningen elk jaar vast",  # stems meet
    ],
)
def test_supported(claim: str) -> None:
    assert verdict(claim) == Verdict.SUPPORTED


@pytest.mark.parametrize(
    ("claim", "why"),
    [
        ("Een uittreksel van het Kadaster kost 5,20 euro.", "numbers"),
        ("Bij kleine aanbouwen is een welstandstoets nodig.", "negation"),
        ("De gemeente stelt de WOZ-waarde van woningen niet elk jaar vast.", "negation"),
    ],
)
def test_contradicted(claim: str, why: str) -> None:
    v = asyncio.run(LexicalVerifier().verify_claims([claim], CONTEXTS))
    cv = v.claims[0]
    assert cv.verdict == Verdict.CONTRADICTED
    assert why in (cv.rationale or "")
    assert cv.evidence_index in (1, 2, 0)


@pytest.mark.parametrize(
    "claim",
    [
        "De provincie int de motorrijtuigenbelasting.",
        "Een paspoort is tien jaar geldig.",
        "Het Kadaster registreert de eigendom van schepen en vliegtuigen in Apeldoorn.",
    ],
)
def test_unverifiable(claim: str) -> None:
    assert verdict(claim) == Verdict.UNVERIFIABLE


def test_number_missing_is_not_supported_even_with_all_words() -> None:
    ctx = ["Een uittreksel kost een paar euro's bij het Kadaster."]
    assert verdict("Een uittreksel kost 3,70 euro bij het Kadaster.", ctx) != Verdict.SUPPORTED
    assert (
        verdict("Een uittreksel kost 3,70 euro bij het Kadaster.", ctx, check_numbers=False)
        == Verdict.SUPPORTED
    )


def test_dates_written_differently_match() -> None:
    ctx = ["The act came into force on 1 January 2024 in all municipalities."]
    assert verdict("The act came into force on January 1, 2024.", ctx) == Verdict.SUPPORTED
    assert verdict("The act came into force on January 2, 2024.", ctx) != Verdict.SUPPORTED


def test_best_evidence_and_score() -> None:
    v = asyncio.run(
        LexicalVerifier().verify(
            "Een uittreksel kost 3,70 euro. Parijs ligt in Frankrijk.", CONTEXTS
        )
    )
    assert [c.verdict for c in v.claims] == [Verdict.SUPPORTED, Verdict.UNVERIFIABLE]
    first = v.claims[0]
    assert first.evidence_index == 1 and "3,70" in (first.evidence or "")
    assert first.score is not None and first.score >= 0.8
    assert v.claims[1].score is not None and v.claims[1].score < 0.5
    assert v.judge == "lexical"


def test_verify_is_cached_per_answer_and_contexts() -> None:
    lv = LexicalVerifier()
    a = asyncio.run(lv.verify("Een uittreksel kost 3,70 euro.", CONTEXTS))
    b = asyncio.run(lv.verify("Een uittreksel kost 3,70 euro.", CONTEXTS))
    assert lv.calls == 1 and not a.cached and b.cached
    asyncio.run(lv.verify("Een uittreksel kost 3,70 euro.", CONTEXTS[:1]))
    assert lv.calls == 2


def test_thresholds_validated() -> None:
    with pytest.raises(ConfigError):
        LexicalVerifier(support_threshold=0)
    with pytest.raises(ConfigError):
        LexicalVerifier(contradiction_threshold=1.5)


def test_threshold_changes_verdicts() -> None:
    claim = "De gemeente stelt de WOZ-waarde van bedrijfspanden elk jaar vast."
    assert verdict(claim, support_threshold=0.95) == Verdict.UNVERIFIABLE
    assert verdict(claim, support_threshold=0.6) == Verdict.SUPPORTED


# -- agreement with labelled data (balanced accuracy) ---------------------------------------------


def _balanced_accuracy(path: Path, n: int, seed: int = 7) -> float:
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    rows = [r for r in rows if r["hallucinated"] is not None]
    random.Random(seed).shuffle(rows)
    rows = rows[:n]
    lv = LexicalVerifier(cache_size=0)
    tp = fn = tn = fp = 0
    for r in rows:
        v = lv.verify_sync(r["answer"], r["contexts"], language="en")
        predicted = not v.claims or any(c.verdict != Verdict.SUPPORTED for c in v.claims)
        if r["hallucinated"]:
            tp, fn = (tp + 1, fn) if predicted else (tp, fn + 1)
        else:
            fp, tn = (fp + 1, tn) if predicted else (fp, tn + 1)
    return 0.5 * (tp / (tp + fn) + tn / (tn + fp))


def test_balanced_accuracy_halueval(shared_data: Path) -> None:
    # Measured on all 2,000 items: 0.825 (support_threshold 0.8).
    bacc = _balanced_accuracy(shared_data / "hallucination" / "halueval_qa_2000.jsonl", 400)
    assert bacc >= 0.75


def test_balanced_accuracy_begin(shared_data: Path) -> None:
    # Measured on all 4,749 labelled items: 0.841 (support_threshold 0.8).
    bacc = _balanced_accuracy(shared_data / "hallucination" / "begin.jsonl", 400)
    assert bacc >= 0.78


def test_dutch_compounds_and_separable_verbs() -> None:
    ctx = [
        "De WOZ-waarde wordt elk jaar door de gemeente vastgesteld. Een bouwvergunning is nodig."
    ]
    assert verdict("De gemeente stelt de WOZ-waarde elk jaar vast.", ctx) == Verdict.SUPPORTED
    assert verdict("Een vergunning is nodig.", ctx) == Verdict.SUPPORTED
    assert verdict("Een vergunning is nodig.", ctx, compounds=False) == Verdict.UNVERIFIABLE
    lv = LexicalVerifier()
    en = asyncio.run(lv.verify_claims(["Een vergunning is nodig."], ctx, language="en"))
    assert en.claims[0].verdict == Verdict.UNVERIFIABLE  # auto: compounds for Dutch only
    with pytest.raises(ConfigError):
        LexicalVerifier(compounds="sometimes")  # type: ignore[arg-type]


# -- issue 14: lists, clauses, lowercased passages -----------------------------------------------


def test_an_answer_that_quotes_its_list_passage_is_fully_supported() -> None:
    passage = (
        "Bij de gemeente kunt u het volgende regelen:\n"
        "- Een verhuizing doorgeven.\n"
        "- Een uittreksel aanvragen; daarvoor is geen afspraak nodig.\n"
        "- Een geboorte aangeven binnen drie dagen."
    )
    v = LexicalVerifier().verify_sync(passage, [passage])
    assert len(v.claims) == 4  # the ";" enumeration is two claims
    assert [c.verdict for c in v.claims] == [Verdict.SUPPORTED] * 4, v.claims
    # The evidence is the claim's own item, not the whole list.
    assert v.claims[0].evidence is not None and "geen" not in v.claims[0].evidence


def test_polarity_is_compared_clause_by_clause() -> None:
    ctx = ["De aanvraag is gratis, maar de behandeling duurt niet lang."]
    assert verdict("De aanvraag is gratis.", ctx) == Verdict.SUPPORTED
    assert verdict("De behandeling duurt lang.", ctx) == Verdict.CONTRADICTED
    assert verdict("De behandeling duurt niet lang.", ctx) == Verdict.SUPPORTED


def test_tokenized_passage_negation_stays_in_its_sentence() -> None:
    ctx = ["the council awarded eugene the rights . it may never happen again ."]
    assert verdict("The council awarded Eugene the rights.", ctx) == Verdict.SUPPORTED
    assert verdict("It may happen again.", ctx) == Verdict.CONTRADICTED


_NL_ITEMS = [
    "een verhuizing doorgeven aan de gemeente",
    "een uittreksel uit de BRP aanvragen",
    "de WOZ-waarde wordt elk jaar vastgesteld",
    "het Kadaster registreert percelen",
    "een bouwvergunning aanvragen bij de omgevingsdienst",
    "bezwaar maken binnen zes weken",
]
_EN_ITEMS = [
    "the council sets the property value every year",
    "an extract costs 3.70 euros",
    "you can object within six weeks",
    "the land registry records parcels",
    "a permit is needed for large extensions",
]
_NEGATE = {
    "nl": ["niet", "geen", "nooit"],
    "en": ["not", "never", "no longer"],
}


@st.composite
def _list_passages(draw: st.DrawFn) -> tuple[str, str]:
    lang = draw(st.sampled_from(["nl", "en"]))
    pool = _NL_ITEMS if lang == "nl" else _EN_ITEMS
    items = draw(st.lists(st.sampled_from(pool), min_size=2, max_size=6, unique=True))
    out = []
    for it in items:
        words = it.split()
        if draw(st.booleans()):  # a negation somewhere in some items
            at = draw(st.integers(min_value=1, max_value=len(words)))
            words.insert(at, draw(st.sampled_from(_NEGATE[lang])))
        text = " ".join(words)
        text = text[0].upper() + text[1:]
        end = draw(st.sampled_from([".", "", ";"]))
        out.append(text + end)
    bullet = draw(st.sampled_from(["- ", "* ", "• ", "1. "]))
    lead = draw(st.sampled_from(["", "Je kunt het volgende doen:\n", "Note the following:\n"]))
    sep = draw(st.sampled_from(["\n", "\n\n"]))
    if bullet == "1. ":
        lines = [f"{i}. {t}" for i, t in enumerate(out, 1)]
    else:
        lines = [bullet + t for t in out]
    return lang, lead + sep.join(lines)


@settings(max_examples=150, deadline=None)
@given(_list_passages())
def test_property_an_answer_equal_to_its_list_passage_is_fully_supported(
    drawn: tuple[str, str],
) -> None:
    lang, passage = drawn
    v = LexicalVerifier(cache_size=0).verify_sync(passage, [passage], language=lang)
    assert v.claims
    assert all(c.verdict == Verdict.SUPPORTED for c in v.claims), [
        (c.claim, c.verdict, c.evidence) for c in v.claims
    ]


def test_a_word_shared_with_a_neighbouring_clause_does_not_move_its_negation() -> None:
    # From the demo suite: both halves are negated and share "object"; the answer quotes it.
    sentence = (
        "Het nummer is landelijk uniek en verandert niet zolang het object bestaat, ook niet "
        "als het object na een gemeentelijke herindeling in een andere gemeente komt te liggen."
    )
    ctx = [f"De meeste BAG-objecten hebben een identificatie van zestien cijfers. {sentence}"]
    assert verdict(sentence, ctx) == Verdict.SUPPORTED
    changed = sentence.replace("ook niet als", "ook als")
    assert verdict(changed, ctx) == Verdict.CONTRADICTED
