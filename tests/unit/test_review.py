"""Review export and import without a browser: inert page data, the workbook, bad files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ragwacht.cli import app
from ragwacht.curation.review import (
    bump_version,
    export_review,
    import_decisions,
    json_for_script,
    review_data,
)
from ragwacht.datasets.io import load_golden_set, save_golden_set
from ragwacht.datasets.models import (
    CaseStatus,
    DatasetManifest,
    GoldContext,
    GoldenCase,
    GoldenSet,
    Provenance,
)

EVIL = "</script><script>alert(1)</script><!-- {{ 7*7 }}"
FORMULA = '=HYPERLINK("http://evil.example","klik")'


def _candidates(folder: Path) -> Path:
    passages = folder / "passages.jsonl"
    passages.parent.mkdir(parents=True, exist_ok=True)
    passages.write_text(
        json.dumps({"id": "p1", "text": "De gemeente is bronhouder van de BAG. " + EVIL}) + "\n",
        "utf-8",
    )
    cases = [
        GoldenCase(
            id=f"gen-factual-{i}",
            question=q,
            reference_answer="De gemeente.",
            gold_contexts=[GoldContext(doc_id="p1")],
            status=CaseStatus.CANDIDATE,
            provenance=Provenance(kind="factual", passage_ids=["p1"], quotes=["bronhouder"]),
        )
        for i, q in enumerate(["Wie is bronhouder van de BAG?", EVIL, FORMULA])
    ]
    out = folder / "cand"
    save_golden_set(GoldenSet(manifest=DatasetManifest(name="cand", version="0"), cases=cases), out)
    return out


def test_page_data_cannot_close_its_script_block(tmp_path: Path) -> None:
    cand = _candidates(tmp_path)
    page = tmp_path / "r.html"
    data = export_review(cand, page, corpus=tmp_path / "passages.jsonl")
    html = page.read_text("utf-8")
    # Only the page's own two blocks end a script; the untrusted text never does.
    assert html.count("</script") == 2
    assert "<!--" not in html.split('id="review-data">', 1)[1]
    block = re.search(r'id="review-data">(.*?)</script>', html, re.DOTALL)
    assert block is not None and json.loads(block.group(1)) == data
    assert data["cases"][1]["question"] == EVIL
    assert EVIL in data["cases"][0]["passages"][0]["text"]
    assert json.loads(json_for_script({"x": "</script>&\u2028"})) == {"x": "</script>&\u2028"}
    js = (Path(__file__).parents[2] / "src/ragwacht/curation/templates/review.js").read_text()
    assert "innerHTML" not in js and "insertAdjacentHTML" not in js


def test_xlsx_neutralises_formulas_and_reads_back(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    cand = _candidates(tmp_path)
    book = tmp_path / "r.xlsx"
    export_review(cand, book)
    wb = load_workbook(book)
    ws = wb["review"]
    header = [c.value for c in ws[1]]
    col = {name: i + 1 for i, name in enumerate(header)}
    cell = ws.cell(row=4, column=col["question"])
    assert cell.value == "'" + FORMULA and cell.data_type == "s"
    # A person fills in the decision columns.
    ws.cell(row=2, column=col["decision"], value="accept")
    ws.cell(row=2, column=col["reviewer"], value="Anne")
    ws.cell(row=3, column=col["decision"], value="reject")
    ws.cell(row=3, column=col["reason"], value="onzin")
    ws.cell(row=4, column=col["decision"], value="edit")
    ws.cell(row=4, column=col["new_question"], value="Wat is een bronhouder?")
    wb.save(book)

    target = tmp_path / "golden"
    res = import_decisions(book, target)
    assert res.accepted == ["gen-factual-0"] and res.edited == ["gen-factual-2"]
    assert res.rejected == ["gen-factual-1"] and res.new_version == "1"
    golden = load_golden_set(target)
    assert golden.by_id()["gen-factual-2"].question == "Wat is een bronhouder?"
    assert {c.provenance.reviewed_by for c in golden.cases if c.provenance} == {"Anne"}
    rejected = (cand / "review-rejected.jsonl").read_text("utf-8")
    assert "onzin" in rejected

    # A second review bumps the version; a re-reviewed case is replaced, not doubled.
    res2 = import_decisions(book, target)
    assert res2.old_version == "1" and res2.new_version == "2"
    assert len(load_golden_set(target).cases) == 2
    assert (cand / "review-rejected.jsonl").read_text("utf-8") == rejected


def _decisions_file(path: Path, cand: Path, decisions: list[dict[str, object]]) -> Path:
    data = review_data(cand)
    doc = {
        "format": "ragwacht-review-decisions",
        "version": 1,
        "reviewer": "Anne",
        "set": data["set"],
        "decisions": decisions,
    }
    path.write_text(json.dumps(doc, indent=1), "utf-8")
    return path


def _import(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(app, ["review", "import", *args])
    return r.exit_code, r.stdout + r.stderr


def test_bad_decisions_name_file_line_and_field(tmp_path: Path) -> None:
    cand = _candidates(tmp_path)
    bad = _decisions_file(
        tmp_path / "d.json",
        cand,
        [
            {"id": "gen-factual-0", "decision": "accept"},
            {"id": "gen-factual-1", "decision": "maybe"},
            {"id": "gen-factual-2", "decision": "reject"},
        ],
    )
    text = bad.read_text("utf-8").splitlines()
    line_maybe = next(i for i, x in enumerate(text, 1) if '"gen-factual-1"' in x) - 1
    code, out = _import(str(bad), "--into", str(tmp_path / "g"))
    assert code == 2, out
    assert "Traceback" not in out
    assert "2 problems" in out
    assert f"d.json, line {line_maybe}, field 'decisions.1.decision'" in out
    assert "accept, edit or reject" in out
    assert "decisions.2" in out and "needs a reason" in out
    assert not (tmp_path / "g").exists()


@pytest.mark.parametrize(
    ("content", "expect"),
    [
        ('{"reviewer": "A", "decisions": [', "not valid JSON"),
        ("[1, 2]", "one JSON object"),
        ('{"decisions": []}', "reviewer"),
    ],
)
def test_broken_decision_files_exit_2(tmp_path: Path, content: str, expect: str) -> None:
    _candidates(tmp_path)
    f = tmp_path / "d.json"
    f.write_text(content, "utf-8")
    code, out = _import(str(f), "--into", str(tmp_path / "g"))
    assert code == 2 and expect in out and "Traceback" not in out, out
    assert "d.json" in out


def test_unknown_case_id_exit_2(tmp_path: Path) -> None:
    cand = _candidates(tmp_path)
    f = _decisions_file(tmp_path / "d.json", cand, [{"id": "nope", "decision": "accept"}])
    code, out = _import(str(f), "--into", str(tmp_path / "g"))
    assert code == 2 and "'nope' is not in the candidate set" in out, out


def test_bad_xlsx_row_is_named(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    cand = _candidates(tmp_path)
    book = tmp_path / "r.xlsx"
    export_review(cand, book)
    wb = load_workbook(book)
    ws = wb["review"]
    col = {c.value: i + 1 for i, c in enumerate(ws[1])}
    ws.cell(row=3, column=col["decision"], value="perhaps")
    wb.save(book)
    code, out = _import(str(book), "--into", str(tmp_path / "g"))
    assert code == 2 and "r.xlsx, line 3, field 'decision'" in out, out


def test_export_rejects_unknown_target(tmp_path: Path) -> None:
    cand = _candidates(tmp_path)
    r = CliRunner().invoke(app, ["review", "export", str(cand), "--to", str(tmp_path / "x.pdf")])
    assert r.exit_code == 2 and "review.html" in r.stdout + r.stderr


@pytest.mark.parametrize(
    ("old", "new"), [("1", "2"), ("9", "10"), ("1.2", "1.3"), ("v3", "v4"), ("beta", "beta.1")]
)
def test_bump_version(old: str, new: str) -> None:
    assert bump_version(old) == new
