"""ComparisonRecord: several variants of one suite compared pairwise, versioned JSON on disk."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from pydantic import Field

from ragwacht._io import write_atomic
from ragwacht.records._base import StrictModel

COMPARISON_SCHEMA_VERSION = 1


class PairedComparison(StrictModel):
    """One metric, one variant against the reference variant, on the cases both scored."""

    metric: str
    variant: str
    reference: str
    higher_is_better: bool
    n: int
    mean_variant: float | None
    mean_reference: float | None
    mean_diff: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    p_adjusted: float | None = Field(default=None, description="Holm across the variant's metrics")
    wins: int
    ties: int
    losses: int
    significant: bool
    better: bool | None = Field(description="True better, False worse, None no clear difference")


class VariantSummary(StrictModel):
    """Headline numbers of one variant for the quality/latency/cost view."""

    variant: str
    run_id: str
    record_path: str | None = None
    means: dict[str, float | None]
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    cost_per_case: float | None = None
    endpoint_errors: int = 0


class DisagreeingCase(StrictModel):
    """A case on which variants disagree (pass in some, fail in others) for a metric."""

    case_id: str
    metric: str
    values: dict[str, float | None]


class ComparisonRecord(StrictModel):
    """The result of ``ragwacht compare``, versioned JSON on disk."""

    schema_version: int = COMPARISON_SCHEMA_VERSION
    comparison_id: str
    suite: str
    reference: str
    variants: list[str]
    created_at: datetime
    alpha: float
    summaries: list[VariantSummary]
    comparisons: list[PairedComparison]
    disagreements: list[DisagreeingCase]
    dataset_digest: str
    mlflow_parent_run_id: str | None = None

    def save(self, path: Path) -> Path:
        """Write atomically."""
        write_atomic(path, self.model_dump_json(indent=1))
        return path
