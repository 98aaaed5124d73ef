"""Hypothesis strategies and small builders for golden-set tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from ragwacht.datasets.models import ExpectedBehavior, GoldContext, GoldenCase, Turn

DATA = Path(__file__).resolve().parents[1] / "data" / "datasets"
MINI = DATA / "mini"
# Pinned: the canonical form is a contract (RunRecords store digests); a change here means
# every stored digest changes, which needs a new CANONICAL_VERSION.
MINI_DIGEST = "sha256:0f8f94490f68c45682789526b46d6acaabf7d996b07170679f97eee3a144612d"

# Property tests: no per-example deadline (CI machines are shared and slow), a modest count so
# the whole datasets suite stays well under a minute on two cores.
PROPERTY = settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

# Any text, all of Unicode but surrogates (hypothesis' default), control characters included.
texts = st.text(max_size=30)
ids = st.text(min_size=1, max_size=24).filter(
    lambda s: s == s.strip() and not any(c in s for c in "\n\r\t")
)
questions = st.text(min_size=1, max_size=60).filter(lambda s: bool(s.strip()))

gold_contexts = st.builds(
    GoldContext,
    doc_id=st.text(min_size=1, max_size=16),
    text=st.none() | texts,
    relevance=st.integers(min_value=0, max_value=3),
)
turns = st.builds(Turn, role=st.sampled_from(["user", "assistant", "system"]), content=texts)

golden_cases = st.builds(
    GoldenCase,
    id=ids,
    question=questions,
    reference_answer=st.none() | texts,
    gold_contexts=st.lists(gold_contexts, max_size=3),
    expected_behavior=st.sampled_from(list(ExpectedBehavior)),
    tags=st.lists(texts, max_size=4),
    history=st.lists(turns, max_size=2),
)
case_lists = st.lists(golden_cases, min_size=1, max_size=5, unique_by=lambda c: c.id)

# Cases a person would write: short printable text, the common shapes (for slower formats).
_plain = st.text(
    alphabet=st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Zs")), max_size=20
)
plain_cases = st.builds(
    GoldenCase,
    id=st.from_regex(r"[a-z]{1,6}-[0-9]{1,3}", fullmatch=True),
    question=_plain.filter(lambda s: bool(s.strip())),
    reference_answer=st.none() | _plain,
    gold_contexts=st.lists(
        st.builds(GoldContext, doc_id=st.from_regex(r"[a-z:]{1,6}[0-9]", fullmatch=True)),
        max_size=2,
    ),
    expected_behavior=st.sampled_from(list(ExpectedBehavior)),
    tags=st.lists(st.from_regex(r"[a-z]{1,5}:[a-z]{1,5}", fullmatch=True), max_size=3),
)


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    """Write rows (dicts or raw strings) as JSON Lines; strings are written verbatim."""
    lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_set(folder: Path, manifest: str, rows: list[Any]) -> Path:
    """A golden-set folder with the given dataset.yaml text and cases."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dataset.yaml").write_text(manifest, encoding="utf-8")
    write_jsonl(folder / "cases.jsonl", rows)
    return folder
