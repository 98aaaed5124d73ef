"""Red-team probes: the gate never passes when it could not look (issue 15, defects 2, 4-6).

Real parts throughout: the demo chatbot over HTTP on loopback, a real MLflow SQLite store, a
closed loopback port standing in for an MLflow server that is down, and the ``ragwacht`` CLI.
Every record a test gates against was produced by an earlier ``ragwacht run`` in the test.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from ragwacht.cli import app
from ragwacht.errors import ExitCode
from ragwacht.records import RunRecord
from tests.conftest import free_port
from tests.helpers.demo_bot import running_demo_bot

pytestmark = [pytest.mark.integration, pytest.mark.slow]

N_CASES = 16
MAIN_ENV = {"GITHUB_ACTIONS": "true", "GITHUB_SHA": "a" * 40, "GITHUB_REF_NAME": "main"}
PR_ENV = {
    "GITHUB_ACTIONS": "true",
    "GITHUB_SHA": "b" * 40,
    "GITHUB_REF": "refs/pull/9/merge",
    "GITHUB_HEAD_REF": "feature",
    "GITHUB_BASE_REF": "main",
}


@pytest.fixture(autouse=True)
def _clean_ci_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for k in (
        "GITHUB_HEAD_REF",
        "GITHUB_BASE_REF",
        "GITHUB_REF",
        "GITHUB_STEP_SUMMARY",
        "GITLAB_CI",
        "CI_COMMIT_SHA",
        "MLFLOW_TRACKING_URI",
        "RAGWACHT_DEMO_PORT",
    ):
        monkeypatch.delenv(k, raising=False)


def _dataset(repo: Path, tmp: Path, *, prefix: str = "") -> Path:
    """The first cases of the demo set (ids optionally re-keyed), as their own golden set."""
    src = repo / "datasets" / "registers-demo"
    folder = tmp / ("data-" + (prefix or "plain"))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dataset.yaml").write_text(
        (src / "dataset.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    rows = [json.loads(x) for x in (src / "cases.jsonl").read_text(encoding="utf-8").splitlines()]
    rows = rows[:N_CASES]
    for r in rows:
        r["id"] = prefix + r["id"]
    (folder / "cases.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )
    return folder


def _suite(
    repo: Path,
    tmp: Path,
    *,
    file_name: str = "suite.yaml",
    name: str = "gate-red",
    prefix: str = "",
    top_k: int = 5,
    baseline: dict[str, Any] | None = None,
) -> Path:
    """A small suite over the demo bot with cheap metrics (retrieval and refusals)."""
    data = {
        "schema_version": 1,
        "name": name,
        "dataset": str(_dataset(repo, tmp, prefix=prefix)),
        "endpoint": str(repo / "runners" / "demo-bot.yaml"),
        "variants": {"default": {"fields": {"retrieval": "bm25", "top_k": top_k}}},
        "metrics": ["recall@5", "mrr", "refusal_correctness"],
        "execution": {"concurrency": 4, "timeout_s": 10, "max_retries": 0},
        "gate": {
            "max_error_rate": 0.1,
            "rules": [{"metric": "recall@5", "min": 0.6}, {"metric": "mrr", "min": 0.5}],
        },
        "baseline": baseline or {"branch": "main", "mlflow": True},
    }
    path = tmp / file_name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _run(suite: Path, out: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(
        app,
        ["run", str(suite), "--gate", "--out", str(out), "-q", *args],
        env=env or MAIN_ENV,
        catch_exceptions=False,
    )
    return result.exit_code, result.output


def _outputs(out: Path) -> tuple[RunRecord, str, str, str]:
    return (
        RunRecord.load(out / "run.json"),
        (out / "summary.md").read_text(encoding="utf-8"),
        (out / "junit.xml").read_text(encoding="utf-8"),
        (out / "report.html").read_text(encoding="utf-8"),
    )


# --- defect 2: an unreachable MLflow switches the regression gate off --------------------------


def test_unreachable_mlflow_fails_closed_and_says_so(
    repo_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    monkeypatch.setenv("MLFLOW_TRACKING_URI", closed)
    suite = _suite(repo_root, tmp_path)
    with running_demo_bot() as url:
        code, output = _run(suite, tmp_path / "pr", "--base-url", url, env=PR_ENV)
    assert code == ExitCode.GATE_INCOMPLETE == 5, output
    assert "Traceback" not in output
    record, summary, junit, report = _outputs(tmp_path / "pr")
    gate = record.gate
    assert gate is not None and gate["verdict"] == "fail"
    assert gate["baseline_status"] == "unavailable"
    assert "MLflow" in gate["baseline_error"] and "127.0.0.1" in gate["baseline_error"]
    # Every regression rule says it was not checked, and a failed check says why.
    regressions = [r for r in gate["rules"] if r["kind"] == "regression"]
    assert regressions and all(r["passed"] is None for r in regressions)
    assert any(r["kind"] == "baseline" and r["passed"] is False for r in gate["rules"])
    # Plainly, in every output a person or a CI tool reads.
    assert summary.startswith("## ❌ FAIL (regression checks could not run)")
    assert "baseline UNAVAILABLE" in summary
    assert "no baseline (thresholds only)" not in summary
    assert 'type="baseline"' in junit and 'name="baseline_status" value="unavailable"' in junit
    assert "basislijn NIET BESCHIKBAAR" in report  # the Dutch report words the gate in Dutch


# --- defect 5: the gate passes when its checks cannot run ---------------------------------------


def test_no_shared_cases_with_the_baseline_is_not_a_pass(
    repo_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    suite = _suite(repo_root, tmp_path)
    rekeyed = _suite(repo_root, tmp_path, file_name="rekeyed.yaml", prefix="v2-")
    with running_demo_bot() as url:
        code, output = _run(suite, tmp_path / "main", "--base-url", url)
        assert code == 0, output  # the first run on main: no baseline yet, thresholds only
        main = RunRecord.load(tmp_path / "main" / "run.json")
        assert main.mlflow_run_id and main.gate and main.gate["baseline_status"] == "none"
        code, output = _run(rekeyed, tmp_path / "pr", "--base-url", url, env=PR_ENV)
    assert code == ExitCode.GATE_INCOMPLETE, output
    record, summary, junit, _report = _outputs(tmp_path / "pr")
    assert record.gate is not None
    assert record.gate["baseline_run_id"] == main.run_id
    assert record.gate["shared_cases"] == 0
    failed = [r for r in record.gate["rules"] if r["passed"] is False]
    assert [r["kind"] for r in failed] == ["baseline"]
    assert "shares no case id" in failed[0]["message"]
    assert "shares no case id" in summary and "--baseline none" in summary
    assert "shares no case id" in junit


def test_missing_baseline_file_is_not_a_pass(repo_root: Path, tmp_path: Path) -> None:
    typo = tmp_path / "ci" / "baselines" / "gate-rde.json"  # the file is gate-red.json
    suite = _suite(repo_root, tmp_path, baseline={"mlflow": False, "file": str(typo)})
    with running_demo_bot() as url:
        code, output = _run(suite, tmp_path / "pr", "--base-url", url, "--no-mlflow")
    assert code == ExitCode.GATE_INCOMPLETE, output
    record, summary, junit, report = _outputs(tmp_path / "pr")
    assert record.gate is not None and record.gate["baseline_status"] == "unavailable"
    err = record.gate["baseline_error"]
    assert str(typo) in err and "baseline.file" in err and "does not exist" in err
    assert "ragwacht baseline save" in err  # how to fix it
    assert "gate-rde.json" in summary and "baseline.file" in summary
    assert "basislijn NIET BESCHIKBAAR" in report and "gate-rde.json" in report
    assert 'name="baseline_status" value="unavailable"' in junit


def test_gate_command_refuses_another_suites_baseline_and_fails_closed_without_mlflow(
    repo_root: Path, tmp_path: Path
) -> None:
    suite = _suite(repo_root, tmp_path)
    other = _suite(repo_root, tmp_path, file_name="other.yaml", name="another-suite")
    with running_demo_bot() as url:
        assert _run(suite, tmp_path / "a", "--base-url", url, "--no-mlflow")[0] == 0
        assert _run(other, tmp_path / "b", "--base-url", url, "--no-mlflow")[0] == 0
    runner = CliRunner()
    res = runner.invoke(
        app,
        [
            "gate",
            str(tmp_path / "a" / "run.json"),
            "--policy",
            str(suite),
            "--baseline",
            str(tmp_path / "b" / "run.json"),
        ],
        catch_exceptions=False,
    )
    assert res.exit_code == ExitCode.CONFIG, res.output
    assert "another-suite/default" in res.output and "gate-red/default" in res.output
    assert "Traceback" not in res.output
    # --baseline mlflow with the tracking server down: fail closed (5), never a pass or a crash.
    res = runner.invoke(
        app,
        [
            "gate",
            str(tmp_path / "a" / "run.json"),
            "--policy",
            str(suite),
            "--baseline",
            "mlflow",
            "--markdown",
            str(tmp_path / "gate.md"),
            "--tracking-uri",
            f"http://127.0.0.1:{free_port()}",
        ],
        catch_exceptions=False,
    )
    assert res.exit_code == ExitCode.GATE_INCOMPLETE, res.output
    assert "baseline unavailable" in res.output
    assert "baseline UNAVAILABLE" in (tmp_path / "gate.md").read_text(encoding="utf-8")


# --- defect 6: a run that failed its gate becomes the next baseline -----------------------------


def test_a_run_that_failed_its_gate_never_becomes_the_baseline(
    repo_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    good = _suite(repo_root, tmp_path)
    degraded = _suite(repo_root, tmp_path, file_name="degraded.yaml", top_k=1)
    with running_demo_bot() as url:
        code, output = _run(good, tmp_path / "main1", "--base-url", url)
        assert code == 0, output
        first = RunRecord.load(tmp_path / "main1" / "run.json")
        # A regressed commit lands on main: its gate fails, and it is logged as such.
        code, output = _run(degraded, tmp_path / "main2", "--base-url", url)
        assert code == ExitCode.GATE_FAILED, output
        failed = RunRecord.load(tmp_path / "main2" / "run.json")
        assert failed.mlflow_run_id and failed.gate and failed.gate["verdict"] == "fail"
        # The next pull request is gated against the last run that passed, not the failed one.
        code, output = _run(good, tmp_path / "pr", "--base-url", url, env=PR_ENV)
    assert code == 0, output
    pr = RunRecord.load(tmp_path / "pr" / "run.json")
    assert pr.gate is not None
    assert pr.gate["baseline_run_id"] == first.run_id != failed.run_id
    assert pr.gate["baseline_source"] == f"MLflow run {first.mlflow_run_id}"


# --- defect 4, gate half: run --gate gates on cached answers of a dead endpoint ----------------


def test_gate_mode_calls_the_endpoint_and_states_cache_use(repo_root: Path, tmp_path: Path) -> None:
    suite = _suite(repo_root, tmp_path)
    with running_demo_bot() as url:
        port = url.rsplit(":", 1)[1]
        env = {**MAIN_ENV, "RAGWACHT_DEMO_PORT": port}
        # A run outside the gate fills the response cache (the profile's URL names the port).
        res = CliRunner().invoke(
            app,
            ["run", str(suite), "--out", str(tmp_path / "warm"), "-q", "--no-mlflow"],
            env=env,
            catch_exceptions=False,
        )
        assert res.exit_code == 0, res.output
        # Asked for explicitly, the gate may use the cache, and every output says so.
        code, output = _run(
            suite, tmp_path / "cached", "--cache", "--no-mlflow", "--baseline", "none", env=env
        )
        assert code == 0, output
        record, summary, junit, report = _outputs(tmp_path / "cached")
        assert all(c.response.cached for c in record.cases)
        assert record.gate is not None and record.gate["cached_responses"] == N_CASES
        stated = f"{N_CASES} of {N_CASES} answers"
        assert stated in summary and stated in junit
        assert f"{N_CASES} van {N_CASES} antwoorden" in report  # the report is in Dutch
        assert 'name="cached_responses" value="16"' in junit
    # The bot is gone now. By default the gate asks the endpoint, which does not answer:
    # the error budget is exceeded instead of a pass on yesterday's answers.
    code, output = _run(suite, tmp_path / "dead", "--no-mlflow", "--baseline", "none", env=env)
    assert code == ExitCode.ERROR_BUDGET, output
    dead = RunRecord.load(tmp_path / "dead" / "run.json")
    assert not any(c.response.cached for c in dead.cases)
    assert all(c.response.error for c in dead.cases)


# --- defect 3, scoring half: bounded scoring, Ctrl-C that stops and says how to resume ---------


def _plain_suite(tmp: Path, url: str, metrics: list[Any], judges: dict[str, Any], n: int) -> Path:
    """A suite of ``n`` cases against a loopback bot at ``url``, without a gate."""
    folder = tmp / "set"
    folder.mkdir()
    (folder / "dataset.yaml").write_text(
        "schema_version: 1\nname: probe\nversion: '1'\nlanguage: nl\n", encoding="utf-8"
    )
    rows = [
        {
            "id": f"case-{i}",
            "question": f"ok vraag {i}",
            "reference_answer": "De gemeente registreert adressen in de BAG.",
        }
        for i in range(n)
    ]
    (folder / "cases.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8"
    )
    profile = tmp / "bot.yaml"
    profile.write_text(
        yaml.safe_dump(
            {
                "schema_version": 1,
                "type": "http",
                "url": url,
                "response": {"answer": "$.answer", "contexts": "$.sources"},
            }
        ),
        encoding="utf-8",
    )
    suite = tmp / "probe.yaml"
    suite.write_text(
        yaml.safe_dump(
            {
                "schema_version": 1,
                "name": "probe",
                "dataset": str(folder),
                "endpoint": str(profile),
                "metrics": metrics,
                "judges": judges,
                "execution": {"concurrency": 2, "timeout_s": 10, "max_retries": 0},
            }
        ),
        encoding="utf-8",
    )
    return suite


class _HugeAnswerBot:
    """A hostile chatbot on loopback whose answer is far longer than anything worth scoring."""

    def __init__(self, chars: int) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        sentence = "De gemeente registreert adressen in de BAG en houdt die actueel. "
        answer = (sentence * (chars // len(sentence) + 1))[:chars]
        body = json.dumps(
            {"answer": answer, "sources": [{"doc_id": "bag-001", "text": answer}]}
        ).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length") or 0))
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/chat"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> _HugeAnswerBot:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_huge_answers_are_scored_on_a_documented_bound(tmp_path: Path) -> None:
    from ragwacht.evals.scoring import SCORING_MAX_CHARS

    chars = 10 * SCORING_MAX_CHARS
    with _HugeAnswerBot(chars) as bot:
        suite = _plain_suite(
            tmp_path,
            bot.url,
            ["answer_correctness", {"name": "faithfulness", "judge": "lex"}],
            {"lex": {"type": "lexical"}},
            n=2,
        )
        res = CliRunner().invoke(
            app,
            ["run", str(suite), "--out", str(tmp_path / "out"), "-q", "--no-mlflow"],
            catch_exceptions=False,
        )
    assert res.exit_code == 0, res.output
    record = RunRecord.load(tmp_path / "out" / "run.json")
    assert any(f"{SCORING_MAX_CHARS:,} characters" in w for w in record.warnings)
    for case in record.cases:
        assert len(case.response.answer or "") == chars  # the record keeps what was said
        assert case.metrics["answer_correctness"].value is not None
        claims = case.metrics["faithfulness"].details.get("claims") or []
        assert claims and sum(len(c["claim"]) for c in claims) <= SCORING_MAX_CHARS


def test_ctrl_c_while_scoring_stops_says_what_was_kept_and_resumes(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    from tests.helpers.fault_server import FaultServer
    from tests.helpers.judge_server import FakeJudgeServer, Reply

    hang = {"on": True}

    def judge(body: dict[str, Any]) -> Reply:
        # First a judge that never answers in time; after the interruption, one that fails.
        return Reply(status=200, content="{}", delay=600) if hang["on"] else Reply(status=500)

    srv = FakeJudgeServer(judge).start()
    try:
        with FaultServer() as bot:
            suite = _plain_suite(
                tmp_path,
                bot.url,
                ["refusal_correctness", {"name": "faithfulness", "judge": "slow"}],
                {
                    "slow": {
                        "type": "llm",
                        "base_url": srv.base_url,
                        "model": "fake",
                        "timeout_s": 900,
                        "max_retries": 0,
                    }
                },
                n=4,
            )
            out = tmp_path / "out"
            env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
            cmd = [sys.executable, "-m", "ragwacht", "run", str(suite), "--out", str(out)]
            proc = subprocess.Popen(
                [*cmd, "-q", "--no-mlflow"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=tmp_path,
            )
            deadline = time.monotonic() + 120  # a guard against a hang, not a measurement
            while not srv.requests:
                if proc.poll() is not None or time.monotonic() > deadline:
                    proc.kill()
                    pytest.fail(f"the run ended or stalled before scoring: {proc.communicate()}")
                time.sleep(0.05)
            proc.send_signal(signal.SIGINT)
            try:
                _, err_b = proc.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                pytest.fail("Ctrl-C did not stop scoring")
            err = " ".join(err_b.decode("utf-8", "replace").split())
            assert proc.returncode == ExitCode.INTERRUPTED == 130, err
            assert "Traceback" not in err
            assert "interrupted while scoring faithfulness" in err
            assert "all 4 responses are kept" in err and "refusal_correctness" in err
            assert "--resume" in err
            kept = [json.loads(x) for x in (out / "scores.jsonl").read_text().splitlines()]
            assert {(k["metric"], k["case_id"]) for k in kept} == {
                ("refusal_correctness", f"case-{i}") for i in range(4)
            }
            # Resumed: no endpoint call is repeated, the finished metric is taken from disk.
            hang["on"] = False
            bot.reset_counts()
            res = CliRunner().invoke(
                app,
                ["run", str(suite), "--out", str(out), "-q", "--no-mlflow", "--resume"],
                catch_exceptions=False,
            )
            assert res.exit_code == 0, res.output
            assert sum(bot.counts.values()) == 0
    finally:
        srv.stop()
    record = RunRecord.load(out / "run.json")
    by_case = {k["case_id"]: k["result"] for k in kept}
    for case in record.cases:
        assert case.metrics["refusal_correctness"].model_dump(mode="json") == by_case[case.case_id]
        assert case.metrics["faithfulness"].error  # the failing judge: not scored, never a score


# --- defect 17: a suite configuration conflict surfaces per case instead of at preflight -------


def test_metric_the_suite_cannot_feed_is_a_config_error_before_any_call(tmp_path: Path) -> None:
    from tests.helpers.fault_server import FaultServer

    with FaultServer() as bot:
        # consistency compares repeated answers, but the suite asks each question once.
        suite = _plain_suite(tmp_path, bot.url, ["refusal_correctness", "consistency"], {}, n=3)
        res = CliRunner().invoke(
            app,
            ["run", str(suite), "--out", str(tmp_path / "out"), "-q", "--no-mlflow"],
            catch_exceptions=False,
        )
        calls = sum(bot.counts.values())
    assert res.exit_code == ExitCode.CONFIG, res.output
    text = " ".join(res.output.split())
    assert "consistency" in text and "execution.repeats" in text
    assert "probe.yaml" in text and "field 'metrics.1'" in text and "line " in text
    assert "Traceback" not in res.output
    assert calls == 0  # refused before the chatbot was called
