"""What the HTTP runners accept from the wire: origins, redirects, body size caps, JSON.

A chatbot under test is untrusted. Its redirects must not carry the profile's credential
headers to another host, a compressed body must not expand into gigabytes in memory, and no
body it sends may crash the run. The helpers here are shared by the aiohttp fast path, the
httpx path (:class:`GuardedTransport`) and the openai-chat runner.
"""

from __future__ import annotations

import codecs
import json
import zlib
from collections.abc import AsyncIterator, Iterable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from ragwacht._env import REDACTED, redact_url, scrub

DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024
"""Largest response body read, on the wire and after decompression (8 MiB)."""

MAX_REDIRECTS = 10
ACCEPT_ENCODING = "gzip, deflate"
"""The encodings the runners ask for, and so can decode with a bound."""

_DEFAULT_PORTS = {"http": 80, "https": 443}
# Query parameters that usually carry credentials (Azure Functions' ``code`` among them).
_SECRET_PARAM = ("key", "token", "secret", "password", "sig", "auth", "code")


class ResponseTooLarge(Exception):
    """The body is larger than the profile's ``max_response_bytes`` (raw or decompressed)."""


class OtherOrigin(Exception):
    """A redirect pointed at another origin; the request was not sent."""

    def __init__(self, target: str) -> None:
        super().__init__(f"redirect to another origin ({target})")
        self.target = target


class UnsupportedEncoding(Exception):
    """A Content-Encoding the runner did not ask for and cannot decode with a bound."""


class DamagedBody(Exception):
    """The compressed body does not decompress."""


Origin = tuple[str, str, int]


def origin_of(url: Any) -> Origin:
    """(scheme, host, port) of a URL (str, ``httpx.URL`` or ``yarl.URL``), default port filled."""
    parts = urlsplit(str(url))
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:  # a port that is not a number: never equal to a real origin
        port = -1
    return (scheme, (parts.hostname or "").lower(), port or _DEFAULT_PORTS.get(scheme, 0))


def shown_url(url: Any, secrets: Iterable[str]) -> str:
    """A URL as an error message may show it: configured secrets and credentials hidden."""
    text = scrub(redact_url(str(url)), secrets)
    return text if len(text) <= 200 else text[:200] + "…"


def too_large_message(limit: int, *, decompressed: bool) -> str:
    """The error text for a body over the cap."""
    what = "decompressed response body" if decompressed else "response body"
    return (
        f"{what} is larger than max_response_bytes ({limit:,} bytes); not read further "
        "(raise max_response_bytes in the endpoint profile if the answers really are this large)"
    )


def url_secrets(url: str) -> list[str]:
    """Credentials inside a resolved URL: the userinfo password and secret-looking parameters."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return []
    found = [password] if password else []
    for name, value in parse_qsl(parts.query, keep_blank_values=False):
        if any(word in name.lower() for word in _SECRET_PARAM):
            found.append(value)
    return [s for s in found if len(s) >= 4]


def location(url: str, secrets: Iterable[str]) -> str:
    """A resolved endpoint URL without anything secret: for cache keys, never for display."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return REDACTED
    host = (parts.hostname or "").lower()
    netloc = host if port is None else f"{host}:{port}"
    query = parts.query
    text = f"{parts.scheme.lower()}://{netloc}{parts.path}" + (f"?{query}" if query else "")
    return scrub(redact_url(text), secrets)


