"""Scripted conversations: the case model, turn expansion, the runner and per-turn keys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ragwacht.datasets.conversations import expand_conversations, with_played_history
from ragwacht.datasets.io import load_cases, load_golden_set, write_cases
from ragwacht.datasets.models import GoldenCase
from ragwacht.errors import ConfigError
from ragwacht.records import RunRecord
from ragwacht.runners import ResponseStore, profile_from_dict, run_cases_sync
from ragwacht.runners.store import RequestKeys
from tests.helpers import recording_bot

REPO = Path(__file__).resolve().parents[2]

CONV = {
    "id": "gesprek-1",
    "tags": ["topic:woz", "lang:nl"],
    "history": [{"role": "system", "content": "Je bent de WOZ-assistent."}],
    "turns": [
        {"question": "Wat is de WOZ-beschikking?", "gold_contexts": [{"doc_id": "woz-005"}]},
        {"question": "En hoe maak ik bezwaar?", "reference_answer": "Bij de gemeente."},
        {"question": "Wat kost mijn huis?", "expected_behavior": "refuse", "tags": ["x:y"]},
    ],
}


@pytest.fixture(autouse=True)
def _fresh_calls() -> None:
    recording_bot.PY_CALLS.clear()
    recording_bot.PY_FAIL.clear()


def _profile() -> object:
    return profile_from_dict(
        {"type": "python", "callable": "tests.helpers.recording_bot:history_echo"}
    )


def test_single_turn_cases_and_the_demo_digest_are_unchanged() -> None:
    plain = GoldenCase(id="a", question="Wat is de BAG?")
    assert "turns" not in plain.model_dump(mode="json")
    # The digest the demo baseline was recorded on still names the demo set.
    base = RunRecord.load(REPO / "ci" / "baselines" / "registers-demo.json")
    assert load_golden_set(REPO / "datasets" / "registers-demo").digest == (
        base.manifest.dataset_digest
    )


def test_conversation_expands_into_turn_cases() -> None:
    conv = GoldenCase.model_validate(CONV)
    assert conv.question == "Wat is de WOZ-beschikking?"  # defaults to the opening
    turns = expand_conversations([conv, GoldenCase(id="b", question="Los")])
    assert [t.id for t in turns] == ["gesprek-1#t1", "gesprek-1#t2", "gesprek-1#t3", "b"]
    t1, t2, t3 = turns[:3]
    assert [g.doc_id for g in t1.gold_contexts] == ["woz-005"]
    assert t2.reference_answer == "Bij de gemeente."
    assert t3.expected_behavior.value == "refuse" and t3.tags == ["topic:woz", "lang:nl", "x:y"]
    assert t1.conversation is not None and (t1.conversation.turn, t1.conversation.of) == (1, 3)
    assert t3.conversation is not None and t3.conversation.conversation_id == "gesprek-1"
    assert turns[3].conversation is None
    # Expanding again changes nothing; a turn case's dump does not carry the conversation.
    assert [t.id for t in expand_conversations(turns)] == [t.id for t in turns]
    assert "conversation" not in json.dumps(t2.model_dump(mode="json"))
    played = with_played_history(t2, [("Wat is de WOZ-beschikking?", "Een besluit.")])
    assert [(h.role, h.content) for h in played.history] == [
        ("system", "Je bent de WOZ-assistent."),
        ("user", "Wat is de WOZ-beschikking?"),
        ("assistant", "Een besluit."),
    ]
    assert played.conversation == t2.conversation


def test_conversation_round_trips_through_jsonl_and_refuses_csv(tmp_path: Path) -> None:
    conv = GoldenCase.model_validate(CONV)
    path = write_cases([conv], tmp_path / "cases.jsonl")
    again = load_cases(path)
    assert again == [conv]
    with pytest.raises(ConfigError) as err:
        write_cases([conv], tmp_path / "cases.csv")
    assert err.value.problems[0].location.field == "turns"
    assert "jsonl" in (err.value.problems[0].hint or "")


@pytest.mark.parametrize(
    ("line", "field", "words"),
    [
        ({"id": "c", "turns": []}, "turns", "turns is empty"),
        ({"id": "c", "reference_answer": "r", "turns": [{"question": "q"}]}, "turns", "per turn"),
        ({"id": "c", "turns": [{"question": "q", "answer": "a"}]}, "turns.0.answer", "unknown"),
        ({"id": "c", "turns": [{"question": "q"}, {"question": " "}]}, "turns.1.question", "empty"),
    ],
)
def test_bad_conversations_name_line_and_field(
    tmp_path: Path, line: dict[str, object], field: str, words: str
) -> None:
    path = tmp_path / "cases.jsonl"
    path.write_text(json.dumps({"id": "ok", "question": "Goed"}) + "\n" + json.dumps(line) + "\n")
    with pytest.raises(ConfigError) as err:
        load_cases(path)
    problem = err.value.problems[0]
    assert (problem.location.line, problem.location.field) == (2, field)
    assert words in problem.message


def test_python_runner_plays_turns_with_own_answers_and_keys_the_history(tmp_path: Path) -> None:
    conv = GoldenCase.model_validate(CONV)
    store = ResponseStore(tmp_path / "r.jsonl")
    rs = run_cases_sync(_profile(), [conv], store=store, progress=False)
    assert [r.answer for r in rs] == [
        "antwoord 1 op: Wat is de WOZ-beschikking?",  # the system opening is no user turn
        "antwoord 2 op: En hoe maak ik bezwaar?",
        "antwoord 3 op: Wat kost mijn huis?",
    ]
    (q2, h2) = recording_bot.PY_CALLS[1]
    assert q2 == "En hoe maak ik bezwaar?"
    assert h2[-1] == {"role": "assistant", "content": rs[0].answer}
    # The request key of turn 2 is over the history actually sent, not the script.
    t2 = expand_conversations([conv])[1]
    keys = RequestKeys(_profile().public_dict(), {"name": "default"})  # type: ignore[attr-defined]
    sent = with_played_history(t2, [(conv.turns[0].question, rs[0].answer)])  # type: ignore[index]
    other = with_played_history(t2, [(conv.turns[0].question, "iets anders")])  # type: ignore[index]
    assert keys.key(sent.model_dump(mode="json"), 0) != keys.key(other.model_dump(mode="json"), 0)
    assert rs[1].request_key is not None and rs[1].request_key != rs[0].request_key


def test_a_failed_turn_stops_the_conversation_without_inventing_answers() -> None:
    recording_bot.PY_FAIL.add("En hoe maak ik bezwaar?")
    conv = GoldenCase.model_validate(CONV)
    rs = run_cases_sync(_profile(), [conv, GoldenCase(id="los", question="Los")], progress=False)
    assert [r.case_id for r in rs] == ["gesprek-1#t1", "gesprek-1#t2", "gesprek-1#t3", "los"]
    assert rs[0].ok and rs[1].error_kind == "callable"
    assert rs[2].error_kind == "skipped" and rs[2].attempts == 0 and rs[2].answer is None
    assert rs[3].ok  # other cases are not held up
    asked = [q for q, _ in recording_bot.PY_CALLS]
    assert "Wat kost mijn huis?" not in asked


def test_response_cache_answers_every_turn_of_a_replayed_conversation(tmp_path: Path) -> None:
    from ragwacht.runners import ResponseCache

    conv = GoldenCase.model_validate(CONV)
    cache = ResponseCache(tmp_path / "cache")
    first = run_cases_sync(_profile(), [conv], cache=cache, progress=False)
    assert len(recording_bot.PY_CALLS) == 3 and len(cache) == 3
    recording_bot.PY_CALLS.clear()
    again = run_cases_sync(_profile(), [conv], cache=cache, progress=False)
    assert recording_bot.PY_CALLS == []  # each turn's key, history included, was cached
    assert all(r.cached for r in again)
    assert [r.answer for r in again] == [r.answer for r in first]
