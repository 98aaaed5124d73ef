"""GatePolicy: what the quality gate checks, as written under ``gate:`` in a suite or a file.

Example (see ``ci/gate-policy.example.yaml``)::

    gate:
      alpha: 0.05             # one-sided level of each regression test (after Holm)
      max_drop: 0.07          # default tolerance for score metrics, absolute points on 0..1
      max_error_rate: 0.1     # endpoint + judge failures / cases; above it: exit 4
      rules:
        - {metric: faithfulness, min: 0.85}
        - {metric: hallucination_rate, max: 0.05}
        - {metric: latency_ms, stat: p95, max: 4000}
        - {metric: recall@5, min: 0.8, max_drop: 0.05}

A rule names a gated metric. For score metrics (values in 0..1) each rule is also a regression
check against the baseline with the policy's ``max_drop`` unless it sets its own or says
``regression: false``; measures (latency, cost) are checked for regression only when a rule
sets ``max_drop`` in the measure's unit. Without any rule, every score metric of the run is
checked for regression.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from ragwacht._yaml import read_yaml, yaml_line
from ragwacht.errors import ConfigError, Location, Problem
from ragwacht.metrics.base import registry
from ragwacht.records import StrictModel

# Why 0.07: at 100 cases two runs of an unchanged endpoint whose answers flip on 5-10% of cases
# differ by 2-3 points (one standard deviation). A 7-point tolerance keeps false alarms below
# about 1 in 1,000 runs there, while a real 10-point drop is still caught about 9 times in 10
# (benchmarks/gate_power.py). Larger sets can afford a smaller tolerance.
DEFAULT_MAX_DROP = 0.07
DEFAULT_CASE_PASS = 0.5
_STAT = re.compile(r"^(mean|median|p(100|[1-9]?[0-9]))$")


class GateRule(StrictModel):
    """One gated metric: thresholds, regression tolerance and the per-case pass mark.

    Attributes:
        metric: metric id as in the run (``faithfulness``, ``recall@5``, ``latency_ms``).
        min: floor for the statistic (passes when ``observed >= min``).
        max: ceiling for the statistic (passes when ``observed <= max``).
        stat: ``mean`` (default), ``median`` or a percentile ``p50``..``p99``.
        max_drop: allowed drop against the baseline in the metric's bad direction (absolute,
            in the metric's unit); ``None`` takes the policy's default for score metrics.
        regression: set ``false`` to check thresholds only.
        case_pass: per-case pass mark (for McNemar, flipped cases and JUnit): a case passes
            when its value is at least this (at most, for lower-is-better metrics). Defaults to
            0.5 for scores, which for 0/1 metrics means "the good value".
        use_ci_bound: compare the whole confidence interval instead of the point estimate: a
            ``min`` rule then needs the lower bound above the floor (strict: evidence of
            compliance, e.g. for acceptance tests).
        per_tag: apply ``min``/``max`` to each group of cases with a tag ``<per_tag>:<value>``
            (``topic`` gives one check per topic) instead of to all cases, so one failing
            category cannot hide behind the overall mean. Cases without such a tag are not in
            any group.
        min_group_cases: a group with fewer scored cases is listed but not evaluated (its
            mean is too noisy to gate on).

    """

    metric: str = Field(min_length=1)
    min: float | None = None
    max: float | None = None
    stat: str = "mean"
    max_drop: float | None = Field(default=None, ge=0)
    regression: bool = True
    case_pass: float | None = None
    use_ci_bound: bool = False
    per_tag: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]+$")
    min_group_cases: int = Field(default=5, ge=1)

    @field_validator("stat")
    @classmethod
    def _stat(cls, v: str) -> str:
        if not _STAT.match(v):
            raise ValueError("stat must be mean, median or a percentile such as p95")
        return "p50" if v == "median" else v

    @model_validator(mode="after")
    def _bounds(self) -> GateRule:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is above max ({self.max})")
        return self

    @property
    def percentile(self) -> float | None:
        """The percentile the rule reads, or None for the mean."""
        return None if self.stat == "mean" else float(self.stat[1:])


class GatePolicy(StrictModel):
    """The whole gate: rules plus the statistical settings they share.

    Attributes:
        rules: gated metrics; empty means "every score metric, regression only".
        alpha: level of each one-sided regression test, after the family-wise adjustment.
        max_drop: default regression tolerance for score metrics (absolute points, 0..1).
        min_scored_fraction: share of applicable cases that must be scored, per gated metric;
            below it the metric fails as "not enough evidence".
        max_error_rate: share of cases with an endpoint or judge failure above which the gate
            exits 4 (the numbers can no longer be trusted).
        family_wise: ``holm`` adjusts the regression p-values across all gated metrics.
        confidence: coverage of the reported intervals.
        power: power used for the "smallest detectable drop" shown in reports.
        n_resamples: bootstrap resamples and Monte Carlo sign flips.
        seed: seed for all resampling (same record, same policy, same verdict).

    """

    rules: list[GateRule] = Field(default_factory=list)
    alpha: float = Field(default=0.05, gt=0, lt=1)
    max_drop: float = Field(default=DEFAULT_MAX_DROP, ge=0)
    min_scored_fraction: float = Field(default=0.8, ge=0, le=1)
    max_error_rate: float = Field(default=0.1, ge=0, le=1)
    family_wise: Literal["holm", "none"] = "holm"
    confidence: float = Field(default=0.95, gt=0, lt=1)
    power: float = Field(default=0.8, gt=0, lt=1)
    n_resamples: int = Field(default=10_000, ge=100, le=1_000_000)
    seed: int = 0

    @field_validator("rules", mode="before")
    @classmethod
    def _rules_mapping(cls, v: Any) -> Any:
        # Also accept the mapping form: ``rules: {faithfulness: {min: 0.85}}``.
        if isinstance(v, Mapping):
            out = []
            for name, body in v.items():
                if body is None:
                    body = {}
                if not isinstance(body, Mapping):
                    raise ValueError(f"rule for '{name}' must be a mapping")
                out.append({"metric": name, **body})
            return out
        return v

    def rule_metrics(self) -> list[str]:
        """Metric ids named by rules, in order, without duplicates."""
        return list(dict.fromkeys(r.metric for r in self.rules))


def _field_name(prefix: str | None, loc: tuple[Any, ...]) -> str:
    parts: list[str] = [prefix] if prefix else []
    for p in loc:
        if isinstance(p, int) and parts:
            parts[-1] = f"{parts[-1]}[{p}]"
        else:
            parts.append(str(p))
    return ".".join(parts)


def parse_policy(
    data: Mapping[str, Any] | None,
    *,
    file: str | Path | None = None,
    root: str | None = "gate",
    metrics: Iterable[str] | None = None,
) -> GatePolicy:
    """Validate a gate policy given as a mapping (the ``gate:`` section of a suite).

    Args:
        data: the mapping; ``None`` or empty gives the default policy.
        file: the YAML file it came from, for error locations (line numbers are looked up).
        root: the key the mapping sits under in ``file`` (``gate`` in a suite, None for a
            standalone policy file).
        metrics: metric ids the suite computes; when given, rules naming others are errors.
            When not given, names are checked against the metric registry where possible.

    Raises:
        ConfigError: naming file, line and field of every problem, with how to fix it.

    """
    text: str | None = None
    if file is not None:
        try:
            text = Path(file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            text = None
    prefix_path: list[str | int] = [root] if root else []

    def where(loc: tuple[Any, ...]) -> Location:
        line = yaml_line(text, [*prefix_path, *loc]) if text is not None else None
        return Location(file, line, _field_name(root, loc))

    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(
            "the gate policy must be a mapping",
            file=file,
            line=yaml_line(text, prefix_path) if text else None,
            field=root,
            hint="write keys such as alpha:, max_drop: and rules: under it",
        )
    try:
        policy = GatePolicy.model_validate(dict(data))
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            # A bad rule given in mapping form is reported under its metric name.
            problems.append(
                Problem(
                    str(err["msg"]).removeprefix("Value error, "),
                    where(loc),
                    _hint_for(loc, err),
                )
            )
        raise ConfigError(problems=problems) from exc
    _check_metric_names(policy, metrics, where)
    return policy


def _hint_for(loc: tuple[Any, ...], err: Any) -> str | None:
    if err.get("type") == "extra_forbidden":
        if len(loc) >= 3 and loc[0] == "rules":
            return (
                "a rule knows metric, min, max, stat, max_drop, regression, case_pass and "
                "use_ci_bound"
            )
        return (
            "the gate knows rules, alpha, max_drop, min_scored_fraction, max_error_rate, "
            "family_wise, confidence, power, n_resamples and seed"
        )
    if loc and loc[-1] in ("alpha", "confidence", "power", "min_scored_fraction"):
        return "use a fraction between 0 and 1, e.g. 0.05"
    if loc and loc[-1] == "max_drop":
        return "write the allowed drop in absolute points on the metric's scale, e.g. 0.05"
    return None


def _check_metric_names(policy: GatePolicy, metrics: Iterable[str] | None, where: Any) -> None:
    known: set[str] | None = None
    if metrics is not None:
        known = set(metrics)
    problems: list[Problem] = []
    for i, rule in enumerate(policy.rules):
        name = rule.metric
        if known is not None:
            if name not in known:
                problems.append(
                    Problem(
                        f"unknown metric '{name}': the suite does not compute it",
                        where(("rules", i, "metric")),
                        f"use one of: {', '.join(sorted(known)) or '(none)'}",
                    )
                )
            continue
        registered = _registered_names()
        base = name.split("@", 1)[0]
        if registered and name not in registered and base not in registered:
            close = difflib.get_close_matches(base, sorted(registered), n=3)
            hint = (
                f"did you mean {' or '.join(close)}?"
                if close
                else f"use one of: {', '.join(sorted(registered))}"
            )
            problems.append(
                Problem(f"unknown metric '{name}'", where(("rules", i, "metric")), hint)
            )
    if problems:
        raise ConfigError(problems=problems)


def _registered_names() -> set[str]:
    try:
        return set(registry())
    except Exception:  # the registry is a convenience check here, never a reason to crash
        return set()


def load_policy(path: str | Path, *, metrics: Iterable[str] | None = None) -> GatePolicy:
    """Load a policy from a YAML file: a standalone policy or a suite with a ``gate:`` key.

    Raises:
        ConfigError: file missing, bad YAML, or an invalid policy (with file, line, field).

    """
    path = Path(path)
    _text, data = read_yaml(path, "gate policy file")
    if data is None or data == {}:
        # An empty policy would gate on nothing and pass: a file given as the policy must say
        # what to check.
        raise ConfigError(
            "the gate policy file is empty (or holds only comments)",
            file=path,
            line=1,
            hint="write the policy (rules:, alpha:, max_drop:, ...; see "
            "ci/gate-policy.example.yaml) or leave out the policy option",
        )
    root: str | None = None
    if isinstance(data, Mapping) and "gate" in data and not data["gate"]:
        raise ConfigError(
            "the gate: section is empty",
            file=path,
            line=yaml_line(_text, ["gate"]),
            field="gate",
            hint="write the policy under gate: (rules:, alpha:, max_drop:, ...)",
        )
    if isinstance(data, Mapping) and "gate" in data and isinstance(data["gate"], Mapping):
        data, root = data["gate"], "gate"
    return parse_policy(data, file=path, root=root, metrics=metrics)