class BoundedDecoder:
    """Decodes a Content-Encoding chunk by chunk, never holding more than ``limit`` bytes.

    zlib is asked for at most the bytes left under the cap, so a gzip bomb costs no more memory
    than the cap however far it would expand.
    """

    def __init__(self, encoding: str | None, limit: int) -> None:
        self.limit = limit
        self.wire = 0
        self.decoded = 0
        coding = (encoding or "identity").strip().lower()
        if coding in ("identity", ""):
            self._zlib: Any = None
        elif coding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS | 16)
        elif coding == "deflate":
            self._zlib = zlib.decompressobj()
        else:
            raise UnsupportedEncoding(coding)
        self._coding = coding
        self._raw_deflate = False

    def feed(self, chunk: bytes) -> bytes:
        """The decoded bytes of the next chunk.

        Raises:
            ResponseTooLarge: the body on the wire or decoded passes the cap.
            DamagedBody: the compressed data is damaged.

        """
        self.wire += len(chunk)
        if self.wire > self.limit:
            raise ResponseTooLarge(too_large_message(self.limit, decompressed=False))
        if self._zlib is None:
            self.decoded = self.wire
            return chunk
        room = self.limit - self.decoded
        try:
            out = self._zlib.decompress(chunk, room + 1)
        except zlib.error as exc:
            if self._coding == "deflate" and not self._raw_deflate and self.decoded == 0:
                # Some servers send raw deflate without the zlib header (httpx accepts both).
                self._raw_deflate = True
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                self.wire -= len(chunk)
                return self.feed(chunk)
            raise DamagedBody(
                f"the {self._coding} response body does not decompress: {exc}"
            ) from exc
        self.decoded += len(out)
        if self.decoded > self.limit:
            raise ResponseTooLarge(too_large_message(self.limit, decompressed=True))
        return out

    def flush(self) -> bytes:
        """Whatever the decoder still holds at the end of the body."""
        if self._zlib is None:
            return b""
        out = self._zlib.flush(self.limit - self.decoded + 1)
        self.decoded += len(out)
        if self.decoded > self.limit:
            raise ResponseTooLarge(too_large_message(self.limit, decompressed=True))
        return out


class _BoundedStream(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream, decoder: BoundedDecoder) -> None:
        self._inner = inner
        self._decoder = decoder

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            if out := self._decoder.feed(chunk):
                yield out
        if tail := self._decoder.flush():
            yield tail

    async def aclose(self) -> None:
        await self._inner.aclose()


class GuardedTransport(httpx.AsyncBaseTransport):
    """An httpx transport that sends nothing to another origin and bounds every body.

    Requests to any origin but the endpoint's are refused before they are sent
    (:class:`OtherOrigin`): the only way such a request arises is a redirect, and httpx
    resends every header but ``Authorization`` across origins. Bodies are decoded here,
    within ``max_bytes`` (:class:`ResponseTooLarge`), so httpx never decompresses unbounded.
    """

    def __init__(self, inner: httpx.AsyncBaseTransport, *, url: str, max_bytes: int) -> None:
        self._inner = inner
        self._origin = origin_of(url)
        self._max = max_bytes

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send one request to the endpoint's origin; the body streams back bounded."""
        if origin_of(request.url) != self._origin:
            raise OtherOrigin(str(request.url))
        response = await self._inner.handle_async_request(request)
        headers = response.headers
        length = headers.get("content-length")
        encoding = headers.get("content-encoding")
        try:
            if length is not None and length.isdigit() and int(length) > self._max:
                raise ResponseTooLarge(too_large_message(self._max, decompressed=False))
            decoder = BoundedDecoder(encoding, self._max)
        except (ResponseTooLarge, UnsupportedEncoding):
            await response.aclose()
            raise
        if encoding is not None:
            # Decoded here: httpx must not decode it a second time (without a bound).
            headers = httpx.Headers(
                [
                    (k, v)
                    for k, v in headers.multi_items()
                    if k.lower() not in ("content-encoding", "content-length")
                ]
            )
        stream = response.stream
        assert isinstance(stream, httpx.AsyncByteStream)
        return httpx.Response(
            response.status_code,
            headers=headers,
            stream=_BoundedStream(stream, decoder),
            request=request,
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        """Close the transport underneath."""
        await self._inner.aclose()


def _declared(charset: str | None) -> str | None:
    """A declared charset worth decoding with (None for UTF-8, unknown names and none)."""
    if not charset:
        return None
    try:
        name = codecs.lookup(charset).name
    except LookupError:
        return None
    return None if name == "utf-8" else name


def parse_json(raw: bytes, charset: str | None) -> Any:
    """Parse a JSON body, decoded with its declared charset (UTF-8 when none is declared).

    Raises:
        ValueError: not JSON, not in the declared charset, or nested deeper than Python can
            parse (a hostile body must be a malformed response, not a crash).

    """
    name = _declared(charset)
    try:
        return json.loads(raw.decode(name) if name else raw)
    except RecursionError:
        raise ValueError("the JSON is nested too deeply to read") from None


def parse_json_text(text: str) -> Any:
    """:func:`parse_json` for text already decoded."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("the JSON is nested too deeply to read") from None
