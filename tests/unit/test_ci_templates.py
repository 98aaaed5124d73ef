"""The sharded CI templates: shards then a merge job, with options the CLI really has."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from typer.testing import CliRunner

from ragwacht.cli.app import app

ROOT = Path(__file__).resolve().parents[2]


def _options(command: str) -> set[str]:
    res = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    return set(re.findall(r"--[a-z][a-z-]*", res.output))


def _ragwacht_calls(script: str) -> list[tuple[str, set[str]]]:
    calls = []
    script = script.replace("\\\n", " ")  # shell line continuations
    for m in re.finditer(r"ragwacht (run|merge)\b([^\n]*)", script):
        calls.append((m.group(1), set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", m.group(2)))))
    return calls


def test_github_sharded_template() -> None:
    wf = yaml.safe_load((ROOT / "ci" / "github-actions-sharded.yml").read_text("utf-8"))
    shard, merge = wf["jobs"]["shard"], wf["jobs"]["merge"]
    assert merge["needs"] == "shard"
    assert len(shard["strategy"]["matrix"]["index"]) == int(wf["env"]["SHARDS"])
    script = "\n".join(s.get("run", "") for job in (shard, merge) for s in job["steps"])
    calls = _ragwacht_calls(script)
    assert [c for c, _ in calls] == ["run", "merge"]
    for command, used in calls:
        assert used <= _options(command), (command, used - _options(command))
    assert "--shard" in calls[0][1] and "--gate" not in calls[0][1]
    assert "--gate" in calls[1][1]


def test_gitlab_sharded_template() -> None:
    ci = yaml.safe_load((ROOT / "ci" / "gitlab-ci-sharded.yml").read_text("utf-8"))
    shard, merge = ci["ragwacht-shard"], ci["ragwacht-merge"]
    assert shard["parallel"] >= 2 and merge["needs"] == ["ragwacht-shard"]
    script = "\n".join(shard["script"] + merge["script"])
    assert "${CI_NODE_INDEX}/${CI_NODE_TOTAL}" in script
    calls = _ragwacht_calls(script)
    assert [c for c, _ in calls] == ["run", "merge"]
    for command, used in calls:
        assert used <= _options(command), (command, used - _options(command))
    assert merge["artifacts"]["reports"]["junit"].endswith("merged/junit.xml")
