from __future__ import annotations

import json
import shutil
from pathlib import Path

import openpyxl
import pytest

from ragwacht.datasets import load_cases, load_golden_set, validate_golden_set
from ragwacht.errors import ConfigError, ExitCode, Problem
from tests.helpers.datasets import MINI, MINI_DIGEST, write_jsonl, write_set

GOOD = {"id": "ok-1", "question": "Wat is de WOZ?"}


def _problems(path: Path) -> list[Problem]:
    with pytest.raises(ConfigError) as exc:
        load_golden_set(path)
    assert exc.value.exit_code == ExitCode.CONFIG
    report = validate_golden_set(path)
    assert not report.ok
    assert [str(p) for p in report.problems] == [str(p) for p in exc.value.problems]
    return exc.value.problems


def _one(problems: list[Problem], line: int | None, field: str | None) -> Problem:
    hits = [p for p in problems if p.location.line == line and p.location.field == field]
    assert len(hits) == 1, f"no single problem at line {line} field {field}: {problems}"
    hit = hits[0]
    assert hit.hint, f"problem without a hint: {hit}"
    text = str(hit)
    assert f"line {line}" in text if line is not None else True
    assert f"field '{field}'" in text if field is not None else True
    return hit


# ----------------------------------------------------------------------------- JSONL kinds


def test_every_jsonl_problem_in_one_pass(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "cases.jsonl",
        [
            GOOD,  # 1
            '{"id": "broken", "question": ',  # 2 broken JSON
            "[1, 2]",  # 3 not an object
            {"id": "x3", "question": "q", "topic": "woz"},  # 4 unknown field
            {"id": "x4"},  # 5 missing question
            {"id": "x5", "question": "   "},  # 6 empty question
            {"id": "x6", "question": "q", "expected_behavior": "weigeren"},  # 7 bad enum
            {"id": "x7", "question": "q", "tags": "topic:woz"},  # 8 wrong type
            {"id": "ok-1", "question": "again"},  # 9 duplicate of line 1
            {"id": "x9", "question": "q", "gold_contexts": [{"doc_id": "d", "relevance": -1}]},
            {"id": "x10", "question": "q", "gold_contexts": [{"doc_id": "d", "relevance": 0.5}]},
            {"id": "x11", "question": "q", "history": [{"role": "bot", "content": "hoi"}]},
            {"id": 12, "question": "q"},  # 13 id not text
            '{"id": "x13", "question": "q", "question": "r"}',  # 14 key twice
            {"id": "", "question": "q"},  # 15 empty id
            {"id": "x15", "question": "q", "gold_contexts": [{"doc": "d"}]},  # 16
        ],
    )
    problems = _problems(path)
    assert all(p.location.file == str(path) for p in problems)
    assert "broken JSON" in _one(problems, 2, None).message
    assert "not an object" in _one(problems, 3, None).message
    unknown = _one(problems, 4, "topic")
    assert "unknown field 'topic'" in unknown.message
    assert "allowed fields" in (unknown.hint or "")
    assert "missing required field 'question'" in _one(problems, 5, "question").message
    assert "empty" in _one(problems, 6, "question").message
    bad_enum = _one(problems, 7, "expected_behavior")
    assert "'weigeren'" in bad_enum.message
    assert "answer" in (bad_enum.hint or "") and "refuse" in (bad_enum.hint or "")
    assert "wrong type" in _one(problems, 8, "tags").message
    dup = _one(problems, 9, "id")
    assert "duplicate id 'ok-1'" in dup.message
    assert "line 1" in dup.message and "line 9" in dup.message  # names both lines
    assert ">= 0" in _one(problems, 10, "gold_contexts.0.relevance").message
    assert "whole number" in _one(problems, 11, "gold_contexts.0.relevance").message
    assert "'bot'" in _one(problems, 12, "history.0.role").message
    id_type = _one(problems, 13, "id")
    assert "wrong type" in id_type.message and '"12"' in (id_type.hint or "")
    assert "more than once" in _one(problems, 14, "question").message
    assert "empty" in _one(problems, 15, "id").message
    assert (
        "unknown field 'gold_contexts.0.doc'" in _one(problems, 16, "gold_contexts.0.doc").message
    )
    _one(problems, 16, "gold_contexts.0.doc_id")  # and the missing doc_id
    assert not any(p.location.line == 1 for p in problems)


