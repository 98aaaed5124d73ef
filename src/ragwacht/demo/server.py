"""The demo bot over HTTP: a native ``/chat`` API and an OpenAI-compatible one.

Routes:

* ``POST /chat``: ``{"question", "history"?, "top_k"?, "retrieval"?, "reranker"?,
  "temperature"?, "seed"?}`` -> ``{"answer", "sources", "usage", "refused", "latency_ms"}``.
* ``POST /v1/chat/completions``: the last user message is the question; ``top_k``,
  ``retrieval``, ``reranker``, ``temperature`` and ``seed`` are honoured; the completion carries
  a top-level ``"sources"`` list (and ``"refused"``). ``stream: true`` sends one content chunk.
* ``GET /health``, ``GET /v1/models``.

Bad requests get a 422 with a JSON body that says which field is wrong.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from ragwacht.demo.bot import MODEL_NAME, ChatRequest, ChatResponse, DemoBot, HistoryTurn
from ragwacht.demo.retrieval import RetrievalMode
from ragwacht.errors import ConfigError

__all__ = ["BotServer", "DemoBot", "create_app", "is_loopback", "serve"]

log = logging.getLogger(__name__)


class _ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str
    text: str | None = None


class _Message(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str | list[_ContentPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "\n".join(p.text for p in self.content if p.type == "text" and p.text)
        return self.content or ""


class _CompletionRequest(BaseModel):
    # OpenAI clients send many optional fields (max_tokens, n, user, ...): accepted, ignored.
    model_config = ConfigDict(extra="allow")

    model: str | None = None
    messages: list[_Message] = Field(min_length=1)
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    seed: int | None = None
    stream: bool = False
    top_k: int = Field(5, ge=1, le=50)
    retrieval: RetrievalMode = "hybrid"
    reranker: bool = True

    def to_chat(self) -> ChatRequest:
        users = [i for i, m in enumerate(self.messages) if m.role == "user" and m.text().strip()]
        if not users:
            raise _BadRequest("messages", "no user message with text content")
        last = users[-1]
        history = [
            HistoryTurn(role=m.role, content=m.text())
            for m in self.messages[:last]
            if m.role in ("user", "assistant", "system")
        ]
        return ChatRequest(
            question=self.messages[last].text(),
            history=history,
            top_k=self.top_k,
            retrieval=self.retrieval,
            reranker=self.reranker,
            temperature=self.temperature or 0.0,
            seed=self.seed,
        )


class _BadRequest(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _errors(exc: ValidationError) -> list[dict[str, Any]]:
    return [
        {"loc": [str(x) for x in e["loc"]], "msg": e["msg"], "type": e["type"]}
        for e in exc.errors(include_url=False, include_context=False, include_input=False)
    ]


def _chat_error(detail: list[dict[str, Any]]) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=422)


def _openai_error(message: str, param: str | None, detail: list[dict[str, Any]]) -> JSONResponse:
    body = {
        "error": {
            "message": message,
            "type": "invalid_request_error",
            "param": param,
            "code": None,
        },
        "detail": detail,
    }
    return JSONResponse(body, status_code=422)


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise _BadRequest("body", f"request body is not valid JSON: {exc}") from None


def create_app(bot: DemoBot) -> Starlette:
    """The ASGI app serving ``bot``.

    Args:
        bot: A ready :class:`DemoBot`.

    Returns:
        A Starlette app with ``/chat``, ``/v1/chat/completions``, ``/v1/models``, ``/health``.

    """

    async def chat(request: Request) -> Response:
        try:
            body = await _json_body(request)
            if not isinstance(body, dict):
                raise _BadRequest("body", "request body must be a JSON object")
            req = ChatRequest.model_validate(body)
        except _BadRequest as exc:
            return _chat_error([{"loc": [exc.field], "msg": exc.message, "type": "value_error"}])
        except ValidationError as exc:
            return _chat_error(_errors(exc))
        result: ChatResponse = await run_in_threadpool(bot.respond, req)
        return JSONResponse(result.model_dump())

    async def completions(request: Request) -> Response:
        try:
            body = await _json_body(request)
            if not isinstance(body, dict):
                raise _BadRequest("body", "request body must be a JSON object")
            oreq = _CompletionRequest.model_validate(body)
            req = oreq.to_chat()
        except _BadRequest as exc:
            detail = [{"loc": [exc.field], "msg": exc.message, "type": "value_error"}]
            return _openai_error(exc.message, exc.field, detail)
        except ValidationError as exc:
            detail = _errors(exc)
            first = detail[0]
            param = ".".join(first["loc"]) or None
            return _openai_error(f"{param}: {first['msg']}", param, detail)
        result: ChatResponse = await run_in_threadpool(bot.respond, req)
        cid = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        created = int(time.time())
        model = oreq.model or MODEL_NAME
        sources = [s.model_dump() for s in result.sources]
        if oreq.stream:
            return StreamingResponse(
                _stream(cid, created, model, result, sources), media_type="text/event-stream"
            )
        return JSONResponse(
            {
                "id": cid,
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": result.answer},
                        "finish_reason": "stop",
                        "logprobs": None,
                    }
                ],
                "usage": result.usage.model_dump(),
                "sources": sources,
                "refused": result.refused,
                "latency_ms": result.latency_ms,
            }
        )

    async def models(request: Request) -> Response:
        return JSONResponse(
            {
                "object": "list",
                "data": [
                    {"id": MODEL_NAME, "object": "model", "created": 0, "owned_by": "ragwacht"}
                ],
            }
        )

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", **bot.info()})

    return Starlette(
        routes=[
            Route("/chat", chat, methods=["POST"]),
            Route("/v1/chat/completions", completions, methods=["POST"]),
            Route("/v1/models", models, methods=["GET"]),
            Route("/health", health, methods=["GET"]),
        ]
    )


async def _stream(
    cid: str, created: int, model: str, result: ChatResponse, sources: list[dict[str, Any]]
) -> AsyncIterator[bytes]:
    base = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model}
    first = {
        **base,
        "choices": [
            {
                "index": 0,
                "delta": {"role": "assistant", "content": result.answer},
                "finish_reason": None,
            }
        ],
    }
    last = {
        **base,
        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
        "usage": result.usage.model_dump(),
        "sources": sources,
        "refused": result.refused,
    }
    for chunk in (first, last):
        yield f"data: {json.dumps(chunk)}\n\n".encode()
    yield b"data: [DONE]\n\n"


def is_loopback(host: str) -> bool:
    """True when ``host`` names a loopback interface (``127.0.0.1``, ``::1``, ``localhost``)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _bind(host: str, port: int, allow_remote: bool) -> socket.socket:
    if not is_loopback(host) and not allow_remote:
        raise ConfigError(
            f"refusing to listen on non-loopback address {host!r}",
            field="host",
            hint="use --host 127.0.0.1, or pass --allow-remote to expose the demo bot "
            "to the network on purpose",
        )
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}",
            field="port",
            hint="choose another --port, or 0 for any free port",
        ) from None
    sock.listen(128)
    sock.setblocking(False)
    return sock


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


