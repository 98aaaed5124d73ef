"""The demo bot behind a counter, and optionally flaky, for tests that must see its calls.

``CountingBot`` wraps a :class:`DemoBot` for :class:`BotServer`: it counts every ``/chat``
request (so a test can prove that a cached session made none) and, for the questions in
``flaky``, answers every other call with the sources of an unrelated question (a retrieval
miss, not an empty retrieval, which would be "not scored"), so a question asked repeatedly
passes some repeats and fails others whatever order the calls arrive in.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from ragwacht.demo import DemoBot
from ragwacht.demo.bot import ChatRequest, ChatResponse

MISS_QUESTION = "Wat is de Basisregistratie Grootschalige Topografie?"


class CountingBot:
    """A :class:`DemoBot` stand-in that counts requests and can be made flaky per question."""

    def __init__(self, bot: DemoBot) -> None:
        self.bot = bot
        self.calls: Counter[str] = Counter()
        self.flaky: set[str] = set()
        self._flaky_calls: Counter[str] = Counter()
        self._lock = threading.Lock()

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self.calls.values())

    def respond(self, request: ChatRequest) -> ChatResponse:
        question = request.question.strip()
        with self._lock:
            self.calls[question] += 1
            degrade = False
            if question in self.flaky:
                self._flaky_calls[question] += 1
                degrade = self._flaky_calls[question] % 2 == 1
        result = self.bot.respond(request)
        if degrade:
            other = self.bot.respond(request.model_copy(update={"question": MISS_QUESTION}))
            result = result.model_copy(update={"sources": other.sources})
        return result

    def __getattr__(self, name: str) -> Any:  # /health and the OpenAI route read the bot
        return getattr(self.bot, name)
