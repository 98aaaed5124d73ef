"""Markdown summary: snapshot, escaping, step summary."""

from __future__ import annotations

import os
from pathlib import Path

from ragwacht.reports.markdown import append_step_summary, md_escape, render_markdown
from tests.helpers.gate_fixtures import failing_run
from tests.helpers.records import make_record

SNAPSHOT = Path(__file__).resolve().parents[1] / "data" / "gate" / "summary.expected.md"


def test_failing_gate_summary_matches_snapshot() -> None:
    now, _base, _pol, result = failing_run()
    md = render_markdown(now, result)
    if os.environ.get("RAGWACHT_UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(md, encoding="utf-8")
    assert md == SNAPSHOT.read_text(encoding="utf-8"), (
        "summary changed; if intended, rerun with RAGWACHT_UPDATE_SNAPSHOTS=1 and review the diff"
    )


def test_summary_content() -> None:
    now, _base, _pol, result = failing_run()
    md = render_markdown(now, result, links={"HTML report": "https://ci.invalid/report.html"})
    assert md.startswith("## ❌ FAIL: ragwacht gate for demo-suite / default")
    assert "❌ **FAIL**" in md and "✅ pass" in md  # icons and words
    assert "`case-001`" in md  # flipped case
    assert "(<https://ci.invalid/report.html>)" in md
    # untrusted question text cannot open a link, tag or table cell
    assert "\\[link\\]" in md and "\\<b\\>" in md and "BGT \\| en" in md


def test_passing_summary_without_baseline() -> None:
    from ragwacht.ci import GatePolicy, gate

    rec = make_record({"faithfulness": [1.0] * 10})
    md = render_markdown(rec, gate(rec, None, GatePolicy()))
    assert md.startswith("## ✅ PASS")
    assert "no baseline (thresholds only)" in md
    assert "➖ not checked" in md


def test_md_escape() -> None:
    assert md_escape("a|b\n*c* @all") == "a\\|b \\*c\\* \\@all"
    assert len(md_escape("x" * 500, 50)) == 50


def test_step_summary_appends_only_when_set(tmp_path: Path) -> None:
    target = tmp_path / "summary.md"
    assert append_step_summary("# one", env={}) is None
    append_step_summary("# one", env={"GITHUB_STEP_SUMMARY": str(target)})
    append_step_summary("# two\n", env={"GITHUB_STEP_SUMMARY": str(target)})
    assert target.read_text(encoding="utf-8") == "# one\n# two\n"
