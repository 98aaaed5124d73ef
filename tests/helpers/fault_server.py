"""A real loopback HTTP chatbot that misbehaves on request, and counts every call.

The behaviour is chosen by the question's first word (``"<behaviour>[:arg] rest"``):

========== ==================================================================================
ok         200 JSON answer with sources and usage (the default for any other question)
500        always HTTP 500
400        always HTTP 400 (not retryable)
flaky:N    HTTP 500 for the first N calls of this question, then ok
429:N      HTTP 429 with ``Retry-After: 1`` for the first N calls, then ok
hang       reads the request and never answers (until the server stops)
malformed  200 with a body that is not JSON
reset      closes the connection with a TCP reset and no response
drip       200 headers, then the body one byte every 0.2 s (slower than any sane timeout)
slow:S     answers after S seconds
stream     server-sent events: answer deltas, then sources, then ``[DONE]``
========== ==================================================================================

Answers are ``"answer to: <question>"``; every request is counted per question, with the time
it arrived, so tests can check retries, back-off and Retry-After from the server's side.
"""

from __future__ import annotations

import contextlib
import json
import socket
import socketserver
import struct
import threading
import time
from collections import Counter, defaultdict
from typing import Any


class _Handler(socketserver.StreamRequestHandler):
    server: _TCPServer

    def handle(self) -> None:
        owner = self.server.owner
        while not owner.stopping.is_set():
            request = self._read_request()
            if request is None:
                return
            method, path, headers, body = request
            keep_alive = headers.get("connection", "").lower() != "close"
            if not owner.dispatch(self, method, path, headers, body):
                return
            if not keep_alive:
                return

    def finish(self) -> None:
        # The connection may already be gone (a reset we caused, a client that timed out).
        with contextlib.suppress(OSError):
            super().finish()

    def _read_request(self) -> tuple[str, str, dict[str, str], bytes] | None:
        try:
            line = self.rfile.readline(65536)
        except OSError:
            return None
        if not line:
            return None
        try:
            method, path, _ = line.decode("latin-1").split(" ", 2)
        except ValueError:
            return None
        headers: dict[str, str] = {}
        while True:
            h = self.rfile.readline(65536)
            if h in (b"\r\n", b"\n", b""):
                break
            k, _, v = h.decode("latin-1").partition(":")
            headers[k.strip().lower()] = v.strip()
        n = int(headers.get("content-length", "0") or 0)
        body = self.rfile.read(n) if n else b""
        return method, path, headers, body

    def send(
        self, status: int, body: bytes, ctype: str = "application/json", extra: str = ""
    ) -> None:
        reason = {200: "OK", 400: "Bad Request", 429: "Too Many Requests", 500: "Server Error"}
        head = (
            f"HTTP/1.1 {status} {reason.get(status, 'X')}\r\nContent-Type: {ctype}\r\n"
            f"Content-Length: {len(body)}\r\n{extra}\r\n"
        )
        self.wfile.write(head.encode("latin-1") + body)
        self.wfile.flush()


class _TCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    # The default backlog of 5 drops connection attempts under concurrent load, and a dropped
    # SYN is retried a second later, which a test would misread as the server being slow.
    request_queue_size = 256
    owner: FaultServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hanging up mid-response is what this server is for; keep test output clean.
        pass


class FaultServer:
    """The misbehaving chatbot. Use as a context manager; ``url`` is the ``/chat`` endpoint."""

    def __init__(self, *, latency_s: float = 0.0) -> None:
        self.latency_s = latency_s
        self.stopping = threading.Event()
        self.counts: Counter[str] = Counter()
        self.times: dict[str, list[float]] = defaultdict(list)
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._server: _TCPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> str:
        srv = _TCPServer(("127.0.0.1", 0), _Handler)
        srv.owner = self
        self._server = srv
        self._thread = threading.Thread(target=srv.serve_forever, daemon=True)
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        self.stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FaultServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return self.base_url + "/chat"

    def reset_counts(self) -> None:
        with self._lock:
            self.counts.clear()
            self.times.clear()
            self.requests.clear()

    # -- behaviour ---------------------------------------------------------------------------
    def dispatch(
        self, h: _Handler, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> bool:
        """Answer one request; False when the connection must not be reused."""
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            h.send(400, b'{"error": "body is not JSON"}')
            return False
        question = str(payload.get("question", ""))
        with self._lock:
            self.counts[question] += 1
            n = self.counts[question]
            self.times[question].append(time.monotonic())
            self.requests.append({"path": path, "headers": headers, "body": payload})
        word = question.split(" ", 1)[0]
        kind, _, arg = word.partition(":")
        if self.latency_s:
            time.sleep(self.latency_s)
        if kind == "500":
            h.send(500, b'{"error": "internal"}')
        elif kind == "400":
            h.send(400, b'{"error": "bad request"}')
        elif kind == "flaky" and n <= int(arg or 1):
            h.send(500, b'{"error": "flaky"}')
        elif kind == "429" and n <= int(arg or 1):
            h.send(429, b'{"error": "slow down"}', extra="Retry-After: 1\r\n")
        elif kind == "hang":
            self.stopping.wait(60)
            return False
        elif kind == "malformed":
            h.send(200, b'{"answer": "half a respo')
        elif kind == "reset":
            h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            h.connection.close()
            return False
        elif kind == "drip":
            data = json.dumps(self._answer(question)).encode()
            head = (
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(data)}\r\n\r\n"
            )
            h.wfile.write(head.encode())
            for i in range(len(data)):
                if self.stopping.wait(0.2):
                    return False
                try:
                    h.wfile.write(data[i : i + 1])
                    h.wfile.flush()
                except OSError:
                    return False
        elif kind == "slow":
            self.stopping.wait(float(arg or 1))
            h.send(200, json.dumps(self._answer(question)).encode())
        elif kind == "stream":
            self._stream(h, question)
            return False
        else:
            h.send(200, json.dumps(self._answer(question, payload)).encode())
        return True

    @staticmethod
    def _answer(question: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        extra = {k: v for k, v in (payload or {}).items() if k not in ("question", "history")}
        return {
            "answer": f"answer to: {question}",
            "sources": [
                {"doc_id": "doc-1", "text": "first source", "score": 0.9},
                {"doc_id": "doc-2", "text": "second source", "score": 0.4},
            ],
            "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
            "echo": extra,
        }

    def _stream(self, h: _Handler, question: str) -> None:
        events = [
            {"delta": "answer "},
            {"delta": "to: "},
            {"delta": question},
            {"sources": [{"doc_id": "doc-s", "text": "streamed source"}]},
            {"usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}},
        ]
        h.wfile.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n"
        )
        h.wfile.write(b": a comment line\n\n")
        for ev in events:
            h.wfile.write(f"data: {json.dumps(ev)}\n\n".encode())
            h.wfile.flush()
            time.sleep(0.01)
        h.wfile.write(b"data: [DONE]\n\n")
        h.wfile.flush()
