from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import openpyxl
import pytest
import yaml
from hypothesis import given, settings

from ragwacht.datasets import (
    GoldenCase,
    GoldenSet,
    digest_cases,
    export_golden_set,
    import_golden_set,
    load_cases,
    load_golden_set,
    save_golden_set,
    write_cases,
)
from ragwacht.datasets._cells import decode_cell, encode_cell
from ragwacht.errors import ConfigError
from tests.helpers.datasets import DATA, MINI, MINI_DIGEST, PROPERTY, case_lists, plain_cases


def _roundtrip(tmp_path: Path, cases: list[GoldenCase], suffix: str) -> list[GoldenCase]:
    path = write_cases(cases, tmp_path / f"cases{suffix}")
    return load_cases(path)


# ----------------------------------------------------------------------- lossless round trips


@PROPERTY
@given(case_lists)
def test_jsonl_round_trip(tmp_path: Path, cases: list[GoldenCase]) -> None:
    back = _roundtrip(tmp_path, cases, ".jsonl")
    assert back == cases
    assert digest_cases(back) == digest_cases(cases)


@PROPERTY
@given(case_lists)
def test_csv_round_trip(tmp_path: Path, cases: list[GoldenCase]) -> None:
    back = _roundtrip(tmp_path, cases, ".csv")
    assert back == cases
    assert digest_cases(back) == digest_cases(cases)


@settings(PROPERTY, max_examples=40)
@given(case_lists)
def test_xlsx_round_trip(tmp_path: Path, cases: list[GoldenCase]) -> None:
    back = _roundtrip(tmp_path, cases, ".xlsx")
    assert back == cases
    assert digest_cases(back) == digest_cases(cases)


@settings(PROPERTY, max_examples=60)
@given(case_lists)
def test_yaml_round_trip(tmp_path: Path, cases: list[GoldenCase]) -> None:
    back = _roundtrip(tmp_path, cases, ".yaml")
    assert back == cases


@settings(PROPERTY, max_examples=25)
@given(case_lists)
def test_csv_to_xlsx_to_jsonl_chain(tmp_path: Path, cases: list[GoldenCase]) -> None:
    a = _roundtrip(tmp_path, cases, ".csv")
    b = _roundtrip(tmp_path, a, ".xlsx")
    c = _roundtrip(tmp_path, b, ".jsonl")
    assert digest_cases(c) == digest_cases(cases)


@settings(PROPERTY, max_examples=30)
@given(case_lists)
def test_readable_cells_use_short_forms(tmp_path: Path, cases: list[GoldenCase]) -> None:
    # Whatever the content, a cell is either the short form or JSON that reads back exactly.
    for case in cases:
        data = case.model_dump(mode="json")
        for col in ("tags", "gold_contexts"):
            cell = encode_cell(col, data[col])
            if cell:
                back = decode_cell(col, cell)
                if col == "gold_contexts":
                    back = [{"relevance": 1, "text": None, **b} for b in back]
                assert back == data[col]


# --------------------------------------------------------------------- hand-written fixtures


@pytest.mark.parametrize("name", ["mini", "mini.csv", "mini.yaml"])
def test_hand_written_formats_agree(name: str) -> None:
    # mini.csv is written the way Dutch Excel saves: BOM, ';' separator, short list forms.
    assert load_golden_set(DATA / name).digest == MINI_DIGEST


def test_mini_fields() -> None:
    golden = load_golden_set(MINI)
    assert golden.manifest.name == "mini"
    assert golden.manifest.licence == "EUPL-1.2"
    by_id = golden.by_id()
    assert [c.id for c in golden.cases] == ["woz-001", "bag-001", "brk-en-001", "weer-001"]
    assert [(g.doc_id, g.relevance) for g in by_id["woz-001"].gold_contexts] == [
        ("woz-02", 1),
        ("woz-07", 2),
    ]
    assert by_id["brk-en-001"].gold_contexts[0].doc_id == "brk:03"
    assert by_id["weer-001"].expected_behavior.value == "refuse"
    assert by_id["weer-001"].history[1].role == "assistant"


def test_yaml_single_file_carries_manifest() -> None:
    golden = load_golden_set(DATA / "mini.yaml")
    assert golden.manifest.name == "mini"
    assert golden.manifest.description.startswith("Vier vragen")


def test_single_jsonl_file_is_a_set_named_after_it() -> None:
    golden = load_golden_set(MINI / "cases.jsonl")
    assert golden.manifest.name == "cases"
    assert golden.digest == MINI_DIGEST


def test_dataset_yaml_path_means_its_folder() -> None:
    assert load_golden_set(MINI / "dataset.yaml").manifest.name == "mini"


def test_yaml_plain_list(tmp_path: Path) -> None:
    p = tmp_path / "c.yml"
    p.write_text("- id: a\n  question: Waar?\n- id: b\n  question: Wie?\n", "utf-8")
    assert [c.id for c in load_cases(p)] == ["a", "b"]


def test_csv_comma_and_tab_separators(tmp_path: Path) -> None:
    for sep in (",", "\t"):
        p = tmp_path / "c.csv"
        p.write_text(
            sep.join(["id", "question", "tags"]) + "\n" + sep.join(["a", "Waar?", "x:1; y"]) + "\n",
            "utf-8",
        )
        [case] = load_cases(p)
        assert case.tags == ["x:1", "y"]


