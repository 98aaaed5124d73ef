"""GitHub Actions workflow commands: ``::error`` annotations for failed checks and worst cases.

Printed only when ``GITHUB_ACTIONS=true``. Failed gate checks are errors; the worst cases are
errors when the gate failed and warnings when it passed (they are then worth a look, not a
blocker).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any, TextIO

from ragwacht.ci.cases import worst_cases
from ragwacht.ci.gate import as_gate_result, output_metrics
from ragwacht.records import GateResult, RunRecord


def escape_data(text: str) -> str:
    """Escape the message part of a workflow command."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a property value (``title=...``) of a workflow command."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(level: str, title: str, message: str) -> str:
    """One ``::level title=...::message`` line."""
    return f"::{level} title={escape_property(title)}::{escape_data(message)}"


def render_annotations(
    record: RunRecord, gate_result: GateResult | dict[str, Any] | None, *, worst: int = 5
) -> list[str]:
    """Annotation lines for the failed checks and the ``worst`` worst cases."""
    result = as_gate_result(gate_result)
    lines: list[str] = []
    failed = result is not None and not result.passed
    if result is not None:
        for r in result.failed_rules():
            lines.append(command("error", f"ragwacht gate: {r.name}", r.message))
    metrics = output_metrics(record, result)
    level = "error" if failed else "warning"
    questions = {c.case_id: c.question for c in record.cases}
    for o in worst_cases(
        record, [(g.metric, g.higher_is_better, g.case_pass, g.unit) for g in metrics], worst
    ):
        q = " ".join(questions.get(o.case_id, "").split())[:200]
        lines.append(
            command(
                level,
                f"ragwacht {record.suite}: case {o.case_id} ({o.metric})",
                f"{o.message}\nquestion: {q}",
            )
        )
    return lines


def emit_annotations(
    record: RunRecord,
    gate_result: GateResult | dict[str, Any] | None,
    *,
    env: Mapping[str, str] | None = None,
    stream: TextIO | None = None,
    worst: int = 5,
) -> int:
    """Print the annotations when running in GitHub Actions; return how many were printed."""
    env = os.environ if env is None else env
    if env.get("GITHUB_ACTIONS") != "true":
        return 0
    out = stream or sys.stdout
    lines = render_annotations(record, gate_result, worst=worst)
    for line in lines:
        out.write(line + "\n")
    out.flush()
    return len(lines)
