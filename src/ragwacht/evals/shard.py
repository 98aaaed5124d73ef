"""Which shard a golden case belongs to (``ragwacht run --shard INDEX/COUNT``).

A case's shard is a hash of its id, not its position: adding cases to the set never moves an
existing case to another shard, and every machine computes the same split without talking to
the others. The turns of a conversation share their case's id, so they stay on one shard (each
turn needs the answers before it).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from typing import TypeVar

from ragwacht.errors import ConfigError
from ragwacht.records import RunRecord

_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")
MAX_SHARDS = 10_000

T = TypeVar("T")


def parse_shard(text: str) -> tuple[int, int]:
    """``"2/3"`` -> ``(2, 3)``; a ConfigError naming ``--shard`` for anything else."""
    m = _SHARD.match(text or "")
    if not m:
        raise ConfigError(
            f"--shard must be INDEX/COUNT, got {text!r}",
            field="--shard",
            hint="e.g. --shard 1/3 … --shard 3/3 (INDEX counts from 1)",
        )
    index, count = int(m.group(1)), int(m.group(2))
    if not 1 <= count <= MAX_SHARDS or not 1 <= index <= count:
        raise ConfigError(
            f"--shard {index}/{count}: INDEX must be 1..COUNT and COUNT 1..{MAX_SHARDS}",
            field="--shard",
            hint=f"e.g. --shard 1/{max(count, 1)}",
        )
    return index, count


def shard_of(case_id: str, count: int) -> int:
    """The 1-based shard of ``case_id`` among ``count`` (sha256 of the id, modulo ``count``)."""
    digest = hashlib.sha256(case_id.encode("utf-8", "surrogatepass")).digest()
    return 1 + int.from_bytes(digest[:8], "big") % count


def select_shard(cases: Sequence[T], index: int, count: int) -> list[T]:
    """The cases (anything with an ``id``) of shard ``index`` of ``count``, in their order."""
    return [c for c in cases if shard_of(str(getattr(c, "id")), count) == index]  # noqa: B009


def case_results_digest(record: RunRecord) -> str:
    """sha256 over every case's id, answer, error and metric results, in the record's order.

    Two records with the same digest scored the same answers the same way: what ``merge``
    promises when its shards are compared with an unsharded run.
    """
    h = hashlib.sha256()
    for c in record.cases:
        row = {
            "id": c.case_id,
            "answer": c.response.answer,
            "error": c.response.error,
            "metrics": {mid: [r.value, r.status, r.reason] for mid, r in sorted(c.metrics.items())},
        }
        h.update(json.dumps(row, sort_keys=True, ensure_ascii=False, default=str).encode())
        h.update(b"\n")
    return "sha256:" + h.hexdigest()


__all__ = ["case_results_digest", "parse_shard", "select_shard", "shard_of"]
