"""The ``http`` runner: a templated JSON request, a JSONPath/JMESPath-mapped JSON response."""

from __future__ import annotations

import json
from typing import Any

import httpx

from ragwacht import __version__
from ragwacht._env import scrub, secret_values
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
    return scrub(text[:200], secrets).replace("\n", " ")


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
        names = env_names(profile.url) + [
            n for v in [*profile.headers.values(), *profile.query.values()] for n in env_names(v)
        ]
        self._secrets = secret_values(names)
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
                from ragwacht.runners._aiohttp_transport import new_session
            except ImportError:  # httpx's own pool works too, at a higher CPU cost
                pass
            else:
                import yarl

                # Every request of a body template is JSON (a Content-Type the profile sets
                # wins, as on the httpx path); set once here instead of merged per request.
                json_type = self._body is not None and not self._own_content_type
                self._session = new_session(
                    limit=self._concurrency,
                    timeout_s=self._timeout,
                    headers={
                        "User-Agent": f"ragwacht/{__version__}",
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
                from ragwacht.runners._aiohttp_transport import AiohttpTransport
            except ImportError:  # httpx's own pool works too, at a higher CPU cost
                pass
            else:
                transport = AiohttpTransport(limit=self._concurrency, timeout_s=self._timeout)
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(self._timeout),
            limits=limits,
            transport=transport,
            headers=self._headers,
            follow_redirects=True,
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
        except httpx.HTTPError as exc:
            raise transport_error(exc, self._secrets) from exc
        if not resp.is_success:
            raise status_error(resp.status_code, resp.headers, resp.text, self._secrets)
        try:
            doc = resp.json()
        except ValueError as exc:
            raise AttemptError(
                "malformed",
                f"response is not JSON: {_snippet(resp.text, self._secrets)!r}",
                status_code=resp.status_code,
            ) from exc
        return finish_mapping(self.profile.response, doc, status_code=resp.status_code)

    async def _call_direct(self, request: CallRequest) -> Deferred:
        """One attempt straight through aiohttp (no streaming, no custom transport).

        Same contract as the httpx path: errors become the same AttemptErrors. A 2xx body is
        returned undecoded; the executor decodes it once the next request is on its way.
        """
        import aiohttp

        from ragwacht.runners._aiohttp_transport import translate

        body, params = self._request_parts(request)
        data = None
        if body is not None:
            data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        try:
            async with self._session.request(
                self.profile.method, self._parsed_url, params=params or None, data=data
            ) as resp:
                raw = await resp.read()
                status = resp.status
                charset = resp.charset or "utf-8"
                resp_headers = dict(resp.headers)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise transport_error(translate(exc), self._secrets) from exc
        if not 200 <= status < 300:
            raise status_error(status, resp_headers, _decode(raw, charset), self._secrets)
        return Deferred(lambda: self._decode_body(raw, charset, status))

    def _decode_body(self, raw: bytes, charset: str, status: int) -> CallResult:
        try:
            doc = json.loads(raw)
        except ValueError as exc:
            raise AttemptError(
                "malformed",
                f"response is not JSON: {_snippet(_decode(raw, charset), self._secrets)!r}",
                status_code=status,
            ) from exc
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
                    raise status_error(resp.status_code, resp.headers, resp.text, self._secrets)
                ctype = resp.headers.get("content-type", "")
                if "text/event-stream" not in ctype:
                    # Some servers answer a non-streaming JSON body; map it as usual.
                    await resp.aread()
                    try:
                        doc = resp.json()
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
                        event = json.loads(data)
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
                from ragwacht.runners.mapping import describe_keys

                return result_from_mapped(
                    mapping, merged, last, status_code=resp.status_code, describe=describe_keys
                )
        except httpx.HTTPError as exc:
            raise transport_error(exc, self._secrets) from exc


_JSON_HEADERS = {"Content-Type": "application/json"}


def _decode(raw: bytes, charset: str) -> str:
    try:
        return raw.decode(charset, errors="replace")
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
