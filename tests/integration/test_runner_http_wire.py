"""The ``http`` runner on the wire: the aiohttp fast path and the httpx path send the same
requests and read the same answers from a real loopback server."""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from ragwacht.datasets.models import GoldenCase
from ragwacht.runners import ExecOptions, profile_from_dict
from ragwacht.runners.base import AttemptError, CallRequest, build_runner

pytestmark = pytest.mark.integration


class _Handler(BaseHTTPRequestHandler):
    seen: list[dict[str, Any]]

    def log_message(self, *args: Any) -> None:
        pass

    def _reply(self, status: int, body: bytes, ctype: str, extra: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        for k, v in extra.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _handle(self) -> None:
        url = urlsplit(self.path)
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        self.seen.append(
            {
                "method": self.command,
                "path": url.path,
                "query": parse_qs(url.query),
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": json.loads(raw) if raw else None,
            }
        )
        if url.path == "/old":
            self._reply(307, b"", "text/plain", {"Location": "/chat"})
        elif url.path == "/latin":
            self._reply(200, "geen JSON: café".encode("latin-1"), "text/plain; charset=latin-1", {})
        elif url.path == "/busy":
            self._reply(503, b"even geduld", "text/plain", {"Retry-After": "7"})
        else:
            q = (self.seen[-1]["body"] or {}).get("q") or parse_qs(url.query).get("q", [""])[0]
            doc = {"answer": f"A: {q} é", "sources": [{"doc_id": "d1", "text": "t1", "score": 0.5}]}
            body = json.dumps(doc, ensure_ascii=False).encode()
            extra = {}
            if "gzip" in self.headers.get("Accept-Encoding", ""):
                body, extra = gzip.compress(body), {"Content-Encoding": "gzip"}
            self._reply(200, body, "application/json", extra)

    do_GET = _handle
    do_POST = _handle


@pytest.fixture
def server() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    seen: list[dict[str, Any]] = []
    handler = type("H", (_Handler,), {"seen": seen})
    srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}", seen
    finally:
        srv.shutdown()
        srv.server_close()


def _call(profile: dict[str, Any], question: str, *, fast: bool) -> Any:
    prof = profile_from_dict(
        {"response": {"answer": "$.answer", "contexts": "$.sources[*]"}, **profile}
    )
    opts = ExecOptions(concurrency=2, attempt_timeout_s=5)
    transport = None if fast else httpx.AsyncHTTPTransport()

    async def go() -> Any:
        runner = build_runner(prof, opts, transport=transport)
        async with runner:
            assert (getattr(runner, "_session", None) is not None) is fast
            try:
                return await runner.call(CallRequest(case=GoldenCase(id="c1", question=question)))
            except AttemptError as exc:
                return exc

    return asyncio.run(go())


def _unused_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


def _same_request(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert (a["method"], a["path"], a["query"], a["body"]) == (
        b["method"],
        b["path"],
        b["query"],
        b["body"],
    )
    for h in ("x-api-key", "content-type"):
        assert a["headers"].get(h) == b["headers"].get(h)


def test_post_json_headers_and_gzip_match_httpx(server, monkeypatch) -> None:
    url, seen = server
    monkeypatch.setenv("WIRE_TEST_KEY", "s3cret")
    prof = {
        "type": "http",
        "url": f"{url}/chat",
        "headers": {"X-Api-Key": "${WIRE_TEST_KEY}"},
        "body": '{"q": {{ question | tojson }}}',
        "fields": {"top_k": 3},
    }
    fast = _call(prof, "wat is de BAG?", fast=True)
    slow = _call(prof, "wat is de BAG?", fast=False)
    assert fast.answer == slow.answer == "A: wat is de BAG? é"
    assert fast.contexts == slow.contexts and fast.contexts[0].doc_id == "d1"
    _same_request(seen[0], seen[1])
    assert seen[0]["body"] == {"q": "wat is de BAG?", "top_k": 3}
    assert seen[0]["headers"]["x-api-key"] == "s3cret"
    assert seen[0]["headers"]["content-type"] == "application/json"
    assert seen[0]["headers"]["user-agent"].startswith("ragwacht/")
    assert "gzip" in seen[0]["headers"]["accept-encoding"]  # and the gzip reply was decoded


def test_get_with_query_and_fields_matches_httpx(server) -> None:
    url, seen = server
    prof = {
        "type": "http",
        "method": "GET",
        "url": f"{url}/search?lang=nl",
        "query": {"q": "{{ question }}"},
        "fields": {"k": 2},
    }
    fast = _call(prof, "woz & bag", fast=True)
    slow = _call(prof, "woz & bag", fast=False)
    assert fast.answer == slow.answer == "A: woz & bag é"
    _same_request(seen[0], seen[1])
    assert seen[0]["query"] == {"lang": ["nl"], "q": ["woz & bag"], "k": ["2"]}
    assert seen[0]["body"] is None


def test_a_content_type_the_profile_sets_is_kept(server) -> None:
    url, seen = server
    ctype = "application/json; charset=utf-8"
    prof = {
        "type": "http",
        "url": f"{url}/chat",
        "headers": {"Content-Type": ctype},
        "body": '{"q": {{ question | tojson }}}',
    }
    assert _call(prof, "bgt", fast=True).answer == _call(prof, "bgt", fast=False).answer
    assert [s["headers"]["content-type"] for s in seen] == [ctype, ctype]


def test_redirect_is_followed_with_the_body(server) -> None:
    url, seen = server
    prof = {"type": "http", "url": f"{url}/old", "body": '{"q": {{ question | tojson }}}'}
    assert _call(prof, "brk", fast=True).answer == "A: brk é"
    assert [s["path"] for s in seen] == ["/old", "/chat"] and seen[1]["body"] == {"q": "brk"}


@pytest.mark.parametrize("fast", [True, False])
def test_errors_are_classified_alike(server, fast: bool) -> None:
    url, _ = server
    latin = _call({"type": "http", "url": f"{url}/latin"}, "x", fast=fast)
    assert isinstance(latin, AttemptError) and latin.kind == "malformed"
    assert "café" in str(latin)  # decoded with the declared charset
    busy = _call({"type": "http", "url": f"{url}/busy"}, "x", fast=fast)
    assert isinstance(busy, AttemptError) and busy.kind == "http_status"
    assert busy.retryable and busy.retry_after == 7 and busy.status_code == 503
    refused = _call(
        {"type": "http", "url": f"http://127.0.0.1:{_unused_port()}/chat"}, "x", fast=fast
    )
    assert isinstance(refused, AttemptError) and refused.kind == "connect" and refused.retryable
