"""``execution.engine: ray`` on a real two-node Ray cluster on loopback.

Ray advertises and binds the machine's routable address whenever it has one, so the cluster
runs in a fresh network namespace (``unshare -n``) whose only interface is loopback: every Ray
server, the demo bot and the driver are on 127.0.0.1 there. The work is in
``tests/helpers/ray_cluster_check.py``: a head plus a second worker node, the demo suite run
locally and on Ray, and on Ray again with one call actor's process killed mid-run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]


def _netns_reason() -> str | None:
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return "needs unshare and ip (util-linux, iproute2) for a loopback-only network"
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, timeout=30)
    if probe.returncode != 0:
        return "cannot create a network namespace here (unshare -n needs CAP_SYS_ADMIN)"
    return None


def _strip(results: dict[str, dict]) -> dict[str, tuple]:
    return {k: (v["answer"], v["error"], v["metrics"]) for k, v in results.items()}


def test_ray_cluster_gives_the_local_results_and_survives_a_dead_worker(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    reason = _netns_reason()
    if reason:
        pytest.skip(reason)
    out = tmp_path / "ray.json"
    script = (
        f"ip link set lo up && exec {sys.executable} "
        f"{REPO / 'tests' / 'helpers' / 'ray_cluster_check.py'} {out} 46379"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "RAY_"))}
    proc = subprocess.run(
        ["unshare", "-n", "sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=480,
        env=env,
    )
    assert out.is_file(), proc.stdout[-3000:] + proc.stderr[-3000:]
    got = json.loads(out.read_text(encoding="utf-8"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert got["nodes"] == 2
    local = _strip(got["local"])
    assert len(local) == 24 and not any(v[1] for v in local.values())
    # The same per-case answers and scores, whichever engine called the endpoint.
    assert _strip(got["ray"]) == local
    # A call actor killed after a third of the answers: nothing lost, the run completes,
    # and the calls it had in flight were asked again.
    assert got["killed_after"] and got["killed_after"][0] >= 8
    assert _strip(got["ray_killed"]) == local
    assert any(v["attempts"] > 1 for v in got["ray_killed"].values())
