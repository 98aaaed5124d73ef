"""The ground-floor record models: metric status, schema upgrade, one atomic writer."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from pydantic import ValidationError

from ragwacht._io import write_atomic
from ragwacht.ci import GatePolicy, gate
from ragwacht.ci.cases import is_not_applicable
from ragwacht.records import SCHEMA_VERSION, GateResult, MetricResult, MetricStatus, RunRecord

ROOT = Path(__file__).resolve().parents[2]
DEMO_BASELINE = ROOT / "ci" / "baselines" / "registers-demo.json"


def test_status_follows_value_and_legacy_error_flag() -> None:
    assert MetricResult(metric="m", value=0.5).status is MetricStatus.SCORED
    assert (
        MetricResult(metric="m", value=None, reason="no answer").status is MetricStatus.NOT_SCORED
    )
    failed = MetricResult(metric="m", value=None, reason="judge timed out", error=True)
    assert failed.status is MetricStatus.ERROR and failed.error
    assert "error" not in failed.model_dump()


@pytest.mark.parametrize(
    ("value", "status"),
    [(0.5, MetricStatus.ERROR), (None, MetricStatus.SCORED), (1.0, MetricStatus.NOT_APPLICABLE)],
)
def test_status_that_contradicts_the_value_is_refused(value, status) -> None:
    with pytest.raises(ValidationError, match="does not fit value"):
        MetricResult(metric="m", value=value, status=status)


def test_schema_1_record_loads_with_statuses_from_its_reasons(tmp_path) -> None:
    raw = json.loads(DEMO_BASELINE.read_text(encoding="utf-8"))
    assert raw["schema_version"] == 1
    rec = RunRecord.load(DEMO_BASELINE)
    assert rec.schema_version == SCHEMA_VERSION
    by_reason: dict[str, set[MetricStatus]] = {}
    for case in rec.cases:
        for m in case.metrics.values():
            if m.value is None:
                by_reason.setdefault((m.reason or "")[:25], set()).add(m.status)
    assert by_reason["case has no gold_contexts"] == {MetricStatus.NOT_APPLICABLE}
    assert by_reason["case expects a refusal"] == {MetricStatus.NOT_SCORED}
    # saved again, it is a current record and reads back the same
    again = RunRecord.load(rec.save(tmp_path / "run.json"))
    assert again == rec
    assert json.loads((tmp_path / "run.json").read_text())["schema_version"] == SCHEMA_VERSION


def test_upgraded_baseline_gates_like_itself() -> None:
    rec = RunRecord.load(DEMO_BASELINE)
    res = gate(rec, rec, GatePolicy())
    assert res.passed
    # not-applicable cases stay out of the scored fraction after the upgrade
    case = next(
        c for c in rec.cases if "recall@5" in c.metrics and not c.metrics["recall@5"].scored
    )
    assert is_not_applicable(case, case.metrics["recall@5"])


# Fields the gate result gained after its first stored form (the gate of schema-1 records).
LATER_GATE_FIELDS = (
    "baseline_variant",
    "baseline_status",
    "baseline_source",
    "baseline_error",
    "cached_responses",
    "conversations",
    "conversations_passed",
    "turns",
    "notes",
)


def test_schema_1_record_with_a_stored_gate_loads_it_as_a_gate_result(tmp_path) -> None:
    raw = json.loads(DEMO_BASELINE.read_text(encoding="utf-8"))
    assert raw["schema_version"] == 1 and raw["gate"] is None
    # The real gate's result for the record, stored in its first form (as a dict, without
    # the fields added since), as a schema-1 record written by an early version holds it.
    result = gate(RunRecord.load(DEMO_BASELINE), None, GatePolicy())
    stored = result.model_dump(mode="json")
    for name in LATER_GATE_FIELDS:
        stored.pop(name)
    for gm in stored["metrics"]:
        gm.pop("min_detectable_paired")
    assert all(r["kind"] != "baseline" for r in stored["rules"])
    raw["gate"] = stored
    path = tmp_path / "old.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    rec = RunRecord.load(path)
    assert isinstance(rec.gate, GateResult)
    assert rec.gate.verdict == result.verdict and rec.gate.rules == result.rules
    assert rec.gate.notes == [] and rec.gate.baseline_status is None
    assert rec.gate.metrics[0].min_detectable_paired is False
    # the read-only mapping access reads it as the dict form did
    assert rec.gate["verdict"] == stored["verdict"]
    assert [r["passed"] for r in rec.gate["rules"]] == [r["passed"] for r in stored["rules"]]
    assert rec.gate.get("headline") == stored["headline"] and rec.gate.get("reasons") is None
    assert rec.gate["metrics"][0]["metric"] == stored["metrics"][0]["metric"]
    with pytest.raises(KeyError):
        rec.gate["flipped"]
    # saved again, the gate is written in the current form and reads back the same
    again = RunRecord.load(rec.save(tmp_path / "new.json"))
    assert again.gate == rec.gate


def test_unknown_schema_version_is_refused(tmp_path) -> None:
    raw = json.loads(DEMO_BASELINE.read_text(encoding="utf-8"))
    raw["schema_version"] = 99
    p = tmp_path / "r.json"
    p.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(Exception, match="schema_version 99 is not supported"):
        RunRecord.load(p)


def test_write_atomic_modes_and_no_leftovers(tmp_path) -> None:
    target = tmp_path / "a" / "b.txt"
    write_atomic(target, "tekst é")
    assert target.read_text(encoding="utf-8") == "tekst é"
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask
    write_atomic(target, b"bytes", private=True)
    assert target.read_bytes() == b"bytes" and stat.S_IMODE(target.stat().st_mode) == 0o600
    write_atomic(target, lambda fh: fh.write(b"streamed"), fsync=False)
    assert target.read_bytes() == b"streamed"

    def boom(fh):
        fh.write(b"half")
        raise RuntimeError("disk gone")

    with pytest.raises(RuntimeError):
        write_atomic(target, boom)
    assert target.read_bytes() == b"streamed"
    assert sorted(p.name for p in target.parent.iterdir()) == ["b.txt"]
