"""The ``openai-chat`` runner: chat completions via the ``openai`` package (OpenAI or Azure).

The raw JSON of each completion is mapped with the profile's paths, so a bot that adds its own
fields (``"sources"`` next to ``"choices"``) is read as easily as a plain model; sources may
also come from the arguments of a tool call the model made.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from ragwacht._env import scrub, secret_values
from ragwacht.errors import ConfigError, MissingDependencyError
from ragwacht.runners._wire import (
    ACCEPT_ENCODING,
    DamagedBody,
    GuardedTransport,
    OtherOrigin,
    ResponseTooLarge,
    UnsupportedEncoding,
    parse_json,
    shown_url,
    url_secrets,
)
from ragwacht.runners.base import AttemptError, CallRequest, CallResult, finish_mapping
from ragwacht.runners.mapping import MappingError, compile_path, map_context
from ragwacht.runners.profile import OpenAIChatProfile, template_variables
from ragwacht.runners.templating import (
    TemplateRenderError,
    env_names,
    render_text,
    resolve_env,
)

# openai requires some key; local OpenAI-compatible servers ignore it.
_NO_KEY = "not-needed"


class OpenAIChatRunner:
    """Calls an OpenAI-compatible chat completions endpoint."""

    def __init__(self, profile: OpenAIChatProfile, options: Any, *, transport: Any = None) -> None:
        try:
            import openai  # lazy: optional (backends)
        except ImportError as exc:  # pragma: no cover - a core dependency
            raise MissingDependencyError("openai", purpose="openai-chat endpoints") from exc
        self.profile = profile
        self.name = profile.endpoint_key()
        self._openai = openai
        api_key = _NO_KEY
        if profile.api_key_env:
            api_key = resolve_env(
                "${env:" + profile.api_key_env + "}", file=profile.source_path, field="api_key_env"
            )
        headers = {
            k: resolve_env(v, file=profile.source_path, field=f"headers.{k}")
            for k, v in profile.headers.items()
        }
        names = [n for v in profile.headers.values() for n in env_names(v)]
        if profile.api_key_env:
            names.append(profile.api_key_env)
        self._secrets = secret_values(names)
        self._timeout = float(options.attempt_timeout_s)
        if profile.azure is not None:
            endpoint = resolve_env(
                profile.azure.endpoint, file=profile.source_path, field="azure.endpoint"
            )
        else:
            assert profile.base_url is not None
            endpoint = resolve_env(profile.base_url, file=profile.source_path, field="base_url")
            if not endpoint.startswith(("http://", "https://")):
                raise ConfigError(
                    f"base_url {endpoint!r} is not an http(s) URL",
                    field="base_url",
                    hint="e.g. http://127.0.0.1:8000/v1",
                )
        self._secrets += url_secrets(endpoint)
        # What the endpoint could echo back; the executor scrubs it from all the run keeps.
        self.secrets = self._secrets
        limits = httpx.Limits(
            max_connections=options.concurrency,
            max_keepalive_connections=options.concurrency,
        )
        self._http = httpx.AsyncClient(
            # openai follows redirects: the guard sends nothing to another origin (the
            # headers would go along) and bounds every body, raw and decompressed.
            transport=GuardedTransport(
                transport or httpx.AsyncHTTPTransport(limits=limits),
                url=endpoint,
                max_bytes=int(profile.max_response_bytes),
            ),
            timeout=httpx.Timeout(self._timeout),
            limits=limits,
            headers={"Accept-Encoding": ACCEPT_ENCODING},
        )
        common: dict[str, Any] = {
            "api_key": api_key,
            "max_retries": 0,  # retries, back-off and Retry-After are handled by the executor
            "timeout": self._timeout,
            "default_headers": headers or None,
            "http_client": self._http,
        }
        if profile.azure is not None:
            self._client: Any = openai.AsyncAzureOpenAI(
                azure_endpoint=endpoint,
                api_version=profile.azure.api_version,
                azure_deployment=profile.azure.deployment,
                **common,
            )
        else:
            self._client = openai.AsyncOpenAI(base_url=endpoint, **common)

    async def __aenter__(self) -> OpenAIChatRunner:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._client.close()
        await self._http.aclose()

    def _messages(self, request: CallRequest) -> list[dict[str, str]]:
        p = self.profile
        variables = template_variables(
            request.case,
            fields=p.fields,
            settings=p.settings,
            variant=request.variant,
            case_data=request.case_data,
        )
        try:
            messages: list[dict[str, str]] = []
            if p.system_prompt:
                system = render_text(p.system_prompt, variables)
                messages.append({"role": "system", "content": system})
            messages.extend({"role": t.role, "content": t.content} for t in request.case.history)
            messages.append({"role": "user", "content": render_text(p.user_template, variables)})
        except TemplateRenderError as exc:
            raise AttemptError("template", str(exc)) from exc
        return messages

    async def call(self, request: CallRequest) -> CallResult:
        """Make one chat completions attempt for ``request``."""
        p = self.profile
        oa = self._openai
        extra_body = {**p.extra_body, **p.fields} or None
        try:
            raw = await self._client.chat.completions.with_raw_response.create(
                model=p.model,
                messages=self._messages(request),
                extra_body=extra_body,
                **p.params,
            )
        except oa.APIStatusError as exc:
            from ragwacht.runners.base import (
                status_error,  # lazy: optional dependency, checked where it is used
            )

            body = exc.response.text if exc.response is not None else str(exc)
            raise status_error(exc.status_code, exc.response.headers, body, self._secrets) from exc
        except oa.APITimeoutError as exc:
            raise AttemptError("timeout", "the request timed out", retryable=True) from exc
        except oa.APIConnectionError as exc:
            cause = exc.__cause__
            if isinstance(cause, OtherOrigin):
                raise AttemptError(
                    "http_status",
                    f"redirected to another origin ({shown_url(cause.target, self._secrets)}); "
                    "not followed: a redirect only goes to the endpoint's own scheme, host and "
                    "port",
                ) from exc
            if isinstance(cause, ResponseTooLarge | DamagedBody):
                raise AttemptError("malformed", str(cause)) from exc
            if isinstance(cause, UnsupportedEncoding):
                raise AttemptError(
                    "malformed", f"response has Content-Encoding {cause} (asked for gzip, deflate)"
                ) from exc
            connect = cause is None or isinstance(cause, httpx.ConnectError)
            kind = "connect" if connect else "network"
            msg = scrub(f"{exc}: {cause}" if cause else str(exc), self._secrets)
            raise AttemptError(kind, msg, retryable=True) from exc
        status = raw.status_code
        http_response = raw.http_response
        try:
            doc = parse_json(http_response.content, http_response.charset_encoding)
        except ValueError as exc:
            # Scrubbed before it is cut, so no prefix of a secret survives.
            snippet = scrub(raw.text, self._secrets)[:200]
            why = " (nested too deeply)" if "nested too deeply" in str(exc) else ""
            raise AttemptError(
                "malformed", f"response is not JSON{why}: {snippet!r}", status_code=status
            ) from exc
        result = finish_mapping(p.response, doc, status_code=status)
        if p.tool_sources is not None:
            result.contexts = result.contexts + self._tool_contexts(doc, status)
        return result

    def _tool_contexts(self, doc: Any, status: int) -> list[Any]:
        ts = self.profile.tool_sources
        assert ts is not None
        calls = compile_path("$.choices[0].message.tool_calls[*]").find_all(doc) or []
        out: list[Any] = []
        for call in calls:
            fn = call.get("function") if isinstance(call, dict) else None
            if not isinstance(fn, dict) or fn.get("name") != ts.tool_name:
                continue
            args = fn.get("arguments")
            try:
                parsed = json.loads(args) if isinstance(args, str) else args
            except (ValueError, RecursionError) as exc:
                raise AttemptError(
                    "malformed",
                    f"arguments of tool call '{ts.tool_name}' are not JSON",
                    status_code=status,
                ) from exc
            items = compile_path(ts.path).find_all(parsed) or []
            try:
                out.extend(
                    map_context(it, ts.context, len(out) + i) for i, it in enumerate(items, 1)
                )
            except MappingError as exc:
                raise AttemptError("mapping", str(exc), status_code=status) from exc
        return out
