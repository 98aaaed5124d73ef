"""The CI quality gate: policy, decision and exit codes.

``gate(record, baseline, policy)`` returns a :class:`GateResult` whose ``exit_code`` is 0
(pass), 3 (a quality rule failed) or 4 (error budget exceeded).
"""

from ragwacht.ci.gate import gate
from ragwacht.ci.policy import DEFAULT_MAX_DROP, GatePolicy, GateRule, load_policy, parse_policy
from ragwacht.records import GatedMetric, GateResult, MetricFlips, RuleResult

__all__ = [
    "DEFAULT_MAX_DROP",
    "GatePolicy",
    "GateResult",
    "GateRule",
    "GatedMetric",
    "MetricFlips",
    "RuleResult",
    "gate",
    "load_policy",
    "parse_policy",
]