def test_problems_render_file_line_field_and_fix(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "c.jsonl", [GOOD, {"id": "a", "question": "q", "x": 1}])
    with pytest.raises(ConfigError) as exc:
        load_cases(path)
    text = str(exc.value)
    assert f"{path}, line 2, field 'x': unknown field 'x'" in text
    assert "(fix: " in text


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_bytes(b'{"id": "a", "question": "q"}\n{"id": "b", "question": "caf\xe9"}\n')
    problem = _one(_problems(path), 2, None)
    assert "UTF-8" in problem.message


def test_lone_surrogate_is_a_problem(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "c.jsonl",
        [
            '{"id": "a", "question": "x\\ud800"}',
            GOOD,
            '{"id": "b", "question": "q", "tags": ["\\udfff"]}',
        ],
    )
    problems = _problems(path)
    assert "surrogate" in _one(problems, 1, "question").message
    assert "surrogate" in _one(problems, 3, "tags.0").message


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text("\n\n", "utf-8")
    assert "no cases" in _problems(path)[0].message


# ------------------------------------------------------------------------------- YAML lines


def test_yaml_problems_point_at_the_field_line(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "cases:\n"  # 1
        "  - id: a\n"  # 2
        "    question: Waar?\n"  # 3
        "    expected_behavior: nee\n"  # 4
        "  - id: b\n"  # 5
        "    question: Wie?\n"  # 6
        "    gold_contexts:\n"  # 7
        "      - doc_id: d1\n"  # 8
        "        relevance: -2\n"  # 9
        "  - id: a\n"  # 10
        "    question: Weer?\n"  # 11
        "    colour: red\n"  # 12
        "  - just text\n",  # 13
        "utf-8",
    )
    problems = _problems(path)
    _one(problems, 4, "expected_behavior")
    _one(problems, 9, "gold_contexts.0.relevance")
    assert "line 2" in _one(problems, 10, "id").message
    _one(problems, 12, "colour")
    assert "not a mapping" in _one(problems, 13, None).message


