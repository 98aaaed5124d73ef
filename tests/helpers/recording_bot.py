"""The demo bot behind a recorder: every request's question and history, in arrival order.

``RecordingBot`` wraps a :class:`DemoBot` for :class:`BotServer`, like ``CountingBot``, and
keeps what each ``/chat`` (or ``/v1/chat/completions``) request carried, so a test can check
at the server what a conversation's later turns were sent.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from ragwacht.demo import DemoBot
from ragwacht.demo.bot import ChatRequest, ChatResponse


@dataclass(frozen=True)
class Seen:
    """One request as the server got it and what the bot answered."""

    question: str
    history: list[tuple[str, str]]
    answer: str


class RecordingBot:
    """A :class:`DemoBot` stand-in that records each request with its history."""

    def __init__(self, bot: DemoBot) -> None:
        self.bot = bot
        self.seen: list[Seen] = []
        self._lock = threading.Lock()

    def respond(self, request: ChatRequest) -> ChatResponse:
        result = self.bot.respond(request)
        history = [(t.role, t.content) for t in request.history]
        with self._lock:
            self.seen.append(Seen(request.question, history, result.answer))
        return result

    def questions(self) -> list[str]:
        with self._lock:
            return [s.question for s in self.seen]

    def __getattr__(self, name: str) -> Any:  # /health and the OpenAI route read the bot
        return getattr(self.bot, name)


#: ``(question, history)`` of every call to :func:`history_echo` (the ``python`` runner).
PY_CALLS: list[tuple[str, list[dict[str, str]]]] = []
#: Questions :func:`history_echo` fails on (raises), to stop a conversation midway.
PY_FAIL: set[str] = set()


def history_echo(question: str, history: list[dict[str, str]]) -> dict[str, Any]:
    """A python-callable chatbot whose answer names how many turns of history it got."""
    with _PY_LOCK:
        PY_CALLS.append((question, [dict(t) for t in history]))
    if question in PY_FAIL:
        raise RuntimeError("the bot fell over")
    return {"answer": f"antwoord {len(history) // 2 + 1} op: {question}", "contexts": []}


_PY_LOCK = threading.Lock()
