"""Endpoint profiles: how to call a chatbot and where its answer and sources are.

A profile is a YAML file in ``runners/`` with a ``type``:

* ``http``: any JSON-over-HTTP chatbot; a jinja2 request body, JSONPath/JMESPath response
  mapping, optional SSE streaming.
* ``openai-chat``: an OpenAI-compatible chat completions API (OpenAI, Azure OpenAI, vLLM,
  llama.cpp, a bot that speaks the protocol).
* ``python``: a ``module:function`` in the same process.
* ``mcp``: a tool on an MCP server (stdio command or streamable HTTP URL), e.g. to evaluate
  retrieval on its own.

Secrets never live in a profile: headers and URLs reference environment variables by name
(``${env:NAME}``) and :meth:`public_dict` keeps only those names.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import (
    AfterValidator,
    Field,
    PrivateAttr,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ragwacht._env import (
    QUERY_SECRET_NAME,
    REDACTED,
    SECRET_NAME,
    SECRET_VALUE,
    looks_like_secret,
)
from ragwacht._yaml import line_in_file, read_yaml, safe_compose
from ragwacht.datasets.models import GoldenCase
from ragwacht.errors import ConfigError, Location, Problem
from ragwacht.records import StrictModel
from ragwacht.runners._wire import DEFAULT_MAX_RESPONSE_BYTES
from ragwacht.runners.mapping import ContextMapping, PathExpr, ResponseMapping, UsageMapping
from ragwacht.runners.templating import (
    TemplateRenderError,
    check_template,
    has_env_ref,
    render_json,
    resolve_env,
)

SCHEMA_VERSION = 1
PROFILE_TYPES = ("http", "openai-chat", "python", "mcp")

# Header names whose values are credentials: they must come from the environment.
_SECRET_HEADER = SECRET_NAME
# A JSON member with a credential-looking name and a literal string value, in a body template.
_BODY_LITERAL = re.compile(r'"(?P<key>[^"\\{}]{1,80})"\s*:\s*"(?P<value>(?:[^"\\]|\\.)+)"')
_ORIGIN = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

DEFAULT_HTTP_BODY = '{"question": {{ question | tojson }}, "history": {{ history | tojson }}}'
DEFAULT_MCP_ARGUMENTS = '{"query": {{ question | tojson }}}'


def _template_hint(err: str) -> str:
    if "undefined variable" in err:
        return "use the variables templates see (question, history, case, fields, settings, "
        "variant), e.g. {{ question | tojson }} or {{ fields.top_k }}"
    return "fix the jinja2 syntax (see runners/README.md)"


def _template(value: str) -> str:
    if err := check_template(value):
        raise ProfileValueError(err, hint=_template_hint(err))
    return value


_ENV_HOW = "secrets come from the environment only"
_ENV_HINT = 'reference an environment variable, e.g. "${env:MY_KEY}", and export it before running'


class ProfileValueError(ValueError):
    """A bad value in a profile, with the key inside the field it is under and how to fix it.

    Pydantic keeps the exception in the error's context, so the loader can name
    ``headers.X-Functions-Key`` instead of just ``headers``.
    """

    def __init__(self, message: str, *, key: str | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.key = key
        self.hint = hint


def _literal(value: str) -> bool:
    """A value written out in the file, not taken from the environment or a template."""
    return bool(value) and not has_env_ref(value) and "{{" not in value and "{%" not in value


def _check_headers(headers: dict[str, str]) -> dict[str, str]:
    for name, value in headers.items():
        if (_SECRET_HEADER.search(name) and not has_env_ref(value)) or (
            _literal(value) and looks_like_secret(value)
        ):
            raise ProfileValueError(
                f"header '{name}' holds a literal credential; reference an environment variable "
                f'instead, e.g. "${{env:MY_KEY}}" ({_ENV_HOW})',
                key=name,
                hint='reference an environment variable, e.g. "${env:MY_KEY}" or '
                '"Bearer ${env:MY_TOKEN}", and export it before running',
            )
    return headers


def check_url(url: str, *, schemes: tuple[str, ...] = ("http", "https")) -> str:
    """Check an endpoint URL as written in a profile; return it unchanged.

    The scheme must be one of ``schemes`` and a host must be present (unless the URL starts
    with an environment reference, checked when it is resolved); credentials in the user info
    or in the query (``?code=``, ``?key=``, ``?sig=``, ...) must come from the environment.

    Raises:
        ValueError: what is wrong and how to write it instead (never repeating a secret).

    """
    text = url.strip()
    if not text.startswith("${"):
        parts = urlsplit(text)
        if not parts.scheme or "://" not in text:
            raise ProfileValueError(
                "the URL has no scheme",
                hint=f"write it in full with {' or '.join(schemes)}, e.g. "
                "http://127.0.0.1:8000/chat",
            )
        if parts.scheme.lower() not in schemes:
            raise ProfileValueError(
                f"URL scheme '{parts.scheme}' is not allowed",
                hint=f"use {' or '.join(schemes)}, e.g. http://127.0.0.1:8000/chat",
            )
        host = parts.netloc.rpartition("@")[2]
        if not host or host.startswith(":"):
            raise ProfileValueError(
                "the URL has no host", hint="write e.g. http://127.0.0.1:8000/chat"
            )
    netloc = urlsplit(text).netloc if "://" in text else ""
    userinfo = netloc.rpartition("@")[0] if "@" in netloc else ""
    if userinfo and ":" in userinfo and _literal(userinfo.partition(":")[2]):
        raise ProfileValueError(
            f"the URL holds a literal password ({_ENV_HOW})",
            hint="send it as a header from the environment, e.g. Authorization: "
            '"Basic ${env:MY_BASIC_AUTH}"',
        )
    query = text.partition("?")[2].partition("#")[0]
    for pair in query.split("&") if query else []:
        name, _, value = pair.partition("=")
        if (QUERY_SECRET_NAME.search(name) and _literal(value)) or (
            _literal(value) and looks_like_secret(value)
        ):
            raise ProfileValueError(
                f"query parameter '{name}' in the URL holds a literal credential ({_ENV_HOW})",
                hint=f"write ?{name}=${{env:MY_FUNCTION_KEY}} and export MY_FUNCTION_KEY",
            )
    return url


def resolve_url(url: str, *, file: str | Path | None, field: str) -> str:
    """Resolve ``${env:...}`` in an endpoint URL and check the result has http(s) and a host.

    A URL that starts with an environment reference cannot be checked at load; this is the
    check once its value is known.

    Raises:
        ConfigError: a variable is unset, or the resolved URL is not an http(s) URL with a host
            (the message never repeats the resolved value, which may hold a secret).

    """
    resolved = resolve_env(url, file=file, field=field)
    parts = urlsplit(resolved.strip())
    host = parts.netloc.rpartition("@")[2]
    if parts.scheme.lower() not in ("http", "https") or not host or host.startswith(":"):
        raise ConfigError(
            f"'{field}' does not resolve to an http(s) URL with a host",
            file=file,
            line=line_in_file(file, field),
            field=field,
            hint="set the environment variable to e.g. http://127.0.0.1:8000 (with the scheme)",
        )
    return resolved


def _check_query(query: dict[str, str]) -> dict[str, str]:
    for name, value in query.items():
        if (QUERY_SECRET_NAME.search(name) and not has_env_ref(value)) or (
            _literal(value) and looks_like_secret(value)
        ):
            raise ProfileValueError(
                f"query parameter '{name}' holds a literal credential ({_ENV_HOW})",
                key=name,
                hint=f'write {name}: "${{env:MY_FUNCTION_KEY}}" and export MY_FUNCTION_KEY',
            )
    return query


def _check_body_literals(source: str) -> None:
    """Refuse credential-looking literals written into a JSON template."""
    for m in _BODY_LITERAL.finditer(source):
        if SECRET_NAME.search(m.group("key")) and _literal(m.group("value")):
            raise ProfileValueError(
                f"member '{m.group('key')}' holds a literal credential at template line "
                f"{source.count(chr(10), 0, m.start()) + 1} ({_ENV_HOW})",
                hint="send credentials in a header from the environment, e.g. X-Api-Key: "
                '"${env:MY_KEY}", never as a literal in the request body',
            )
    hit = SECRET_VALUE.search(source)
    if hit and "${" not in hit.group(0):
        raise ProfileValueError(
            f"the template holds a literal credential at template line "
            f"{source.count(chr(10), 0, hit.start()) + 1} ({_ENV_HOW})",
            hint="send it in a header from the environment, e.g. Authorization: "
            '"Bearer ${env:MY_TOKEN}"',
        )


def _check_values(data: dict[str, Any]) -> dict[str, Any]:
    """Fields and settings end up in request bodies: no literal credentials there either."""
    for name, value in data.items():
        if (
            isinstance(value, str)
            and _literal(value)
            and (SECRET_NAME.search(str(name)) or looks_like_secret(value))
        ):
            raise ProfileValueError(
                f"'{name}' holds a literal credential ({_ENV_HOW})",
                key=str(name),
                hint="send credentials in a header from the environment, e.g. X-Api-Key: "
                '"${env:MY_KEY}"',
            )
    return data


def _json_template(value: str) -> str:
    _check_body_literals(value)
    return value


Headers = Annotated[dict[str, str], AfterValidator(_check_headers)]
"""HTTP headers; credential headers must reference an environment variable."""
Template = Annotated[str, AfterValidator(_template)]
"""A jinja2 template, syntax-checked when validated."""
JsonTemplate = Annotated[str, AfterValidator(_template), AfterValidator(_json_template)]
"""A jinja2 template rendering JSON: syntax-checked, no literal credentials."""
Url = Annotated[str, AfterValidator(check_url)]
"""An http(s) endpoint URL: scheme and host present, credentials from the environment."""
Query = Annotated[dict[str, str], AfterValidator(_check_query)]
"""URL query parameters (jinja2 text templates); credentials from the environment."""
Values = Annotated[dict[str, Any], AfterValidator(_check_values)]
"""Request fields or template settings; no literal credentials."""
StrValues = Annotated[dict[str, str], AfterValidator(_check_values)]
"""Environment for a stdio server; no literal credentials."""


def _with_origin(url: str, base_url: str) -> str:
    """``url`` with its scheme://host:port replaced by ``base_url`` (whose path is prefixed)."""
    base = base_url.rstrip("/")
    try:
        check_url(base)
    except ValueError as exc:
        raise ConfigError(
            f"base URL is not usable: {exc}",
            field="--base-url",
            hint="use e.g. http://127.0.0.1:8000",
        ) from None
    if not _ORIGIN.match(base):
        raise ConfigError(
            f"base URL {base_url!r} is not an absolute URL", hint="use e.g. http://127.0.0.1:8000"
        )
    m = _ORIGIN.match(url)
    rest = url[m.end() :] if m else ("/" + url.lstrip("/") if url else "")
    return base + rest


