"""Self-contained HTML reports: one run (with gate, baseline, trend) and a variant comparison.

The output is a single file with inline CSS, inline SVG charts and a small optional script
(sorting and filtering); it makes no request of any kind and reads fine with JavaScript off.
Chatbot answers, sources and case ids are untrusted text: templates autoescape everything, no
untrusted value is ever marked safe, and marked claims are built by escaping each piece of the
answer first and wrapping it afterwards (:func:`mark_claims`). A Content-Security-Policy with
hashes of the one style block and the one script is a second line of defence.

The gate result arrives as a dict (the serialized ``GateResult``); :func:`gate_view` is the only
place that knows its keys, and it tolerates missing ones.

The package keeps one concern per module: ``_common`` (formatting, template environment, page
context), ``gate`` (the gate adapter and verdict text), ``claims`` (claims and their marking),
``cases`` (one case's view), ``sections`` (scorecards, tags, trend, judges, manifest),
``run_view`` and ``comparison_view`` (the two reports).
"""

from __future__ import annotations

from ragwacht.reports.html._common import CONTRAST_PAIRS
from ragwacht.reports.html.cases import (
    ANSWER_CHARS,
    DEFAULT_CASE_PASS,
    CaseView,
    case_score,
    case_status,
    is_retrieval_metric,
    no_relevant_source,
)
from ragwacht.reports.html.claims import ClaimView, mark_claims
from ragwacht.reports.html.comparison_view import (
    render_comparison_report,
    write_comparison_report,
)
from ragwacht.reports.html.gate import FlipView, GateView, RuleView, gate_view
from ragwacht.reports.html.run_view import render_run_report, write_run_report

__all__ = [
    "ANSWER_CHARS",
    "CONTRAST_PAIRS",
    "DEFAULT_CASE_PASS",
    "CaseView",
    "ClaimView",
    "FlipView",
    "GateView",
    "RuleView",
    "case_score",
    "case_status",
    "gate_view",
    "is_retrieval_metric",
    "mark_claims",
    "no_relevant_source",
    "render_comparison_report",
    "render_run_report",
    "write_comparison_report",
    "write_run_report",
]
