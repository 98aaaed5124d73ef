"""``ragwacht judges serve`` and ``ragwacht judges calibrate`` as a user runs them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from ragwacht.cli.app import app

pytestmark = pytest.mark.integration


def test_calibrate_lexical_writes_result(tmp_path: Path, shared_data: Path) -> None:
    out = tmp_path / "cal.json"
    res = CliRunner().invoke(
        app,
        [
            "judges",
            "calibrate",
            "--data",
            str(shared_data / "hallucination" / "begin.jsonl"),
            "--judge",
            "lexical",
            "--limit",
            "40",
            "--seed",
            "1",
            "--balanced",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "balanced accuracy" in res.output and "label: hallucinated" in res.output
    data = json.loads(out.read_text())
    assert data["judge_id"] == "lexical" and data["weak"] is True
    run = data["runs"][0]
    assert run["dataset"] == "begin" and run["n_items"] == 40 and run["n_positive"] == 20
    c = run["confusion"]
    assert c["tp"] + c["fp"] + c["tn"] + c["fn"] == 40


def test_calibrate_bad_input_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "1", "contexts": ["c"], "answer": "a", "hallucinated": true}\n{oops\n')
    res = CliRunner().invoke(app, ["judges", "calibrate", "--data", str(bad)])
    assert res.exit_code == 2
    assert "line 2" in res.output
    judge = tmp_path / "judge.yaml"
    judge.write_text("type: llm\nmodel: m\n")
    res2 = CliRunner().invoke(
        app, ["judges", "calibrate", "--data", str(bad), "--judge", str(judge)]
    )
    assert res2.exit_code == 2 and "base_url" in res2.output


@pytest.mark.llm
def _blocked_and_ignored() -> None:
    # What a CI runner or a background job may hand down: Ctrl-C blocked and ignored.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.parametrize("inherited", ["default", "sigint-blocked-and-ignored"])
def test_serve_prints_url_and_stops_on_ctrl_c(inherited: str) -> None:
    from tests.helpers.judge_server import ModelUnavailable, small_gguf

    try:
        gguf = small_gguf()
    except ModelUnavailable as exc:
        pytest.skip(str(exc))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from ragwacht.cli import main; main()",
            "judges",
            "serve",
            "--gguf",
            str(gguf),
            "--port",
            "0",
            "--n-ctx",
            "1024",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        preexec_fn=_blocked_and_ignored if inherited != "default" else None,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
        models = httpx.get(url + "/models", timeout=30).json()
        assert models["data"]
    finally:
        proc.send_signal(signal.SIGINT)
        rc = proc.wait(timeout=60)
    assert rc == 0
