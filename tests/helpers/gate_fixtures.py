"""A small run + baseline + policy whose gate fails in several ways, for output tests."""

from __future__ import annotations

from ragwacht.ci import GatePolicy, GateResult, gate, parse_policy
from ragwacht.records import RunRecord
from tests.helpers.records import make_record

QUESTIONS = [
    "Wat is de BAG?",
    "Hoe wordt de WOZ-waarde bepaald?",
    "Wat staat er in de BGT | en de BRK?",
    "Is *dit* een <b>vraag</b> met [link](http://example.invalid)?",
    "Wie beheert de BRK?",
    "Sinds wanneer bestaat de BAG?",
    "Wat kost een uittreksel?",
    "Question with control \x07 char and emoji 🏠",
]


def failing_run() -> tuple[RunRecord, RunRecord, GatePolicy, GateResult]:
    common = {
        "questions": QUESTIONS,
        "endpoint_errors": {4: "read timed out"},
        "latencies_ms": [800.0, 900.0, 1000.0, 1200.0, 0.0, 4000.0, 700.0, 650.0],
    }
    base = make_record(
        {
            "faithfulness": [1, 1, 0.5, 1, None, 1, 1, 0.8],
            "hallucination_rate": [0, 0, 1, 0, None, 0, 0, 0],
            "latency_ms": [800, 900, 1000, 1200, None, 4000, 700, 650],
        },
        run_id="b" * 32,
        **common,  # type: ignore[arg-type]
    )
    now = make_record(
        {
            "faithfulness": [1, 0.2, 0.5, 0.1, None, 1, 1, 0.8],
            "hallucination_rate": [0, 1, 1, 0, None, 0, 0, None],
            "latency_ms": [800, 900, 1000, 1200, None, 4000, 700, 650],
        },
        run_id="a" * 32,
        reasons={"hallucination_rate": {7: "no retrieved contexts"}},
        **common,  # type: ignore[arg-type]
    )
    policy = parse_policy(
        {
            "max_error_rate": 0.2,
            "rules": [
                {"metric": "faithfulness", "min": 0.85},
                {"metric": "hallucination_rate", "max": 0.05},
                {"metric": "latency_ms", "stat": "p95", "max": 4000},
            ],
        },
        metrics=["faithfulness", "hallucination_rate", "latency_ms"],
    )
    result = gate(now, base, policy)
    now.gate = result
    return now, base, policy, result