def test_yaml_syntax_error_has_line(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("- id: a\n  question: [unclosed\n- id: b\n", "utf-8")
    problem = _problems(path)[0]
    assert "broken YAML" in problem.message
    assert problem.location.line is not None


def test_yaml_duplicate_key(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("- id: a\n  question: q\n  question: r\n", "utf-8")
    assert "more than once" in _one(_problems(path), 3, "question").message


def test_yaml_wrong_top_level(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("id: a\nquestion: q\n", "utf-8")
    assert "list of cases" in _problems(path)[0].message


# ------------------------------------------------------------------------- CSV / XLSX rows


def test_csv_problems_name_row_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text(
        "id,question,expected_behavior,gold_contexts,history,bron\n"  # 1
        "a,Waar?,answer,d1:2,,x\n"  # 2 (unknown column only reported once, on the header)
        'b,"Twee\nregels?",refuseer,,,\n'  # 3-4: a quoted newline; the row starts on line 3
        "c,,answer,d1:-1,,\n"  # 5 empty question, bad relevance
        'd,Wat?,answer,"[{""doc_id"": 1}",,\n'  # 6 broken JSON cell
        "e,Hoe?,answer,,geen json,\n"  # 7 history not JSON
        "a,Nog eens?,,,,,extra\n",  # 8 duplicate id; a value under no header
        "utf-8",
    )
    problems = _problems(path)
    unknown = _one(problems, 1, "bron")
    assert "unknown column" in unknown.message
    _one(problems, 3, "expected_behavior")
    _one(problems, 5, "question")
    _one(problems, 5, "gold_contexts.0.relevance")
    assert "not valid JSON" in _one(problems, 6, "gold_contexts").message
    assert "JSON list" in _one(problems, 7, "history").message
    assert "line 2" in _one(problems, 8, "id").message
    assert "no header" in _one(problems, 8, None).message


def test_csv_header_problems(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("id,vraag,id\na,b,c\n", "utf-8")
    problems = _problems(path)
    assert "did you mean" not in str(_one(problems, 1, "vraag"))
    assert "twice" in _one(problems, 1, "id").message
    assert "no 'question' column" in _one(problems, 1, "question").message


def test_csv_suggests_column_names(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("id,question,expected_behaviour\na,b,answer\n", "utf-8")
    problem = _one(_problems(path), 1, "expected_behaviour")
    assert "did you mean 'expected_behavior'" in (problem.hint or "")


def test_xlsx_problems_name_row_and_cell(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["id", "question", "expected_behavior"])
    ws.append(["a", "Waar?", "answer"])
    ws.append(["b", "Wie?", "misschien"])
    path = tmp_path / "c.xlsx"
    wb.save(path)
    problem = _one(_problems(path), 3, "expected_behavior")
    assert "cell C3" in problem.message


def test_damaged_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "c.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    assert "cannot read XLSX" in _problems(path)[0].message


# ------------------------------------------------------------------------------ golden sets


def test_bad_dataset_yaml(tmp_path: Path) -> None:
    folder = write_set(
        tmp_path / "s",
        "description: geen naam\nowner: x\nversie: 2\n",
        [GOOD],
    )
    problems = _problems(folder)
    manifest = str(folder / "dataset.yaml")
    assert all(p.location.file == manifest for p in problems)
    unknown = _one(problems, 3, "versie")
    assert "did you mean 'version'" in (unknown.hint or "")
    missing = [p for p in problems if p.location.field == "name"]
    assert missing and "missing required field 'name'" in missing[0].message


def test_dataset_yaml_and_cases_problems_together(tmp_path: Path) -> None:
    folder = write_set(tmp_path / "s", "name: s\nlicense: MIT\n", [GOOD, {"id": "b"}])
    problems = _problems(folder)
    files = {p.location.file for p in problems}
    assert files == {str(folder / "dataset.yaml"), str(folder / "cases.jsonl")}
    # The cases are checked even though the manifest is wrong (default cases.jsonl).
    _one(problems, 2, "question")
    assert "did you mean 'licence'" in (_one(problems, 2, "license").hint or "")


def test_newer_schema_version(tmp_path: Path) -> None:
    folder = write_set(tmp_path / "s", "schema_version: 99\nname: s\n", [GOOD])
    assert "newer" in _one(_problems(folder), 1, "schema_version").message


def test_missing_cases_file(tmp_path: Path) -> None:
    folder = write_set(tmp_path / "s", "name: s\ncases_file: vragen.jsonl\n", [GOOD])
    problem = _problems(folder)[0]
    assert problem.location.field == "cases_file"
    assert "vragen.jsonl" in problem.message


def test_folder_without_dataset_yaml(tmp_path: Path) -> None:
    (tmp_path / "s").mkdir()
    assert "no dataset.yaml" in _problems(tmp_path / "s")[0].message


def test_missing_path_and_unknown_type(tmp_path: Path) -> None:
    assert "does not exist" in _problems(tmp_path / "nope")[0].message
    txt = tmp_path / "c.txt"
    txt.write_text("hallo", "utf-8")
    assert "unsupported file type" in _problems(txt)[0].message
    with pytest.raises(ConfigError, match="does not exist"):
        load_cases(tmp_path / "nope.jsonl")


# --------------------------------------------------------------------------------- warnings


def test_warnings_do_not_fail_validation(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "c.jsonl",
        [
            GOOD,
            {
                "id": "r",
                "question": "Weer?",
                "expected_behavior": "refuse",
                "gold_contexts": [{"doc_id": "d"}],
            },
            {"id": "again", "question": "  wat is de  WOZ? "},
        ],
    )
    report = validate_golden_set(path)
    assert report.ok and report.n_cases == 3 and report.digest
    refuse = [w for w in report.warnings if w.location.field == "gold_contexts"]
    assert refuse and refuse[0].location.line == 2
    same = [w for w in report.warnings if w.location.field == "question"]
    assert same and "'ok-1'" in same[0].message and same[0].location.line == 3
    assert len(load_cases(path)) == 3


def test_valid_set_report() -> None:
    report = validate_golden_set(MINI)
    assert report.ok
    assert report.problems == []
    assert (report.name, report.n_cases, report.digest) == ("mini", 4, MINI_DIGEST)
    # The refusal case in mini has no gold contexts: no warning.
    assert report.warnings == []
    json.dumps(report.model_dump(mode="json"))  # serializable for --json output


def test_corpus_check(tmp_path: Path) -> None:
    folder = tmp_path / "mini"
    shutil.copytree(MINI, folder)
    corpus = tmp_path / "corpus.jsonl"
    write_jsonl(corpus, [{"doc_id": d, "text": "..."} for d in ("woz-02", "woz-07", "bag-01")])
    report = validate_golden_set(folder, corpus=corpus)
    assert [p.location.field for p in report.problems] == ["gold_contexts.0.doc_id"]
    problem = report.problems[0]
    assert "'brk:03'" in problem.message
    assert problem.location.line == 3
    assert problem.location.file == str(folder / "cases.jsonl")
    write_jsonl(corpus, [{"id": d} for d in ("woz-02", "woz-07", "bag-01", "brk:03")])
    assert validate_golden_set(folder, corpus=corpus).ok
    assert not validate_golden_set(folder, corpus=tmp_path / "nope.jsonl").ok
