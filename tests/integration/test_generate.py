"""``ragwacht datasets generate`` end to end: a real loopback LLM server, the demo corpus,
candidates that validate with provenance, every attempt accounted for, a rerun from cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ragwacht.curation.generate import quote_in_passage
from ragwacht.datasets.io import load_golden_set
from ragwacht.demo.corpus import default_corpus_path, load_corpus
from tests.helpers.writer_llm import WriterLLMServer

pytestmark = pytest.mark.integration


def _generate(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ragwacht", "datasets", "generate", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=600,
    )


def _check_output(out: Path, corpus: dict[str, str]) -> dict[str, object]:
    gset = load_golden_set(out)
    summary = json.loads((out / "generation.json").read_text("utf-8"))
    rejected = (out / "rejected.jsonl").read_text("utf-8").splitlines()
    for case in gset.cases:
        assert case.status == "candidate" and case.provenance is not None
        assert case.provenance.passage_ids and set(case.provenance.passage_ids) <= set(corpus)
        for quote, pid in zip(case.provenance.quotes, case.provenance.passage_ids, strict=False):
            assert quote_in_passage(quote, corpus[pid])
        if case.expected_behavior == "answer":
            assert case.reference_answer and case.gold_contexts
    # Every attempt is either kept or rejected by a named filter: nothing vanishes.
    assert sum(summary["attempts"].values()) == len(gset.cases) + len(rejected)
    assert sum(summary["rejected"].values()) == len(rejected)
    assert sum(summary["kept"].values()) == len(gset.cases)
    return summary


def test_generate_validate_and_resume(tmp_path: Path) -> None:
    corpus = {p.id: p.text for p in load_corpus()}
    out = tmp_path / "candidates"
    cache = tmp_path / "cache"
    with WriterLLMServer(bad_every=7) as srv:
        env = {"RAGWACHT_JUDGE_BASE_URL": srv.base_url}
        args = (
            str(default_corpus_path()),
            "--to",
            str(out),
            "--n",
            "10",
            "--cache-dir",
            str(cache),
        )
        first = _generate(env, *args)
        assert first.returncode == 0, first.stderr
        calls = len(srv.requests)
        summary = _check_output(out, corpus)
        cases = load_golden_set(out).cases
        kinds = {c.provenance.kind for c in cases if c.provenance}
        assert {"factual", "synthesis", "refuse", "followup", "rephrase"} <= kinds
        assert summary["rejected"]["malformed"] >= 1  # every 7th reply was prose
        assert summary["calls"] == calls and summary["calls_per_kept"] <= 2.5
        follow = next(c for c in cases if c.provenance and c.provenance.kind == "followup")
        assert [t.role for t in follow.history] == ["user", "assistant"]
        rephrase = next(c for c in cases if c.provenance and c.provenance.kind == "rephrase")
        assert "style:informal" in rephrase.tags and rephrase.provenance
        assert rephrase.provenance.derived_from in {c.id for c in cases}
        digest = load_golden_set(out).digest

        # An interrupted or repeated generation asks the model nothing again.
        second = _generate(env, *args)
        assert second.returncode == 0, second.stderr
        assert len(srv.requests) == calls
        assert load_golden_set(out).digest == digest

    ok = subprocess.run(
        [
            sys.executable,
            "-m",
            "ragwacht",
            "datasets",
            "validate",
            str(out),
            "--corpus",
            str(default_corpus_path()),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr


def test_without_an_llm_it_says_how_and_exits_2(tmp_path: Path) -> None:
    env = {k: "" for k in ("RAGWACHT_JUDGE_BASE_URL", "RAGWACHT_JUDGE_GGUF")}
    r = _generate(env, str(default_corpus_path()), "--to", str(tmp_path / "x"), "--n", "2")
    assert r.returncode == 2
    assert "needs an LLM" in r.stderr and "judges serve" in r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "x").exists()


def test_refuses_to_overwrite_a_curated_set(tmp_path: Path, repo_root: Path) -> None:
    import shutil

    target = tmp_path / "golden"
    shutil.copytree(repo_root / "datasets" / "registers-demo", target)
    with WriterLLMServer() as srv:
        r = _generate(
            {"RAGWACHT_JUDGE_BASE_URL": srv.base_url},
            str(default_corpus_path()),
            "--to",
            str(target),
            "--n",
            "2",
            "--no-embed",
        )
    assert r.returncode == 2 and "not generated" in r.stderr
    assert not srv.requests


@pytest.mark.llm
def test_real_small_model_plumbing(tmp_path: Path) -> None:
    """The 0.5B test model: valid JSON under the schema, every attempt accounted for.

    The model is too weak to promise kept candidates (its questions copy the passage), so
    this checks the call path and the accounting, not quality.
    """
    from tests.helpers.judge_server import ModelUnavailable, shared_local_server

    try:
        url, _ = shared_local_server()
    except ModelUnavailable as exc:
        pytest.skip(str(exc))
    corpus = {p.id: p.text for p in load_corpus()}
    out = tmp_path / "real"
    r = _generate(
        {"RAGWACHT_JUDGE_BASE_URL": url},
        str(default_corpus_path()),
        "--to",
        str(out),
        "--n",
        "2",
        "--mix",
        "factual=1",
        "--no-embed",
        "--concurrency",
        "1",
        "--cache-dir",
        str(tmp_path / "c"),
    )
    assert r.returncode == 0, r.stderr
    summary = _check_output(out, corpus)
    assert summary["calls"] >= 1 and summary["rejected"]["call_failed"] == 0
