"""Scripted conversations against the demo bot over HTTP on loopback.

Each turn is asked with the bot's *own* earlier answers as history (checked at the server),
scored as a case of its own, and judged per conversation; a conversation interrupted after
its first turn is resumed by asking only the turns that are missing.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from ragwacht.datasets.io import load_golden_set
from ragwacht.demo import BotServer
from ragwacht.evals.run import RunOptions, run_suite
from ragwacht.records import RunRecord
from ragwacht.runners import ResponseStore, load_profile, run_cases_sync
from tests.helpers.browser import browser_available, chromium
from tests.helpers.demo_bot import demo_bot
from tests.helpers.recording_bot import RecordingBot, Seen

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
SET = REPO / "datasets" / "registers-demo-gesprekken"
CONV = "gesprek-woz-01"


def _suite_copy(tmp: Path) -> Path:
    """The conversation suite with absolute paths, so caches and reports stay under tmp."""
    data = yaml.safe_load((REPO / "evals" / "registers-demo-gesprekken.yaml").read_text())
    data["dataset"] = str(SET)
    data["endpoint"] = str(REPO / "runners" / "demo-bot.yaml")
    out = tmp / "evals" / "suite.yaml"
    out.parent.mkdir(parents=True)
    out.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return out


@pytest.fixture
def bot() -> RecordingBot:
    return RecordingBot(demo_bot())


@pytest.fixture
def url(bot: RecordingBot) -> object:
    server = BotServer(bot)  # type: ignore[arg-type]  # duck-typed DemoBot
    base = server.start()
    try:
        yield base
    finally:
        server.stop()


def test_three_turn_conversation_feeds_the_bots_own_answers(
    tmp_path: Path, bot: RecordingBot, url: str
) -> None:
    outcome = run_suite(
        _suite_copy(tmp_path),
        RunOptions(base_url=url, mlflow=False, progress=False, out_dir=tmp_path / "out"),
    )
    conv = next(c for c in load_golden_set(SET).cases if c.id == CONV)
    assert conv.turns is not None and len(conv.turns) == 3
    script = [t.question for t in conv.turns]
    seen = [s for s in bot.seen if s.question in script]
    assert [s.question for s in seen] == script  # in order, each turn once
    # The second request carries the first turn with the bot's own answer to it, the third
    # both earlier turns: history as the conversation really went.
    assert seen[0].history == []
    assert seen[1].history == [("user", script[0]), ("assistant", seen[0].answer)]
    assert seen[2].history == [
        ("user", script[0]),
        ("assistant", seen[0].answer),
        ("user", script[1]),
        ("assistant", seen[1].answer),
    ]
    # The script's reference answer is never what is fed back.
    assert conv.turns[0].reference_answer not in [t[1] for t in seen[1].history]

    record = RunRecord.load(outcome.files["record"])
    by_id = record.case_map()
    turns = [by_id[f"{CONV}#t{n}"] for n in (1, 2, 3)]
    for n, (tc, s) in enumerate(zip(turns, seen, strict=True), 1):
        assert (tc.conversation_id, tc.turn) == (CONV, n)
        assert tc.question == s.question
        assert tc.response.answer == s.answer
        assert "recall@5" in tc.metrics and "faithfulness" in tc.metrics
    assert len(record.cases) == 12  # 4 conversations x 3 turns, each scored like a case

    results = {c.conversation_id: c for c in record.conversations}
    assert set(results) == {c.id for c in load_golden_set(SET).cases}
    woz = results[CONV]
    assert woz.turn_ids == [f"{CONV}#t{n}" for n in (1, 2, 3)]
    assert woz.retention_checked == 2  # the two follow-ups name gold passages
    # A follow-up that lost its subject fails context retention and is the first failing
    # turn: "Wie houdt die bij?" is searched with "Wat is de ... Topografie?", and the bot's
    # sources for it miss the passage about the BGT's source holders.
    bgt = results["gesprek-bgt-01"]
    t2 = by_id["gesprek-bgt-01#t2"]
    assert not {c.doc_id for c in t2.response.contexts} & set(t2.gold_doc_ids)
    assert bgt.lost_context_turns == [2]
    assert bgt.context_retention == pytest.approx(0.5)
    assert bgt.first_failing_turn == 2 and not bgt.all_passed
    assert all(r.turns == 3 for r in results.values())

    # CI outputs count conversations and turns; the report shows each conversation as a thread.
    summary = (outcome.out_dir / "summary.md").read_text(encoding="utf-8")
    passed = sum(1 for r in results.values() if r.all_passed)
    assert f"Conversations: {passed}/4 passed every turn" in summary
    assert "`gesprek-bgt-01` (turn 2)" in summary
    gate = record.gate
    assert gate is not None
    counts = gate if isinstance(gate, dict) else gate.model_dump()
    assert (counts["conversations"], counts["turns"]) == (4, 12)
    assert counts["conversations_passed"] == passed
    note = f"12 of {len(by_id)} cases are turns of 4 conversations; {passed} passed every turn"
    assert note in counts["notes"]
    assert note in (outcome.out_dir / "junit.xml").read_text(encoding="utf-8")
    junit = ET.parse(outcome.out_dir / "junit.xml").getroot()
    suite = next(s for s in junit.iter("testsuite") if s.get("name", "").endswith(".conversations"))
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["conversations"] == "4" and props["turns"] == "12"
    failed = [tc.get("name") for tc in suite.iter("testcase") if tc.find("failure") is not None]
    assert "gesprek-bgt-01" in failed and CONV not in failed
    _check_thread_in_browser(outcome.out_dir / "report.html", tmp_path, seen)


def _check_thread_in_browser(report: Path, tmp_path: Path, seen: list[Seen]) -> None:
    reason = browser_available()
    if reason is not None:  # pragma: no cover - Chromium is installed where tests run
        pytest.skip(reason)
    from selenium.webdriver.common.by import By

    with chromium(tmp_path / "chromium", javascript=False) as driver:
        driver.get(report.as_uri())
        threads = driver.find_elements(By.CSS_SELECTOR, "#conversations article.thread")
        names = [t.find_element(By.TAG_NAME, "h3").text for t in threads]
        assert CONV in names and len(names) == 4
        thread = threads[names.index(CONV)]
        turns = thread.find_elements(By.CSS_SELECTOR, "li.turn")
        assert len(turns) == 3
        for li, s in zip(turns, seen, strict=True):
            text = " ".join(li.text.split())
            assert " ".join(s.question.split()) in text
            assert " ".join(s.answer.split()) in text  # the bot's own answer, as fed back
        bgt = threads[names.index("gesprek-bgt-01")]
        assert "context verloren" in bgt.find_elements(By.CSS_SELECTOR, "li.turn")[1].text


def test_interrupted_conversation_resumes_only_the_missing_turns(
    tmp_path: Path, bot: RecordingBot, url: str
) -> None:
    profile = load_profile(REPO / "runners" / "demo-bot.yaml").with_base_url(url)
    conv = next(c for c in load_golden_set(SET).cases if c.id == CONV)
    store_path = tmp_path / "run" / "responses.jsonl"
    first = run_cases_sync(profile, [conv], store=ResponseStore(store_path), progress=False)
    assert [r.case_id for r in first] == [f"{CONV}#t{n}" for n in (1, 2, 3)]
    assert all(r.ok for r in first)
    # A run killed after the first turn leaves only that turn's line in the store.
    lines = store_path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3
    store_path.write_text(lines[0] + "\n", encoding="utf-8")
    bot.seen.clear()

    resumed = run_cases_sync(
        profile, [conv], store=ResponseStore(store_path), resume=True, progress=False
    )
    assert conv.turns is not None
    script = [t.question for t in conv.turns]
    assert bot.questions() == script[1:]  # turn 1 is not asked again
    # Turn 2 is asked with the stored answer to turn 1.
    assert bot.seen[0].history == [("user", script[0]), ("assistant", first[0].answer)]
    assert [r.case_id for r in resumed] == [f"{CONV}#t{n}" for n in (1, 2, 3)]
    assert resumed[0].answer == first[0].answer and all(r.ok for r in resumed)

    # Everything is stored now: resuming again asks nothing.
    bot.seen.clear()
    run_cases_sync(profile, [conv], store=ResponseStore(store_path), resume=True, progress=False)
    assert bot.questions() == []


def test_openai_chat_profile_sends_earlier_turns_as_messages(bot: RecordingBot, url: str) -> None:
    profile = load_profile(REPO / "runners" / "demo-bot-openai.yaml").with_base_url(url)
    conv = next(c for c in load_golden_set(SET).cases if c.id == CONV)
    rs = run_cases_sync(profile, [conv], progress=False)
    assert all(r.ok for r in rs), [r.error for r in rs]
    assert conv.turns is not None
    script = [t.question for t in conv.turns]
    assert bot.questions() == script
    # The server rebuilds history from the messages: the bot's own answers, in order.
    assert bot.seen[1].history == [("user", script[0]), ("assistant", rs[0].answer)]
    assert bot.seen[2].history[-1] == ("assistant", rs[1].answer)
