"""No false alarms on a real nondeterministic endpoint.

The demo bot at temperature 1 (no seed) answers differently on every call, within the same
quality: supporting sentences are kept or dropped at random and shuffled. Twenty fresh reruns
(no response cache) gated against the same baseline must all pass. The companion property
test with simulated per-case outcomes, and the check that a true 10-point drop on 100 cases
fails, are in tests/unit/test_gate.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ragwacht.evals.run import RunOptions, run_suite
from ragwacht.evals.spec import load_suite
from ragwacht.records import RunRecord
from tests.helpers.demo_bot import running_demo_bot

pytestmark = [pytest.mark.integration, pytest.mark.slow]

RERUNS = 20


def _noisy_suite(repo: Path, tmp: Path) -> Path:
    data = yaml.safe_load((repo / "evals" / "registers-demo.yaml").read_text(encoding="utf-8"))
    data["dataset"] = str(repo / "datasets" / "registers-demo")
    data["endpoint"] = str(repo / "runners" / "demo-bot.yaml")
    data["variants"] = {
        "default": {"fields": {"retrieval": "hybrid", "reranker": True, "temperature": 1.0}}
    }
    # The answer-level metrics are the ones the randomness moves.
    data["metrics"] = [
        "recall@5",
        "mrr",
        {"name": "faithfulness", "judge": "primary"},
        {"name": "hallucination_rate", "judge": "primary"},
        {"name": "citation_correctness", "judge": "primary"},
        "answer_correctness",
        "refusal_correctness",
    ]
    data["gate"] = {
        "rules": [{"metric": m if isinstance(m, str) else m["name"]} for m in data["metrics"]]
    }
    data["baseline"] = {"mlflow": False, "file": str(tmp / "baseline.json")}
    path = tmp / "noisy.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_twenty_reruns_of_a_nondeterministic_bot_all_pass(repo_root: Path, tmp_path: Path) -> None:
    spec = load_suite(_noisy_suite(repo_root, tmp_path))
    with running_demo_bot() as url:

        def run(i: int) -> RunRecord:
            return run_suite(
                spec,
                RunOptions(
                    out_dir=tmp_path / f"run{i}",
                    gate=True,
                    mlflow=False,
                    refresh=True,  # a fresh answer every time
                    base_url=url,
                    progress=False,
                    write_report=False,
                ),
            ).record

        baseline = run(0)
        baseline.save(tmp_path / "baseline.json")
        answers = [{c.case_id: c.response.answer for c in baseline.cases}]
        verdicts = []
        for i in range(1, RERUNS + 1):
            rec = run(i)
            assert rec.gate is not None
            verdicts.append((rec.gate["verdict"], rec.gate.get("headline")))
            answers.append({c.case_id: c.response.answer for c in rec.cases})
    # The endpoint really is nondeterministic ...
    changed = sum(1 for cid, a in answers[1].items() if a != answers[0][cid])
    assert changed >= 10, f"only {changed} answers changed between two runs"
    # ... and the gate stays green on every rerun.
    failures = [v for v in verdicts if v[0] != "pass"]
    assert not failures, failures
