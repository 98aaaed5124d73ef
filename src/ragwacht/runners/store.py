"""Where responses are kept: a per-run JSONL store (resume) and an on-disk cache (re-scoring).

* :class:`ResponseStore` appends one JSON line per finished response and flushes it at once, so
  a run that is killed keeps everything it finished; ``resume`` reads it back.
* :class:`ResponseCache` keeps successful responses across runs, keyed by what determines the
  request (profile without secrets, variant, case content, repeat index), so scoring the same
  run again makes no endpoint calls.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError

from ragwacht._env import secret_values
from ragwacht._io import write_atomic
from ragwacht.errors import ConfigError
from ragwacht.records import Response
from ragwacht.runners._wire import location, url_secrets
from ragwacht.runners.templating import env_names, has_env_ref, resolve_env

log = logging.getLogger(__name__)

CACHE_FORMAT = 1

Key = tuple[str, str, int]
"""(case_id, variant, repeat)."""


class ResponseStore:
    """Append-only JSONL of responses for one run directory.

    Args:
        path: the JSONL file, or a directory (``responses.jsonl`` inside it).
        fresh: start empty (truncate an existing file) instead of appending to it.
        fsync: also force each line to disk (survives power loss, not just a killed process).

    """

    FILE_NAME = "responses.jsonl"

    def __init__(self, path: str | Path, *, fresh: bool = False, fsync: bool = False) -> None:
        path = Path(path)
        if path.is_dir() or (not path.suffix and not path.exists()):
            path = path / self.FILE_NAME
        self.path = path
        self._fsync = fsync
        self._fh: IO[str] | None = None
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if fresh:
            self.path.write_text("", encoding="utf-8")

    def load(self) -> dict[Key, Response]:
        """The last stored response for each (case, variant, repeat).

        Lines that do not parse (a run killed mid-write leaves at most one) are skipped with a
        warning.
        """
        out: dict[Key, Response] = {}
        if not self.path.exists():
            return out
        with self.path.open("r", encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    r = Response.model_validate_json(line)
                except ValidationError:
                    log.warning("%s line %d: not a stored response, skipped", self.path, n)
                    continue
                out[(r.case_id, r.variant, r.repeat)] = r
        return out

    def append(self, response: Response) -> None:
        """Write one response as a line and flush it to the operating system."""
        line = response.model_dump_json() + "\n"
        with self._lock:
            if self._fh is None:
                self._repair_tail()
                self._fh = self.path.open("a", encoding="utf-8")
            self._fh.write(line)
            self._fh.flush()
            if self._fsync:
                os.fsync(self._fh.fileno())

    def _repair_tail(self) -> None:
        # A killed writer may have left a partial last line; start ours on a fresh line.
        if self.path.exists() and self.path.stat().st_size:
            with self.path.open("rb") as fh:
                fh.seek(-1, os.SEEK_END)
                if fh.read(1) != b"\n":
                    with self.path.open("a", encoding="utf-8") as out:
                        out.write("\n")

    def close(self) -> None:
        """Close the file (appending again reopens it)."""
        with self._lock:
            if self._fh is not None:
                self._fh.close()
                self._fh = None

    def __enter__(self) -> ResponseStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def resolved_endpoint(profile: Any) -> dict[str, str]:
    """The endpoint URLs of a profile that reference ``${env:NAME}``, as they resolve now.

    A cache keyed on the names alone would answer for a host the variable no longer points
    at. Only where the request goes is kept (scheme, host, port, path, query); credentials in
    the URL (userinfo, secret-looking parameters, variables with secret-looking names) are
    hidden, so no secret value enters a key. Variables that are unset are left out: building
    the runner reports them.
    """
    azure = getattr(profile, "azure", None)
    candidates = {
        "url": getattr(profile, "url", None),
        "base_url": getattr(profile, "base_url", None),
        "azure.endpoint": getattr(azure, "endpoint", None),
    }
    out: dict[str, str] = {}
    for name, template in candidates.items():
        if not isinstance(template, str) or not has_env_ref(template):
            continue
        try:
            value = resolve_env(template)
        except ConfigError:
            continue
        hidden = url_secrets(value) + secret_values(
            n for n in env_names(template) if _SECRET_NAME.search(n)
        )
        out[name] = location(value, hidden)
    return out


_SECRET_NAME = re.compile(r"key|token|secret|passw|auth|sig|cred|code", re.I)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def cache_key(
    profile_public: dict[str, Any], variant: dict[str, Any], case: dict[str, Any], repeat: int
) -> str:
    """sha256 over the canonical JSON of what determines a request."""
    return RequestKeys(profile_public, variant).key(case, repeat)


class RequestKeys:
    """:func:`cache_key` for one profile and variant, with their JSON serialised once.

    The digest is over exactly the canonical JSON :func:`cache_key` describes (keys sorted at
    every level), so keys stay the same as stored caches and response files expect.
    """

    def __init__(self, profile_public: dict[str, Any], variant: dict[str, Any]) -> None:
        # Top-level keys in sorted order: case, format, profile, repeat, variant.
        self._middle = (
            f',"format":{_canonical(CACHE_FORMAT)},"profile":{_canonical(profile_public)},"repeat":'
        )
        self._tail = f',"variant":{_canonical(variant)}}}'

    def key(self, case: dict[str, Any], repeat: int) -> str:
        """The key of one request (a case as JSON-mode dict, a repeat index)."""
        blob = f'{{"case":{_canonical(case)}{self._middle}{_canonical(repeat)}{self._tail}'
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class ResponseCache:
    """Successful responses on disk, one small JSON file per key (safe for parallel runs)."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> Response | None:
        """The cached response for ``key``, or None (a damaged entry counts as a miss)."""
        path = self._path(key)
        try:
            text = path.read_text(encoding="utf-8")
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            log.warning("response cache %s unreadable: %s", path, exc)
            return None
        try:
            return Response.model_validate_json(text)
        except ValidationError:
            log.warning("response cache entry %s is damaged; ignored", path)
            return None

    def put(self, key: str, response: Response) -> bool:
        """Store a successful response; failed ones are never cached. True when stored."""
        if not response.ok:
            return False
        try:
            write_atomic(self._path(key), response.model_dump_json(), fsync=False)
        except OSError as exc:  # the cache is an optimisation: a full disk must not stop a run
            log.warning("response cache write failed (%s); continuing without it", exc)
            return False
        return True

    def __len__(self) -> int:
        if not self.directory.exists():
            return 0
        return sum(1 for _ in self.directory.glob("*/*.json"))
