"""Thresholds per category: one failing topic cannot hide behind the overall mean."""

from __future__ import annotations

import pytest

from ragwacht.ci import gate, parse_policy
from ragwacht.errors import ConfigError
from ragwacht.i18n import gate as words
from ragwacht.reports.html import render_run_report
from tests.helpers.records import make_record

# 12 cases: woz (6) fails its floor, bag (5) is fine, bgt (1) too small to judge.
VALUES = [1, 1, 1, 1, 1, 0.9, 0.4, 0.5, 0.3, 0.6, 0.5, 1]
TAGS = [["topic:bag"]] * 5 + [["topic:woz", "lang:nl"]] * 6 + [["topic:bgt"]]


def _record():
    return make_record({"faithfulness": VALUES}, tags=TAGS)


def _policy(**rule: object):
    return parse_policy(
        {"rules": [{"metric": "faithfulness", "min": 0.7, "regression": False, **rule}]},
        metrics=["faithfulness"],
    )


def test_the_overall_mean_passes_where_a_topic_fails() -> None:
    rec = _record()
    overall = gate(rec, None, _policy())
    assert overall.passed and sum(VALUES) / len(VALUES) >= 0.7

    result = gate(rec, None, _policy(per_tag="topic"))
    assert result.exit_code == 3
    per = {r.facts["group"]: r for r in result.rules if r.kind == "threshold"}
    assert set(per) == {"topic:bag", "topic:bgt", "topic:woz"}
    assert per["topic:bag"].passed is True and per["topic:bag"].n == 5
    assert per["topic:woz"].passed is False and per["topic:woz"].reason == "threshold_crossed"
    assert per["topic:woz"].observed == pytest.approx((0.9 + 0.4 + 0.5 + 0.3 + 0.6 + 0.5) / 6)
    assert per["topic:bgt"].passed is None and per["topic:bgt"].reason == "group_too_small"
    assert per["topic:woz"].name == "threshold faithfulness mean >= 0.7 [topic:woz]"
    assert "faithfulness [topic:woz] mean 0.533 < 0.700" in result.headline
    assert "(1 not evaluated)" not in result.headline  # it failed: the failure is the news
    assert "1 scored cases in this group, fewer than 5; not evaluated" in per["topic:bgt"].message
    nl = words.rule_text(per["topic:bgt"], "nl")
    assert "minder dan 5; niet getoetst" in nl


def test_small_groups_and_the_group_size_setting() -> None:
    rec = _record()
    result = gate(rec, None, _policy(per_tag="topic", min_group_cases=1))
    per = {r.facts["group"]: r for r in result.rules if r.kind == "threshold"}
    assert per["topic:bgt"].passed is True  # judged once allowed


def test_a_bad_tag_key_is_refused() -> None:
    with pytest.raises(ConfigError):
        _policy(per_tag="topic: woz")


def test_the_report_names_each_group() -> None:
    rec = _record()
    rec.gate = gate(rec, None, _policy(per_tag="topic"))
    html = render_run_report(rec, lang="nl")
    assert "[topic:woz]" in html and "[topic:bag]" in html
