"""Case tags as pytest markers: a tag is untrusted text and must never change how a test runs."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

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


def test_a_worker_waits_for_this_session_only_and_gives_up_with_a_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ragwacht.errors import ConfigError
    from ragwacht.pytest_plugin import _wait_for_token

    monkeypatch.setenv("RAGWACHT_XDIST_WAIT_S", "0.5")
    done = tmp_path / "pytest-shard.json"
    done.write_text(json.dumps({"token": "earlier-session", "error": None}), encoding="utf-8")
    with pytest.raises(ConfigError, match="did an xdist worker die"):
        _wait_for_token(done, "this-session", time.monotonic() + 0.5, "shard 2/2")

    def finish() -> None:
        time.sleep(0.3)
        done.write_text(json.dumps({"token": "this-session", "error": "boom"}), encoding="utf-8")

    writer = threading.Thread(target=finish)
    writer.start()
    got = _wait_for_token(done, "this-session", time.monotonic() + 10, "shard 2/2")
    writer.join()
    assert got == {"token": "this-session", "error": "boom"}
