"""Schema-3 run records: one case per line, still one JSON document, cases read on demand."""

from __future__ import annotations

import json
import tracemalloc

import pytest

from ragwacht.errors import ConfigError
from ragwacht.records import SCHEMA_VERSION, RunRecord
from ragwacht.records.cases import HEADER, CaseFile
from tests.helpers.records import make_record


def _record(n: int = 5, **kw) -> RunRecord:
    values = {
        "faithfulness": [i / max(1, n) for i in range(n)],
        "latency_ms": [100.0 + i for i in range(n)],
    }
    return make_record(values, **kw)


def test_saved_record_is_one_json_document_with_one_case_per_line(tmp_path) -> None:
    rec = _record(4, answers=["een\nregel", "twee\u2028drie", '"}\n],{"x":1}', None])
    path = rec.save(tmp_path / "run.json")
    raw = path.read_bytes()
    assert raw.startswith(HEADER)
    lines = raw.split(b"\n")
    assert len(lines) == 1 + 4 + 1 + 1  # header, cases, trailer, final newline
    assert lines[-2].startswith(b"],")
    doc = json.loads(raw)
    assert doc["schema_version"] == SCHEMA_VERSION == 3
    assert doc == json.loads(rec.model_dump_json())
    assert [c["response"]["answer"] for c in doc["cases"]][:3] == [
        "een\nregel",
        "twee\u2028drie",
        '"}\n],{"x":1}',
    ]


def test_loaded_cases_stay_on_disk_and_read_like_a_list(tmp_path) -> None:
    rec = _record(6)
    loaded = RunRecord.load(rec.save(tmp_path / "run.json"))
    assert isinstance(loaded.cases, CaseFile)
    assert len(loaded.cases) == 6
    assert loaded.cases == rec.cases
    assert loaded.cases[0] == rec.cases[0]
    assert loaded.cases[-1] == rec.cases[-1]
    assert loaded.cases[1:3] == rec.cases[1:3]
    assert [c.case_id for c in loaded.cases] == [c.case_id for c in rec.cases]
    assert loaded.summary == rec.summary and loaded.manifest == rec.manifest
    with pytest.raises(IndexError):
        loaded.cases[6]
    assert loaded.model_dump() == rec.model_dump()


def test_saving_a_loaded_record_again_copies_its_cases_unchanged(tmp_path) -> None:
    first = _record(5).save(tmp_path / "a.json")
    loaded = RunRecord.load(first)
    loaded.warnings.append("gated")
    second = loaded.save(tmp_path / "b.json")
    assert first.read_bytes().split(b"\n")[:6] == second.read_bytes().split(b"\n")[:6]
    assert loaded.cases.path == second  # now read from the copy
    again = RunRecord.load(second)
    assert again.warnings == ["gated"] and again.cases == RunRecord.load(first).cases
    # Saving over its own file keeps the cases too.
    again.save(second)
    assert RunRecord.load(second).cases == again.cases


def test_schema_2_record_is_read_whole_and_saved_as_schema_3(tmp_path) -> None:
    rec = _record(3)
    doc = json.loads(rec.model_dump_json())
    doc["schema_version"] = 2
    old = tmp_path / "old.json"
    old.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    loaded = RunRecord.load(old)
    assert isinstance(loaded.cases, list) and loaded.cases == rec.cases
    assert loaded.schema_version == 3
    new = loaded.save(tmp_path / "new.json")
    assert new.read_bytes().startswith(HEADER)
    assert RunRecord.load(new).cases == rec.cases


def test_record_without_cases(tmp_path) -> None:
    rec = make_record({"faithfulness": []})
    loaded = RunRecord.load(rec.save(tmp_path / "run.json"))
    assert len(loaded.cases) == 0 and list(loaded.cases) == []
    assert json.loads((tmp_path / "run.json").read_text())["cases"] == []


def test_cut_record_is_refused_naming_the_line(tmp_path) -> None:
    path = _record(4).save(tmp_path / "run.json")
    lines = path.read_bytes().split(b"\n")
    path.write_bytes(b"\n".join(lines[:4]) + b"\n")  # the run died after three cases
    with pytest.raises(ConfigError, match="cut") as info:
        RunRecord.load(path)
    assert info.value.first.location.file == path
    assert info.value.first.location.line == 4


def test_broken_case_line_is_named_when_it_is_read(tmp_path) -> None:
    path = _record(3).save(tmp_path / "run.json")
    lines = path.read_bytes().split(b"\n")
    lines[2] = b',{"case_id": 7}'
    path.write_bytes(b"\n".join(lines))
    rec = RunRecord.load(path)  # the layout is fine; the case is checked when it is read
    assert rec.cases[0].case_id
    with pytest.raises(ConfigError, match="invalid case") as info:
        rec.cases[1]
    assert info.value.first.location.line == 3
    assert "cases[1]" in (info.value.first.location.field or "")


def test_case_lines_without_separators_are_refused(tmp_path) -> None:
    path = _record(3).save(tmp_path / "run.json")
    raw = path.read_bytes().replace(b"\n,{", b"\n{", 1)
    path.write_bytes(raw)
    with pytest.raises(ConfigError, match="malformed") as info:
        RunRecord.load(path)
    assert info.value.first.location.line == 3


def test_reading_cases_one_at_a_time_does_not_hold_them(tmp_path) -> None:
    n = 3000
    path = make_record(
        {"faithfulness": [0.5] * n}, answers=["Het antwoord is een lange zin. " * 20] * n
    ).save(tmp_path / "run.json")

    def peak(fn) -> int:
        tracemalloc.start()
        try:
            fn()
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    def stream() -> None:
        total = sum(c.metrics["faithfulness"].value or 0 for c in RunRecord.load(path).cases)
        assert total == pytest.approx(0.5 * n)

    def whole() -> None:
        assert len(list(RunRecord.load(path).cases)) == n

    assert peak(stream) * 10 < peak(whole)
