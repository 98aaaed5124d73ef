"""JUnit XML for CI: one test case per golden case x gated metric, and one per gate check.

The layout follows the common Jenkins/GitLab JUnit schema (``testsuites > testsuite >
testcase`` with ``failure``/``error``/``skipped``), which GitLab's merge-request widget, GitHub
test-report actions and Quality-time's JUnit source all read:

- suite ``<suite>.gate``: one test case per gate check (thresholds, regressions, evidence,
  error budget); a check that could not be evaluated (no baseline) is *skipped*; a failed
  ``baseline`` check (the baseline could not be obtained or compared, exit 5) is a *failure*.
  The suite's ``system-out`` states the baseline used and any answers from the cache.
- suite ``<suite>.<metric>`` per gated metric: one test case per golden case, named by case id
  so that tools can follow a case across runs. It *fails* when the case misses the metric's
  per-case pass mark, is an *error* when the endpoint or the judge failed, and is *skipped*
  with the reason when the metric cannot be scored on the case. Its ``time`` is the chatbot's
  latency for the case, so each metric suite's time is the run's total chatbot time.
"""

from __future__ import annotations

import re
import socket
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ragwacht._io import write_atomic
from ragwacht.ci.cases import case_outcome
from ragwacht.ci.gate import as_gate_result, output_metrics
from ragwacht.records import GateResult, RunRecord
from ragwacht.reports._bidi import strip_bidi
from ragwacht.reports.conversations import conversation_counts

# XML 1.0 allows tab, newline, carriage return and most of Unicode; a chatbot answer may hold
# anything, so everything else is replaced before it reaches the document.
_ILLEGAL_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_MAX_TEXT = 4000


def xml_text(value: object, limit: int = _MAX_TEXT) -> str:
    """Text safe for an XML 1.0 document (illegal characters replaced, length capped).

    Bidi controls are dropped too: CI pages show names and messages inline, where an
    override in a case id would reorder the text around it.
    """
    text = _ILLEGAL_XML.sub("\ufffd", strip_bidi(str(value)))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _timestamp(dt: datetime | None) -> str:
    # The schema's timestamp is an ISO 8601 date-time without a time zone: write UTC.
    dt = dt or datetime.now(UTC)
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC).replace(tzinfo=None)
    return dt.strftime("%Y-%m-%dT%H:%M:%S")


def _secs(x: float) -> str:
    return f"{max(0.0, x):.3f}"


def _suite(parent: ET.Element, name: str, *, timestamp: str, hostname: str, sid: int) -> ET.Element:
    return ET.SubElement(
        parent,
        "testsuite",
        {
            "name": xml_text(name, 500),
            "id": str(sid),
            "package": "ragwacht",
            "timestamp": timestamp,
            "hostname": xml_text(hostname, 200),
        },
    )


def _finish_suite(suite: ET.Element) -> dict[str, float]:
    counts = {"tests": 0.0, "failures": 0.0, "errors": 0.0, "skipped": 0.0, "time": 0.0}
    for tc in suite.findall("testcase"):
        counts["tests"] += 1
        counts["time"] += float(tc.get("time", "0"))
        if tc.find("failure") is not None:
            counts["failures"] += 1
        elif tc.find("error") is not None:
            counts["errors"] += 1
        elif tc.find("skipped") is not None:
            counts["skipped"] += 1
    for k in ("tests", "failures", "errors", "skipped"):
        suite.set(k, str(int(counts[k])))
    suite.set("time", _secs(counts["time"]))
    return counts


def _properties(parent: ET.Element, props: dict[str, Any]) -> None:
    el = ET.SubElement(parent, "properties")
    for k, v in props.items():
        if v is None:
            continue
        ET.SubElement(el, "property", {"name": k, "value": xml_text(v, 1000)})


