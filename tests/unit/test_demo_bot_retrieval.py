"""Demo bot building blocks: tokenizer, BM25 (hand-computed), fusion, corpus loading."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ragwacht.demo.bm25 import BM25Index
from ragwacht.demo.corpus import corpus_digest, default_corpus_path, load_corpus
from ragwacht.demo.retrieval import minmax, rrf_fuse, score_fuse
from ragwacht.demo.text import guess_language, split_sentences, stem, tokenize
from ragwacht.errors import ConfigError

DATA = Path(__file__).resolve().parents[1] / "data" / "demo"


# --- tokenizer ---------------------------------------------------------------------------


def test_tokenize_lowercases_folds_accents_and_drops_stopwords() -> None:
    assert tokenize("De Financiële   gegevens van het Kadaster") == [
        "financiel",
        "gegeven",
        "kadaster",
    ]


def test_tokenize_keeps_short_acronyms_and_numbers() -> None:
    assert tokenize("Wat is de WOZ-waarde in 2024?") == ["woz", "waard", "2024"]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("gebouwen", "gebouw"),
        ("gemeenten", "gemeente"),
        ("objecttypen", "objecttype"),
        ("waarden", "waarde"),
        ("panden", "pand"),
    ],
)
def test_stemming_makes_plural_and_singular_meet(a: str, b: str) -> None:
    assert stem(a) == stem(b)


def test_tokenize_without_stemming_or_accent_folding() -> None:
    assert tokenize("Gebouwen café", stemming=False, strip_accents=False) == ["gebouwen", "café"]


def test_split_sentences_keeps_abbreviations_together() -> None:
    text = "Dit geldt o.a. voor panden. Zie art. 5 van de wet! Klaar? Ja."
    assert split_sentences(text) == [
        "Dit geldt o.a. voor panden.",
        "Zie art. 5 van de wet!",
        "Klaar?",
        "Ja.",
    ]


def test_guess_language() -> None:
    assert guess_language("What do the first four digits of a BAG identifier represent?") == "en"
    assert guess_language("Wie zijn de bronhouders van de BAG?") == "nl"
    assert guess_language("WOZ") == "nl"


# --- BM25 ---------------------------------------------------------------------------------

TINY = ["kat zit mat", "kat kat hond", "vogel vliegt hoog boven boom"]


def _tiny() -> BM25Index:
    return BM25Index(TINY, tokenizer=str.split, k1=1.5, b=0.75)


def test_bm25_scores_match_hand_computation() -> None:
    # N=3, avgdl=11/3, idf(kat)=ln(1+1.5/2.5)=ln 1.6; d0: tf=1, |d|=3; d1: tf=2, |d|=3.
    idx = _tiny()
    assert idx.idf("kat") == pytest.approx(0.4700036, abs=1e-6)
    s = idx.scores("kat")
    assert s[0] == pytest.approx(0.5118851, abs=1e-6)
    assert s[1] == pytest.approx(0.7131090, abs=1e-6)
    assert s[2] == 0.0


def test_bm25_sums_over_query_terms_and_normalises_length() -> None:
    # idf(hond)=idf(vogel)=ln(1+2.5/1.5); d2 is longer (|d|=5), so one match scores less.
    s = _tiny().scores("hond vogel")
    assert s[1] == pytest.approx(1.0682299, abs=1e-6)
    assert s[2] == pytest.approx(0.8429001, abs=1e-6)
    assert s[0] == 0.0


def test_bm25_counts_a_repeated_query_term_once() -> None:
    idx = _tiny()
    np.testing.assert_allclose(idx.scores("kat kat"), idx.scores("kat"))


def test_bm25_top_skips_non_matching_documents() -> None:
    assert [i for i, _ in _tiny().top("kat", 5)] == [1, 0]
    assert _tiny().top("onbekend", 5) == []


def test_bm25_compound_splitting_matches_parts() -> None:
    docs = ["het gebied van de gemeente", "grond en water", "iets anders"]
    plain = BM25Index(docs, compounds=False)
    split = BM25Index(docs, compounds=True)
    assert plain.scores("grondgebied").max() == 0.0
    s = split.scores("grondgebied")
    assert s[0] > 0 and s[1] > 0 and s[2] == 0


def test_bm25_empty_corpus_and_query() -> None:
    assert BM25Index([]).scores("x").shape == (0,)
    assert _tiny().scores("de het een").sum() == 0.0


# --- fusion -------------------------------------------------------------------------------


def test_rrf_matches_hand_computation() -> None:
    fused = rrf_fuse([[1, 2, 3], [3, 1]], k=60)
    assert [i for i, _ in fused] == [1, 3, 2]
    assert fused[0][1] == pytest.approx(1 / 61 + 1 / 62)
    assert fused[1][1] == pytest.approx(1 / 63 + 1 / 61)
    assert fused[2][1] == pytest.approx(1 / 62)


def test_rrf_item_in_one_ranking_only_still_counts() -> None:
    fused = dict(rrf_fuse([[7], [8]], k=1))
    assert fused == {7: 0.5, 8: 0.5}


def test_minmax_and_score_fusion() -> None:
    np.testing.assert_allclose(minmax(np.array([2.0, 4.0, 3.0])), [0.0, 1.0, 0.5])
    np.testing.assert_allclose(minmax(np.array([5.0, 5.0])), [0.0, 0.0])
    fused = score_fuse([np.array([0.0, 10.0, 5.0]), np.array([1.0, 0.0, 0.9])], [0.5, 0.5])
    # item 2: 0.5*0.5 + 0.5*0.9 = 0.70 beats item 1 (0.5) and item 0 (0.5); ties keep order.
    assert [i for i, _ in fused] == [2, 0, 1]
    assert fused[0][1] == pytest.approx(0.70)


def test_score_fusion_needs_one_weight_per_list() -> None:
    with pytest.raises(ValueError):
        score_fuse([np.zeros(2)], [0.5, 0.5])


# --- corpus -------------------------------------------------------------------------------


def test_load_jsonl_keeps_metadata() -> None:
    passages = load_corpus(DATA / "passages.jsonl")
    assert [p.id for p in passages][:2] == ["fiets-001", "fiets-002"]
    assert passages[0].title == "Fietsenstalling"
    assert passages[0].meta == {"register": "FIETS"}
    assert len(passages[0].sentences) == 2


def test_load_folder_of_text_and_markdown() -> None:
    passages = load_corpus(DATA / "docs")
    ids = [p.id for p in passages]
    # Headings title what follows; a short paragraph is merged with the next under the same
    # heading; ids are the relative path plus a counter.
    assert ids == ["parkeren#1", "parkeren#2", "sub/paspoort#1", "sub/paspoort#2"]
    by_id = {p.id: p for p in passages}
    assert by_id["parkeren#1"].title == "Parkeervergunning"
    assert "ten hoogste twee" in by_id["parkeren#1"].text
    assert "automatisch verlengd" in by_id["parkeren#1"].text
    assert by_id["parkeren#2"].title == "Bezoekersparkeren"
    assert by_id["sub/paspoort#1"].title == "paspoort"
    assert by_id["sub/paspoort#2"].text.startswith("Het nieuwe paspoort")


def test_shipped_corpus_loads() -> None:
    passages = load_corpus()
    assert default_corpus_path().name == "passages.jsonl"
    assert len(passages) >= 100
    assert len({p.id for p in passages}) == len(passages)
    assert corpus_digest(passages) == corpus_digest(load_corpus())


@pytest.mark.parametrize(
    ("content", "line", "field"),
    [
        ('{"id": "a", "text": "x"}\n{not json}\n', 2, None),
        ('{"id": "a", "text": "x"}\n\n{"id": "b"}\n', 3, "text"),
        ('{"id": "a", "text": ""}\n', 1, "text"),
        ("[1, 2]\n", 1, None),
    ],
)
def test_bad_jsonl_line_names_file_line_and_field(
    tmp_path: Path, content: str, line: int, field: str | None
) -> None:
    f = tmp_path / "c.jsonl"
    f.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_corpus(f)
    problem = err.value.problems[0]
    assert problem.location.line == line
    assert str(problem.location.file) == str(f)
    assert problem.location.field == field
    assert problem.hint


def test_duplicate_ids_missing_path_and_empty_corpus(tmp_path: Path) -> None:
    dup = tmp_path / "dup.jsonl"
    dup.write_text(
        json.dumps({"id": "a", "text": "x"}) + "\n" + json.dumps({"id": "a", "text": "y"})
    )
    with pytest.raises(ConfigError, match="duplicate passage id"):
        load_corpus(dup)
    with pytest.raises(ConfigError, match="corpus not found"):
        load_corpus(tmp_path / "nope.jsonl")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="no passages"):
        load_corpus(tmp_path / "empty")
    odd = tmp_path / "c.pdf"
    odd.write_text("x")
    with pytest.raises(ConfigError, match="unsupported"):
        load_corpus(odd)
