"""A run report stays one file of bounded size however many cases the run has."""

from __future__ import annotations

import random
import re

from ragwacht.reports.html import render_run_report
from ragwacht.reports.html.sampling import select_cases
from tests.helpers.records import make_record

TOPICS = ["bag", "woz", "bgt", "brk"]


def _big(n: int, seed: int = 7):
    rng = random.Random(seed)
    values = [1.0 if rng.random() > 0.1 else 0.0 for _ in range(n)]
    tags = [[f"topic:{TOPICS[i % 4]}"] for i in range(n)]
    errors = {i: "read timed out" for i in range(0, n, 97)}
    rec = make_record({"faithfulness": values}, tags=tags, endpoint_errors=errors)
    for s in rec.summary.values():  # the report stratifies by the suite's breakdown key
        s.by_tag = {"topic": {}}
    return rec, errors


def _shown(html: str) -> list[str]:
    return re.findall(r'<details class="case" id="c(\d+)"', html)


def test_small_runs_show_every_case() -> None:
    rec, _ = _big(120)
    html = render_run_report(rec, lang="en", max_cases=200)
    assert len(_shown(html)) == 120
    assert 'id="cases-sampled"' not in html


def test_large_runs_show_the_needed_cases_and_a_stratified_sample() -> None:
    rec, errors = _big(3000)
    html = render_run_report(rec, lang="nl", max_cases=200)
    shown = [int(i) - 1 for i in _shown(html)]
    assert len(shown) == 200 and shown == sorted(shown)
    assert set(errors) <= set(shown)  # every error case (31 of them) is on the page
    topics = {TOPICS[i % 4] for i in shown if i not in errors}
    assert topics == set(TOPICS)
    assert 'id="cases-sampled"' in html and "200 van de 3.000 cases" in html
    assert "een steekproef per topic" in html
    again = select_cases(rec, max_cases=200)
    assert [i for i in again.indices] == shown  # the same run shows the same cases


def test_report_size_does_not_grow_with_the_cases() -> None:
    small, _ = _big(2000, seed=1)
    large, _ = _big(16000, seed=1)
    a = len(render_run_report(small, lang="en", max_cases=200))
    b = len(render_run_report(large, lang="en", max_cases=200))
    assert b < 1.3 * a, (a, b)
