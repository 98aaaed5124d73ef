"""A loopback OpenAI-compatible server that writes golden-set candidates the way a good model
would: questions in its own words, answers and quotes taken from the passage it was given.

It stands in for the judge model in tests of ``datasets generate``, where the small test GGUF
is too weak to get past the quality filters reliably. Every request is kept.
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from tests.helpers.fake_openai import FakeOpenAIServer

_PASSAGE = re.compile(r'"""\n(.*?)\n"""', re.DOTALL)


def _first_sentence(text: str) -> str:
    return re.split(r"(?<=[.!?])\s+", text.strip())[0]


def _keywords(text: str, n: int = 2) -> str:
    words = sorted(set(re.findall(r"[A-Za-zÀ-ÿ-]{6,}", text)), key=lambda w: (-len(w), w))
    return " en ".join(words[:n]) or "dit onderwerp"


class WriterLLMServer(FakeOpenAIServer):
    """Scripted replies per prompt kind; ``bad_every`` makes every Nth reply unusable."""

    def __init__(self, *, bad_every: int = 0) -> None:
        super().__init__()
        self.bad_every = bad_every

    def reply(self, prompt: str) -> dict[str, Any]:
        passages = _PASSAGE.findall(prompt)
        if '"answered"' in prompt:
            return {"answered": False}
        if prompt.startswith(("Herschrijf", "Rewrite")):
            q = prompt.split("Vraag: ", 1)[-1].split("\n", 1)[0].lower().rstrip("?")
            return {"question": f"hoe zit het eigenlijk met {q.split(' over ', 1)[-1]}??"}
        first = passages[0] if passages else ""
        kw = _keywords(_first_sentence(first))
        if "quote_2" in prompt:
            second = passages[1]
            return {
                "question": f"Hoe hangen {kw} en {_keywords(_first_sentence(second), 1)} samen?",
                "answer": f"{_first_sentence(first)} {_first_sentence(second)}",
                "quote": _first_sentence(first),
                "quote_2": _first_sentence(second),
            }
        if "follow_up" in prompt:
            return {
                "question": f"Wat is er te zeggen over {kw}?",
                "answer": _first_sentence(first),
                "follow_up": f"En wie is daar verantwoordelijk voor bij {kw}?",
                "follow_up_answer": _first_sentence(first),
                "quote": _first_sentence(first),
            }
        if "NIET" in prompt or "NOT" in prompt:
            return {"question": f"Hoeveel kost een vergunning voor {kw} op de maan?"}
        return {
            "question": f"Wat moet ik weten over {kw}?",
            "answer": _first_sentence(first),
            "quote": _first_sentence(first),
        }

    async def _chat(self, request: Request) -> JSONResponse:
        body = await request.json()
        with self._lock:
            self.requests.append({"headers": dict(request.headers), "body": body})
            n = len(self.requests)
        prompt = body["messages"][-1]["content"]
        content = json.dumps(self.reply(prompt), ensure_ascii=False)
        if self.bad_every and n % self.bad_every == 0:
            content = "Sorry, dat weet ik niet."
        return JSONResponse(
            {
                "id": f"chatcmpl-{n}",
                "object": "chat.completion",
                "created": 0,
                "model": body.get("model", "writer"),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": len(prompt) // 4,
                    "completion_tokens": 30,
                    "total_tokens": len(prompt) // 4 + 30,
                },
            }
        )