def build_junit(
    record: RunRecord,
    gate_result: GateResult | dict[str, Any] | None = None,
    *,
    hostname: str | None = None,
) -> ET.Element:
    """The JUnit document as an element tree (see the module docstring for the layout)."""
    result = as_gate_result(gate_result)
    host = hostname if hostname is not None else socket.gethostname()
    stamp = _timestamp(record.manifest.started_at)
    root = ET.Element("testsuites", {"name": xml_text(f"ragwacht {record.suite}/{record.variant}")})
    sid = 0
    if result is not None:
        gs = _suite(root, f"{record.suite}.gate", timestamp=stamp, hostname=host, sid=sid)
        sid += 1
        _properties(
            gs,
            {
                "verdict": result.verdict,
                "exit_code": result.exit_code,
                "headline": result.headline,
                "dataset_digest": result.dataset_digest,
                "baseline_run_id": result.baseline_run_id,
                "baseline_status": result.baseline_status,
                "baseline_source": result.baseline_source,
                "baseline_error": result.baseline_error,
                "cached_responses": result.cached_responses,
                "dataset_changed": result.dataset_changed,
                "alpha": result.alpha,
                "family_wise": result.family_wise,
            },
        )
        for rule in result.rules:
            tc = ET.SubElement(
                gs,
                "testcase",
                {
                    "name": xml_text(rule.name, 500),
                    "classname": xml_text(f"{record.suite}.gate.{rule.kind}", 500),
                    "time": "0.000",
                },
            )
            if rule.passed is False:
                el = ET.SubElement(tc, "failure", {"message": xml_text(rule.message, 1000)})
                el.set("type", rule.kind)
                el.text = xml_text(rule.message)
            elif rule.passed is None:
                ET.SubElement(tc, "skipped", {"message": xml_text(rule.message, 1000)})
            else:
                ET.SubElement(tc, "system-out").text = xml_text(rule.message)
        if result.notes:
            # Where the baseline came from and whether answers came from the cache, for a
            # reader of the test report (properties are not shown by every tool).
            ET.SubElement(gs, "system-out").text = xml_text("\n".join(result.notes))
    for gm in output_metrics(record, result):
        ms = _suite(root, f"{record.suite}.{gm.metric}", timestamp=stamp, hostname=host, sid=sid)
        sid += 1
        _properties(
            ms,
            {
                "metric": gm.metric,
                "higher_is_better": gm.higher_is_better,
                "case_pass": gm.case_pass,
                "mean": None if gm.mean is None else round(gm.mean, 6),
                "scored": gm.scored,
                "weak": gm.weak,
            },
        )
        for case in record.cases:
            o = case_outcome(
                case,
                gm.metric,
                higher_is_better=gm.higher_is_better,
                case_pass=gm.case_pass,
                unit=gm.unit,
            )
            latency = case.response.latency_ms
            tc = ET.SubElement(
                ms,
                "testcase",
                {
                    "name": xml_text(case.case_id, 500),
                    "classname": xml_text(f"{record.suite}.{gm.metric}", 500),
                    "time": _secs((latency or 0.0) / 1000.0),
                },
            )
            if o.status == "failed":
                el = ET.SubElement(tc, "failure", {"message": xml_text(o.message, 1000)})
                el.set("type", "case_pass")
                el.text = xml_text(_case_detail(case, gm.metric))
            elif o.status == "error":
                el = ET.SubElement(tc, "error", {"message": xml_text(o.message, 1000)})
                el.set("type", "endpoint_error" if case.response.error else "judge_error")
                el.text = xml_text(_case_detail(case, gm.metric))
            elif o.status == "skipped":
                ET.SubElement(tc, "skipped", {"message": xml_text(o.message, 1000)})
            else:
                ET.SubElement(tc, "system-out").text = xml_text(_case_detail(case, gm.metric))
    add_junit_conversations(root, record, timestamp=stamp, hostname=host)
    totals = {"tests": 0.0, "failures": 0.0, "errors": 0.0, "skipped": 0.0, "time": 0.0}
    for suite in root.findall("testsuite"):
        for k, v in _finish_suite(suite).items():
            totals[k] += v
    for k in ("tests", "failures", "errors", "skipped"):
        root.set(k, str(int(totals[k])))
    root.set("time", _secs(totals["time"]))
    return root


def _case_detail(case: Any, metric: str) -> str:
    r = case.metrics.get(metric)
    lines = [f"question: {case.question}"]
    if case.response.answer is not None:
        lines.append(f"answer: {case.response.answer}")
    if r is not None:
        lines.append(f"{metric}: {'not scored' if r.value is None else r.value}")
        if r.reason:
            lines.append(f"reason: {r.reason}")
        if r.judge:
            lines.append(f"judge: {r.judge}")
    return "\n".join(lines)


def render_junit(
    record: RunRecord,
    gate_result: GateResult | dict[str, Any] | None = None,
    *,
    hostname: str | None = None,
) -> str:
    """The JUnit XML document as text (UTF-8 declaration included)."""
    root = build_junit(record, gate_result, hostname=hostname)
    ET.indent(root, space=" ")
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


def write_junit(
    record: RunRecord,
    gate_result: GateResult | dict[str, Any] | None,
    path: str | Path,
    *,
    hostname: str | None = None,
) -> Path:
    """Write the JUnit XML for a run (and its gate, when there is one) to ``path``."""
    path = Path(path)
    write_atomic(path, render_junit(record, gate_result, hostname=hostname))
    return path


def add_junit_conversations(root: Any, record: RunRecord, *, timestamp: str, hostname: str) -> None:
    """Add a ``<suite>.conversations`` testsuite: one testcase per conversation.

    A conversation fails when a turn did not pass (the message names the first) and its
    counts are properties, so CI dashboards can count conversations and turns.
    """
    if not record.conversations:
        return
    sid = len(root.findall("testsuite"))
    suite = _suite(
        root, f"{record.suite}.conversations", timestamp=timestamp, hostname=hostname, sid=sid
    )
    _properties(suite, dict(conversation_counts(record)))
    for c in record.conversations:
        tc = ET.SubElement(
            suite,
            "testcase",
            {
                "name": xml_text(c.conversation_id, 500),
                "classname": xml_text(f"{record.suite}.conversations", 500),
                "time": "0.000",
            },
        )
        detail = f"{c.passed_turns}/{c.turns} turns passed" + (
            ""
            if c.context_retention is None
            else f"; context kept in {c.retention_kept}/{c.retention_checked} follow-ups"
        )
        if c.all_passed:
            ET.SubElement(tc, "system-out").text = xml_text(detail)
        else:
            msg = f"turn {c.first_failing_turn} did not pass; {detail}"
            el = ET.SubElement(tc, "failure", {"message": xml_text(msg, 1000)})
            el.set("type", "conversation")
            el.text = xml_text(", ".join(c.turn_ids))
