"""The "Conversations" section of the run report: each scripted conversation as a thread.

Built from the run record: the turns of a conversation (``<id>#t<N>``) in order, each with the
user's message, the chatbot's answer (the one that was fed back as history for the next
turn), whether it passed, the sources it retrieved and whether a follow-up kept its context.
Answers and questions are untrusted text: the template escapes them (autoescape).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ragwacht.records import RunRecord

# Kept here rather than in i18n.py: the section's wording travels with the section.
_TEXT: dict[str, dict[str, str]] = {
    "nl": {
        "title": "Gesprekken",
        "intro": "Elke beurt is gesteld met de eigen eerdere antwoorden van de chatbot als "
        "geschiedenis en als apart geval gescoord. Contextbehoud: een vervolgvraag met "
        "gouden passages haalde er één van op.",
        "turns": "beurten geslaagd",
        "all_passed": "alle beurten geslaagd",
        "first_fail": "eerste mislukte beurt",
        "retention": "contextbehoud",
        "turn": "Beurt",
        "user": "Gebruiker",
        "bot": "Chatbot",
        "passed": "geslaagd",
        "failed": "niet geslaagd",
        "lost": "context verloren: gouden passage niet opgehaald",
        "sources": "bronnen",
        "no_answer": "geen antwoord",
        "details": "details",
        "summary": "{passed} van {total} gesprekken slaagden in alle beurten ({turns} beurten)",
    },
    "en": {
        "title": "Conversations",
        "intro": "Each turn was asked with the chatbot's own earlier answers as history and "
        "scored as a case of its own. Context retention: a follow-up with gold passages "
        "retrieved one of them.",
        "turns": "turns passed",
        "all_passed": "all turns passed",
        "first_fail": "first failing turn",
        "retention": "context retention",
        "turn": "Turn",
        "user": "User",
        "bot": "Chatbot",
        "passed": "passed",
        "failed": "did not pass",
        "lost": "context lost: gold passage not retrieved",
        "sources": "sources",
        "no_answer": "no answer",
        "details": "details",
        "summary": "{passed} of {total} conversations passed every turn ({turns} turns)",
    },
}


@dataclass(frozen=True)
class TurnView:
    """One turn of a thread."""

    turn: int
    case_id: str
    anchor: str | None
    question: str
    answer: str | None
    error: str | None
    passed: bool
    lost_context: bool
    sources: list[str]


@dataclass(frozen=True)
class ThreadView:
    """One conversation as a thread."""

    conversation_id: str
    passed_turns: int
    turns: int
    all_passed: bool
    first_failing_turn: int | None
    retention: str | None
    items: list[TurnView] = field(default_factory=list)


@dataclass(frozen=True)
class ConversationsView:
    """What the section shows; ``text`` is its wording in the report's language."""

    text: dict[str, str]
    summary: str
    threads: list[ThreadView]


def conversation_view(
    record: RunRecord, lang: str, anchors: Mapping[str, str] | None = None
) -> ConversationsView | None:
    """The section for ``record``, or None when the run has no conversations.

    Args:
        record: the run.
        lang: ``nl`` or ``en``.
        anchors: case id -> the case's anchor in the report (to link a turn to its details).

    """
    if not record.conversations:
        return None
    text = _TEXT.get(lang, _TEXT["en"])
    anchors = anchors or {}
    by_id = record.case_map()
    threads: list[ThreadView] = []
    for conv in record.conversations:
        items: list[TurnView] = []
        for n, case_id in enumerate(conv.turn_ids, 1):
            c = by_id.get(case_id)
            if c is None:
                continue
            ok = conv.turn_passed[n - 1] if n - 1 < len(conv.turn_passed) else False
            items.append(
                TurnView(
                    turn=c.turn or n,
                    case_id=case_id,
                    anchor=anchors.get(case_id),
                    question=c.question,
                    answer=c.response.answer,
                    error=c.response.error,
                    passed=ok,
                    lost_context=(c.turn or n) in conv.lost_context_turns,
                    sources=[x.doc_id for x in c.response.contexts if x.doc_id][:5],
                )
            )
        retention = (
            None
            if conv.context_retention is None
            else f"{conv.retention_kept}/{conv.retention_checked}"
        )
        threads.append(
            ThreadView(
                conversation_id=conv.conversation_id,
                passed_turns=conv.passed_turns,
                turns=conv.turns,
                all_passed=conv.all_passed,
                first_failing_turn=conv.first_failing_turn,
                retention=retention,
                items=items,
            )
        )
    summary = text["summary"].format(
        passed=sum(1 for c in record.conversations if c.all_passed),
        total=len(record.conversations),
        turns=sum(c.turns for c in record.conversations),
    )
    return ConversationsView(text=text, summary=summary, threads=threads)


def conversation_counts(record: RunRecord) -> dict[str, int]:
    """Conversations and turns in the run, and how many of each passed (empty: none)."""
    convs = record.conversations
    if not convs:
        return {}
    return {
        "conversations": len(convs),
        "conversations_passed": sum(1 for c in convs if c.all_passed),
        "turns": sum(c.turns for c in convs),
        "turns_passed": sum(c.passed_turns for c in convs),
    }
