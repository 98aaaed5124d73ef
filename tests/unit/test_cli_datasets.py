from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ragwacht.cli.app import app
from ragwacht.datasets import load_golden_set
from tests.helpers.datasets import MINI, MINI_DIGEST, write_jsonl

runner = CliRunner()


def _run(*args: str | Path) -> tuple[int, str, str]:
    result = runner.invoke(app, ["datasets", *map(str, args)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def test_validate_ok() -> None:
    code, out, _ = _run("validate", MINI)
    assert code == 0
    assert out.strip() == f"OK mini: 4 cases, {MINI_DIGEST}"


def test_validate_invalid_lists_every_problem(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "c.jsonl",
        [{"id": "a", "question": "q"}, {"id": "a", "question": ""}, "{nope"],
    )
    code, out, err = _run("validate", path)
    assert code == 2
    assert "3 problems found" in err
    assert "line 2, field 'id'" in err and "duplicate id 'a'" in err
    assert "line 2, field 'question'" in err
    assert "line 3" in err and "broken JSON" in err
    assert "fix:" in err
    assert "Traceback" not in out + err
    assert "OK" not in out


def test_validate_missing_path(tmp_path: Path) -> None:
    code, _, err = _run("validate", tmp_path / "nope")
    assert code == 2
    assert "does not exist" in err


def test_validate_prints_warnings_but_passes(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "c.jsonl",
        [
            {
                "id": "r",
                "question": "Weer?",
                "expected_behavior": "refuse",
                "gold_contexts": [{"doc_id": "d"}],
            }
        ],
    )
    code, out, err = _run("validate", path)
    assert code == 0
    assert "warning" in err and "gold_contexts" in err
    assert "(1 warning)" in out


def test_validate_with_corpus(tmp_path: Path) -> None:
    corpus = write_jsonl(tmp_path / "corpus.jsonl", [{"doc_id": "woz-02"}])
    code, _, err = _run("validate", MINI, "--corpus", corpus)
    assert code == 2
    assert "'bag-01' is not in the corpus" in err


def test_stats_json_and_tables() -> None:
    code, out, _ = _run("stats", MINI, "--json")
    assert code == 0
    data = json.loads(out)
    assert data["n_cases"] == 4 and data["digest"] == MINI_DIGEST
    assert data["tags"]["topic"]["woz"] == 1
    code, out, _ = _run("stats", MINI)
    assert code == 0
    assert "Expected behaviour" in out and "refuse" in out and "Tag topic:" in out


def test_stats_invalid_set_exits_2(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "c.jsonl", [{"id": "a"}])
    code, _, err = _run("stats", path)
    assert code == 2 and "missing required field 'question'" in err


def test_diff(tmp_path: Path) -> None:
    new = tmp_path / "new"
    shutil.copytree(MINI, new)
    lines = (new / "cases.jsonl").read_text("utf-8").splitlines()
    lines[0] = lines[0].replace("Hoe wordt", "Hoe wordt toch")
    lines.append(json.dumps({"id": "bgt-001", "question": "Wat is de BGT?"}))
    del lines[1]  # bag-001
    (new / "cases.jsonl").write_text("\n".join(lines) + "\n", "utf-8")
    code, out, _ = _run("diff", MINI, new, "--json")
    assert code == 0
    data = json.loads(out)
    assert data["added"] == ["bgt-001"]
    assert data["removed"] == ["bag-001"]
    assert data["changed"] == [{"id": "woz-001", "fields": ["question"]}]
    assert data["old_digest"] == MINI_DIGEST
    assert data["new_digest"] == load_golden_set(new).digest
    code, out, _ = _run("diff", MINI, new)
    assert code == 0
    assert "1 added, 1 removed, 1 changed, 2 unchanged" in out


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".jsonl", ".yaml"])
def test_export_import_round_trip(tmp_path: Path, suffix: str) -> None:
    target = tmp_path / f"mini{suffix}"
    code, out, _ = _run("export", MINI, "--to", target)
    assert code == 0 and target.is_file()
    assert MINI_DIGEST in out
    code, out, _ = _run("import", target, "--to", tmp_path / "set", "--name", "registers")
    assert code == 0
    assert MINI_DIGEST in out
    golden = load_golden_set(tmp_path / "set")
    assert golden.manifest.name == "registers" and golden.digest == MINI_DIGEST
    code, _, err = _run("import", target, "--to", tmp_path / "set")
    assert code == 2 and "--force" in err
    code, _, _ = _run("import", target, "--to", tmp_path / "set", "--force")
    assert code == 0


def test_export_bad_extension(tmp_path: Path) -> None:
    code, _, err = _run("export", MINI, "--to", tmp_path / "x.parquet")
    assert code == 2 and ".parquet" in err


def test_import_invalid_source(tmp_path: Path) -> None:
    src = tmp_path / "c.csv"
    src.write_text("id,question\na,\n", "utf-8")
    code, _, err = _run("import", src, "--to", tmp_path / "set")
    assert code == 2 and "line 2, field 'question'" in err
    assert not (tmp_path / "set").exists()


def test_registers_demo_set_validates(repo_root: Path) -> None:
    # The demo golden set shipped in datasets/ must always pass its own validator.
    code, out, err = _run("validate", repo_root / "datasets" / "registers-demo")
    assert code == 0, err
    assert out.startswith("OK ")


def test_registers_demo_gold_ids_are_in_the_demo_corpus(repo_root: Path) -> None:
    corpus = repo_root / "src" / "ragwacht" / "demo" / "data" / "passages.jsonl"
    code, _, err = _run("validate", repo_root / "datasets" / "registers-demo", "--corpus", corpus)
    assert code == 0, err
