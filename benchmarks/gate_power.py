"""False alarms and power of the default gate on simulated binary per-case scores.

An endpoint is simulated as per-case pass probabilities: a share ``flaky`` of the cases is
unstable (pass probability drawn from U(0.2, 0.8)), the others always pass (80%) or always
fail. The baseline is one run; each rerun draws fresh outcomes.

- false alarms: reruns of the unchanged endpoint that the default policy fails, per run, and
  the probability that 20 reruns against one baseline all pass;
- power: the share of runs after a true drop of 5 or 10 points (that many always-passing cases
  now always fail) that the gate fails.

For 0/1 scores the gate's sign-flip p-value is the exact binomial (McNemar) p-value, so the
decision is computed here in vectorised form; a sample of experiments is checked against
``ragwacht.ci.gate`` itself so the two cannot drift apart.

    python benchmarks/gate_power.py [--reps 2000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy.stats import binom

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.helpers.records import flaky_pass_probabilities, make_record

from ragwacht.ci import GatePolicy, gate

POLICY = GatePolicy()


def decide(base: np.ndarray, runs: np.ndarray) -> np.ndarray:
    """Gate failures (bool per run) for binary outcomes, as gate() decides for one metric."""
    d = runs.astype(int) - base.astype(int)
    lost, won = (d < 0).sum(axis=-1), (d > 0).sum(axis=-1)
    n = base.shape[-1]
    p = np.where(lost + won > 0, binom.cdf(won, lost + won, 0.5), 1.0)
    drop = (lost - won) / n
    return (drop > POLICY.max_drop + 1e-12) & (p <= POLICY.alpha)


def check_against_gate(rng: np.random.Generator, n: int, flaky: float, k: int = 30) -> None:
    for _ in range(k):
        p = flaky_pass_probabilities(n, rng, flaky=flaky)
        base = rng.random(n) < p
        run = rng.random(n) < p
        if rng.random() < 0.5:  # also check drops
            idx = np.flatnonzero(base)[: int(0.1 * n)]
            run[idx] = False
        rb = make_record({"correct": base.astype(float).tolist()}, run_id="b")
        rr = make_record({"correct": run.astype(float).tolist()})
        expected = bool(decide(base, run[None, :])[0])
        assert gate(rr, rb, POLICY).passed is (not expected)


def simulate(n: int, flaky: float, reps: int, rng: np.random.Generator) -> dict[str, float]:
    false_alarms = 0
    all_pass = 0
    caught = {0.05: 0, 0.10: 0}
    for _ in range(reps):
        p = flaky_pass_probabilities(n, rng, flaky=flaky)
        base = rng.random(n) < p
        reruns = rng.random((20, n)) < p
        fails = decide(base, reruns)
        false_alarms += int(fails.sum())
        all_pass += int(not fails.any())
        stable = np.flatnonzero(p == 1.0)
        for drop in caught:
            worse = p.copy()
            worse[rng.choice(stable, round(drop * n), replace=False)] = 0.0
            caught[drop] += int(decide(base, (rng.random(n) < worse)[None, :])[0])
    return {
        "fa_per_run": false_alarms / (20 * reps),
        "all20": all_pass / reps,
        "power5": caught[0.05] / reps,
        "power10": caught[0.10] / reps,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    check_against_gate(rng, 100, 0.1)
    print(f"default policy: alpha={POLICY.alpha}, max_drop={POLICY.max_drop}, one metric")
    print("cases flaky  flip%  FA/run   P(20 pass)  power 5pt  power 10pt")
    for n in (50, 100, 500):
        for flaky in (0.05, 0.1, 0.2):
            r = simulate(n, flaky, args.reps, rng)
            print(
                f"{n:5d} {flaky:5.2f} {44 * flaky:5.1f}  {r['fa_per_run']:.4f}   "
                f"{r['all20']:.3f}       {r['power5']:.3f}      {r['power10']:.3f}"
            )
    print(f"({args.reps} repetitions per row, {time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
