"""Golden sets: models, loaders (JSONL, YAML, CSV, XLSX), digests, validation, stats, diff."""

from ragwacht.datasets.compare import CaseChange, DatasetDiff, ManifestChange, diff
from ragwacht.datasets.digest import digest_cases
from ragwacht.datasets.io import (
    export_golden_set,
    import_golden_set,
    load_cases,
    load_golden_set,
    save_golden_set,
    write_cases,
)
from ragwacht.datasets.models import (
    DatasetManifest,
    ExpectedBehavior,
    GoldContext,
    GoldenCase,
    GoldenSet,
    Turn,
)
from ragwacht.datasets.summary import DatasetStats, LengthSummary, stats
from ragwacht.datasets.validation import ValidationReport, validate_golden_set

__all__ = [
    "CaseChange",
    "DatasetDiff",
    "DatasetManifest",
    "DatasetStats",
    "ExpectedBehavior",
    "GoldContext",
    "GoldenCase",
    "GoldenSet",
    "LengthSummary",
    "ManifestChange",
    "Turn",
    "ValidationReport",
    "diff",
    "digest_cases",
    "export_golden_set",
    "import_golden_set",
    "load_cases",
    "load_golden_set",
    "save_golden_set",
    "stats",
    "validate_golden_set",
    "write_cases",
]
