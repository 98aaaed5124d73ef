"""What changed between two versions of a golden set."""

from __future__ import annotations

from typing import Any

from ragwacht.datasets.models import GoldenSet
from ragwacht.records import StrictModel


class CaseChange(StrictModel):
    """A case present in both versions whose content differs."""

    id: str
    fields: list[str]


class ManifestChange(StrictModel):
    """One ``dataset.yaml`` field that differs."""

    field: str
    old: Any
    new: Any


class DatasetDiff(StrictModel):
    """The difference between two golden sets, matched by case id.

    Case order is not a change (the digest ignores it too); ``changed`` lists the fields
    whose values differ, defaults materialized (leaving out ``relevance: 1`` is no change).
    """

    old_name: str
    new_name: str
    old_digest: str
    new_digest: str
    added: list[str]
    removed: list[str]
    changed: list[CaseChange]
    unchanged: int
    manifest_changes: list[ManifestChange]

    @property
    def identical(self) -> bool:
        """True when cases and manifest are the same."""
        return self.old_digest == self.new_digest and not self.manifest_changes


def diff(old: GoldenSet, new: GoldenSet) -> DatasetDiff:
    """Compare two golden sets.

    Args:
        old: The earlier version.
        new: The later version.

    Returns:
        Added ids (in ``new``'s order), removed ids (in ``old``'s order), changed cases with
        the fields that changed (in ``new``'s order), the unchanged count, both digests and
        the manifest fields that differ.

    """
    old_cases = {c.id: c.model_dump(mode="json") for c in old.cases}
    new_cases = {c.id: c.model_dump(mode="json") for c in new.cases}
    added = [i for i in new_cases if i not in old_cases]
    removed = [i for i in old_cases if i not in new_cases]
    changed: list[CaseChange] = []
    unchanged = 0
    for case_id, data in new_cases.items():
        before = old_cases.get(case_id)
        if before is None:
            continue
        fields = [k for k in data if data[k] != before.get(k)]
        if fields:
            changed.append(CaseChange(id=case_id, fields=fields))
        else:
            unchanged += 1
    old_m = old.manifest.model_dump(mode="json")
    new_m = new.manifest.model_dump(mode="json")
    manifest_changes = [
        ManifestChange(field=k, old=old_m.get(k), new=new_m[k])
        for k in new_m
        if new_m[k] != old_m.get(k)
    ]
    return DatasetDiff(
        old_name=old.manifest.name,
        new_name=new.manifest.name,
        old_digest=old.digest,
        new_digest=new.digest,
        added=added,
        removed=removed,
        changed=changed,
        unchanged=unchanged,
        manifest_changes=manifest_changes,
    )
