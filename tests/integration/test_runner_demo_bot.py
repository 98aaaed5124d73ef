"""The shipped endpoint profiles against the real embedded demo bot over loopback HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragwacht.runners import ExecOptions, Variant, load_profile, response_stats, run_cases_sync

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
demo_server = pytest.importorskip("ragwacht.demo.server")


@pytest.fixture(scope="module")
def bot_url():
    server = demo_server.BotServer(demo_server.DemoBot())
    url = server.start()
    try:
        yield url
    finally:
        server.stop()


@pytest.fixture(scope="module")
def cases():
    from ragwacht.datasets.io import load_golden_set

    gs = load_golden_set(REPO / "datasets" / "registers-demo")
    answer = [c for c in gs.cases if c.expected_behavior.value == "answer"][:4]
    refuse = [c for c in gs.cases if c.expected_behavior.value == "refuse"][:2]
    return answer + refuse


@pytest.mark.parametrize("profile_file", ["demo-bot.yaml", "demo-bot-openai.yaml"])
def test_demo_profiles_answer_with_sources(bot_url, cases, profile_file) -> None:
    profile = load_profile(REPO / "runners" / profile_file).with_base_url(bot_url)
    opts = ExecOptions(concurrency=4, attempt_timeout_s=30)
    rs = run_cases_sync(profile, cases, options=opts, progress=False)
    assert response_stats(rs)["errors"] == 0, [r.error for r in rs if not r.ok]
    corpus_ids = {c.doc_id for r in rs for c in r.contexts}
    assert corpus_ids and all(i and "-" in i for i in corpus_ids)
    answered = [r for r, c in zip(rs, cases, strict=True) if c.expected_behavior.value == "answer"]
    for r in answered:
        assert r.answer and r.contexts and r.contexts[0].rank == 1
        assert r.contexts[0].text and r.contexts[0].score is not None
        assert r.usage.total_tokens and r.latency_ms is not None and r.latency_ms > 0
    # At least one answerable case retrieved one of its gold passages.
    gold_hit = [
        {g.doc_id for g in c.gold_contexts} & {x.doc_id for x in r.contexts}
        for r, c in zip(rs, cases, strict=True)
        if c.expected_behavior.value == "answer"
    ]
    assert any(gold_hit)
    assert all(isinstance(r.refused, bool) for r in rs)


@pytest.mark.parametrize("profile_file", ["demo-bot.yaml", "demo-bot-openai.yaml"])
def test_variant_fields_reach_the_demo_bot(bot_url, cases, profile_file) -> None:
    profile = load_profile(REPO / "runners" / profile_file).with_base_url(bot_url)
    answerable = [c for c in cases if c.expected_behavior.value == "answer"][:2]
    wide = run_cases_sync(profile, answerable, progress=False)
    narrow = run_cases_sync(
        profile,
        answerable,
        variant=Variant(
            name="bm25-top2", fields={"top_k": 2, "retrieval": "bm25", "reranker": False}
        ),
        progress=False,
    )
    assert all(len(r.contexts) == 5 for r in wide if not r.refused)
    assert all(len(r.contexts) <= 2 for r in narrow)
    assert all(r.variant == "bm25-top2" for r in narrow)