def test_csv_header_is_case_insensitive_and_empty_cells_are_absent(tmp_path: Path) -> None:
    p = tmp_path / "c.csv"
    p.write_text("ID, Question ,Reference_Answer,expected_behavior\na,Waar?,,\n", "utf-8")
    [case] = load_cases(p)
    assert case.reference_answer is None
    assert case.expected_behavior.value == "answer"


def test_xlsx_numbers_dates_and_gaps(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["id", "question", "tags"])
    ws.append([12, "Hoeveel?", None])
    ws.append([None, None, None])  # an empty row in the middle is skipped
    ws.append([3.0, 1.5, "a;b"])
    p = tmp_path / "c.xlsx"
    wb.save(p)
    cases = load_cases(p)
    assert [(c.id, c.question, c.tags) for c in cases] == [
        ("12", "Hoeveel?", []),
        ("3", "1.5", ["a", "b"]),
    ]


def test_xlsx_keeps_formula_like_text_and_escapes(tmp_path: Path) -> None:
    case = GoldenCase(id="f-1", question="=SOM(A1)", reference_answer="a\r\nb _x0041_ \x07")
    p = write_cases([case], tmp_path / "c.xlsx")
    ws = openpyxl.load_workbook(p).active
    assert ws["B2"].data_type == "s"  # text, not a formula
    # Stored the way Excel stores it: \r and \x07 as _xHHHH_, a literal "_x0041_" escaped.
    assert ws["C2"].value == "a_x000D_\nb _x005F_x0041_ _x0007_"
    assert load_cases(p) == [case]


def test_csv_output_is_excel_friendly(tmp_path: Path) -> None:
    cases = load_golden_set(MINI).cases
    raw = write_cases(cases, tmp_path / "c.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0]["tags"] == "topic:woz; lang:nl; difficulty:easy"
    assert rows[0]["gold_contexts"] == "woz-02; woz-07:2"
    assert rows[2]["gold_contexts"] == "brk:03:1"  # a colon in the id needs the grade
    assert json.loads(rows[1]["gold_contexts"])[0]["text"].startswith("De BAG")
    assert rows[3]["reference_answer"] == ""


def test_jsonl_output_is_compact_and_readable(tmp_path: Path) -> None:
    p = write_cases(load_golden_set(MINI).cases, tmp_path / "c.jsonl")
    first = json.loads(p.read_text("utf-8").splitlines()[0])
    assert list(first)[:4] == ["id", "question", "reference_answer", "expected_behavior"]
    assert first["gold_contexts"][0] == {"doc_id": "woz-02"}  # defaults left out


def test_yaml_output_is_plain_list(tmp_path: Path) -> None:
    p = write_cases(load_golden_set(MINI).cases, tmp_path / "c.yaml")
    data = yaml.safe_load(p.read_text("utf-8"))
    assert data[0]["id"] == "woz-001"
    assert "Hoe wordt" in p.read_text("utf-8")  # unicode-friendly, not escaped


# ------------------------------------------------------------------------ sets, import, export


@settings(PROPERTY, max_examples=15)
@given(plain_cases.map(lambda c: [c]))
def test_save_and_load_golden_set(tmp_path: Path, cases: list[GoldenCase]) -> None:
    golden = GoldenSet(manifest={"name": "x", "owner": "team"}, cases=cases)
    save_golden_set(golden, tmp_path / "set")
    back = load_golden_set(tmp_path / "set")
    assert back.manifest == golden.manifest
    assert back.digest == golden.digest


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".jsonl", ".yaml"])
def test_export_then_import_keeps_digest(tmp_path: Path, suffix: str) -> None:
    exported = export_golden_set(MINI, tmp_path / f"mini{suffix}")
    assert exported.digest == MINI_DIGEST
    imported = import_golden_set(tmp_path / f"mini{suffix}", tmp_path / "registers")
    assert imported.digest == MINI_DIGEST
    assert imported.manifest.name == "registers"  # a bare file takes the folder's name
    assert sorted(p.name for p in (tmp_path / "registers").iterdir()) == [
        "cases.jsonl",
        "dataset.yaml",
    ]
    assert load_golden_set(tmp_path / "registers").digest == MINI_DIGEST


def test_import_keeps_manifest_of_a_set_and_takes_name(tmp_path: Path) -> None:
    golden = import_golden_set(MINI, tmp_path / "copy", name="kopie")
    assert golden.manifest.name == "kopie"
    assert golden.manifest.owner == "team-ragwacht"


def test_import_refuses_to_overwrite_a_set(tmp_path: Path) -> None:
    import_golden_set(MINI, tmp_path / "s")
    with pytest.raises(ConfigError) as exc:
        import_golden_set(MINI, tmp_path / "s")
    assert "already holds a golden set" in str(exc.value)
    assert "--force" in (exc.value.first.hint or "")
    assert import_golden_set(MINI, tmp_path / "s", overwrite=True).digest == MINI_DIGEST


def test_write_rejects_unknown_extension(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\.txt"):
        write_cases(load_golden_set(MINI).cases, tmp_path / "c.txt")


def test_xlsx_cell_limit_is_an_error_not_a_truncation(tmp_path: Path) -> None:
    case = GoldenCase(id="long", question="x" * 40_000)
    with pytest.raises(ConfigError) as exc:
        write_cases([case], tmp_path / "c.xlsx")
    assert exc.value.first.location.field == "question"
    assert "long" in exc.value.first.message


def test_writes_are_atomic(tmp_path: Path) -> None:
    p = write_cases(load_golden_set(MINI).cases, tmp_path / "c.jsonl")
    assert [x.name for x in tmp_path.iterdir()] == [p.name]  # no temp files left behind
