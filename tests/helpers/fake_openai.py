"""A real OpenAI-compatible chat completions server on loopback (starlette + uvicorn).

It stands in for a paid API or a RAG bot speaking the protocol: answers echo the last user
message, a top-level ``"sources"`` field carries retrieved passages, and when the request
offers a ``cite_sources`` tool the answer comes with a tool call whose arguments hold the
sources. Every request (headers and JSON body) is kept for assertions.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


class FakeOpenAIServer:
    """Use as a context manager; ``base_url`` ends in ``/v1``."""

    def __init__(
        self, *, api_key: str | None = None, fail_first: int = 0, echo_system: bool = False
    ) -> None:
        self.api_key = api_key
        self.fail_first = fail_first
        # A careless bot that repeats its instructions: the system message is echoed too.
        self.echo_system = echo_system
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    async def _chat(self, request: Request) -> JSONResponse:
        body = await request.json()
        with self._lock:
            self.requests.append({"headers": dict(request.headers), "body": body})
            n = len(self.requests)
        expected = f"Bearer {self.api_key}"
        if self.api_key is not None and request.headers.get("authorization") != expected:
            return JSONResponse({"error": {"message": "bad key"}}, status_code=401)
        if n <= self.fail_first:
            return JSONResponse(
                {"error": {"message": "overloaded"}},
                status_code=429,
                headers={"Retry-After": "0"},
            )
        question = body["messages"][-1]["content"]
        if self.echo_system:
            system = " ".join(m["content"] for m in body["messages"] if m["role"] == "system")
            question = f"{system} {question}"
        message: dict[str, Any] = {"role": "assistant", "content": f"echo: {question}"}
        tools = [t.get("function", {}).get("name") for t in body.get("tools") or []]
        if "cite_sources" in tools:
            args = {"sources": [{"doc_id": "tool-doc", "text": "cited by tool", "score": 0.7}]}
            message["tool_calls"] = [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "cite_sources", "arguments": json.dumps(args)},
                }
            ]
        return JSONResponse(
            {
                "id": f"chatcmpl-{n}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", "fake"),
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 11, "completion_tokens": 5, "total_tokens": 16},
                "sources": [
                    {"doc_id": "doc-a", "text": "alpha passage", "score": 0.8, "rank": 1},
                    {"doc_id": "doc-b", "text": "beta passage", "score": 0.3, "rank": 2},
                ],
            }
        )

    def start(self) -> str:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        app = Starlette(routes=[Route("/v1/chat/completions", self._chat, methods=["POST"])])
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake OpenAI server did not start")
            time.sleep(0.02)
        return self.base_url

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> FakeOpenAIServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
