"""A Python-callable chatbot that counts its calls (for the ``python`` runner in tests)."""

from __future__ import annotations

import threading
from typing import Any

CALLS: list[str] = []
_LOCK = threading.Lock()


def answer(question: str) -> dict[str, Any]:
    """Answer with the question's own words and one context, counting the call."""
    with _LOCK:
        CALLS.append(question)
    return {
        "answer": f"Het antwoord op: {question}",
        "contexts": [{"doc_id": "d1", "text": f"Het antwoord op: {question}", "rank": 1}],
    }
