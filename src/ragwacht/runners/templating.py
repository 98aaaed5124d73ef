"""Templates in endpoint profiles: ``${env:NAME}`` references and jinja2 JSON request bodies.

Two kinds of templating, kept apart on purpose:

* ``${env:NAME}`` (or ``${NAME}``, optionally ``${env:NAME:-default}``) in URLs, headers, query
  parameters and MCP server settings. These are resolved from the environment when a runner is
  built, so a profile on disk only ever holds the *names* of secrets.
* jinja2 templates for request bodies, tool arguments and prompts. They are rendered per case in
  a sandbox with ``StrictUndefined`` so a typo fails loudly instead of sending an empty string.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
import jinja2.filters
from jinja2 import meta
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ragwacht._yaml import line_in_file
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
            line=line_in_file(file, field),
            field=field,
            hint=f"export {name}=... before running (secrets are read from the environment only)",
        )

    return ENV_REF.sub(sub, text)


TEMPLATE_VARIABLES = frozenset({"question", "history", "case", "fields", "settings", "variant"})
"""The variables every profile template sees (see ``runners.profile.template_variables``)."""

MAX_TEMPLATE_CHARS = 10_000_000
"""Longest text a template may produce, in total and in any one value it computes."""

_BIG_WIDTH = re.compile(r"%[-+ #0]*(\d+)|\{[^{}]*:[^{}]*?(\d+)[^{}]*\}")


class TemplateTooLarge(jinja2.exceptions.SecurityError):
    """A template would build a value or output beyond :data:`MAX_TEMPLATE_CHARS`."""


def _too_large(what: str, size: float) -> TemplateTooLarge:
    return TemplateTooLarge(
        f"template result too large: {what} would be about {size:,.0f} characters "
        f"(at most {MAX_TEMPLATE_CHARS:,})"
    )


def _check_widths(fmt: str) -> None:
    for m in _BIG_WIDTH.finditer(fmt):
        width = m.group(1) or m.group(2)
        if width and len(width) < 30 and int(width) > MAX_TEMPLATE_CHARS:
            raise _too_large("a formatted value", int(width))
        if width and len(width) >= 30:
            raise _too_large("a formatted value", float("inf"))


def _sized(value: Any) -> int | None:
    return len(value) if isinstance(value, str | bytes | list | tuple) else None


class _BoundedSandbox(ImmutableSandboxedEnvironment):
    """The jinja2 sandbox, plus bounds on the values a template can build.

    The stock sandbox blocks attribute access to internals but lets ``'a' * 2000000000`` or
    ``9 ** 9999999`` run until memory or patience runs out; a template is configuration, and a
    mistake in it must fail at once with a clear message.
    """

    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                size = _sized(seq)
                if size is not None and isinstance(n, int) and size * n > MAX_TEMPLATE_CHARS:
                    raise _too_large("a repeated value", size * n)
        elif operator == "**":
            if isinstance(left, int) and isinstance(right, int) and abs(left) > 1 and right > 0:
                digits = right * math.log10(abs(left))
                if digits > MAX_TEMPLATE_CHARS / 10:
                    raise _too_large("a power", digits)
        elif operator == "%" and isinstance(left, str):
            _check_widths(left)
        elif operator == "+":
            a, b = _sized(left), _sized(right)
            if a is not None and b is not None and a + b > MAX_TEMPLATE_CHARS:
                raise _too_large("a joined value", a + b)
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        # str.center(n), .ljust(n), .zfill(n), .format('{:>n}') and friends.
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str):
            for a in (*args, *kwargs.values()):
                if isinstance(a, int) and not isinstance(a, bool) and a > MAX_TEMPLATE_CHARS:
                    raise _too_large(f"str.{getattr(__obj, '__name__', '?')}()", a)
        return super().call(__context, __obj, *args, **kwargs)

    def wrap_str_format(self, value: Any) -> Any:
        # The sandbox replaces str.format / format_map with its own formatter: check widths.
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        owner = value.__self__

        def checked(*args: Any, **kwargs: Any) -> str:
            _check_widths(owner)
            return wrapped(*args, **kwargs)

        return checked


def _json_default(value: Any) -> Any:
    if isinstance(value, jinja2.Undefined):
        # Raises UndefinedError naming the variable (StrictUndefined), a TemplateError.
        value._fail_with_undefined_error()
    raise TypeError(f"a {type(value).__name__} cannot be written as JSON")


def _tojson(value: Any) -> str:
    # jinja's own tojson escapes <, >, & for HTML; request bodies are JSON, not HTML.
    if isinstance(value, jinja2.Undefined):
        value._fail_with_undefined_error()
    return json.dumps(value, ensure_ascii=False, default=_json_default)


def _bounded_filter(name: str, width_arg: int) -> Any:
    base = jinja2.filters.FILTERS[name]

    def checked(*args: Any, **kwargs: Any) -> Any:
        values = list(args[width_arg : width_arg + 1]) + [
            v for k, v in kwargs.items() if k in ("width", "count")
        ]
        for v in values:
            if isinstance(v, int) and v > MAX_TEMPLATE_CHARS:
                raise _too_large(f"the {name} filter", v)
        if name == "format" and args and isinstance(args[0], str):
            _check_widths(args[0])
        return base(*args, **kwargs)

    return checked


@lru_cache(maxsize=1)
def jinja_env() -> jinja2.Environment:
    """The sandboxed jinja2 environment used for every profile template."""
    env = _BoundedSandbox(
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=False,
    )
    env.filters["tojson"] = _tojson
    env.filters["json"] = _tojson
    env.filters["center"] = _bounded_filter("center", 1)
    env.filters["indent"] = _bounded_filter("indent", 1)
    env.filters["format"] = _bounded_filter("format", 99)
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
        parts: list[str] = []
        size = 0
        for chunk in compile_template(source).generate(**variables):
            size += len(chunk)
            if size > MAX_TEMPLATE_CHARS:
                raise _too_large("the rendered text", size)
            parts.append(chunk)
        return "".join(parts)
    except TemplateTooLarge as exc:
        raise TemplateRenderError(str(exc)) from exc
    except (jinja2.TemplateError, TypeError, ValueError, OverflowError) as exc:
        # TypeError/ValueError: a filter given the wrong kind of value (e.g. tojson of an
        # object); a per-case render error, never a crash of the run.
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
    """Check a profile template: its syntax error or unknown variable, as text, or None.

    Only the variables in :data:`TEMPLATE_VARIABLES` exist, so any other top-level name is a
    typo, found here at load instead of failing every case of a run.
    """
    try:
        compile_template(source)
        names = meta.find_undeclared_variables(jinja_env().parse(source))
    except jinja2.TemplateSyntaxError as exc:
        return f"template syntax error at template line {exc.lineno}: {exc.message}"
    unknown = sorted(names - TEMPLATE_VARIABLES)
    if not unknown:
        return None
    name = unknown[0]
    where = ""
    for i, text in enumerate(source.splitlines(), start=1):
        if re.search(rf"\b{re.escape(name)}\b", text):
            where = f" at template line {i}"
            break
    close = difflib.get_close_matches(name, sorted(TEMPLATE_VARIABLES), n=1)
    return (
        f"template uses undefined variable '{name}'{where}"
        + (f" (did you mean '{close[0]}'?)" if close else "")
        + f"; templates see {', '.join(sorted(TEMPLATE_VARIABLES))}"
    )


def template_error_line(source: str) -> int | None:
    """1-based line inside the template of its syntax error, if any."""
    try:
        compile_template(source)
    except jinja2.TemplateSyntaxError as exc:
        return exc.lineno
    return None
