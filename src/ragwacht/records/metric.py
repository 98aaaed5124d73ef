"""MetricResult: one metric's outcome on one case, with an explicit status."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import Field, model_validator

from ragwacht.records._base import StrictModel


class MetricStatus(StrEnum):
    """What became of one metric on one case.

    - ``scored``: a value was produced.
    - ``not_applicable``: the metric does not apply to the case by design (no reference
      answer, no gold contexts, a probe without a canary); left out of the scored fraction.
    - ``not_scored``: it applies but could not be scored (no answer, the endpoint failed, an
      answer without claims); counts against the scored fraction.
    - ``error``: a judge or scoring backend failed; counts against the scored fraction and
      in the gate's error budget.
    """

    SCORED = "scored"
    NOT_APPLICABLE = "not_applicable"
    NOT_SCORED = "not_scored"
    ERROR = "error"


# How records written before ``status`` existed (record schema 1) said "not applicable".
LEGACY_NOT_APPLICABLE_PREFIXES = ("case has no", "not applicable")


class MetricResult(StrictModel):
    """The score of one metric on one case.

    ``value`` is in [0, 1] for scores (or a raw measure such as milliseconds for measures);
    ``None`` means not scored: ``status`` says which kind and ``reason`` says why. ``details``
    holds evidence, e.g. the claims with their verdicts and supporting passages.

    ``error=True`` is accepted on input (the older spelling of ``status="error"``).
    """

    metric: str
    value: float | None
    status: MetricStatus = MetricStatus.SCORED
    reason: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)
    judge: str | None = None
    prompt_version: str | None = None
    metric_version: str = "1"

    @model_validator(mode="before")
    @classmethod
    def _derive_status(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        legacy_error = data.pop("error", None)
        if data.get("status") is None:
            if data.get("value") is not None:
                data["status"] = MetricStatus.SCORED
            elif legacy_error:
                data["status"] = MetricStatus.ERROR
            else:
                data["status"] = MetricStatus.NOT_SCORED
        return data

    @model_validator(mode="after")
    def _consistent(self) -> MetricResult:
        if (self.value is None) == (self.status is MetricStatus.SCORED):
            raise ValueError(
                f"status {self.status.value!r} does not fit value {self.value!r}"
                " (a value needs status 'scored', and 'scored' needs a value)"
            )
        return self

    @property
    def scored(self) -> bool:
        """Whether a value was produced."""
        return self.status is MetricStatus.SCORED

    @property
    def error(self) -> bool:
        """Whether a judge or backend failed on this case."""
        return self.status is MetricStatus.ERROR

    @property
    def not_applicable(self) -> bool:
        """Whether the metric does not apply to this case by design."""
        return self.status is MetricStatus.NOT_APPLICABLE


def upgrade_v1_metric(data: Any) -> Any:
    """A schema-1 stored metric result with its status (reason prefixes told "not applicable")."""
    if not isinstance(data, dict) or "status" in data:
        return data
    data = dict(data)
    error = bool(data.pop("error", False))
    if data.get("value") is not None:
        data["status"] = MetricStatus.SCORED.value
    elif error:
        data["status"] = MetricStatus.ERROR.value
    elif (data.get("reason") or "").strip().lower().startswith(LEGACY_NOT_APPLICABLE_PREFIXES):
        data["status"] = MetricStatus.NOT_APPLICABLE.value
    else:
        data["status"] = MetricStatus.NOT_SCORED.value
    return data
