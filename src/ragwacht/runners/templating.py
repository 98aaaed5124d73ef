"""Templates in endpoint profiles: ``${env:NAME}`` references and jinja2 JSON request bodies.

Two kinds of templating, kept apart on purpose:

* ``${env:NAME}`` (or ``${NAME}``, optionally ``${env:NAME:-default}``) in URLs, headers, query
  parameters and MCP server settings. These are resolved from the environment when a runner is
  built, so a profile on disk only ever holds the *names* of secrets.
* jinja2 templates for request bodies, tool arguments and prompts. They are rendered per case in
  a sandbox with ``StrictUndefined`` so a typo fails loudly instead of sending an empty string.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ragwacht.errors import ConfigError

ENV_REF = re.compile(r"\$\{(?:env:)?([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def env_names(text: str) -> list[str]:
    """Names of the environment variables referenced by ``${env:NAME}`` in ``text``."""
    return [m.group(1) for m in ENV_REF.finditer(text)]


def has_env_ref(text: str) -> bool:
    """True when ``text`` references at least one environment variable."""
    return ENV_REF.search(text) is not None


def resolve_env(text: str, *, file: str | Path | None = None, field: str | None = None) -> str:
    """Replace every ``${env:NAME}`` in ``text`` with the variable's value.

    Raises:
        ConfigError: a referenced variable is unset and has no ``:-default``; the message
            names the variable and the profile field that needs it.

    """

    def sub(m: re.Match[str]) -> str:
        name, default = m.group(1), m.group(2)
        value = os.environ.get(name)
        if value:
            return value
        if default is not None:
            return default
        raise ConfigError(
            f"environment variable {name} is not set",
            file=file,
            field=field,
            hint=f"export {name}=... before running (secrets are read from the environment only)",
        )

    return ENV_REF.sub(sub, text)


def _tojson(value: Any) -> str:
    # jinja's own tojson escapes <, >, & for HTML; request bodies are JSON, not HTML.
    return json.dumps(value, ensure_ascii=False)


@lru_cache(maxsize=1)
def jinja_env() -> jinja2.Environment:
    """The sandboxed jinja2 environment used for every profile template."""
    env = ImmutableSandboxedEnvironment(
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=False,
    )
    env.filters["tojson"] = _tojson
    env.filters["json"] = _tojson
    return env


class TemplateRenderError(Exception):
    """A template failed to render for one case, or did not render valid JSON."""


@lru_cache(maxsize=256)
def compile_template(source: str) -> jinja2.Template:
    """Compile a jinja2 template (cached); raises ``jinja2.TemplateSyntaxError``."""
    return jinja_env().from_string(source)


def render_text(source: str, variables: Mapping[str, Any]) -> str:
    """Render a text template, turning jinja errors into :class:`TemplateRenderError`."""
    try:
        return compile_template(source).render(**variables)
    except jinja2.TemplateError as exc:
        raise TemplateRenderError(f"template failed to render: {exc}") from exc


def render_json(source: str, variables: Mapping[str, Any]) -> Any:
    """Render a JSON template and parse the result.

    Raises:
        TemplateRenderError: rendering failed, or the output is not valid JSON (the message
            shows where, with the rendered text around the error).

    """
    text = render_text(source, variables)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        lo = max(0, exc.pos - 40)
        snippet = text[lo : exc.pos + 40].replace("\n", "\\n")
        raise TemplateRenderError(
            f"template did not render valid JSON ({exc.msg} at line {exc.lineno} column "
            f"{exc.colno}, near: {snippet!r}); use the tojson filter for values, "
            f'e.g. {{"question": {{{{ question | tojson }}}}}}'
        ) from exc


def check_template(source: str) -> str | None:
    """Compile a template; the syntax error as text (with its line) or None when it is fine."""
    try:
        compile_template(source)
    except jinja2.TemplateSyntaxError as exc:
        return f"template syntax error at template line {exc.lineno}: {exc.message}"
    return None


def template_error_line(source: str) -> int | None:
    """1-based line inside the template of its syntax error, if any."""
    try:
        compile_template(source)
    except jinja2.TemplateSyntaxError as exc:
        return exc.lineno
    return None
