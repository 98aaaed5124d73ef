"""CPU and wall seconds of tests/integration/test_gate_noise.py at an older commit and now.

Both run in this invocation, one after the other, from the same virtual environment: the
older tree is checked out into a temporary git worktree and imported through PYTHONPATH.

    .venv/bin/python benchmarks/gate_noise_speed.py --before 7a1602f^

The default ``--before`` is the last commit before the embedding cache of answer_correctness.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEST = "tests/integration/test_gate_noise.py"


def _measure(tree: Path) -> tuple[float, float, int]:
    env = {
        **os.environ,
        "PYTHONPATH": str(tree / "src"),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "RAGAS_DO_NOT_TRACK": "true",
        "DEEPEVAL_TELEMETRY_OPT_OUT": "1",
        "MLFLOW_DISABLE_TELEMETRY": "true",
    }
    # An older tree may predate the pytest plugin the environment registers: leave it out.
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    cmd += ["-p", "no:ragwacht.pytest_plugin", TEST]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    rc = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, check=False).returncode
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall, rc


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--before", default="7a1602f^", help="git revision to compare with")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as td:
        old = Path(td) / "before"
        subprocess.run(
            ["git", "worktree", "add", "-q", "--detach", str(old), args.before],
            cwd=ROOT,
            check=True,
        )
        try:
            rows = [(args.before, *_measure(old)), ("this tree", *_measure(ROOT))]
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(old)], cwd=ROOT)
    print(f"{'tree':<12} {'CPU s':>8} {'wall s':>8}  exit")
    for name, cpu, wall, rc in rows:
        print(f"{name:<12} {cpu:8.1f} {wall:8.1f}  {rc}")
    (_, c0, w0, _), (_, c1, w1, _) = rows
    print(f"ratio        {c0 / c1:8.2f}x {w0 / w1:7.2f}x")
    return 0 if all(r[3] == 0 for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
