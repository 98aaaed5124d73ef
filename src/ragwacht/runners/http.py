"""The ``http`` runner: a templated JSON request, a JSONPath/JMESPath-mapped JSON response."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import httpx
import yarl

from ragwacht import __version__
from ragwacht._env import scrub, secret_values
from ragwacht.runners._aiohttp_transport import translate
from ragwacht.runners._wire import (
    ACCEPT_ENCODING,
    MAX_REDIRECTS,
    BoundedDecoder,
    DamagedBody,
    GuardedTransport,
    OtherOrigin,
    ResponseTooLarge,
    UnsupportedEncoding,
    origin_of,
    parse_json,
    parse_json_text,
    shown_url,
    too_large_message,
    url_secrets,
)
from ragwacht.runners.base import (
    AttemptError,
    CallRequest,
    CallResult,
    Deferred,
    finish_mapping,
    result_from_mapped,
    status_error,
    transport_error,
)
from ragwacht.runners.mapping import Mapped, MappingError, apply_mapping, compile_path, merge_mapped
from ragwacht.runners.profile import HttpProfile, resolve_url, template_variables
from ragwacht.runners.templating import (
    TemplateRenderError,
    env_names,
    render_json,
    render_text,
    resolve_env,
)


def _snippet(text: str, secrets: list[str]) -> str:
    # Scrubbed before it is cut: cut first, a secret's prefix would survive.
    return scrub(text, secrets)[:200].replace("\n", " ")


# Statuses whose Location is followed (when it stays on the endpoint's origin).
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class HttpRunner:
    """Calls a JSON-over-HTTP chatbot as an :class:`HttpProfile` describes."""

    def __init__(self, profile: HttpProfile, options: Any, *, transport: Any = None) -> None:
        self.profile = profile
        self.name = profile.endpoint_key()
        # Environment references are resolved now, so a missing secret stops the run before
        # the first call, naming the variable.
        self._url = resolve_url(profile.url, file=profile.source_path, field="url")
        self._headers = {
            k: resolve_env(v, file=profile.source_path, field=f"headers.{k}")
            for k, v in profile.headers.items()
        }
        self._query = {
            k: resolve_env(v, file=profile.source_path, field=f"query.{k}")
            for k, v in profile.query.items()
        }
        credential_names = [
            n for v in [*profile.headers.values(), *profile.query.values()] for n in env_names(v)
        ]
        # What the endpoint could echo back: credentials, scrubbed from everything the run
        # keeps. Values that only build the URL (a host, a port) are not secrets and stay.
        self.secrets = secret_values(credential_names) + url_secrets(self._url)
        # Error texts also lose every value the URL was built from (as they always have).
        self._secrets = self.secrets + secret_values(env_names(profile.url))
        self._max_bytes = int(profile.max_response_bytes)
        self._follow = profile.follow_redirects == "same-origin"
        self._body = profile.body_template()
        self._timeout = float(options.attempt_timeout_s)
        self._concurrency = int(options.concurrency)
        self._transport = transport
        self._http: httpx.AsyncClient | None = None
        self._session: Any = None  # aiohttp.ClientSession: the fast path for plain JSON calls
        self._parsed_url: Any = None  # yarl.URL of the fast path
        self._own_content_type = any(k.lower() == "content-type" for k in self._headers)

    async def __aenter__(self) -> HttpRunner:
        transport = self._transport
        if transport is None and self.profile.stream is None:
            try:
                from ragwacht.runners._aiohttp_transport import (
                    new_session,  # lazy: optional dependency, checked where it is used
                )
            except ImportError:  # httpx's own pool works too, at a higher CPU cost
                pass
            else:
                import yarl  # lazy: optional dependency, checked where it is used

                # Every request of a body template is JSON (a Content-Type the profile sets
                # wins, as on the httpx path); set once here instead of merged per request.
                json_type = self._body is not None and not self._own_content_type
                self._session = new_session(
                    limit=self._concurrency,
                    timeout_s=self._timeout,
                    # Bodies are decoded by _read_body, within the size cap.
                    decompress=False,
                    skip_auto_headers=False,
                    headers={
                        "User-Agent": f"ragwacht/{__version__}",
                        "Accept-Encoding": ACCEPT_ENCODING,
                        **(_JSON_HEADERS if json_type else {}),
                        **self._headers,
                    },
                )
                self._parsed_url = yarl.URL(self._url)  # parsed once, not per request
                return self
        limits = httpx.Limits(
            max_connections=self._concurrency, max_keepalive_connections=self._concurrency
        )
        if transport is None:
            try:
                from ragwacht.runners._aiohttp_transport import (
                    AiohttpTransport,  # lazy: optional dependency, checked where it is used
                )
            except ImportError:  # httpx's own pool works too, at a higher CPU cost
                pass
            else:
                transport = AiohttpTransport(limit=self._concurrency, timeout_s=self._timeout)
        if transport is None:
            transport = httpx.AsyncHTTPTransport(limits=limits)
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(self._timeout),
            limits=limits,
            # Refuses other origins (so no redirect leaves the endpoint) and bounds bodies.
            transport=GuardedTransport(transport, url=self._url, max_bytes=self._max_bytes),
            headers={"Accept-Encoding": ACCEPT_ENCODING, **self._headers},
            follow_redirects=self._follow,
            max_redirects=MAX_REDIRECTS,
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    def _request_parts(self, request: CallRequest) -> tuple[Any, dict[str, str]]:
        p = self.profile
        variables = template_variables(
            request.case,
            fields=p.fields,
            settings=p.settings,
            variant=request.variant,
            case_data=request.case_data,
        )
        try:
            body = render_json(self._body, variables) if self._body is not None else None
            params = {k: render_text(v, variables) for k, v in self._query.items()}
        except TemplateRenderError as exc:
            raise AttemptError("template", str(exc)) from exc
        if p.fields:
            if p.method == "GET" and body is None:
                params.update({k: _param(v) for k, v in p.fields.items()})
            elif isinstance(body, dict):
                body = {**body, **p.fields}
            else:
                raise AttemptError(
                    "template",
                    "the body template must render a JSON object for fields to be merged in",
                )
        return body, params

    async def call(self, request: CallRequest) -> CallResult:
        """Make one HTTP attempt for ``request``."""
        result = await self.fetch(request)
        return result.finish() if isinstance(result, Deferred) else result

    async def fetch(self, request: CallRequest) -> CallResult | Deferred:
        """One attempt; on the fast path the body is decoded later (:class:`Deferred`)."""
        if self._session is not None:
            return await self._call_direct(request)
        if self._http is None:
            raise RuntimeError("use the runner as 'async with runner:'")
        body, params = self._request_parts(request)
        # Merged into the URL's own query: httpx's ``params=`` would replace it.
        url = httpx.URL(self._url).copy_merge_params(params) if params else self._url
        kwargs: dict[str, Any] = {}
        if body is not None:
            kwargs["json"] = body
        if self.profile.stream is not None:
            return await self._call_stream(url, kwargs)
        try:
            resp = await self._http.request(self.profile.method, url, **kwargs)
        except _WIRE_ERRORS as exc:
            raise self._wire_error(exc) from exc
        if not resp.is_success:
            if resp.is_redirect:
                raise self._redirect_error(resp.status_code, resp.headers.get("location", ""))
            raise status_error(resp.status_code, resp.headers, resp.text, self._secrets)
        try:
            doc = parse_json(resp.content, resp.charset_encoding)
        except ValueError as exc:
            raise self._not_json(exc, resp.text, resp.status_code) from exc
        return finish_mapping(self.profile.response, doc, status_code=resp.status_code)

    def _wire_error(self, exc: Exception) -> AttemptError:
        """The AttemptError for a failure on the wire or one of the runner's own refusals."""
        if isinstance(exc, httpx.TooManyRedirects):
            return AttemptError("http_status", f"more than {MAX_REDIRECTS} redirects")
        if isinstance(exc, OtherOrigin):
            return AttemptError(
                "http_status",
                f"redirected to another origin ({shown_url(exc.target, self._secrets)}); not "
                "followed: a redirect only goes to the endpoint's own scheme, host and port",
            )
        if isinstance(exc, ResponseTooLarge | DamagedBody):
            return AttemptError("malformed", str(exc))
        if isinstance(exc, UnsupportedEncoding):
            return AttemptError(
                "malformed", f"response has Content-Encoding {exc} (asked for {ACCEPT_ENCODING})"
            )
        if isinstance(exc, httpx.DecodingError):
            return AttemptError(
                "malformed", scrub(f"response does not decode: {exc}", self._secrets)
            )
        return transport_error(exc, self._secrets)

    def _redirect_error(self, status: int, target: str) -> AttemptError:
        if self._follow:  # a redirect without a usable Location
            why = "its Location is missing or not a URL"
        else:
            why = "the profile says follow_redirects: never"
        return AttemptError(
            "http_status",
            f"HTTP {status} redirect to {shown_url(target, self._secrets)!r} not followed: {why}",
            status_code=status,
        )

    def _not_json(self, exc: ValueError, text: str, status: int) -> AttemptError:
        why = " (nested too deeply)" if "nested too deeply" in str(exc) else ""
        return AttemptError(
            "malformed",
            f"response is not JSON{why}: {_snippet(text, self._secrets)!r}",
            status_code=status,
        )

    async def _call_direct(self, request: CallRequest) -> Deferred:
        """One attempt straight through aiohttp (no streaming, no custom transport).

        Same contract as the httpx path: errors become the same AttemptErrors. A 2xx body is
        returned undecoded; the executor decodes it once the next request is on its way.
        """
        body, params = self._request_parts(request)
        data = None
        if body is not None:
            data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        method, url, query = self.profile.method, self._parsed_url, params or None
        home = origin_of(url)
        try:
            for _hop in range(MAX_REDIRECTS + 1):
                async with self._session.request(
                    method, url, params=query, data=data, allow_redirects=False
                ) as resp:
                    status = resp.status
                    if status in _REDIRECTS:
                        target = self._redirect_target(resp, home, status)
                        # As httpx (and browsers) do: 303, and 301/302 after a POST, become GET.
                        if method != "HEAD" and (
                            status == 303 or (status in (301, 302) and method == "POST")
                        ):
                            method, data = "GET", None
                        url, query = target, None
                        continue
                    raw = await self._read_body(resp)
                    charset = resp.charset
                    resp_headers = dict(resp.headers)
                break
            else:
                raise AttemptError("http_status", f"more than {MAX_REDIRECTS} redirects")
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise transport_error(translate(exc), self._secrets) from exc
        if not 200 <= status < 300:
            raise status_error(status, resp_headers, _decode(raw, charset), self._secrets)
        return Deferred(lambda: self._decode_body(raw, charset, status))

    def _redirect_target(self, resp: Any, home: Any, status: int) -> Any:
        """Where a redirect of the fast path may go, or the AttemptError that it may not."""
        where = resp.headers.get("Location", "")
        try:
            target = resp.url.join(yarl.URL(where)) if where else None
        except (TypeError, ValueError):
            target = None
        if target is None or not self._follow:
            raise self._redirect_error(status, where)
        if origin_of(target) != home:
            raise AttemptError(
                "http_status",
                f"HTTP {status} redirect to another origin ({shown_url(target, self._secrets)}); "
                "not followed: a redirect only goes to the endpoint's own scheme, host and port",
                status_code=status,
            )
        return target

    async def _read_body(self, resp: Any) -> bytes:
        """The body of an aiohttp response, decoded and at most ``max_response_bytes``."""
        length = resp.content_length
        encoding = resp.headers.get("Content-Encoding")
        try:
            if length is not None and length > self._max_bytes:
                raise ResponseTooLarge(too_large_message(self._max_bytes, decompressed=False))
            if encoding is None and length is not None:
                return bytes(await resp.read())  # the usual case: a known, allowed length
            decoder = BoundedDecoder(encoding, self._max_bytes)
            parts = [decoder.feed(chunk) async for chunk in resp.content.iter_any()]
            parts.append(decoder.flush())
        except (ResponseTooLarge, UnsupportedEncoding, DamagedBody) as exc:
            failure = self._wire_error(exc)
            failure.status_code = resp.status
            raise failure from exc
        return b"".join(parts)

    def _decode_body(self, raw: bytes, charset: str | None, status: int) -> CallResult:
        try:
            doc = parse_json(raw, charset)
        except ValueError as exc:
            raise self._not_json(exc, _decode(raw, charset), status) from exc
        return finish_mapping(self.profile.response, doc, status_code=status)

    async def _call_stream(self, url: Any, kwargs: dict[str, Any]) -> CallResult:
        assert self._http is not None and self.profile.stream is not None
        spec = self.profile.stream
        mapping = self.profile.response
        delta_path = compile_path(spec.delta)
        headers = {"Accept": "text/event-stream"}
        try:
            async with self._http.stream(
                self.profile.method, url, headers=headers, **kwargs
            ) as resp:
                if not resp.is_success:
                    await resp.aread()
                    if resp.is_redirect:
                        location = resp.headers.get("location", "")
                        raise self._redirect_error(resp.status_code, location)
                    raise status_error(resp.status_code, resp.headers, resp.text, self._secrets)
                ctype = resp.headers.get("content-type", "")
                if "text/event-stream" not in ctype:
                    # Some servers answer a non-streaming JSON body; map it as usual.
                    await resp.aread()
                    try:
                        doc = parse_json(resp.content, resp.charset_encoding)
                    except ValueError as exc:
                        raise AttemptError(
                            "malformed",
                            f"expected server-sent events or JSON, got {ctype or 'no type'}: "
                            f"{_snippet(resp.text, self._secrets)!r}",
                            status_code=resp.status_code,
                        ) from exc
                    return finish_mapping(mapping, doc, status_code=resp.status_code)
                merged = Mapped()
                deltas: list[str] = []
                last: Any = None
                async for data in _sse_data(resp):
                    if data.strip() == spec.done:
                        break
                    try:
                        event = parse_json_text(data)
                    except ValueError as exc:
                        raise AttemptError(
                            "malformed",
                            f"event data is not JSON: {_snippet(data, self._secrets)!r}",
                            status_code=resp.status_code,
                        ) from exc
                    last = event
                    found, delta = delta_path.find(event)
                    if found and isinstance(delta, str):
                        deltas.append(delta)
                    try:
                        merge_mapped(merged, apply_mapping(mapping, event))
                    except MappingError as exc:
                        raise AttemptError(
                            "mapping", str(exc), status_code=resp.status_code
                        ) from exc
                if deltas or (last is not None and merged.answer is None):
                    merged.answer = "".join(deltas)
                from ragwacht.runners.mapping import (
                    describe_keys,  # lazy: optional dependency, checked where it is used
                )

                return result_from_mapped(
                    mapping, merged, last, status_code=resp.status_code, describe=describe_keys
                )
        except _WIRE_ERRORS as exc:
            raise self._wire_error(exc) from exc


_JSON_HEADERS = {"Content-Type": "application/json"}
# What the httpx path can raise on the wire: httpx's errors and the guard's refusals.
_WIRE_ERRORS = (httpx.HTTPError, OtherOrigin, ResponseTooLarge, UnsupportedEncoding, DamagedBody)


def _decode(raw: bytes, charset: str | None) -> str:
    try:
        return raw.decode(charset or "utf-8", errors="replace")
    except LookupError:  # an unknown charset name
        return raw.decode("utf-8", errors="replace")


def _param(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


async def _sse_data(resp: httpx.Response) -> Any:
    """The data payload of each server-sent event (multi-line data joined with newlines)."""
    lines: list[str] = []
    async for line in resp.aiter_lines():
        if line == "":
            if lines:
                yield "\n".join(lines)
                lines = []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        if name == "data":
            lines.append(value[1:] if value.startswith(" ") else value)
    if lines:
        yield "\n".join(lines)
