"""Malformed input of every kind must end in a ConfigError (or load), never in a crash."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ragwacht.datasets import load_cases, load_golden_set, validate_golden_set, write_cases
from ragwacht.errors import ConfigError
from tests.helpers.datasets import MINI, PROPERTY, case_lists

FUZZ = settings(PROPERTY, max_examples=100)
SUFFIXES = [".jsonl", ".yaml", ".csv", ".xlsx"]
FIELDS = [
    "id",
    "question",
    "reference_answer",
    "expected_behavior",
    "tags",
    "gold_contexts",
    "history",
    "relevance",
    "doc_id",
    "role",
    "content",
    "cases",
    "name",
    "text",
]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=12,
)
records = st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=6)


def _loads_or_config_error(path: Path) -> None:
    try:
        cases = load_cases(path)
    except ConfigError as exc:
        assert exc.problems
        for p in exc.problems:
            assert p.message
            assert p.location.file == str(path)
            assert p.location.line is None or p.location.line >= 1
        report = validate_golden_set(path)
        assert not report.ok
    else:
        assert cases
        assert validate_golden_set(path).ok


@FUZZ
@given(st.binary(max_size=300), st.sampled_from(SUFFIXES))
def test_random_bytes(tmp_path: Path, raw: bytes, suffix: str) -> None:
    path = tmp_path / f"c{suffix}"
    path.write_bytes(raw)
    _loads_or_config_error(path)


@FUZZ
@given(case_lists, st.sampled_from(SUFFIXES), st.data())
def test_corrupted_valid_files(
    tmp_path: Path, cases: list[Any], suffix: str, data: st.DataObject
) -> None:
    path = write_cases(cases, tmp_path / f"c{suffix}")
    raw = bytearray(path.read_bytes())
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        # A position drawn independently of the file's length: XLSX bytes differ run to run
        # (timestamps), and hypothesis needs the same draws to replay an example.
        i = data.draw(st.integers(0, 2**20)) % max(len(raw), 1)
        byte = data.draw(st.integers(0, 255))
        chunk = data.draw(
            st.sampled_from([b'"', b"\n", b",", b";", b"[", b"{", b":", b"\xff", b"\x00", b"- "])
        )
        if op == "flip" and raw:
            raw[i] = byte
        elif op == "cut":
            del raw[i:]
        else:
            raw[i:i] = chunk
    path.write_bytes(bytes(raw))
    _loads_or_config_error(path)


@FUZZ
@given(st.lists(records | json_values, min_size=1, max_size=5))
def test_jsonl_of_arbitrary_json(tmp_path: Path, rows: list[Any]) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows), "utf-8")
    _loads_or_config_error(path)


@FUZZ
@given(st.lists(records | json_values, min_size=1, max_size=5) | json_values)
def test_yaml_of_arbitrary_data(tmp_path: Path, data: Any) -> None:
    path = tmp_path / "c.yaml"
    # JSON is YAML; also wrap in the {cases: ...} form half the time.
    path.write_text(json.dumps(data), "utf-8")
    _loads_or_config_error(path)
    path.write_text(json.dumps({"cases": data, "name": 3}), "utf-8")
    _loads_or_config_error(path)


@FUZZ
@given(
    st.lists(st.sampled_from([*FIELDS, "", "ID"]), min_size=1, max_size=8),
    st.lists(st.lists(st.text(max_size=12), max_size=9), max_size=5),
    st.sampled_from([",", ";", "\t"]),
)
def test_csv_of_arbitrary_cells(
    tmp_path: Path, header: list[str], rows: list[list[str]], sep: str
) -> None:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, delimiter=sep)
    writer.writerow(header)
    writer.writerows(rows)
    path = tmp_path / "c.csv"
    path.write_text(buf.getvalue(), "utf-8")
    _loads_or_config_error(path)


@settings(FUZZ, max_examples=60)
@given(st.binary(max_size=200), st.text(max_size=200))
def test_golden_set_folder_with_broken_manifest(tmp_path: Path, raw: bytes, text: str) -> None:
    folder = tmp_path / "s"
    folder.mkdir(exist_ok=True)
    (folder / "cases.jsonl").write_bytes((MINI / "cases.jsonl").read_bytes())
    for content in (raw, text.encode("utf-8")):
        (folder / "dataset.yaml").write_bytes(content)
        try:
            golden = load_golden_set(folder)
        except ConfigError as exc:
            assert exc.problems
        else:
            assert len(golden.cases) == 4


def test_deep_nesting_is_a_config_error(tmp_path: Path) -> None:
    # Deeper than Python's recursion limit; YAML kept just past it (PyYAML is slow there).
    for suffix, body in (
        (".jsonl", "[" * 100_000),
        (".yaml", "[" * 1_100),
        (".csv", "id,question,tags\na,b," + "[" * 100_000),
    ):
        path = tmp_path / f"deep{suffix}"
        path.write_text(body, "utf-8")
        with pytest.raises(ConfigError) as exc:
            load_cases(path)
        assert "nested too deeply" in str(exc.value) or suffix == ".yaml"


def test_a_file_whose_own_set_keys_are_wrong_does_not_load(tmp_path: Path) -> None:
    # Found by the fuzzer: cases that load beside a `name` that validation refuses.
    path = tmp_path / "c.yaml"
    path.write_text(json.dumps({"cases": [{"id": "0", "question": "0"}], "name": 3}), "utf-8")
    _loads_or_config_error(path)
    with pytest.raises(ConfigError, match="name"):
        load_cases(path)
