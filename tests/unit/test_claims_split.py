"""Claim splitting: abbreviations, numbers, dates, lists, citations, filler; property tests."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ragwacht.metrics.claims import is_filler, split_claims, split_sentences, strip_citations


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Dit geldt bijv. voor woningen. Ook voor bedrijven.", 2),
        ("Dit staat o.a. in de wet. Zie verder.", 2),
        ("Lees art. 5 van de Wet WOZ. Dat is duidelijk.", 2),
        ("Zie nr. 12 in de lijst. Daarna volgt meer.", 2),
        ("Zie blz. 4 van de folder. Daar staat het.", 2),
        ("Dit gaat m.b.t. de aanslag. Niet over de taxatie.", 2),
        ("Gebruik i.p.v. het formulier de website. Dat is sneller.", 2),
        ("Use a form, e.g. the blue one. It is free.", 2),
        ("Use the portal, i.e. MijnOverheid. It is free.", 2),
        ("Dr. Jansen beoordeelt het bezwaar. Hij reageert snel.", 2),
        ("You need a passport, a photo, etc. The fee is low.", 2),
        ("J. de Vries is eigenaar. Hij woont in Delft.", 2),
    ],
)
def test_abbreviations_do_not_end_sentences(text: str, expected: int) -> None:
    claims = split_claims(text)
    assert len(claims) == expected, claims
    assert claims[0].split()[0] == text.split()[0]


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("Het bedrag is € 1.250,50 per jaar. Dat is veel.", "1.250,50"),
        ("De wet geldt sinds 1 januari 2024. Dat is recent.", "1 januari 2024"),
        ("Het tarief is 3.5 procent. Dat is laag.", "3.5"),
        ("The fee is 1,250.50 euros. That is high.", "1,250.50"),
        ("Versie 2.0.1 is uit. Installeer die.", "2.0.1"),
    ],
)
def test_numbers_and_dates_stay_whole(text: str, needle: str) -> None:
    claims = split_claims(text)
    assert len(claims) == 2
    assert needle in claims[0]


def test_sentence_ending_in_a_number() -> None:
    assert split_claims("Het kost 25 euro in 2024. Daarna stijgt het.") == [
        "Het kost 25 euro in 2024.",
        "Daarna stijgt het.",
    ]


def test_bullets_numbered_lists_and_lead_in() -> None:
    text = (
        "De voorwaarden zijn:\n- u bent 18 jaar of ouder;\n* u woont in Nederland\n"
        "• u heeft een BSN."
    )
    assert split_claims(text) == [
        "De voorwaarden zijn: u bent 18 jaar of ouder",
        "De voorwaarden zijn: u woont in Nederland",
        "De voorwaarden zijn: u heeft een BSN.",
    ]
    steps = "1. Vraag een uittreksel aan.\n2) Betaal de leges.\n3. Wacht op de brief."
    assert split_claims(steps) == [
        "Vraag een uittreksel aan.",
        "Betaal de leges.",
        "Wacht op de brief.",
    ]


def test_semicolon_enumeration() -> None:
    assert split_claims("Je hebt nodig: een paspoort; een uittreksel; een pasfoto.") == [
        "Je hebt nodig: een paspoort",
        "Je hebt nodig: een uittreksel",
        "Je hebt nodig: een pasfoto.",
    ]


def test_heading_introduces_list() -> None:
    assert split_claims("## Voorwaarden\n- minimaal 18 jaar\n- ingeschreven in de BRP") == [
        "Voorwaarden: minimaal 18 jaar",
        "Voorwaarden: ingeschreven in de BRP",
    ]


def test_citation_markers_are_stripped() -> None:
    text = (
        "De WOZ-waarde wordt jaarlijks bepaald [bag-001]. "
        "Bezwaar kan binnen zes weken [1, 2] (bron: Wet WOZ)."
    )
    assert split_claims(text) == [
        "De WOZ-waarde wordt jaarlijks bepaald.",
        "Bezwaar kan binnen zes weken.",
    ]
    assert strip_citations("Zie [doc-7] en (source: handbook p. 3).") == "Zie en."


@pytest.mark.parametrize(
    "filler",
    [
        "Ik hoop dat dit helpt.",
        "Hopelijk helpt dit je verder!",
        "Laat het me weten als je nog vragen hebt.",
        "Heeft u nog andere vragen?",
        "I hope this helps!",
        "Let me know if you need anything else.",
        "Feel free to ask more questions.",
        "Graag gedaan!",
    ],
)
def test_filler_sentences_are_dropped(filler: str) -> None:
    assert is_filler(filler)
    assert split_claims(f"De aanvraag is gratis. {filler}") == ["De aanvraag is gratis."]


def test_real_sentences_are_not_filler() -> None:
    for s in [
        "Laat de aanvraag ondertekenen.",
        "Hope Street is in Liverpool.",
        "Succesvol ondernemen vraagt een plan.",
    ]:
        assert not is_filler(s)


def test_coordinated_clauses_split_on_request() -> None:
    text = "De aanvraag is gratis, maar de behandeling duurt zes weken."
    assert split_claims(text) == [text]
    assert split_claims(text, split_clauses=True) == [
        "De aanvraag is gratis",
        "maar de behandeling duurt zes weken.",
    ]
    # too short to be a clause of its own: stays together
    assert len(split_claims("Het is rood, en groot.", split_clauses=True)) == 1


def test_empty_and_meta_only_answers() -> None:
    assert split_claims("") == []
    assert split_claims(None) == []
    assert split_claims("   \n ") == []
    assert split_claims("Ik hoop dat dit helpt.") == []
    assert split_claims("...") == []


def test_split_sentences_keeps_question_and_exclamation() -> None:
    assert split_sentences("Wat kost het? Het is gratis! Echt.") == [
        "Wat kost het?",
        "Het is gratis!",
        "Echt.",
    ]


# -- properties -----------------------------------------------------------------------------------

_WORD = st.one_of(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyzéë", min_size=2, max_size=9),
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=2, max_size=5),
    st.integers(min_value=1000, max_value=99999).map(str),
    st.sampled_from(["1.250,50", "3.5", "bijv.", "o.a.", "art.", "nr.", "e.g.", "Dr.", "m.b.t."]),
)
_SEP = st.sampled_from([" ", " ", " ", ". ", ", ", "; ", "! ", "? ", ": ", "\n", "\n- ", "\n\n"])


@st.composite
def _texts(draw: st.DrawFn) -> str:
    words = draw(st.lists(_WORD, min_size=1, max_size=40))
    out = []
    for w in words:
        out.append(w)
        out.append(draw(_SEP))
    return "".join(out)


def _tokens(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.lower()))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_never_crashes_on_any_text(text: str) -> None:
    claims = split_claims(text)
    assert all(isinstance(c, str) and c.strip() == c and c for c in claims)
    split_claims(text, "en", split_clauses=True)


@settings(max_examples=300, deadline=None)
@given(_texts())
def test_never_loses_content_words(text: str) -> None:
    claims = split_claims(text, drop_filler=False, split_clauses=True)
    assert _tokens(text) <= _tokens(" ".join(claims))


@settings(max_examples=200, deadline=None)
@given(_texts())
def test_never_invents_words(text: str) -> None:
    claims = split_claims(text)
    assert _tokens(" ".join(claims)) <= _tokens(text)


# -- issue 14: citation markers, lead-ins, lowercased text -----------------------------------------


def test_a_citation_marker_ends_a_claim() -> None:
    text = "Hoe kan ik een verhuizing regelen? [doc-a] - Overlijden aangeven? [doc-b]"
    assert split_claims(text) == ["Hoe kan ik een verhuizing regelen?", "Overlijden aangeven?"]
    lines = "Een verhuizing doorgeven [doc-a]\nEen geboorte aangeven [doc-b]"
    assert split_claims(lines) == ["Een verhuizing doorgeven", "Een geboorte aangeven"]
    no_stop = "De WOZ-waarde wordt jaarlijks bepaald [1] Bezwaar kan binnen zes weken [2]"
    assert split_claims(no_stop) == [
        "De WOZ-waarde wordt jaarlijks bepaald",
        "Bezwaar kan binnen zes weken",
    ]
    # Inside a sentence, or before the stop that ends it, a marker only goes away.
    assert split_claims("De WOZ-waarde wordt [1] jaarlijks bepaald [2].") == [
        "De WOZ-waarde wordt jaarlijks bepaald."
    ]


@pytest.mark.parametrize(
    ("text", "rest"),
    [
        ("Here is the answer: the Eiffel Tower is in Berlin.", "the Eiffel Tower is in Berlin."),
        (
            "Hier is het antwoord: de Eiffeltoren staat in Berlijn.",
            "de Eiffeltoren staat in Berlijn.",
        ),
        ("Het antwoord is: de Eiffeltoren staat in Berlijn.", "de Eiffeltoren staat in Berlijn."),
        ("Het antwoord op uw vraag is: de WOZ is 1 mei.", "de WOZ is 1 mei."),
        ("Sure! Here is the answer: Paris is in France.", "Paris is in France."),
        ("Hieronder vindt u het antwoord: de leges zijn 50 euro.", "de leges zijn 50 euro."),
    ],
)
def test_lead_in_filler_is_stripped_and_the_rest_kept(text: str, rest: str) -> None:
    assert split_claims(text) == [rest]


def test_lead_in_before_a_list_is_no_claim_context() -> None:
    assert split_claims("Hier is het antwoord:\n- De WOZ is een waarde.\n- Bezwaar kan.") == [
        "De WOZ is een waarde.",
        "Bezwaar kan.",
    ]
    assert split_claims("Hier is het antwoord:") == []
    # Not a lead-in: the answer itself.
    assert split_claims("Het antwoord is 42.") == ["Het antwoord is 42."]


def test_lowercased_and_tokenized_text_splits_into_sentences() -> None:
    text = "the council awarded eugene the rights . it may never happen again ."
    assert split_claims(text) == [
        "the council awarded eugene the rights.",
        "it may never happen again.",
    ]
    assert split_sentences("de woz-waarde wordt bepaald. bezwaar kan binnen zes weken.") == [
        "de woz-waarde wordt bepaald.",
        "bezwaar kan binnen zes weken.",
    ]
    # A known abbreviation still does not end a lowercased sentence.
    assert len(split_sentences("dit geldt bijv. voor woningen.")) == 1
    # A mixed-case sentence still needs a capital after the stop ("ca. tien").
    assert len(split_sentences("Het duurt ca. tien dagen.")) == 1