def _public_headers(headers: dict[str, str]) -> dict[str, str]:
    # Values that reference env vars show only the names; any other credential-looking value
    # is redacted as a second line of defence.
    return {
        k: (v if has_env_ref(v) or not _SECRET_HEADER.search(k) else REDACTED)
        for k, v in headers.items()
    }


class Price(StrictModel):
    """Price per 1,000 tokens, used to compute Response.cost when the endpoint reports none."""

    prompt_per_1k: float = Field(default=0.0, ge=0)
    completion_per_1k: float = Field(default=0.0, ge=0)
    currency: str = "EUR"

    def cost(self, prompt_tokens: int | None, completion_tokens: int | None) -> float | None:
        """Cost of a call; None when the token counts it needs are unknown."""
        if prompt_tokens is None and completion_tokens is None:
            return None
        if (prompt_tokens is None and self.prompt_per_1k) or (
            completion_tokens is None and self.completion_per_1k
        ):
            return None
        return (prompt_tokens or 0) / 1000 * self.prompt_per_1k + (
            completion_tokens or 0
        ) / 1000 * self.completion_per_1k


class Variant(StrictModel):
    """A named change to a profile: request fields, headers, endpoint URL, template settings.

    ``fields`` are merged into the request body (http), ``extra_body`` (openai-chat), tool
    arguments (mcp) or passed as ``fields`` (python), and are template variables; ``settings``
    are template variables only.
    """

    name: str = Field(default="default", min_length=1)
    description: str = ""
    fields: Values = Field(default_factory=dict)
    headers: Headers = Field(default_factory=dict)
    url: Url | None = None
    settings: Values = Field(default_factory=dict)


