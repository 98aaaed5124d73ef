r"""The digest of a golden set: one sha256 that names the exact data a result was computed on.

Canonical form, version 1:

* every case is validated first, so defaults are materialized: a case that leaves
  ``expected_behavior`` or a gold context's ``relevance`` out and one that writes the default
  explicitly have the same digest, and so do the same cases read from JSONL, YAML, CSV or XLSX;
* each case becomes one line ``json.dumps(case.model_dump(mode="json"), sort_keys=True,
  separators=(",", ":"), ensure_ascii=False)``, so key order and whitespace in the source file
  never matter, while any change to any field value does;
* the lines are sorted by case id (then by the line itself) and joined with ``"\n"`` after a
  header naming the canonical-form version.

Case order does not count. Results are matched to cases by id everywhere (reports, baselines,
paired tests), so sorting or regrouping a file changes no score and must not look like a data
change. Adding, removing or editing a case does change the digest.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ragwacht.datasets.models import GoldenCase

DIGEST_PREFIX = "sha256:"
CANONICAL_VERSION = "ragwacht-golden-cases/1"


def canonical_case(case: GoldenCase) -> str:
    """One case in canonical JSON: all fields (defaults included), sorted keys, no spaces.

    Args:
        case: A validated golden case.

    Returns:
        The canonical one-line JSON text of the case.

    """
    return json.dumps(
        case.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


def digest_cases(cases: Iterable[GoldenCase]) -> str:
    """sha256 over the canonical form of ``cases``, independent of their order.

    Args:
        cases: Validated golden cases.

    Returns:
        ``"sha256:"`` followed by 64 lowercase hex digits.

    """
    lines = sorted((case.id, canonical_case(case)) for case in cases)
    h = hashlib.sha256()
    h.update(CANONICAL_VERSION.encode("utf-8"))
    for _, line in lines:
        h.update(b"\n")
        # surrogatepass: a case built in code may hold a lone surrogate; hash it, never crash.
        h.update(line.encode("utf-8", "surrogatepass"))
    return DIGEST_PREFIX + h.hexdigest()
