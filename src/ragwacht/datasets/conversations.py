"""Scripted conversations: a case with ``turns`` becomes one case per turn.

A turn case has the id ``<conversation>#t<N>`` (1-based), the turn's question, expectations
and tags (after the conversation's), and knows its place through
:attr:`~ragwacht.datasets.models.GoldenCase.conversation`. Its ``history`` is the
conversation's fixed opening; the runner adds the earlier turns as they were really answered
(:func:`with_played_history`), so the chatbot is always fed its own previous answers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ragwacht.datasets.models import TURN_SEPARATOR, ConversationRef, GoldenCase, Turn
from ragwacht.errors import ConfigError

__all__ = ["expand_conversations", "turn_case_id", "with_played_history"]


def turn_case_id(conversation_id: str, turn: int) -> str:
    """The case id of turn ``turn`` (1-based) of a conversation."""
    return f"{conversation_id}{TURN_SEPARATOR}{turn}"


def _turn_cases(case: GoldenCase) -> list[GoldenCase]:
    turns = case.turns or []
    out: list[GoldenCase] = []
    for n, turn in enumerate(turns, 1):
        tags = list(dict.fromkeys([*case.tags, *turn.tags]))
        tc = GoldenCase(
            id=turn_case_id(case.id, n),
            question=turn.question,
            reference_answer=turn.reference_answer,
            gold_contexts=[g.model_copy() for g in turn.gold_contexts],
            expected_behavior=turn.expected_behavior,
            tags=tags,
            history=[t.model_copy() for t in case.history],
        )
        tc._conversation = ConversationRef(
            conversation_id=case.id, turn=n, of=len(turns), opening=list(case.history)
        )
        out.append(tc)
    return out


def expand_conversations(cases: Iterable[GoldenCase]) -> list[GoldenCase]:
    """Every case as it is, but each conversation replaced by its turn cases, in order.

    Cases that are already turn cases or plain cases pass through unchanged, so expanding
    twice changes nothing.

    Raises:
        ConfigError: a turn case id equals the id of another case in the set.

    """
    out: list[GoldenCase] = []
    for case in cases:
        out.extend(_turn_cases(case) if case.is_conversation else [case])
    seen: set[str] = set()
    for c in out:
        if c.id in seen:
            raise ConfigError(
                f"case id '{c.id}' is used twice once conversations are split into turns",
                field="id",
                hint=f"rename the case, or the conversation whose turn is '{c.id}'",
            )
        seen.add(c.id)
    return out


def with_played_history(case: GoldenCase, played: Sequence[tuple[str, str]]) -> GoldenCase:
    """A turn case whose history is its opening plus the earlier turns as they were played.

    Args:
        case: a turn case (from :func:`expand_conversations`).
        played: ``(question, answer)`` of each earlier turn, the answer being the chatbot's own.

    Returns:
        A copy of ``case`` (still knowing its conversation) with the played history.

    """
    ref = case.conversation
    opening = list(ref.opening) if ref is not None else list(case.history)
    history = [*opening]
    for question, answer in played:
        history.append(Turn(role="user", content=question))
        history.append(Turn(role="assistant", content=answer))
    return case.model_copy(update={"history": history})
