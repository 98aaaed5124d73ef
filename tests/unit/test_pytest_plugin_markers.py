"""Case tags as pytest markers: a tag is untrusted text and must never change how a test runs."""

from __future__ import annotations

import pytest

from ragwacht.pytest_plugin import marker_name


@pytest.mark.parametrize(
    ("tag", "marker"),
    [
        ("topic:woz", "topic_woz"),
        ("lang:nl", "lang_nl"),
        ("topic:out-of-scope", "topic_out_of_scope"),
        ("smoke", "tag_smoke"),
        ("skip", "tag_skip"),
        ("xfail", "tag_xfail"),
        ("skipif:True", "skipif_True"),
        ("1:x", "tag_1_x"),
        ("a b/c:d", "a_b_c_d"),
        ("ragwacht:case", "tag_ragwacht_case"),
        ("ragwacht:flaky", "tag_ragwacht_flaky"),
    ],
)
def test_marker_names(tag: str, marker: str) -> None:
    assert marker_name(tag) == marker
    assert marker.isidentifier()


def test_a_tag_never_becomes_a_marker_pytest_acts_on() -> None:
    acted_on = {"skip", "skipif", "xfail", "parametrize", "usefixtures", "filterwarnings"}
    for tag in [*acted_on, *(f"{m}:" for m in acted_on), "timeout", "asyncio"]:
        assert marker_name(tag) not in acted_on | {"timeout", "asyncio"}
    # A marker registered by the project is not taken over either.
    assert marker_name("topic:woz", reserved={"topic_woz"}) == "tag_topic_woz"
