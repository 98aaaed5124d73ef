"""Personal data is scrubbed on ingest, before anything is stored, logged or scored."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections import Counter
from functools import lru_cache
from pathlib import Path

from ragwacht.safety.detectors import find_pii

SALT_ENV = "RAGWACHT_MONITOR_SALT"


def scrub_text(text: str, counts: Counter[str] | None = None) -> str:
    """``text`` with every validated identifier replaced by ``[KIND]`` (``[BSN]``, ``[IBAN]``).

    Args:
        text: untrusted text from a log (a question, an answer, a passage).
        counts: where to add how many of each kind were replaced.

    Returns:
        The scrubbed text.

    """
    scrubbed, kinds = _scrub(text)
    if counts is not None:
        counts.update(kinds)
    return scrubbed


@lru_cache(maxsize=65536)
def _scrub(text: str) -> tuple[str, tuple[str, ...]]:
    # Logs repeat the same passages on every line; detecting once per distinct text is enough.
    spans = find_pii(text)
    if not spans:
        return text, ()
    out: list[str] = []
    pos = 0
    for s in spans:
        out.append(text[pos : s.start])
        out.append(f"[{s.kind.upper()}]")
        pos = s.end
    out.append(text[pos:])
    return "".join(out), tuple(s.kind for s in spans)


def install_salt(project_root: Path) -> bytes:
    """The salt for user ids: ``$RAGWACHT_MONITOR_SALT``, else a random per-install salt.

    The per-install salt is created once under ``<project>/.ragwacht/monitor_salt`` (owner
    read/write only) so that the same user hashes the same way across runs of one install,
    and differently in another install.
    """
    env = os.environ.get(SALT_ENV)
    if env:
        return env.encode()
    path = project_root / ".ragwacht" / "monitor_salt"
    if path.exists():
        return path.read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    salt = secrets.token_hex(32).encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(salt)
    return salt


def hash_user(user_id: str, salt: bytes) -> str:
    """A keyed hash of a user id (HMAC-SHA256, 16 hex digits): countable, not reversible."""
    return hmac.new(salt, user_id.encode(), hashlib.sha256).hexdigest()[:16]
