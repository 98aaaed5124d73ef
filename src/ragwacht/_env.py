"""Environment helpers: secrets from the environment only, and their redaction."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

from ragwacht.errors import ConfigError

_SECRET_KEY = re.compile(r"(api[-_]?key|token|secret|password|authorization|cookie)", re.I)
REDACTED = "***"


def require_env(name: str, *, file: str | None = None, field: str | None = None) -> str:
    """Return the value of environment variable ``name`` or raise a ConfigError naming it."""
    value = os.environ.get(name)
    if value is None or value == "":
        raise ConfigError(
            f"environment variable {name} is not set",
            file=file,
            field=field,
            hint=f"export {name}=... before running (secrets are read from the environment only)",
        )
    return value


def secret_values(names: Iterable[str]) -> list[str]:
    """Values of the named env vars that are set (for scrubbing text)."""
    return [v for n in names if (v := os.environ.get(n)) and len(v) >= 4]


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of each secret value in ``text``."""
    for s in secrets:
        if s:
            text = text.replace(s, REDACTED)
    return text


def redact_mapping(data: Mapping[str, Any]) -> dict[str, Any]:
    """Copy of a (nested) mapping with values under secret-looking keys redacted."""
    out: dict[str, Any] = {}
    for k, v in data.items():
        if _SECRET_KEY.search(str(k)) and isinstance(v, str) and not k.endswith("_env"):
            out[k] = REDACTED
        elif isinstance(v, Mapping):
            out[k] = redact_mapping(v)
        else:
            out[k] = v
    return out


_URL_SECRET = re.compile(
    r"(?P<pre>[?&](?:[^=&#]*(?:key|token|secret|password|sig|signature|auth)[^=&#]*)=)[^&#]*", re.I
)
_URL_USERINFO = re.compile(r"(?P<pre>[a-z][a-z0-9+.-]*://)[^/@\s]+@", re.I)


def redact_url(text: str) -> str:
    """Hide credentials in a URL: userinfo and secret-looking query parameters."""
    text = _URL_USERINFO.sub(lambda m: m.group("pre") + REDACTED + "@", text)
    return _URL_SECRET.sub(lambda m: m.group("pre") + REDACTED, text)


def redact_public(data: Any) -> Any:
    """Deep copy of a profile's public form safe to store: secret-looking keys and URLs hidden.

    Env-var *names* (``${env:NAME}``, ``*_env`` keys) are kept: they say where a secret comes
    from without holding it.
    """
    if isinstance(data, Mapping):
        out: dict[str, Any] = {}
        for k, v in data.items():
            key = str(k)
            if (
                _SECRET_KEY.search(key)
                and isinstance(v, str)
                and not key.endswith("_env")
                and "${env:" not in v
            ):
                out[key] = REDACTED
            else:
                out[key] = redact_public(v)
        return out
    if isinstance(data, list | tuple):
        return [redact_public(v) for v in data]
    if isinstance(data, str) and "://" in data:
        return redact_url(data)
    return data


def offline_model_env() -> None:
    """Make any stray Hugging Face hub lookup fail fast instead of hanging."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
