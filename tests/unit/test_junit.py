"""JUnit XML: valid against the vendored schema, one test per case x metric and per check."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema

from ragwacht.reports.junit import render_junit, write_junit
from tests.helpers.gate_fixtures import failing_run
from tests.helpers.records import make_record

XSD = Path(__file__).resolve().parents[1] / "data" / "gate" / "junit.xsd"


@pytest.fixture(scope="module")
def schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(XSD)


def test_schema_rejects_what_the_tools_would_not_read(schema: xmlschema.XMLSchema) -> None:
    assert not schema.is_valid("<testsuites><testsuite tests='1'/></testsuites>")  # no name
    assert not schema.is_valid(
        "<testsuites><testsuite name='s' tests='1' timestamp='2025-01-01T10:00:00Z'/></testsuites>"
    )
    assert not schema.is_valid(
        "<testsuites><testsuite name='s' tests='1'><testcase name='x' time='-1'/></testsuite>"
        "</testsuites>"
    )
    assert schema.is_valid(
        "<testsuites><testsuite name='s' tests='1'><testcase name='x' time='0.5'>"
        "<failure message='m' type='t'>body</failure></testcase></testsuite></testsuites>"
    )


def test_failing_gate_junit_is_valid_and_counts_add_up(
    schema: xmlschema.XMLSchema, tmp_path: Path
) -> None:
    now, _base, _pol, result = failing_run()
    path = write_junit(now, result, tmp_path / "junit.xml", hostname="runner-1")
    schema.validate(str(path))
    root = ET.parse(path).getroot()
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert list(suites) == [
        "demo-suite.gate",
        "demo-suite.faithfulness",
        "demo-suite.hallucination_rate",
        "demo-suite.latency_ms",
    ]
    gate_suite = suites["demo-suite.gate"]
    assert int(gate_suite.get("tests", 0)) == len(result.rules)
    assert int(gate_suite.get("failures", 0)) == len(result.failed_rules())
    assert gate_suite.get("hostname") == "runner-1"
    assert gate_suite.get("timestamp") == "2025-03-01T12:00:00"
    faith = suites["demo-suite.faithfulness"]
    cases = {tc.get("name"): tc for tc in faith.findall("testcase")}
    assert len(cases) == 8
    assert cases["case-001"].find("failure") is not None  # 0.2 < 0.5
    assert cases["case-004"].find("error") is not None  # endpoint error
    assert cases["case-004"].find("error").get("type") == "endpoint_error"  # type: ignore[union-attr]
    assert cases["case-000"].find("failure") is None
    assert float(cases["case-005"].get("time", 0)) == pytest.approx(4.0)
    hall = {tc.get("name"): tc for tc in suites["demo-suite.hallucination_rate"].iter("testcase")}
    skipped = hall["case-007"].find("skipped")
    assert skipped is not None and "no retrieved contexts" in (skipped.get("message") or "")
    total = sum(int(s.get("tests", 0)) for s in suites.values())
    assert int(root.get("tests", 0)) == total
    assert int(root.get("failures", 0)) == sum(int(s.get("failures", 0)) for s in suites.values())


def test_untrusted_text_cannot_break_the_xml(schema: xmlschema.XMLSchema) -> None:
    evil = 'x"/><script>&amp;\x00\x07\ud800 ]]> </testcase>'
    rec = make_record({"faithfulness": [0.0]}, case_ids=[evil], questions=[evil], answers=[evil])
    text = render_junit(rec, None, hostname="h")
    schema.validate(text)
    tc = ET.fromstring(text.encode()).find(".//testcase")
    assert tc is not None and tc.get("name", "").startswith('x"/><script>&amp;')


def test_without_gate_every_metric_is_listed(schema: xmlschema.XMLSchema) -> None:
    rec = make_record({"faithfulness": [1.0, 0.0], "latency_ms": [100.0, 200.0]})
    root = ET.fromstring(render_junit(rec, None, hostname="h").encode())
    names = [s.get("name") for s in root.findall("testsuite")]
    assert names == ["demo-suite.faithfulness", "demo-suite.latency_ms"]
    assert root.get("failures") == "1"  # latency has no per-case pass mark: never fails
