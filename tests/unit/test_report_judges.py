"""Judge calibration in the HTML report and the Markdown summary (issue 14, defect 5).

The fixtures carry calibrations as ``ragwacht judges calibrate`` stores them: the packaged
lexical result (English sets) and one computed here on a small Dutch labelled file.
"""

from __future__ import annotations

import re
from html import unescape

import pytest

from ragwacht.reports.html import render_run_report
from ragwacht.reports.markdown import render_markdown
from tests.helpers.report_records import build_record, dutch_calibration, lexical_calibration


def _judges_text(html: str) -> str:
    section = html[html.index('<section id="judges"') : html.index('<section id="cases"')]
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", section)).split())


@pytest.fixture(scope="module")
def record():
    return build_record(12, seed=3)


def test_every_calibration_set_is_shown_with_its_numbers(record):
    text = _judges_text(render_run_report(record, lang="en"))
    cal = lexical_calibration()
    for run in cal["runs"]:
        lo, hi = run["balanced_accuracy_ci"]
        assert run["dataset"] in text
        assert f"{run['balanced_accuracy']:.3f}" in text
        assert f"{lo:.3f} – {hi:.3f}" in text
        assert f"{run['cohen_kappa']:.3f}" in text
        assert f"{run['n_scored']:,}" in text
    assert "–  –" not in text  # no dashes where numbers belong
    # the sets are English, the run is Dutch: said plainly
    assert "lexical has no calibration in this run's language (nl)" in text
    assert "measured on texts in: en" in text
    # a judge without any calibration says so too
    assert "nli:mdeberta has no calibration at all" in text


def test_dutch_report_speaks_dutch_about_the_language(record):
    text = _judges_text(render_run_report(record, lang="nl"))
    assert "0,843" in text and "0,831 – 0,854" in text
    assert "lexical is niet gekalibreerd in de taal van deze run (nl)" in text


def test_a_set_in_the_runs_language_removes_the_warning(record, tmp_path):
    rec = record.model_copy(deep=True)
    rec.manifest.judges[1].calibration = dutch_calibration(tmp_path)
    nl_run = rec.manifest.judges[1].calibration["runs"][-1]
    assert nl_run["language"] == "nl" and nl_run["n_scored"] == 24
    text = _judges_text(render_run_report(rec, lang="en"))
    assert "labels-nl" in text and f"{nl_run['balanced_accuracy']:.3f}" in text
    assert "lexical has no calibration" not in text
    md = render_markdown(rec, None)
    assert "`labels-nl` | nl | 24 |" in md
    assert "`lexical` has no calibration" not in md


def test_markdown_lists_calibration_and_missing_language(record):
    md = render_markdown(record, None)
    assert "### Judges and their calibration" in md
    run = lexical_calibration()["runs"][0]
    lo, hi = run["balanced_accuracy_ci"]
    assert (
        f"| `lexical` (weak) | `{run['dataset']}` | en | {run['n_scored']} | "
        f"{run['balanced_accuracy']:.3f} [{lo:.3f}, {hi:.3f}] | {run['cohen_kappa']:.3f} |"
    ) in md
    assert "`lexical` has no calibration in this run's language (nl)" in md
    assert "`nli:mdeberta` is not calibrated at all" in md
