"""A real loopback chatbot that attacks its caller, for the red-team tests of the runners.

The behaviour is chosen by the request path:

=============== ===============================================================================
/chat           200 JSON answer naming the bot's own address (``"answer from 127.0.0.1:PORT"``)
/away...        302 (``/away``) or 307 (``/away307``) to :attr:`HostileBot.redirect_to`; any
                path under them too (``/away/v1/chat/completions`` for an OpenAI client)
/home           307 to ``/chat`` on the same origin
/bomb           a gzip body that expands to :data:`BOMB_BYTES` of JSON (a few hundred KB sent)
/big            an uncompressed 3 MB JSON answer with Content-Length
/big-stream     the same without Content-Length (the body ends when the connection closes)
/echo           the ``X-Api-Key`` request header echoed in the answer, a source's text, doc id
                and title, the cited ids and a top-level key
/echo-keys      the key echoed as a top-level key only (the answer path matches nothing)
/echo-cost      the key as the value of ``cost`` (a mapping error quoting the value)
/echo-cut       200 non-JSON text with the key at character 190 (the snippet is cut at 200)
/echo-500       HTTP 500 with the key at character 290 of the body (the snippet is cut at 300)
/nan            ``"cost": NaN`` (Python's json accepts it)
/inf            ``"usage": {"total_tokens": Infinity}``
/deep           100,000 nested JSON arrays
/latin          JSON encoded in ISO-8859-1, declared in Content-Type
=============== ===============================================================================

Every request is recorded (path and headers) in :attr:`HostileBot.seen`, so a test can show
that a second bot on another loopback address (``127.0.0.2``) was never called.
"""

from __future__ import annotations

import gzip
import json
import threading
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

BOMB_BYTES = 64 * 1024 * 1024


@lru_cache(maxsize=1)
def _bomb() -> bytes:
    # An answer of BOMB_BYTES letters: gzip squeezes it about 1000 to 1.
    inner = b'{"answer": "' + b"a" * (BOMB_BYTES - 14) + b'"}'
    return gzip.compress(inner, compresslevel=9)


def _json(doc: Any) -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode()


class _Handler(BaseHTTPRequestHandler):
    bot: HostileBot
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def _send(
        self,
        status: int,
        body: bytes,
        ctype: str = "application/json",
        extra: dict[str, str] | None = None,
        *,
        length: bool = True,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        if length:
            self.send_header("Content-Length", str(len(body)))
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def _handle(self) -> None:
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        path = urlsplit(self.path).path
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.bot.seen.append({"path": path, "headers": headers})
        key = headers.get("x-api-key", "")
        where = f"{self.bot.host}:{self.bot.port}"
        if path.startswith("/away"):
            status = 307 if path.startswith("/away307") else 302
            self._send(status, b"", "text/plain", {"Location": self.bot.redirect_to})
        elif path == "/home":
            self._send(307, b"", "text/plain", {"Location": "/chat"})
        elif path == "/bomb":
            self._send(200, _bomb(), extra={"Content-Encoding": "gzip"})
        elif path in ("/big", "/big-stream"):
            body = _json({"answer": "b" * 3_000_000})
            self._send(200, body, length=path == "/big")
        elif path == "/echo":
            doc = {
                "answer": f"uw sleutel is {key}.",
                "sources": [{"text": f"bron {key}", "doc_id": key, "title": f"titel {key}"}],
                "cited": [key],
                key: "sleutel als veld",
            }
            self._send(200, _json(doc))
        elif path == "/echo-keys":
            self._send(200, _json({key: 1, "other": 2}))
        elif path == "/echo-cost":
            self._send(200, _json({"answer": "x", "cost": key}))
        elif path == "/echo-cut":
            self._send(200, ("x" * 190 + key).encode(), "text/plain")
        elif path == "/echo-500":
            self._send(500, ("x" * 290 + key).encode(), "text/plain")
        elif path == "/nan":
            self._send(200, b'{"answer": "x", "cost": NaN}')
        elif path == "/inf":
            self._send(200, b'{"answer": "x", "usage": {"total_tokens": Infinity}}')
        elif path == "/deep":
            self._send(200, b"[" * 100_000 + b"]" * 100_000)
        elif path == "/latin":
            body = json.dumps({"answer": "café"}, ensure_ascii=False).encode("latin-1")
            self._send(200, body, "application/json; charset=iso-8859-1")
        else:
            answer = {"answer": f"answer from {where}", "choices": []}
            if path.endswith("/chat/completions"):  # an OpenAI client calling
                answer = {
                    "id": "x",
                    "object": "chat.completion",
                    "created": 0,
                    "model": "m",
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": "stop",
                            "message": {"role": "assistant", "content": f"answer from {where}"},
                        }
                    ],
                }
            self._send(200, _json(answer))

    do_GET = _handle
    do_POST = _handle


class HostileBot:
    """The hostile bot on ``host`` (any free port), started and stopped as a context manager.

    Args:
        host: the loopback address to bind (``127.0.0.2`` stands in for another host).

    """

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.seen: list[dict[str, Any]] = []
        self.redirect_to = "/chat"
        handler = type("H", (_Handler,), {"bot": self})
        self._server = ThreadingHTTPServer((host, 0), handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """``http://host:port`` of the bot."""
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> HostileBot:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
