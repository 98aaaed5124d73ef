"""A small project on disk: a golden set, a Python-callable endpoint and a suite over them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

CASES: list[dict[str, Any]] = [
    {"id": "q1", "question": "Wat is de BAG?", "reference_answer": "Een register."},
    {"id": "q2", "question": "Wat is de WOZ?", "reference_answer": "Een waarde."},
]


def mini_project(
    root: Path,
    *,
    cases: list[dict[str, Any]] | None = None,
    suite_dir: str = "",
    marker: bool = False,
    **suite_over: object,
) -> Path:
    """Write the project under ``root`` and return the suite file's path.

    Args:
        root: the project folder (created when missing).
        cases: the golden cases (default: two Dutch questions).
        suite_dir: a subfolder for the suite file (paths in it then point back up).
        marker: write an empty ``ragwacht.yaml`` so that ``root`` is the project root.
        **suite_over: suite keys to set or replace.

    """
    root.mkdir(parents=True, exist_ok=True)
    if marker:
        (root / "ragwacht.yaml").write_text("", encoding="utf-8")
    ds = root / "ds"
    ds.mkdir()
    (ds / "dataset.yaml").write_text("name: mini\nlanguage: nl\n", encoding="utf-8")
    rows = cases if cases is not None else CASES
    (ds / "cases.jsonl").write_text("\n".join(json.dumps(c) for c in rows) + "\n", "utf-8")
    (root / "bot.yaml").write_text(
        "type: python\ncallable: tests.helpers.counting_bot:answer\n", encoding="utf-8"
    )
    up = "../" * len(Path(suite_dir).parts)
    suite: dict[str, object] = {
        "name": "mini",
        "dataset": f"{up}ds",
        "endpoint": f"{up}bot.yaml",
        "metrics": [{"name": "faithfulness", "judge": "j"}],
        "judges": {"j": "lexical"},
    }
    suite.update(suite_over)
    folder = root / suite_dir
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "suite.yaml"
    path.write_text(yaml.safe_dump(suite, sort_keys=False), encoding="utf-8")
    return path
