"""Environment helpers: secrets from the environment only, and their redaction."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

from ragwacht._yaml import line_in_file
from ragwacht.errors import ConfigError

# Names (headers, query parameters, JSON keys) whose values are credentials. Beyond the
# obvious ones: any "key" word (Ocp-Apim-Subscription-Key, X-Functions-Key, x-api-key),
# signatures (Azure SAS "sig"), and "token" but not "tokens" (max_tokens is a count).
SECRET_NAME = re.compile(
    r"(authori[sz]ation|api[-_]?key|(?:^|[-_.\s])key(?:$|[-_.\s])|(?:api|access|subscription|functions?|secret|private|auth|client|master|host|app|account)key|"
    r"token(?!s|i[sz])|secret|passw(?:or)?d|(?:^|[-_.])pwd$|cookie|credential|signature|"
    r"(?:^|[-_.])sig$|(?:^|[-_.])auth(?:$|[-_.]))",
    re.I,
)
# In a URL query, short names are credentials too: Azure Functions' ?code=, ?key=, ?sig=.
QUERY_SECRET_NAME = re.compile(
    r"^(code|key|sig|sv|auth|access|pass|pw)$|" + SECRET_NAME.pattern, re.I
)
# Values that are credentials whatever their name: bearer/basic credentials and the shapes of
# common API keys and tokens (OpenAI/Anthropic sk-, GitHub, Slack, AWS, Google, JWT). A bearer
# credential must hold a digit or an inner capital, so prose ("Bearer authentication") passes.
SECRET_VALUE = re.compile(
    r"(?:\b(?:Bearer|Basic|Token)\s+(?=[A-Za-z._~+/=-]*[0-9]|[A-Za-z0-9._~+/=-]+[A-Z])[A-Za-z0-9._~+/=-]{8,})"
    r"|(?:\bsk-[A-Za-z0-9_-]{12,})"
    r"|(?:\bgh[pousr]_[A-Za-z0-9]{20,})"
    r"|(?:\bxox[abposr]-[A-Za-z0-9-]{10,})"
    r"|(?:\bAKIA[0-9A-Z]{16}\b)"
    r"|(?:\bAIza[0-9A-Za-z_-]{30,})"
    r"|(?:\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*)"
)
_SECRET_KEY = SECRET_NAME
REDACTED = "***"


def is_secret_name(name: str) -> bool:
    """True for a header, field or key name whose value is a credential."""
    return SECRET_NAME.search(name) is not None


def looks_like_secret(text: str) -> bool:
    """True when ``text`` holds a credential-shaped value (``Bearer ...``, ``sk-...``, a JWT)."""
    return SECRET_VALUE.search(text) is not None


def redact_values(text: str) -> str:
    """``text`` with every credential-shaped value replaced (environment references kept)."""
    return SECRET_VALUE.sub(lambda m: m.group(0) if "${" in m.group(0) else REDACTED, text)


def require_env(name: str, *, file: str | None = None, field: str | None = None) -> str:
    """Return the value of environment variable ``name`` or raise a ConfigError naming it."""
    value = os.environ.get(name)
    if value is None or value == "":
        raise ConfigError(
            f"environment variable {name} is not set",
            file=file,
            line=line_in_file(file, field),
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
    r"(?P<pre>[?&](?:code|sv|[^=&#]*(?:key|token|secret|password|sig|signature|auth)[^=&#]*)=)"
    r"(?!\$\{)[^&#]*",
    re.I,
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
    if isinstance(data, str):
        # Second line of defence behind the checks at load: by value, whatever the key.
        data = redact_values(data)
        return redact_url(data) if "://" in data else data
    return data


def offline_model_env() -> None:
    """Make any stray Hugging Face hub lookup fail fast instead of hanging."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
