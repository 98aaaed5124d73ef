"""aiohttp underneath the ``http`` runner.

httpx's own connection pool (httpcore on anyio) spends several milliseconds of CPU per request
at a few dozen concurrent requests, more than the requests themselves on a loaded CI runner;
aiohttp's pool and C parser need a fraction of that. Plain JSON requests go through an aiohttp
session directly (:func:`new_session`); streamed answers keep httpx as the API through
:class:`AiohttpTransport`. Failures are translated to httpx's exception classes either way, so
one function (``transport_error``) classifies them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import httpx


def new_session(
    *,
    limit: int,
    timeout_s: float,
    decompress: bool = True,
    headers: dict[str, str] | None = None,
    skip_auto_headers: bool | None = None,
) -> aiohttp.ClientSession:
    """An aiohttp session with ``limit`` connections and per-connect/per-read timeouts.

    ``skip_auto_headers`` (default: when not decompressing) leaves out aiohttp's own
    User-Agent, Accept, Accept-Encoding and Content-Type, for requests that bring theirs.
    Must be called with the event loop running.
    """
    skip = not decompress if skip_auto_headers is None else skip_auto_headers
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=limit, limit_per_host=0),
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=timeout_s, sock_read=timeout_s),
        auto_decompress=decompress,
        headers=headers,
        skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type")
        if skip
        else (),
    )


def translate(exc: BaseException, request: httpx.Request | None = None) -> httpx.TransportError:
    """The httpx exception matching an aiohttp failure (the runners classify httpx errors)."""
    msg = str(exc) or type(exc).__name__
    if isinstance(exc, aiohttp.ClientConnectorError):
        return httpx.ConnectError(msg, request=request)
    if isinstance(exc, asyncio.TimeoutError | aiohttp.ServerTimeoutError):
        return httpx.ReadTimeout(msg, request=request)
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientResponseError):
        return httpx.RemoteProtocolError(msg, request=request)
    if isinstance(exc, aiohttp.ClientPayloadError | aiohttp.ClientOSError | OSError):
        return httpx.ReadError(msg, request=request)
    return httpx.TransportError(msg, request=request)


class _Body(httpx.AsyncByteStream):
    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.content.iter_any():
                yield chunk
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise translate(exc, self._request) from exc

    async def aclose(self) -> None:
        self._response.release()


class AiohttpTransport(httpx.AsyncBaseTransport):
    """Send httpx requests through one aiohttp session (created in the running loop)."""

    def __init__(self, *, limit: int, timeout_s: float) -> None:
        self._limit = limit
        self._timeout_s = timeout_s
        self._session: aiohttp.ClientSession | None = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            # httpx decodes by Content-Encoding itself; decoding here too would break it.
            self._session = new_session(
                limit=self._limit, timeout_s=self._timeout_s, decompress=False
            )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send one request; the body streams back through httpx."""
        session = self._get_session()
        body = await request.aread()
        headers: list[tuple[str, str]] = [
            (k, v) for k, v in request.headers.multi_items() if k.lower() != "host"
        ]
        try:
            response = await session.request(
                request.method,
                str(request.url),
                headers=headers,
                data=body or None,
                allow_redirects=False,
            )
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise translate(exc, request) from exc
        raw: Any = response.raw_headers
        return httpx.Response(
            response.status,
            headers=[(k, v) for k, v in raw],
            stream=_Body(response, request),
            request=request,
        )

    async def aclose(self) -> None:
        """Close the session and its connections."""
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()
