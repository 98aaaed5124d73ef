"""The persisted and exchanged models: the ground floor every other package builds on.

Responses (what a chatbot returned), metric results, run records with their manifest, gate
results and comparison records. This package imports no other ragwacht package except
``ragwacht.errors`` and ``ragwacht._io``: the data knows no endpoint, metric, report or CLI.
"""

from ragwacht.records._base import StrictModel
from ragwacht.records.comparison import (
    COMPARISON_SCHEMA_VERSION,
    ComparisonRecord,
    DisagreeingCase,
    PairedComparison,
    VariantSummary,
)
from ragwacht.records.gate import (
    GATE_SCHEMA_VERSION,
    BaselineStatus,
    FindingKind,
    GatedMetric,
    GateFinding,
    GateResult,
    MetricFlips,
    RuleKind,
    RuleReason,
    RuleResult,
)
from ragwacht.records.metric import MetricResult, MetricStatus
from ragwacht.records.response import (
    RESPONSE_SCHEMA_VERSION,
    Response,
    RetrievedContext,
    Usage,
)
from ragwacht.records.run import (
    SCHEMA_VERSION,
    SUPPORTED_SCHEMA_VERSIONS,
    CaseResult,
    ConversationResult,
    JudgeInfo,
    Manifest,
    MetricSummary,
    RunRecord,
    ShardInfo,
    TagSummary,
)

__all__ = [
    "COMPARISON_SCHEMA_VERSION",
    "GATE_SCHEMA_VERSION",
    "RESPONSE_SCHEMA_VERSION",
    "SCHEMA_VERSION",
    "SUPPORTED_SCHEMA_VERSIONS",
    "BaselineStatus",
    "CaseResult",
    "ComparisonRecord",
    "ConversationResult",
    "DisagreeingCase",
    "FindingKind",
    "GateFinding",
    "GateResult",
    "GatedMetric",
    "JudgeInfo",
    "Manifest",
    "MetricFlips",
    "MetricResult",
    "MetricStatus",
    "MetricSummary",
    "PairedComparison",
    "Response",
    "RetrievedContext",
    "RuleKind",
    "RuleReason",
    "RuleResult",
    "RunRecord",
    "ShardInfo",
    "StrictModel",
    "TagSummary",
    "Usage",
    "VariantSummary",
]
