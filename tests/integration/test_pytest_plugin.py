"""The pytest plugin on real parts: pytest in a subprocess, on a small project, against the demo
bot over loopback HTTP.

One project, one bot, several sessions in a row (each later one relies on the response cache the
earlier ones filled, which is part of what is tested):

1. the suite named in the ini file: one item per case and per gate check, metric values as
   JUnit properties, a failing case xfailed while the gate passes (exit 0);
2. again, with ``-m``: only the selected items, and not one endpoint call (cache);
3. the degraded variant (one passage): the recall gate item fails (exit 1) and, with
   ``--ragwacht-case-failures fail``, so do the cases that lost their passage;
4. ``--ragwacht-repeat 3`` under pytest-xdist with a bot that is flaky on one question: pass
   rates with Wilson intervals, the flaky case marked; each worker ran one shard of the cases
   and the merged record holds them all, with each case asked once.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from ragwacht import stats
from ragwacht.demo import BotServer
from ragwacht.records import RunRecord
from tests.helpers.demo_bot import demo_bot
from tests.helpers.flaky_demo_bot import CountingBot

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
SUITE = "evals/mini.yaml"
FLAKY_CASE = "bag-q001"


def _plugin_args() -> list[str]:
    """``-p ragwacht.pytest_plugin`` unless the installed package already registers it."""
    for ep in importlib.metadata.entry_points(group="pytest11"):
        if ep.value == "ragwacht.pytest_plugin":
            return []
    return ["-p", "ragwacht.pytest_plugin"]


def _project(tmp: Path) -> tuple[Path, list[dict[str, object]]]:
    """A small project: 5 cases per register, 2 out-of-scope ones, a gate on recall."""
    cases = [
        json.loads(line)
        for line in (REPO / "datasets" / "registers-demo" / "cases.jsonl")
        .read_text("utf-8")
        .splitlines()
        if line.strip()
    ]
    picked: list[dict[str, object]] = []
    for topic in ("bag", "woz", "bgt", "brk"):
        picked += [c for c in cases if f"topic:{topic}" in c["tags"]][:5]
    picked += [c for c in cases if c["expected_behavior"] == "refuse"][:2]
    root = tmp / "project"
    data = root / "datasets" / "mini"
    data.mkdir(parents=True)
    (data / "dataset.yaml").write_text(
        yaml.safe_dump({"schema_version": 1, "name": "mini", "version": "1", "language": "nl"}),
        encoding="utf-8",
    )
    (data / "cases.jsonl").write_text(
        "".join(json.dumps(c, ensure_ascii=False) + "\n" for c in picked), encoding="utf-8"
    )
    (root / "runners").mkdir()
    profile = (REPO / "runners" / "demo-bot.yaml").read_text(encoding="utf-8")
    (root / "runners" / "demo-bot.yaml").write_text(profile, encoding="utf-8")
    suite = {
        "schema_version": 1,
        "name": "mini",
        "dataset": "../datasets/mini",
        "endpoint": "../runners/demo-bot.yaml",
        "variants": {
            "default": {"fields": {"retrieval": "hybrid", "reranker": True, "top_k": 5}},
            "top1": {"fields": {"retrieval": "hybrid", "reranker": True, "top_k": 1}},
        },
        "judges": {"primary": {"type": "lexical"}},
        "metrics": [
            "recall@5",
            "mrr",
            {"name": "faithfulness", "judge": "primary"},
            "refusal_correctness",
            "latency_ms",
        ],
        "gate": {
            "rules": [
                {"metric": "recall@5", "min": 0.75},
                {"metric": "refusal_correctness", "min": 0.9},
            ]
        },
        # No baseline yet (no file configured, none at ci/baselines/): thresholds only. A
        # configured baseline.file that does not exist is a failed gate (exit 5), not this.
        "baseline": {"mlflow": False},
    }
    (root / "evals").mkdir()
    (root / SUITE).write_text(yaml.safe_dump(suite, sort_keys=False), encoding="utf-8")
    (root / "pyproject.toml").write_text(
        "[tool.pytest.ini_options]\n"
        'addopts = "-ra --strict-markers"\n'
        f'ragwacht_suite = "{SUITE}"\n'
        "ragwacht_mlflow = false\n",
        encoding="utf-8",
    )
    return root, picked


def _pytest(root: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "MLFLOW_TRACKING"))}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), env.get("PYTHONPATH", "")]).rstrip(
        os.pathsep
    )
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        *_plugin_args(),
        "--ragwacht-base-url",
        url,
        "-p",
        "no:cacheprovider",
        *args,
    ]
    return subprocess.run(
        cmd, cwd=root, env=env, capture_output=True, text=True, timeout=600, check=False
    )


def _junit(path: Path) -> dict[str, ET.Element]:
    return {tc.get("name", ""): tc for tc in ET.parse(path).getroot().iter("testcase")}


def _props(tc: ET.Element) -> dict[str, str]:
    return {p.get("name", ""): p.get("value", "") for p in tc.iter("property")}


def _record(root: Path, variant: str) -> RunRecord:
    return RunRecord.load(root / "reports" / "mini" / variant / "run.json")


def _below(record: RunRecord, metric: str, mark: float) -> list[str]:
    out = []
    for c in record.cases:
        value = c.metrics[metric].value
        if value is not None and value < mark:
            out.append(c.case_id)
    return out


def test_pytest_plugin_on_the_demo_bot(tmp_path: Path) -> None:
    root, picked = _project(tmp_path)
    ids = [str(c["id"]) for c in picked]
    bot = CountingBot(demo_bot())
    server = BotServer(bot)  # type: ignore[arg-type]  # duck-typed DemoBot
    url = server.start()
    try:
        # 1. The suite from the ini file: every case and every gate check is an item.
        proc = _pytest(root, url, "--junitxml", str(tmp_path / "j1.xml"))
        out = proc.stdout + proc.stderr
        assert proc.returncode == 0, out
        assert bot.total == len(ids)
        cases = _junit(tmp_path / "j1.xml")
        record = _record(root, "default")
        rules = [r["name"] for r in (record.gate or {})["rules"]]
        assert set(cases) == set(ids) | set(rules), sorted(cases)
        # Metric values are JUnit properties, equal to the run record's.
        for c in record.cases:
            props = _props(cases[c.case_id])
            for metric in ("recall@5", "mrr", "latency_ms"):
                value = c.metrics[metric].value
                if value is None:  # out-of-scope cases have nothing to retrieve
                    assert props[metric] == "not scored"
                else:
                    assert float(props[metric]) == pytest.approx(value, rel=1e-5), c.case_id
        # A case below its per-case mark is reported, not failed: the gate decides.
        weak = _below(record, "recall@5", 0.5)
        assert weak, "expected at least one case without its gold passage in the default variant"
        for cid in weak:
            assert cases[cid].find("skipped") is not None
            assert "xfail" in (cases[cid].find("skipped").get("type") or "")  # type: ignore[union-attr]
        assert "gate pass" in out

        # 2. Again, selecting by tag marker: only woz cases and the gate, no endpoint call.
        calls_before = bot.total
        proc = _pytest(
            root, url, "-m", "topic_woz or ragwacht_gate", "--junitxml", str(tmp_path / "j2.xml")
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert bot.total == calls_before, "the second session called the endpoint"
        assert all(r.cached for r in (c.response for c in _record(root, "default").cases))
        selected = _junit(tmp_path / "j2.xml")
        woz = {i for i in ids if i.startswith("woz-")}
        assert woz and set(selected) == woz | set(rules)

        # 3. The degraded variant: the recall gate item fails, and so do weak cases in
        #    "fail" mode; the session exits 1 (pytest's "tests failed").
        proc = _pytest(
            root,
            url,
            "--ragwacht",
            SUITE,
            "--ragwacht-variant",
            "top1",
            "--ragwacht-case-failures",
            "fail",
            "--junitxml",
            str(tmp_path / "j3.xml"),
        )
        out = proc.stdout + proc.stderr
        assert proc.returncode == 1, out
        degraded = _junit(tmp_path / "j3.xml")
        failed = {name for name, tc in degraded.items() if tc.find("failure") is not None}
        gate_fail = {r for r in failed if r.startswith("threshold recall@5")}
        assert gate_fail == {"threshold recall@5 mean >= 0.75"}, failed
        top1 = _record(root, "top1")
        lost = set(_below(top1, "recall@5", 0.5))
        assert lost and lost <= failed
        assert "recall@5 mean" in out and "threshold crossed" in out

        # 4. Repeats under xdist, with one question flaky: only the two new repeats per case
        #    are asked (repeat 0 is cached), each case by the one worker whose shard it is in.
        flaky_question = next(str(c["question"]) for c in picked if c["id"] == FLAKY_CASE)
        bot.flaky = {flaky_question.strip()}
        calls_before = bot.total
        proc = _pytest(
            root,
            url,
            "-n",
            "2",
            "--ragwacht-repeat",
            "3",
            "-m",
            "ragwacht_case",
            "--junitxml",
            str(tmp_path / "j4.xml"),
        )
        out = proc.stdout + proc.stderr
        assert proc.returncode == 0, out
        assert "2 workers" in out
        assert bot.total - calls_before == 2 * len(ids)
        repeated = _junit(tmp_path / "j4.xml")
        assert set(repeated) == set(ids)
        flaky = _props(repeated[FLAKY_CASE])
        assert flaky["ragwacht.flaky"] == "true"
        assert flaky["ragwacht.passes"] == "2" and flaky["ragwacht.repeats"] == "3"
        lo, hi = stats.wilson_interval(2, 3)
        assert float(flaky["ragwacht.pass_rate"]) == pytest.approx(2 / 3, rel=1e-5)
        assert float(flaky["ragwacht.pass_rate_ci_low"]) == pytest.approx(lo, rel=1e-5)
        assert float(flaky["ragwacht.pass_rate_ci_high"]) == pytest.approx(hi, rel=1e-5)
        assert "flaky" in (repeated[FLAKY_CASE].find("skipped").get("message") or "")  # type: ignore[union-attr]
        steady = [
            i for i in ids if i != FLAKY_CASE and _props(repeated[i])["ragwacht.passes"] == "3"
        ]
        assert steady, "expected cases that passed every repeat"
        for cid in steady:
            p = _props(repeated[cid])
            assert p["ragwacht.flaky"] == "false" and float(p["ragwacht.pass_rate"]) == 1.0
        assert f"1 flaky: {FLAKY_CASE}" in out
        # The workers split the cases between them and gw0 merged their shard records.
        out_dir = root / "reports" / "mini" / "default"
        shards = [RunRecord.load(out_dir / f"shard-{k}-of-2" / "run.json") for k in (1, 2)]
        assert all(sh.cases for sh in shards)
        shard_ids = [c.case_id for sh in shards for c in sh.cases]
        assert sorted(shard_ids) == sorted(ids)
        merged = _record(root, "default")
        assert merged.merged_from == [sh.run_id for sh in shards]
        assert {c.case_id for c in merged.cases} == set(ids)
        assert "one shard per xdist worker" in out
    finally:
        server.stop()


def test_bad_suite_is_a_usage_error_without_traceback(tmp_path: Path) -> None:
    root, _ = _project(tmp_path)
    suite = root / SUITE
    suite.write_text(
        suite.read_text(encoding="utf-8").replace("name: mini", "name: mini\nmetricz: []"),
        encoding="utf-8",
    )
    proc = _pytest(root, "http://127.0.0.1:9", "--ragwacht", SUITE)
    err = proc.stdout + proc.stderr
    assert proc.returncode == 4, err  # pytest's usage-error code
    assert "ragwacht:" in err and "mini.yaml" in err and "metricz" in err and "line 3" in err
    assert "Traceback" not in err


def test_collect_only_lists_cases_without_running(tmp_path: Path) -> None:
    root, picked = _project(tmp_path)
    proc = _pytest(root, "http://127.0.0.1:9", "--collect-only", "-q", "-m", "topic_bgt")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    listed = {line.rsplit("::", 1)[1] for line in proc.stdout.splitlines() if "::" in line}
    assert listed == {str(c["id"]) for c in picked if "topic:bgt" in c["tags"]}
    assert not (root / "reports").exists()  # nothing ran, nothing was written
