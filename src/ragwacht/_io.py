"""File output shared by every package: one atomic writer.

Readers (a resumed run, a report, a CI job reading a record) must never see half a file, so
every file ragwacht writes goes to a temporary file beside the target and is renamed over it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(
    path: str | Path,
    data: str | bytes | Callable[[IO[Any]], object],
    *,
    fsync: bool = True,
    private: bool = False,
) -> Path:
    """Write ``data`` to ``path`` so that readers never see a half-written file.

    Args:
        path: the target; missing parent folders are created.
        data: text (written as UTF-8), bytes, or a callable that writes to a binary file object.
        fsync: flush to disk before the rename (records, datasets); caches may skip it.
        private: keep the file readable by its owner only (0600); otherwise it gets the
            permissions a plain ``open()`` would give it.

    Returns:
        The path written.

    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        if not private:
            os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as fh:
            if isinstance(data, str):
                fh.write(data.encode("utf-8"))
            elif isinstance(data, bytes | bytearray):
                fh.write(data)
            else:
                data(fh)
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
