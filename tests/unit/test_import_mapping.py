"""``datasets import`` without a field mapping; the demo corpus loader's mapping (issue 14,
defect 11).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from ragwacht.cli.app import app
from ragwacht.datasets import load_golden_set
from ragwacht.demo.corpus import corpus_mapping, load_corpus

runner = CliRunner()

ROWS = [
    {
        "qid": "q1",
        "query": "Wat is de BAG?",
        "answer": "De Basisregistratie Adressen en Gebouwen.",
        "gold_passage_ids": ["bag-001", "bag-002"],
    },
    {
        "qid": "q2",
        "query": "Wie stelt de WOZ-waarde vast?",
        "answer": "De gemeente.",
        "gold_passage_ids": ["woz-001"],
    },
]


def _jsonl(path: Path) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in ROWS), encoding="utf-8")
    return path


def _check_imported(folder: Path) -> None:
    gs = load_golden_set(folder)
    assert [c.id for c in gs.cases] == ["q1", "q2"]
    assert gs.cases[0].question == "Wat is de BAG?"
    assert gs.cases[0].reference_answer == "De Basisregistratie Adressen en Gebouwen."
    assert [g.doc_id for g in gs.cases[0].gold_contexts] == ["bag-001", "bag-002"]


def test_jsonl_with_common_names_imports_without_a_mapping(tmp_path: Path) -> None:
    src = _jsonl(tmp_path / "questions.jsonl")
    result = runner.invoke(
        app,
        ["datasets", "import", str(src), "--to", str(tmp_path / "set"), "--owner", "team-x",
         "--licence", "CC-BY-4.0", "--description", "Vragen van de gemeente"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "columns mapped: qid → id, query → question, answer → reference_answer, " in (
        result.stderr
    )
    assert "gold_passage_ids → gold_contexts" in result.stderr
    _check_imported(tmp_path / "set")
    manifest = yaml.safe_load((tmp_path / "set" / "dataset.yaml").read_text("utf-8"))
    assert manifest["owner"] == "team-x" and manifest["licence"] == "CC-BY-4.0"
    assert manifest["description"] == "Vragen van de gemeente"


def test_dutch_csv_headers_and_missing_manifest_fields_are_named(tmp_path: Path) -> None:
    src = tmp_path / "vragen.csv"
    with src.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "vraag", "antwoord", "gold_passage_ids"])
        for r in ROWS:
            w.writerow([r["qid"], r["query"], r["answer"], "; ".join(r["gold_passage_ids"])])
    result = runner.invoke(app, ["datasets", "import", str(src), "--to", str(tmp_path / "s")])
    assert result.exit_code == 0, result.output
    assert "vraag → question" in result.stderr and "antwoord → reference_answer" in result.stderr
    assert "dataset.yaml has no description, owner, licence" in result.stderr
    _check_imported(tmp_path / "s")


def test_explicit_map_wins_and_a_bad_target_is_exit_2(tmp_path: Path) -> None:
    rows = [{"nr": "q1", "tekst": "Wat is de BAG?"}]
    src = tmp_path / "c.jsonl"
    src.write_text(json.dumps(rows[0]) + "\n", encoding="utf-8")
    ok = runner.invoke(
        app, ["datasets", "import", str(src), "--to", str(tmp_path / "a"), "--map",
              "nr=id,tekst=question"],
    )  # fmt: skip
    assert ok.exit_code == 0, ok.output
    assert load_golden_set(tmp_path / "a").cases[0].question == "Wat is de BAG?"
    bad = runner.invoke(
        app, ["datasets", "import", str(src), "--to", str(tmp_path / "b"), "--map", "nr=idd"]
    )
    assert bad.exit_code == 2
    assert "not a case field" in bad.stderr and "--map" in bad.stderr
    assert "Traceback" not in bad.output


def test_demo_corpus_loader_takes_the_same_names(tmp_path: Path) -> None:
    path = tmp_path / "passages.jsonl"
    path.write_text(
        json.dumps({"passage_id": "bag-001", "content": "De BAG bevat adressen.", "titel": "BAG"})
        + "\n"
        + json.dumps({"passage_id": 7, "content": "De WOZ-waarde.", "titel": "WOZ"})
        + "\n",
        encoding="utf-8",
    )
    assert corpus_mapping(path) == {"passage_id": "id", "content": "text", "titel": "title"}
    passages = load_corpus(path)
    assert [p.id for p in passages] == ["bag-001", "7"]
    assert passages[0].text == "De BAG bevat adressen." and passages[0].title == "BAG"
    assert passages[0].meta == {}


def test_demo_bot_says_the_title_is_indexed(tmp_path: Path) -> None:
    from ragwacht.demo import corpus

    assert "title is indexed" in corpus.TITLE_NOTE
    assert "indexed" in (corpus.__doc__ or "")
