"""Run the demo suite locally and on a two-node Ray cluster, one worker killed mid-run.

Run by ``tests/integration/test_ray_engine.py`` inside a fresh network namespace (``unshare
-n``) that has only the loopback interface: Ray advertises and binds the machine's routable
address when it has one, so the namespace is what keeps every Ray server on 127.0.0.1. Here:

1. a Ray head and a second worker node (``ray start``), each with one CPU;
2. the demo bot on loopback, behind a small delay so a run takes a few seconds;
3. the suite with ``engine: local``, then with ``engine: ray`` (two call actors, spread over
   the nodes), then with ``engine: ray`` again while one call actor's process is killed after
   a third of the responses are in.

Writes a JSON summary (per-case results of each run, who answered, what was lost) to argv[1].
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "src"))

from ragwacht.demo import BotServer  # noqa: E402
from ragwacht.evals.run import RunOptions, run_suite  # noqa: E402
from ragwacht.records import RunRecord  # noqa: E402
from tests.helpers.demo_bot import demo_bot  # noqa: E402

DELAY_S = 0.15
CASES = 24
RAY = str(Path(sys.executable).with_name("ray"))


class SlowBot:
    """The demo bot, answering after a short delay (so a worker can die mid-run)."""

    def __init__(self, bot: Any) -> None:
        self.bot = bot

    def respond(self, request: Any) -> Any:
        time.sleep(DELAY_S)
        return self.bot.respond(request)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.bot, name)


def _suite(tmp: Path, engine: str, port: int) -> Path:
    data = yaml.safe_load((REPO / "evals" / "registers-demo.yaml").read_text(encoding="utf-8"))
    data["dataset"] = str(REPO / "datasets" / "registers-demo")
    data["endpoint"] = str(REPO / "runners" / "demo-bot.yaml")
    # Metrics that depend on the answer and sources only (latency differs from run to run).
    data["metrics"] = ["recall@5", "mrr", "refusal_correctness", "faithfulness"]
    data.pop("judges", None)
    data.pop("gate", None)
    data["baseline"] = {"mlflow": False}
    data["execution"] = {
        "concurrency": 4,
        "max_retries": 3,
        "engine": engine,
        "ray": {"address": f"127.0.0.1:{port}", "actors": 2},
    }
    path = tmp / f"suite-{engine}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _results(rec: RunRecord) -> dict[str, Any]:
    return {
        c.case_id: {
            "answer": c.response.answer,
            "error": c.response.error,
            "attempts": c.response.attempts,
            "metrics": {m: r.value for m, r in sorted(c.metrics.items())},
        }
        for c in rec.cases
    }


def _actor_pids() -> list[int]:
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True, check=True)
    return [int(line.split()[0]) for line in out.stdout.splitlines() if "ray::_CallActor" in line]


def main() -> None:
    out_file = Path(sys.argv[1])
    tmp = Path(tempfile.mkdtemp(prefix="rwray"))
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 46379
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    summary: dict[str, Any] = {}
    server = None
    try:
        head = [RAY, "start", "--head", "--port", str(port), "--num-cpus", "1",
                "--include-dashboard", "false", "--disable-usage-stats",
                "--temp-dir", str(tmp / "r"),
                "--ray-client-server-port", str(port + 1)]  # fmt: skip
        subprocess.run(head, env=env, check=True, capture_output=True, timeout=180)
        worker = [RAY, "start", "--address", f"127.0.0.1:{port}", "--num-cpus", "1",
                  "--disable-usage-stats"]  # fmt: skip
        subprocess.run(worker, env=env, check=True, capture_output=True, timeout=180)
        os.environ["RAY_ADDRESS"] = f"127.0.0.1:{port}"
        import ray

        ray.init(address=f"127.0.0.1:{port}", log_to_driver=False, include_dashboard=False)
        summary["nodes"] = sum(1 for n in ray.nodes() if n.get("Alive"))
        server = BotServer(SlowBot(demo_bot()))  # type: ignore[arg-type]
        url = server.start()

        def run(engine: str, out: str) -> RunRecord:
            return run_suite(
                _suite(tmp, engine, port),
                RunOptions(
                    out_dir=tmp / out,
                    mlflow=False,
                    progress=False,
                    base_url=url,
                    refresh=True,
                    limit=CASES,
                    write_report=False,
                ),
            ).record

        summary["local"] = _results(run("local", "local"))
        rec = run("ray", "ray")
        summary["ray"] = _results(rec)

        # Again, and kill one call actor's process once a third of the answers are in.
        killed: list[int] = []

        def killer() -> None:
            store = tmp / "ray-killed" / "responses.jsonl"
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                done = store.read_text("utf-8").count("\n") if store.is_file() else 0
                pids = _actor_pids()
                if done >= CASES // 3 and pids:
                    os.kill(pids[0], signal.SIGKILL)
                    killed.append(done)
                    return
                time.sleep(0.05)

        t = threading.Thread(target=killer, daemon=True)
        t.start()
        rec = run("ray", "ray-killed")
        t.join(5)
        summary["killed_after"] = killed
        summary["ray_killed"] = _results(rec)
    finally:
        if server is not None:
            server.stop()
        subprocess.run([RAY, "stop", "--force"], env=env, capture_output=True, timeout=120)
        shutil.rmtree(tmp, ignore_errors=True)
        out_file.write_text(json.dumps(summary), encoding="utf-8")


if __name__ == "__main__":
    main()
