"""On-disk judge cache: the same model, prompt and inputs give the stored verification back.

Keys are sha256 digests over a canonical JSON of (model, method, prompt hash, inputs and the
settings that change the output); values are JSON files, one per key, written atomically so
concurrent runs never read half a file. A broken file is a miss, never an error.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ragwacht._io import write_atomic


def cache_key(**parts: Any) -> str:
    """sha256 over the canonical JSON of ``parts`` (sorted keys, no whitespace)."""
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class JudgeCache:
    """A folder of JSON files keyed by :func:`cache_key` digests.

    Args:
        root: the cache folder (created on first write).

    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.hits = 0
        self.misses = 0

    def _path(self, key: str) -> Path:
        # Two-level fan-out keeps directories small for large runs.
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored value, or None when absent or unreadable."""
        path = self._path(key)
        try:
            data = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            self.misses += 1
            return None
        if not isinstance(data, dict):
            self.misses += 1
            return None
        self.hits += 1
        return data

    def put(self, key: str, value: dict[str, Any]) -> None:
        """Store ``value`` under ``key`` atomically (write to a temp file, then rename)."""
        write_atomic(self._path(key), json.dumps(value, ensure_ascii=False), fsync=False)