def template_variables(
    case: GoldenCase,
    *,
    fields: dict[str, Any],
    settings: dict[str, Any],
    variant: str,
    case_data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The variables every profile template sees for one case.

    ``case_data`` is ``case.model_dump(mode="json")`` when the caller already has it.
    """
    data = case_data if case_data is not None else case.model_dump(mode="json")
    return {
        "question": case.question,
        "history": data["history"],
        "case": data,
        "fields": fields,
        "settings": settings,
        "variant": {"name": variant, "fields": fields, "settings": settings},
    }


_SAMPLE_CASE = GoldenCase(id="sample", question="sample question")


def _dry_run_json(source: str, fields: dict[str, Any], settings: dict[str, Any]) -> None:
    """Render a JSON template with a sample case; raise only when the JSON itself is bad."""
    variables = template_variables(_SAMPLE_CASE, fields=fields, settings=settings, variant="x")
    try:
        render_json(source, variables)
    except TemplateRenderError as exc:
        # Undefined attributes may be supplied by a variant or a real case: only a template
        # that renders but is not JSON, or builds something absurdly large, is certainly wrong.
        if "too large" in str(exc):
            raise ProfileValueError(
                str(exc), hint="build smaller values; a request body is a few kilobytes"
            ) from None
        if "did not render valid JSON" in str(exc):
            raise ValueError(str(exc)) from None


class _ProfileBase(StrictModel):
    schema_version: int = SCHEMA_VERSION
    name: str = Field(default="endpoint", min_length=1)
    description: str = ""
    fields: Values = Field(
        default_factory=dict, description="merged into every request (variants add to them)"
    )
    settings: Values = Field(default_factory=dict, description="template variables")
    price: Price | None = None

    # Where the profile was loaded from (for error messages); not part of the profile.
    _source: str | None = PrivateAttr(default=None)

    @field_validator("schema_version")
    @classmethod
    def _known_version(cls, v: int) -> int:
        if v != SCHEMA_VERSION:
            raise ProfileValueError(
                f"schema_version {v} is not supported: this ragwacht reads version "
                f"{SCHEMA_VERSION}",
                hint=f"write schema_version: {SCHEMA_VERSION}, or upgrade ragwacht",
            )
        return v

    @property
    def source_path(self) -> str | None:
        """The file this profile was loaded from, if any."""
        return self._source

    def public_dict(self) -> dict[str, Any]:
        """The profile for records and cache keys: env-var names only, never secret values."""
        data = self.model_dump(mode="json", exclude_none=True)
        if isinstance(data.get("headers"), dict):
            data["headers"] = _public_headers(data["headers"])
        return data

    def endpoint_key(self) -> str:
        """Name of the endpoint for its concurrency semaphore (shared by its variants)."""
        return self.name

    def with_base_url(self, url: str) -> Any:
        """A copy that calls ``url`` instead (scheme://host:port replaced, path kept)."""
        raise ConfigError(
            f"a '{getattr(self, 'type', '?')}' profile has no URL to replace",
            field="url",
            hint="base URL overrides apply to http, openai-chat and mcp (HTTP) profiles",
        )

    def _with_url(self, url: str) -> Any:
        raise ConfigError(
            f"variants cannot change the URL of a '{getattr(self, 'type', '?')}' profile",
            field="url",
        )


class StreamSpec(StrictModel):
    """Server-sent events: the answer is the concatenation of a delta in each event."""

    delta: PathExpr = Field(description="path of the text delta in each event's JSON data")
    done: str = Field(default="[DONE]", description="data payload that ends the stream")


class HttpProfile(_ProfileBase):
    """A JSON-over-HTTP chatbot: templated request, JSONPath/JMESPath response mapping."""

    type: Literal["http"] = "http"
    url: Url = Field(min_length=1, description="may reference ${env:NAME}")
    method: Literal["GET", "POST", "PUT", "PATCH"] = "POST"
    headers: Headers = Field(default_factory=dict)
    query: Query = Field(default_factory=dict, description="jinja2 text templates")
    body: JsonTemplate | None = Field(default=None, description="jinja2 template rendering JSON")
    response: ResponseMapping = Field(default_factory=ResponseMapping)
    stream: StreamSpec | None = None
    follow_redirects: Literal["same-origin", "never"] = Field(
        default="same-origin",
        description="redirects to another origin are never followed (they would carry headers)",
    )
    max_response_bytes: int = Field(
        default=DEFAULT_MAX_RESPONSE_BYTES, ge=1024, description="body cap, raw and decompressed"
    )

    @field_validator("query")
    @classmethod
    def _query(cls, v: dict[str, str]) -> dict[str, str]:
        for key, value in v.items():
            if err := check_template(value):
                raise ProfileValueError(
                    f"query parameter '{key}': {err}", key=key, hint=_template_hint(err)
                )
        return v

    @field_validator("body")
    @classmethod
    def _body_renders_json(cls, v: str | None, info: ValidationInfo) -> str | None:
        if v is not None:
            _dry_run_json(v, info.data.get("fields", {}), info.data.get("settings", {}))
        return v

    def body_template(self) -> str | None:
        """The body template in use (a default one for methods that send a body)."""
        if self.method == "GET":
            return self.body
        return self.body if self.body is not None else DEFAULT_HTTP_BODY

    def endpoint_key(self) -> str:  # noqa: D102
        m = _ORIGIN.match(self.url)
        return f"http:{m.group(0) if m else self.url}"

    def with_base_url(self, url: str) -> HttpProfile:  # noqa: D102
        return self.model_copy(update={"url": _with_origin(self.url, url)})

    def _with_url(self, url: str) -> HttpProfile:
        return self.model_copy(update={"url": url})


class OpenAIResponseMapping(ResponseMapping):
    """ResponseMapping with the chat completions defaults."""

    answer: PathExpr | None = "$.choices[0].message.content"
    usage: UsageMapping = Field(
        default_factory=lambda: UsageMapping(
            prompt_tokens="$.usage.prompt_tokens",
            completion_tokens="$.usage.completion_tokens",
            total_tokens="$.usage.total_tokens",
        )
    )


class ToolSources(StrictModel):
    """Sources passed as the arguments of a tool call the model made (e.g. ``cite_sources``)."""

    tool_name: str = Field(min_length=1)
    path: PathExpr = "$.sources[*]"
    context: ContextMapping = Field(default_factory=ContextMapping)


class AzureSettings(StrictModel):
    """Azure OpenAI: resource endpoint, API version and deployment."""

    endpoint: Url = Field(min_length=1, description="https://<resource>.openai.azure.com")
    api_version: str = Field(min_length=1)
    deployment: str | None = None


class OpenAIChatProfile(_ProfileBase):
    """An OpenAI-compatible chat completions endpoint, called with the ``openai`` package."""

    type: Literal["openai-chat"] = "openai-chat"
    base_url: Url | None = Field(default=None, description="e.g. http://127.0.0.1:8000/v1")
    azure: AzureSettings | None = None
    model: str = Field(min_length=1)
    api_key_env: str | None = Field(default=None, description="NAME of the API key env var")
    headers: Headers = Field(default_factory=dict)
    system_prompt: Template | None = Field(default=None, description="jinja2 template")
    user_template: Template = Field(default="{{ question }}", description="jinja2 template")
    params: dict[str, Any] = Field(
        default_factory=dict, description="temperature, max_tokens, tools, ..."
    )
    extra_body: Values = Field(default_factory=dict)
    response: OpenAIResponseMapping = Field(default_factory=OpenAIResponseMapping)
    tool_sources: ToolSources | None = None
    max_response_bytes: int = Field(
        default=DEFAULT_MAX_RESPONSE_BYTES, ge=1024, description="body cap, raw and decompressed"
    )

    @field_validator("api_key_env")
    @classmethod
    def _key_is_a_name(cls, v: str | None) -> str | None:
        if v is not None and not _ENV_NAME.match(v):
            raise ValueError(
                "api_key_env must be the NAME of an environment variable (e.g. OPENAI_API_KEY), "
                "never the key itself"
            )
        return v

    @model_validator(mode="after")
    def _one_target(self) -> OpenAIChatProfile:
        if (self.base_url is None) == (self.azure is None):
            raise ValueError("set exactly one of base_url or azure")
        return self

    def endpoint_key(self) -> str:  # noqa: D102
        url = self.base_url or (self.azure.endpoint if self.azure else "")
        m = _ORIGIN.match(url)
        return f"openai:{m.group(0) if m else url}"

    def with_base_url(self, url: str) -> OpenAIChatProfile:  # noqa: D102
        if self.azure is not None:
            azure = self.azure.model_copy(update={"endpoint": url})
            return self.model_copy(update={"azure": azure})
        assert self.base_url is not None
        return self.model_copy(update={"base_url": _with_origin(self.base_url, url)})

    def _with_url(self, url: str) -> OpenAIChatProfile:
        if self.azure is not None:
            azure = self.azure.model_copy(update={"endpoint": url})
            return self.model_copy(update={"azure": azure})
        return self.model_copy(update={"base_url": url})


class PythonProfile(_ProfileBase):
    """A Python callable ``module:function`` (sync functions run in a worker thread).

    The function receives the keyword arguments it declares out of ``question``, ``history``,
    ``case``, ``fields``, ``settings``, ``variant`` and this profile's ``kwargs``, and returns a
    Response-shaped dict (``answer``, ``contexts``, ``usage``, ``cost``, ...), a Response or a
    plain answer string.
    """

    type: Literal["python"] = "python"
    callable: str = Field(pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")
    kwargs: dict[str, Any] = Field(default_factory=dict)

    def endpoint_key(self) -> str:  # noqa: D102
        return f"python:{self.callable}"


class McpProfile(_ProfileBase):
    """A tool on an MCP server; its result is mapped into contexts (and optionally an answer).

    ``result`` paths apply to ``{"content": [...], "structured": ..., "text": "..."}``:
    ``content`` holds each content item (JSON text parsed, other text as a string),
    ``structured`` the tool's structured result, ``text`` all text joined.
    """

    type: Literal["mcp"] = "mcp"
    command: list[str] | None = Field(default=None, description="stdio server command + args")
    url: Url | None = Field(default=None, description="streamable HTTP endpoint")
    env: StrValues = Field(default_factory=dict, description="env for a stdio server")
    cwd: str | None = None
    headers: Headers = Field(default_factory=dict)
    tool: str = Field(min_length=1)
    arguments: JsonTemplate = Field(
        default=DEFAULT_MCP_ARGUMENTS, description="jinja2 JSON template"
    )
    result: ResponseMapping = Field(
        default_factory=lambda: ResponseMapping(answer=None, contexts="$.content[*]")
    )

    @field_validator("command", mode="before")
    @classmethod
    def _split_command(cls, v: Any) -> Any:
        return shlex.split(v) if isinstance(v, str) else v

    @model_validator(mode="after")
    def _one_transport(self) -> McpProfile:
        if (self.command is None) == (self.url is None):
            raise ValueError("set exactly one of command (stdio) or url (streamable HTTP)")
        if self.command is not None and not self.command:
            raise ValueError("command is empty")
        return self

    @field_validator("arguments")
    @classmethod
    def _arguments_render_json(cls, v: str, info: ValidationInfo) -> str:
        _dry_run_json(v, info.data.get("fields", {}), info.data.get("settings", {}))
        return v

    def endpoint_key(self) -> str:  # noqa: D102
        return f"mcp:{self.url}" if self.url else "mcp:" + " ".join(self.command or [])

    def with_base_url(self, url: str) -> McpProfile:  # noqa: D102
        if self.url is None:
            return super().with_base_url(url)
        return self.model_copy(update={"url": _with_origin(self.url, url)})

    def _with_url(self, url: str) -> McpProfile:
        return self.model_copy(update={"url": url, "command": None})


EndpointProfile = Annotated[
    HttpProfile | OpenAIChatProfile | PythonProfile | McpProfile, Field(discriminator="type")
]
"""Any endpoint profile, discriminated on ``type``."""

AnyProfile = HttpProfile | OpenAIChatProfile | PythonProfile | McpProfile
_ADAPTER: TypeAdapter[AnyProfile] = TypeAdapter(EndpointProfile)


def apply_variant(profile: AnyProfile, variant: Variant) -> AnyProfile:
    """The profile as ``variant`` changes it: fields/settings merged, headers added, URL swapped.

    Raises:
        ConfigError: the variant changes something this kind of profile does not have.

    """
    update: dict[str, Any] = {
        "fields": {**profile.fields, **variant.fields},
        "settings": {**profile.settings, **variant.settings},
    }
    if variant.headers:
        if not hasattr(profile, "headers"):
            raise ConfigError(
                f"variant '{variant.name}' sets headers but a '{profile.type}' profile has none",
                field=f"variants.{variant.name}.headers",
            )
        update["headers"] = {**profile.headers, **variant.headers}
    out = profile.model_copy(update=update)
    if variant.url:
        out = out._with_url(variant.url)
    # Re-validate so a variant cannot smuggle in what a profile file may not hold.
    try:
        checked = _ADAPTER.validate_python(out.model_dump())
        checked._source = profile._source
        return checked
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"][1:])
        raise ConfigError(
            f"variant '{variant.name}' makes the profile invalid: {err['msg']}",
            field=f"variants.{variant.name}" + (f" ({loc})" if loc else ""),
        ) from exc


def variant_from_spec(
    name: str, data: dict[str, Any] | None, *, file: str | Path | None = None
) -> Variant:
    """Build a Variant from a suite's ``variants.<name>`` mapping.

    Raises:
        ConfigError: an unknown key or a bad value, naming ``variants.<name>.<key>``.

    """
    try:
        return Variant.model_validate({**(data or {}), "name": name})
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            parts = [str(p) for p in err["loc"]]
            msg, hint = str(err["msg"]).removeprefix("Value error, "), None
            key_line = False
            cause = (err.get("ctx") or {}).get("error")
            line_parts = parts
            if isinstance(cause, ProfileValueError):
                line_parts = [*parts, cause.key] if cause.key else parts
                hint = cause.hint
                key_line = True
            if err["type"] == "extra_forbidden":
                msg = "unknown field"
                hint = "a variant has fields, headers, url, settings and description"
                key_line = True
            where = ".".join([f"variants.{name}", *parts])
            at = ".".join([f"variants.{name}", *line_parts])
            line = line_in_file(file, at, key_line=key_line)
            problems.append(Problem(msg, Location(file, line, where), hint))
        raise ConfigError(problems=problems) from exc


# ---------------------------------------------------------------------------------------------
# Loading from YAML, with line numbers for every problem.


def _line_index(text: str) -> dict[tuple[str, ...], int]:
    """1-based line of every mapping key path in a YAML document (best effort)."""
    index: dict[tuple[str, ...], int] = {}
    root = safe_compose(text)  # None for a bad or alias-bomb document
    seen: set[int] = set()

    def walk(node: Any, path: tuple[str, ...]) -> None:
        # An alias is the node its anchor names: walk each node once, or a few aliases that
        # repeat each other make this exponential.
        if id(node) in seen:
            return
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                p = (*path, str(key.value))
                index[p] = key.start_mark.line + 1
                # Block scalars start on the next line; remember where the content begins.
                if isinstance(value, yaml.ScalarNode) and value.style in ("|", ">"):
                    index[(*p, "<content>")] = value.start_mark.line + 2
                walk(value, p)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                index[(*path, str(i))] = item.start_mark.line + 1
                walk(item, (*path, str(i)))

    walk(root, ())
    return index


def _line_for(index: dict[tuple[str, ...], int], loc: tuple[str, ...]) -> int | None:
    for n in range(len(loc), 0, -1):
        if loc[:n] in index:
            return index[loc[:n]]
    return None


_HINTS = {
    "url": "an absolute URL; use ${env:NAME} for parts that differ per machine",
    "type": f"one of: {', '.join(PROFILE_TYPES)}",
}


def profile_from_dict(
    data: Any, *, file: str | Path | None = None, text: str | None = None
) -> AnyProfile:
    """Validate a profile mapping; every problem becomes a ConfigError with file/line/field."""
    index = _line_index(text) if text else {}
    if not isinstance(data, dict):
        raise ConfigError("an endpoint profile must be a YAML mapping", file=file)
    kind = data.get("type")
    if kind is None:
        raise ConfigError(
            "missing field 'type'", file=file, field="type", line=1, hint=_HINTS["type"]
        )
    if kind not in PROFILE_TYPES:
        raise ConfigError(
            f"unknown profile type {kind!r}",
            file=file,
            line=_line_for(index, ("type",)),
            field="type",
            hint=_HINTS["type"],
        )
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(str(p) for p in err["loc"])
            if loc and loc[0] == kind:
                loc = loc[1:]
            # Union members and validator wrappers add parts that are not YAML keys.
            loc = tuple(p for p in loc if not p.startswith(("function-", "literal[")))
            msg = err["msg"].removeprefix("Value error, ")
            hint = _HINTS.get(loc[0]) if loc else None
            cause = (err.get("ctx") or {}).get("error")
            line_loc = loc
            if isinstance(cause, ProfileValueError):
                # The field stays the profile's own (headers); the line is the key's own.
                line_loc = (*loc, cause.key) if cause.key else loc
                hint = cause.hint or hint
            if err["type"] == "extra_forbidden":
                msg = "unknown field"
                hint = "remove it or check the spelling (see runners/README.md)"
            elif err["type"] == "missing":
                msg = "required field is missing"
            line = _line_for(index, line_loc)
            m = re.search(r"at template line (\d+)", msg)
            if m and line is not None:
                content = index.get((*loc, "<content>"))
                line = (content or line) + int(m.group(1)) - 1
            problems.append(Problem(msg, Location(file, line, ".".join(loc) or None), hint))
        raise ConfigError(problems=problems) from exc


def load_profile(path: str | Path) -> AnyProfile:
    """Load and validate an endpoint profile YAML file.

    The profile's ``name`` defaults to the file name without extension.

    Raises:
        ConfigError: the file is missing or not YAML, or the profile is invalid (unknown field,
            bad JSONPath/JMESPath, jinja2 syntax error, a body that does not render JSON, a
            literal credential); each problem names the file, line and field.

    """
    path = Path(path)
    text, data = read_yaml(
        path, "endpoint profile", not_found_hint="paths are relative to the suite file"
    )
    if isinstance(data, dict):
        data.setdefault("name", path.stem)
    profile = profile_from_dict(data, file=path, text=text)
    profile._source = str(path)
    return profile
