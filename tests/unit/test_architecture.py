"""The architecture, kept true by a machine: import contracts and no stray lazy imports.

ARCHITECTURE.md draws the layers; ``[tool.importlinter]`` in pyproject.toml states them as
contracts. An import inside a function is allowed only for an optional heavy dependency or
for CLI start-up speed, and says so on its line with ``# lazy: <reason>``.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "ragwacht"


def function_imports() -> list[tuple[Path, int, str]]:
    """Every import statement inside a function body: (file, line, its source lines)."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        tree = ast.parse(text)
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(fn):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    stmt = "\n".join(lines[node.lineno - 1 : node.end_lineno])
                    found.append((path, node.lineno, stmt))
    return sorted(set(found))


def test_every_import_inside_a_function_gives_its_reason() -> None:
    unexplained = [
        f"{p.relative_to(ROOT)}:{n}: {line.strip().splitlines()[0]}"
        for p, n, line in function_imports()
        if "# lazy:" not in line
    ]
    assert not unexplained, "imports inside functions without '# lazy: <reason>':\n" + "\n".join(
        unexplained
    )


def test_import_contracts_hold() -> None:
    pytest.importorskip("importlinter")
    exe = Path(sys.executable).with_name("lint-imports")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "importlinter.cli"]
    env = {"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"}
    res = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    assert "broken" in res.stdout and "0 broken" in res.stdout
