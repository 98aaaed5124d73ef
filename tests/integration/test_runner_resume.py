"""A run killed (SIGKILL) or interrupted (Ctrl-C) midway is resumed: only the missing cases
are called again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ragwacht.datasets.models import GoldenCase
from ragwacht.runners import ExecOptions, ResponseStore, profile_from_dict, run_cases_sync
from tests.helpers.fault_server import FaultServer

pytestmark = pytest.mark.integration

N = 30

CLIENT = """
import sys
from ragwacht.datasets.models import GoldenCase
from ragwacht.runners import ExecOptions, ResponseStore, profile_from_dict, run_cases_sync

url, store_path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
cases = [GoldenCase(id=f"case-{i:02d}", question=f"ok {i}") for i in range(n)]
prof = profile_from_dict({"type": "http", "url": url, "response": {"contexts": "$.sources"}})
run_cases_sync(prof, cases, options=ExecOptions(concurrency=2), store=ResponseStore(store_path),
               progress=False)
print("finished", flush=True)
"""


def _lines(path: Path) -> int:
    try:
        return sum(1 for line in path.read_text().splitlines() if line.strip())
    except FileNotFoundError:
        return 0


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["kill", "ctrl-c"])
def test_killed_run_resumes_calling_only_missing_cases(tmp_path: Path, sig: int) -> None:
    store_path = tmp_path / "run" / "responses.jsonl"
    script = tmp_path / "client.py"
    script.write_text(CLIENT)
    cases = [GoldenCase(id=f"case-{i:02d}", question=f"ok {i}") for i in range(N)]
    with FaultServer(latency_s=0.1) as srv:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        proc = subprocess.Popen(
            [sys.executable, str(script), srv.url, str(store_path), str(N)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 60
        while _lines(store_path) < 8:
            if proc.poll() is not None or time.monotonic() > deadline:
                out, err = proc.communicate()
                pytest.fail(f"client ended or stalled early: {out!r} {err!r}")
            time.sleep(0.02)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=10)
        if sig == signal.SIGKILL:
            assert proc.returncode == -signal.SIGKILL
        else:  # Ctrl-C ends the run at once; what arrived is kept, nothing else is reported
            assert proc.returncode != 0 and b"KeyboardInterrupt" in err, err[-2000:]
        called_before = set(srv.counts)

        stored = ResponseStore(store_path).load()
        done_ids = {k[0] for k, r in stored.items() if r.ok}
        assert 8 <= len(done_ids) < N
        # Calls in flight at the kill reached the server but were never stored.
        assert done_ids < {c.id for c in cases}
        assert {f"ok {int(i[-2:])}" for i in done_ids} <= called_before

        srv.reset_counts()
        rs = run_cases_sync(
            profile_from_dict(
                {"type": "http", "url": srv.url, "response": {"contexts": "$.sources"}}
            ),
            cases,
            options=ExecOptions(concurrency=4),
            store=ResponseStore(store_path),
            resume=True,
            progress=False,
        )
        resumed_calls = dict(srv.counts)

    missing = [c for c in cases if c.id not in done_ids]
    # Exactly the missing cases were called, each once; nothing finished was called again.
    assert resumed_calls == {c.question: 1 for c in missing}
    assert [r.case_id for r in rs] == [c.id for c in cases]
    assert all(r.ok for r in rs)
    final = ResponseStore(store_path).load()
    assert {k[0] for k, r in final.items() if r.ok} == {c.id for c in cases}