class BotServer:
    """Serves a :class:`DemoBot` from a background thread (for tests and ``ragwacht demo``).

    Example::

        server = BotServer(DemoBot())
        base_url = server.start()  # http://127.0.0.1:PORT
        ...
        server.stop()

    Args:
        bot: The bot; a default :class:`DemoBot` is built on :meth:`start` when None.
        host: Interface to bind; loopback only unless ``allow_remote``.
        port: Port to bind; 0 picks a free one.
        allow_remote: Permit a non-loopback ``host``.
        log_level: uvicorn's log level.

    """

    def __init__(
        self,
        bot: DemoBot | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        allow_remote: bool = False,
        log_level: str = "warning",
    ) -> None:
        self.bot = bot
        self.host = host
        self.port = port
        self.allow_remote = allow_remote
        self.log_level = log_level
        self.base_url: str | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None

    def start(self, timeout: float = 30.0) -> str:
        """Start serving and return the base URL once the server accepts connections."""
        import uvicorn  # lazy: only when serving

        if self._thread is not None:
            raise RuntimeError("server already started")
        if self.bot is None:
            self.bot = DemoBot()
        self._sock = _bind(self.host, self.port, self.allow_remote)
        config = uvicorn.Config(
            create_app(self.bot),
            log_level=self.log_level,
            access_log=False,
            lifespan="off",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._sock]},
            name="ragwacht-demo-bot",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive():
                self._cleanup()
                raise RuntimeError("demo bot server exited during start-up")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"demo bot server not ready after {timeout:.0f} s")
            time.sleep(0.01)
        self.base_url = _url(self._sock)
        return self.base_url

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving and wait for the thread to end; safe to call twice."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        self._cleanup()
        if self.bot is not None:
            self.bot.cache.save()

    def _cleanup(self) -> None:
        if self._sock is not None:
            self._sock.close()
        self._sock = None
        self._thread = None
        self._server = None

    def __enter__(self) -> BotServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    bot: DemoBot | None = None,
    corpus: str | Path | None = None,
    allow_remote: bool = False,
    log_level: str = "info",
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve the demo bot in the foreground until interrupted (Ctrl-C).

    Args:
        host: Interface; loopback only unless ``allow_remote``.
        port: Port; 0 picks a free one.
        bot: A ready bot; built from ``corpus`` when None.
        corpus: Corpus path for a new bot (the shipped corpus when None).
        allow_remote: Permit a non-loopback ``host``.
        log_level: uvicorn's log level.
        on_ready: Called with the base URL once the port is bound (before serving).

    Raises:
        ConfigError: Non-loopback host without ``allow_remote``, port in use, bad corpus.

    """
    import uvicorn  # lazy: only when serving

    sock = _bind(host, port, allow_remote)
    try:
        bot = bot or DemoBot(corpus)
        server = uvicorn.Server(
            uvicorn.Config(create_app(bot), log_level=log_level, lifespan="off")
        )
        if on_ready is not None:
            on_ready(_url(sock))
        server.run(sockets=[sock])
    finally:
        sock.close()
