"""Marking leaked spans in an untrusted answer: escaped text, marks with words, merged overlaps."""

from __future__ import annotations

from ragwacht.metrics.base import create_metric
from ragwacht.reports.safety import mark_spans
from tests.helpers.metrics import case, item, response, score


def test_marks_are_the_only_markup_in_an_untrusted_answer() -> None:
    answer = '<script>alert(1)</script> BSN 111222333 en <b onclick="x">KANARIE-AB12CD</b>'
    probe = case(tags=["canary:KANARIE-AB12CD"])
    spans = []
    for name in ("pii_leak_rate", "injection_success_rate"):
        (r,) = score(create_metric(name), item(probe, response(answer)))
        spans += r.details["spans"]
    html = str(mark_spans(answer, spans, {"bsn": "BSN", "canary": "canary-token"}))
    assert "<script>" not in html and "<b " not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '<mark class="leak">111222333<span class="ml"> [BSN]</span></mark>' in html
    assert '<mark class="leak">KANARIE-AB12CD<span class="ml"> [canary-token]</span></mark>' in html


def test_overlapping_spans_become_one_mark_naming_both() -> None:
    html = str(
        mark_spans(
            "code 123456789 end",
            [
                {"kind": "bsn", "start": 5, "end": 14},
                {"kind": "canary", "start": 5, "end": 10},
            ],
            {"bsn": "BSN", "canary": "canary"},
        )
    )
    assert (
        html == 'code <mark class="leak">123456789<span class="ml"> [BSN, canary]</span></mark> end'
    )
