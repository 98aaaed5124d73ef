"""GateResult: the CI gate's verdict with every check, as stored in ``RunRecord.gate``.

The gate (``ragwacht.ci``) fills these in; every output (summary, JUnit, Markdown, HTML,
MLflow) reads them. Each check and each fact beside the verdict carries a ``reason`` code and
its ``facts``; the sentences for people are made from those by :mod:`ragwacht.i18n.gate` (in
English for the stored ``message``/``headline``/``notes``, in the report's language for the
HTML report).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from ragwacht.records._base import StrictModel

GATE_SCHEMA_VERSION = 1
RuleKind = Literal["threshold", "regression", "scored_fraction", "error_budget", "baseline"]
BaselineStatus = Literal["used", "none", "unavailable"]
# Why a check came out as it did; the wording module has one sentence per reason.
RuleReason = Literal[
    # error_budget
    "budget_ok",
    "budget_exceeded",
    "no_cases",
    # scored_fraction
    "enough_scored",
    "too_few_scored",
    "nothing_applicable",
    # threshold
    "threshold_met",
    "threshold_crossed",
    "no_scored_cases",
    "group_too_small",
    # regression
    "no_baseline",
    "baseline_unavailable",
    "baseline_lacks_metric",
    "metric_version_changed",
    "judge_changed",
    "no_shared_scored",
    "regressed",
    "drop_not_significant",
    "within_tolerance",
    # baseline (completeness)
    "no_shared_cases",
    "checks_skipped",
]
FindingKind = Literal[
    "baseline_used",
    "baseline_unavailable",
    "no_baseline",
    "cached_responses",
    "conversations",
    "dataset_changed",
    "other_baseline",
    "judge_differs",
]
Fact = str | int | float | bool | None


class FieldLookup(BaseModel):
    """Read-only mapping access to a model's fields: ``gate["verdict"]``, ``gate.get("notes")``.

    The compatibility read for scripts written against the dict form that ``RunRecord.gate``
    had before it became a :class:`GateResult`. It reads fields only (a nested model comes back
    as the model, which reads the same way); new code uses attributes.
    """

    def __getitem__(self, key: str) -> Any:
        """The field ``key``; a KeyError for a name that is not a field."""
        if key not in type(self).model_fields:
            raise KeyError(key)
        return getattr(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        """The field ``key``, or ``default`` for a name that is not a field."""
        try:
            return self[key]
        except KeyError:
            return default


class RuleResult(StrictModel, FieldLookup):
    """The outcome of one check.

    ``passed`` is None when the check could not be evaluated (no baseline, no shared cases);
    the message says why. Without any baseline that leaves thresholds only; with a baseline
    (or one that was configured but could not be obtained) a ``baseline`` check fails instead
    (exit 5).
    """

    name: str
    kind: RuleKind
    metric: str | None = None
    stat: str | None = None
    observed: float | None = None
    limit: float | None = None
    op: Literal[">=", "<="] | None = None
    baseline: float | None = None
    delta: float | None = Field(default=None, description="current - baseline, signed")
    drop: float | None = Field(default=None, description="drop in the metric's bad direction")
    ci_low: float | None = None
    ci_high: float | None = None
    p_value: float | None = None
    p_adjusted: float | None = None
    n: int | None = None
    n_paired: int | None = None
    mcnemar_p: float | None = None
    min_detectable_drop: float | None = None
    unit: str = ""
    passed: bool | None
    message: str
    reason: RuleReason | None = Field(
        default=None,
        description="why the check came out so (None in older records: their message stands)",
    )
    facts: dict[str, Fact] = Field(
        default_factory=dict, description="the figures the message states beyond the fields"
    )


class GateFinding(StrictModel, FieldLookup):
    """A fact stated next to the verdict (the baseline used, cached answers, a changed dataset)."""

    kind: FindingKind
    facts: dict[str, Fact] = Field(default_factory=dict)


class MetricFlips(StrictModel, FieldLookup):
    """Cases whose per-case pass/fail changed against the baseline, for one metric."""

    metric: str
    case_pass: float
    pass_to_fail: list[str] = Field(default_factory=list)
    fail_to_pass: list[str] = Field(default_factory=list)
    mcnemar_p: float | None = Field(default=None, description="one-sided: more pass->fail")
    mcnemar_p_two_sided: float | None = None


class GatedMetric(StrictModel, FieldLookup):
    """A metric the gate watches, with the settings and evidence it was judged on."""

    metric: str
    kind: str = "score"
    higher_is_better: bool = True
    unit: str = ""
    weak: bool = False
    case_pass: float | None = None
    regression: bool = False
    max_drop: float | None = None
    mean: float | None = None
    scored: int = 0
    applicable: int = 0
    total: int = 0
    min_detectable_drop: float | None = None
    min_detectable_paired: bool = Field(
        default=False,
        description="min_detectable_drop is for the paired test against the baseline "
        "(else the unpaired guide for this run alone)",
    )


class GateResult(StrictModel, FieldLookup):
    """The gate's verdict with every check, stored as ``RunRecord.gate``."""

    schema_version: int = GATE_SCHEMA_VERSION
    verdict: Literal["pass", "fail"]
    exit_code: int
    headline: str
    rules: list[RuleResult]
    metrics: list[GatedMetric] = Field(default_factory=list)
    flips: list[MetricFlips] = Field(default_factory=list)
    cases: int = 0
    failed_cases: int = 0
    error_rate: float | None = None
    baseline_run_id: str | None = None
    baseline_git_sha: str | None = None
    baseline_variant: str | None = None
    dataset_digest: str | None = None
    baseline_dataset_digest: str | None = None
    dataset_changed: bool | None = None
    shared_cases: int | None = None
    only_in_run: int | None = None
    only_in_baseline: int | None = None
    alpha: float = 0.05
    family_wise: str = "holm"
    policy: dict[str, Any] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list)
    baseline_status: BaselineStatus | None = Field(
        default=None,
        description="used: compared with a baseline; none: no baseline yet (thresholds only); "
        "unavailable: the configured baseline could not be obtained",
    )
    baseline_source: str | None = Field(
        default=None, description="where the baseline came from (MLflow run, file path)"
    )
    baseline_error: str | None = None
    cached_responses: int = Field(
        default=0, description="responses served from the response cache, not the endpoint"
    )
    conversations: int = Field(default=0, description="scripted conversations in the run")
    conversations_passed: int = Field(default=0, description="conversations whose turns all passed")
    turns: int = Field(default=0, description="cases that are turns of those conversations")
    notes: list[str] = Field(
        default_factory=list,
        description="facts every output states next to the verdict (baseline, cache use)",
    )
    findings: list[GateFinding] = Field(
        default_factory=list,
        description="notes and warnings as structured facts, the source of their wording",
    )

    @property
    def passed(self) -> bool:
        """Whether the verdict is pass."""
        return self.verdict == "pass"

    def failed_rules(self) -> list[RuleResult]:
        """Checks that failed."""
        return [r for r in self.rules if r.passed is False]

    def metric(self, name: str) -> GatedMetric | None:
        """The gated metric called ``name``, if any."""
        return next((m for m in self.metrics if m.metric == name), None)
