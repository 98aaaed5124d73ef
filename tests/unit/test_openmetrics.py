"""OpenMetrics text for GitLab's metrics report, parsed by prometheus_client's parser."""

from __future__ import annotations

import io

from prometheus_client.openmetrics.parser import text_string_to_metric_families

from ragwacht.reports.annotations import emit_annotations, escape_property, render_annotations
from ragwacht.reports.openmetrics import metric_name, render_openmetrics
from tests.helpers.gate_fixtures import failing_run
from tests.helpers.records import make_record


def test_openmetrics_parses_and_rounds() -> None:
    now, *_ = failing_run()
    text = render_openmetrics(now)
    assert text.endswith("# EOF\n")
    samples = {s.name: s for fam in text_string_to_metric_families(text) for s in fam.samples}
    faith = samples["ragwacht_faithfulness"]
    assert faith.labels == {"suite": "demo-suite", "variant": "default"}
    assert faith.value == round(4.6 / 7, 4)
    assert samples["ragwacht_latency_ms_p95"].value == 3160
    assert samples["ragwacht_gate_passed"].value == 0
    assert samples["ragwacht_error_rate"].value == 0.125


def test_not_scored_metric_is_omitted_not_zero() -> None:
    rec = make_record({"faithfulness": [None, None], "recall@5": [1.0, 0.5]}, variant='v"1')
    text = render_openmetrics(rec)
    names = {s.name for fam in text_string_to_metric_families(text) for s in fam.samples}
    assert "ragwacht_faithfulness" not in names
    assert "ragwacht_recall_at_5" in names
    assert metric_name("ragas:faithfulness") == "ragwacht_ragas_faithfulness"


def test_annotations_only_in_github_actions() -> None:
    now, _b, _p, result = failing_run()
    buf = io.StringIO()
    assert emit_annotations(now, result, env={}, stream=buf) == 0 and buf.getvalue() == ""
    n = emit_annotations(now, result, env={"GITHUB_ACTIONS": "true"}, stream=buf, worst=3)
    lines = buf.getvalue().splitlines()
    assert n == len(lines) == len(result.failed_rules()) + 3
    assert all(line.startswith("::error title=") for line in lines)
    assert escape_property("a: b, c%\n") == "a%3A b%2C c%25%0A"
    # a passing gate turns case annotations into warnings
    rec = make_record({"faithfulness": [0.0, 1.0]})
    assert render_annotations(rec, None)[0].startswith("::warning")
