"""Red-team probes on configuration input: suites, endpoint profiles and gate policies.

Each probe runs the real CLI in a subprocess on a bad file written to a temporary project and
checks the promise: exit code 2, a message that names the file, the line and the field (and
how to fix it), never a traceback, and nothing written outside the output folder. Runs that
get past loading call a real loopback chatbot (:class:`FaultServer`).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

import ragwacht
from tests.helpers.fault_server import FaultServer

pytestmark = pytest.mark.integration

CASES = [
    {"id": "q1", "question": "Wat is de BAG?", "reference_answer": "Een register."},
    {"id": "q2", "question": "Wat is de WOZ?", "reference_answer": "Een waarde."},
]

BOMB = """\
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
"""


@pytest.fixture(scope="module")
def bot() -> Iterator[FaultServer]:
    with FaultServer() as srv:
        yield srv


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    src = str(Path(ragwacht.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join([src, str(Path(__file__).resolve().parents[3])])
    env.update(
        RAGAS_DO_NOT_TRACK="true",
        DEEPEVAL_TELEMETRY_OPT_OUT="1",
        MLFLOW_DISABLE_TELEMETRY="true",
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        NO_COLOR="1",
        COLUMNS="300",  # one problem per line: messages are checked as text
    )
    env.update(extra)
    return env


def _cli(
    *args: str | Path, cwd: Path, env: dict[str, str] | None = None, **kw: Any
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ragwacht", *map(str, args)],
        cwd=cwd,
        env=env or _env(),
        capture_output=True,
        text=True,
        timeout=180,
        **kw,
    )


def _profile(url: str, **over: Any) -> dict[str, Any]:
    prof: dict[str, Any] = {"type": "http", "url": url, "response": {"contexts": "$.sources"}}
    prof.update(over)
    return prof


def _project(
    tmp_path: Path,
    url: str = "http://127.0.0.1:9/chat",
    *,
    suite: dict[str, Any] | str | None = None,
    profile: dict[str, Any] | str | None = None,
    **suite_over: Any,
) -> Path:
    """A project folder with a two-case set, an HTTP profile and a suite; the suite's path."""
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n", encoding="utf-8")
    ds = tmp_path / "ds"
    ds.mkdir(exist_ok=True)
    (ds / "dataset.yaml").write_text("name: mini\nlanguage: nl\n", encoding="utf-8")
    (ds / "cases.jsonl").write_text(
        "\n".join(json.dumps(c) for c in CASES) + "\n", encoding="utf-8"
    )
    prof = profile if profile is not None else _profile(url)
    (tmp_path / "bot.yaml").write_text(
        prof if isinstance(prof, str) else yaml.safe_dump(prof, sort_keys=False),
        encoding="utf-8",
    )
    if isinstance(suite, str):
        text = suite
    else:
        data: dict[str, Any] = {
            "name": "mini",
            "dataset": "ds",
            "endpoint": "bot.yaml",
            "metrics": ["hit@5", "latency_ms"],
        }
        data.update(suite or {})
        data.update(suite_over)
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    path = tmp_path / "suite.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _run(
    suite: Path, *extra: str | Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    out = suite.parent / "out"
    args: list[str | Path] = ["run", suite, "--no-mlflow", "--quiet"]
    if "--out" not in extra:
        args += ["--out", out]
    return _cli(*args, *extra, cwd=suite.parent, env=env)


def _line_of(path: Path, needle: str) -> int:
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return i
    raise AssertionError(f"{needle!r} not in {path}")


def _config_error(
    res: subprocess.CompletedProcess[str], file: Path, line: int | None, field: str | None
) -> str:
    """Assert a clean configuration error (exit 2) naming file, line and field; its text."""
    text = res.stdout + res.stderr
    assert "Traceback" not in text, text[-3000:]
    assert res.returncode == 2, (res.returncode, text[-3000:])
    assert file.name in res.stderr, res.stderr
    if line is not None:
        assert f"line {line}" in res.stderr, res.stderr
    if field is not None:
        assert f"field '{field}" in res.stderr, res.stderr
    assert "fix:" in res.stderr, res.stderr
    return res.stderr


# ------------------------------------------------------------------ defect 10: duplicate keys


def test_a_second_gate_block_in_a_suite_is_an_error(tmp_path: Path) -> None:
    text = (
        "name: mini\ndataset: ds\nendpoint: bot.yaml\nmetrics: [hit@5]\n"
        "gate:\n  rules: [{metric: hit@5, min: 0.99}]\n"
        "execution: {concurrency: 2}\n"
        "gate:\n  rules: []\n"
    )
    suite = _project(tmp_path, suite=text)
    res = _run(suite, "--gate")
    err = _config_error(res, suite, 8, "gate")
    assert "more than once" in err


def test_a_header_written_twice_in_a_profile_is_an_error(tmp_path: Path) -> None:
    prof = (
        "type: http\nurl: http://127.0.0.1:9/chat\nheaders:\n"
        "  X-Tenant: a\n  Accept: application/json\n  X-Tenant: b\n"
    )
    suite = _project(tmp_path, profile=prof)
    res = _run(suite)
    err = _config_error(res, tmp_path / "bot.yaml", 6, "X-Tenant")
    assert "more than once" in err


@pytest.fixture(scope="module")
def record(bot: FaultServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real run record of the two-case set (for the gate command's policy probes)."""
    tmp = tmp_path_factory.mktemp("record")
    suite = _project(tmp, bot.url)
    res = _run(suite)
    assert res.returncode == 0, res.stderr[-3000:]
    return tmp / "out" / "run.json"


def test_a_rule_written_twice_in_a_policy_file_is_an_error(record: Path, tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "alpha: 0.05\nrules:\n  - {metric: hit@5, min: 0.9}\nalpha: 0.5\n", encoding="utf-8"
    )
    res = _cli("gate", record, "--policy", policy, cwd=tmp_path)
    err = _config_error(res, policy, 4, "alpha")
    assert "more than once" in err


# -------------------------------------------------------------- defect 11: YAML alias bombs


def test_an_alias_bomb_in_a_suite_is_refused(tmp_path: Path) -> None:
    text = "name: mini\ndataset: ds\nendpoint: bot.yaml\nmetrics: [hit@5]\n" + "description: x\n"
    text += "variants:\n  big:\n    fields:\n" + "".join(
        "      " + line + "\n" for line in BOMB.splitlines()
    )
    suite = _project(tmp_path, suite=text)
    res = _run(suite)
    err = _config_error(res, suite, None, None)
    assert "aliases expand" in err and re.search(r"line \d+", err)


def test_an_alias_bomb_in_a_profile_is_refused(tmp_path: Path) -> None:
    prof = "type: http\nurl: http://127.0.0.1:9/chat\nsettings:\n" + "".join(
        "  " + line + "\n" for line in BOMB.splitlines()
    )
    suite = _project(tmp_path, profile=prof)
    res = _run(suite)
    err = _config_error(res, tmp_path / "bot.yaml", None, None)
    assert "aliases expand" in err


def test_an_alias_bomb_in_a_policy_file_is_refused(record: Path, tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("alpha: 0.05\n" + BOMB, encoding="utf-8")
    res = _cli("gate", record, "--policy", policy, cwd=tmp_path)
    err = _config_error(res, policy, None, None)
    assert "aliases expand" in err


def test_an_alias_bomb_in_a_yaml_dataset_is_refused(tmp_path: Path) -> None:
    cases = tmp_path / "cases.yaml"
    cases.write_text(
        BOMB + "cases:\n  - {id: q1, question: Wat is de BAG?, tags: *i}\n", encoding="utf-8"
    )
    res = _cli("datasets", "validate", cases, cwd=tmp_path)
    text = res.stdout + res.stderr
    assert "Traceback" not in text
    assert res.returncode == 2, text[-2000:]
    assert "aliases expand" in res.stderr and cases.name in res.stderr


# ------------------------------------------------- defect 8: literal credentials in a profile


@pytest.mark.parametrize(
    ("over", "field", "needle"),
    [
        ({"headers": {"Ocp-Apim-Subscription-Key": "0123abcd"}}, "headers", "Ocp-Apim"),
        ({"headers": {"X-Functions-Key": "0123abcd"}}, "headers", "X-Functions-Key"),
        ({"headers": {"X-Access-Token": "0123abcd"}}, "headers", "X-Access-Token"),
        ({"url": "https://fn.example.invalid/api/chat?code=0123abcd"}, "url", "url:"),
        ({"url": "http://127.0.0.1:9/chat?x=1&sig=0123abcd"}, "url", "url:"),
        ({"url": "http://bot:hunter22@127.0.0.1:9/chat"}, "url", "url:"),
        ({"query": {"code": "0123abcd"}}, "query", "code:"),
        ({"query": {"api-key": "0123abcd"}}, "query", "api-key:"),
        (
            {"body": '{"question": {{ question | tojson }}, "api_key": "sk-0123456789abcdef"}'},
            "body",
            "body:",
        ),
    ],
)
def test_a_literal_credential_in_a_profile_is_refused(
    tmp_path: Path, over: dict[str, Any], field: str, needle: str
) -> None:
    suite = _project(tmp_path, profile=_profile(**{"url": "http://127.0.0.1:9/chat", **over}))
    res = _run(suite)
    err = _config_error(res, tmp_path / "bot.yaml", _line_of(tmp_path / "bot.yaml", needle), field)
    assert "${env:" in err
    assert "0123abcd" not in err and "hunter22" not in err  # the error does not repeat it
    assert not (tmp_path / "out" / "run.json").exists()


def test_a_literal_credential_in_a_variant_url_is_refused(tmp_path: Path) -> None:
    suite = _project(
        tmp_path, variants={"fn": {"url": "https://fn.example.invalid/api/chat?code=0123abcd"}}
    )
    res = _run(suite, "--variant", "fn")
    err = _config_error(res, suite, _line_of(suite, "url:"), "variants.fn.url")
    assert "0123abcd" not in err


def test_credentials_from_the_environment_reach_the_bot_and_no_output(
    bot: FaultServer, tmp_path: Path
) -> None:
    secrets = {"SUB_KEY": "sub-5ecret-value-1", "FN_CODE": "fn-5ecret-value-2"}
    prof = _profile(
        bot.url + "?code=${env:FN_CODE}",
        headers={"Ocp-Apim-Subscription-Key": "${env:SUB_KEY}"},
    )
    suite = _project(tmp_path, profile=prof)
    bot.requests.clear()
    res = _run(suite, env=_env(**secrets))
    assert res.returncode == 0, res.stderr[-3000:]
    assert bot.requests, "the bot was not called"
    outputs = [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert {p.name for p in outputs} >= {"run.json", "report.html", "summary.md", "cases.csv"}
    for path in outputs:
        text = path.read_text(encoding="utf-8", errors="replace")
        for value in secrets.values():
            assert value not in text, path
    manifest = json.loads((tmp_path / "out" / "run.json").read_text("utf-8"))["manifest"]
    assert "${env:FN_CODE}" in manifest["endpoint_profile"]["url"]
    assert res.stdout.count("sub-5ecret") == res.stderr.count("sub-5ecret") == 0


# --------------------------------------------------------------- defect 16: the endpoint URL


@pytest.mark.parametrize(
    "url", ["127.0.0.1:9/chat", "file:///etc/passwd", "ftp://127.0.0.1/chat", "http:///chat"]
)
def test_an_endpoint_url_without_http_scheme_or_host_is_refused(tmp_path: Path, url: str) -> None:
    suite = _project(tmp_path, url)
    res = _run(suite)
    err = _config_error(res, tmp_path / "bot.yaml", _line_of(tmp_path / "bot.yaml", "url:"), "url")
    assert "http" in err


@pytest.mark.parametrize("value", ["file:///etc/passwd", "127.0.0.1:9", "http://"])
def test_an_endpoint_url_from_the_environment_is_checked_once_resolved(
    tmp_path: Path, value: str
) -> None:
    suite = _project(tmp_path, "${env:RW_BOT_URL}/chat")
    res = _run(suite, env=_env(RW_BOT_URL=value))
    bot_yaml = tmp_path / "bot.yaml"
    err = _config_error(res, bot_yaml, _line_of(bot_yaml, "url:"), "url")
    assert "http(s)" in err


# ----------------------------------------------------------- defect 13: no tracebacks, ever


def test_a_typo_in_a_template_variable_is_a_config_error(tmp_path: Path) -> None:
    prof = _profile("http://127.0.0.1:9/chat", body='{"question": {{ questoin | tojson }}}')
    suite = _project(tmp_path, profile=prof)
    res = _run(suite)
    err = _config_error(
        res, tmp_path / "bot.yaml", _line_of(tmp_path / "bot.yaml", "body:"), "body"
    )
    assert "questoin" in err


def test_out_that_is_an_existing_file_is_a_config_error(tmp_path: Path) -> None:
    suite = _project(tmp_path)
    out = tmp_path / "taken"
    out.write_text("not a folder\n", encoding="utf-8")
    res = _run(suite, "--out", out)
    text = res.stdout + res.stderr
    assert "Traceback" not in text
    assert res.returncode == 2, text[-3000:]
    assert "--out" in res.stderr and "taken" in res.stderr
    assert out.read_text(encoding="utf-8") == "not a folder\n"


@contextlib.contextmanager
def _tmpfs(path: Path, options: str) -> Iterator[Path]:
    path.mkdir()
    res = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({res.stderr.strip() or res.returncode})")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_out_on_a_read_only_folder_is_a_config_error(bot: FaultServer, tmp_path: Path) -> None:
    suite = _project(tmp_path, bot.url)
    bot.reset_counts()
    # A read-only mount: permissions alone do not stop root, which CI containers often are.
    with _tmpfs(tmp_path / "ro", "ro,size=1m") as ro:
        res = _run(suite, "--out", ro / "out")
    text = res.stdout + res.stderr
    assert "Traceback" not in text
    assert res.returncode == 2, text[-3000:]
    assert "ro/out" in res.stderr and "--out" in res.stderr
    assert not bot.counts, "the endpoint was called although nothing could be written"


def test_out_on_a_full_disk_is_a_clear_error_that_keeps_the_answers(
    bot: FaultServer, tmp_path: Path
) -> None:
    suite = _project(tmp_path, bot.url)
    # Room for the responses but not for the record and report.
    with _tmpfs(tmp_path / "full", "size=12k") as full:
        res = _run(suite, "--out", full / "out")
        kept = (full / "out" / "responses.jsonl").read_text("utf-8")
    text = res.stdout + res.stderr
    assert "Traceback" not in text
    assert res.returncode == 2, text[-3000:]
    assert "No space left" in res.stderr and "--resume" in res.stderr
    assert sum(1 for line in kept.splitlines() if line.strip()) == len(CASES)


def test_rich_markup_in_a_yaml_key_prints_literally(tmp_path: Path) -> None:
    suite = _project(tmp_path, **{"[/b]x": 1})
    res = _run(suite)
    err = _config_error(res, suite, _line_of(suite, "[/b]x"), "[/b]x")
    assert "unknown field" in err


@pytest.mark.parametrize(
    "name",
    ["[/b]", "a" * 300, "nl/kort", "../../../x", "ABSOLUTE", "..", "naïve", "a b"],
    ids=["markup", "300-chars", "slash", "dotdot-path", "absolute", "dotdot", "non-ascii", "space"],
)
def test_a_bad_variant_name_is_refused_at_load(tmp_path: Path, name: str) -> None:
    project = tmp_path / "project"
    project.mkdir()
    if name == "ABSOLUTE":  # a path of its own outside the project, so nothing else is there
        name = str(tmp_path / "outside" / "x")
    suite = _project(project, variants={name: {"fields": {"k": 1}}})
    # Without --out the output folder is reports/<suite>/<variant>/: where a name could escape.
    target = (project / "reports" / "mini" / name).resolve()
    assert not target.exists()
    res = _cli("run", suite, "--no-mlflow", "--quiet", "--variant", name, cwd=project)
    err = _config_error(res, suite, _line_of(suite, "variants:") + 1, "variants")
    assert name[:40] in err  # printed literally, markup included
    assert not (project / "reports").exists() and not target.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["project"]


def test_a_variant_name_with_a_slash_and_a_baseline_file_is_refused(tmp_path: Path) -> None:
    suite = _project(
        tmp_path, variants={"a/b": {"fields": {"k": 1}}}, baseline={"file": "ci/base.json"}
    )
    res = _run(suite, "--variant", "a/b")
    _config_error(res, suite, _line_of(suite, "variants:") + 1, "variants")


def test_variant_outputs_stay_in_the_output_folder(bot: FaultServer, tmp_path: Path) -> None:
    suite = _project(tmp_path, bot.url, variants={"v-1.2_b": {"fields": {"k": 1}}})
    res = _cli("run", suite, "--no-mlflow", "--quiet", "--variant", "v-1.2_b", cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    assert (tmp_path / "reports" / "mini" / "v-1.2_b" / "run.json").is_file()


# ------------------------------------------------------------- defect 17: smaller config gaps


def test_an_unknown_suite_schema_version_is_refused(tmp_path: Path) -> None:
    suite = _project(tmp_path, schema_version=2)
    res = _run(suite)
    err = _config_error(res, suite, _line_of(suite, "schema_version"), "schema_version")
    assert "1" in err


def test_an_unknown_profile_schema_version_is_refused(tmp_path: Path) -> None:
    suite = _project(tmp_path, profile=_profile("http://127.0.0.1:9/chat", schema_version=2))
    res = _run(suite)
    bot_yaml = tmp_path / "bot.yaml"
    _config_error(res, bot_yaml, _line_of(bot_yaml, "schema_version"), "schema_version")


def test_a_misspelled_metric_option_is_refused_with_its_line(tmp_path: Path) -> None:
    suite = _project(
        tmp_path,
        metrics=["hit@5", {"name": "faithfulness", "judge": "j", "treshold": 0.5}],
        judges={"j": "lexical"},
    )
    res = _run(suite)
    err = _config_error(res, suite, _line_of(suite, "- name: faithfulness"), "metrics")
    assert "treshold" in err


def test_an_unknown_metric_is_refused_with_its_line(tmp_path: Path) -> None:
    suite = _project(tmp_path, metrics=["hit@5", "faithfulnes"])
    res = _run(suite)
    _config_error(res, suite, _line_of(suite, "- faithfulnes"), "metrics")


def test_an_undefined_judge_is_refused_with_its_line(tmp_path: Path) -> None:
    suite = _project(tmp_path, metrics=["hit@5", {"name": "faithfulness", "judge": "nope"}])
    res = _run(suite)
    _config_error(res, suite, _line_of(suite, "judge: nope"), "metrics")


def test_a_bad_variant_setting_is_refused_with_its_line(tmp_path: Path) -> None:
    suite = _project(tmp_path, variants={"v": {"feilds": {"k": 1}}})
    res = _run(suite, "--variant", "v")
    _config_error(res, suite, _line_of(suite, "feilds"), "variants.v.feilds")


def test_an_unknown_variant_on_the_command_line_names_the_variants_line(tmp_path: Path) -> None:
    suite = _project(tmp_path, variants={"v": {"fields": {"k": 1}}})
    res = _run(suite, "--variant", "w")
    _config_error(res, suite, _line_of(suite, "variants:"), "variants")


def test_a_missing_env_var_names_the_profile_line(tmp_path: Path) -> None:
    prof = _profile("http://127.0.0.1:9/chat", headers={"X-Api-Key": "${env:RW_UNSET_KEY}"})
    suite = _project(tmp_path, profile=prof)
    env = _env()
    env.pop("RW_UNSET_KEY", None)
    res = _run(suite, env=env)
    bot_yaml = tmp_path / "bot.yaml"
    err = _config_error(res, bot_yaml, _line_of(bot_yaml, "X-Api-Key"), "headers.X-Api-Key")
    assert "RW_UNSET_KEY" in err


def _limit_memory() -> None:  # pragma: no cover - runs in the child process
    import resource

    # Far below what 'a' * 2e9 needs: an unbounded sandbox fails here instead of swapping.
    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))


@pytest.mark.parametrize(
    "expr",
    ["'a' * 2000000000", "[1] * 2000000000", "9 ** 9999999", "'%2000000000s' % 'a'"],
    ids=["str-repeat", "list-repeat", "power", "format"],
)
def test_a_template_that_would_eat_memory_fails_fast(tmp_path: Path, expr: str) -> None:
    body = '{"question": {{ question | tojson }}, "x": {{ (' + expr + ") | tojson }}}"
    suite = _project(tmp_path, profile=_profile("http://127.0.0.1:9/chat", body=body))
    res = subprocess.run(
        [sys.executable, "-m", "ragwacht", "run", suite, "--no-mlflow", "--quiet"],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_limit_memory,
    )
    bot_yaml = tmp_path / "bot.yaml"
    err = _config_error(res, bot_yaml, _line_of(bot_yaml, "body:"), "body")
    assert "too large" in err


# --------------------------------------------------- defect 5 (policy): empty policy files


@pytest.mark.parametrize("text", ["", "# alpha: 0.05\n# rules: []\n", "gate:\n"])
def test_an_empty_policy_file_is_a_config_error(record: Path, tmp_path: Path, text: str) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(text, encoding="utf-8")
    res = _cli("gate", record, "--policy", policy, cwd=tmp_path)
    err = _config_error(res, policy, 1, None)
    assert "is empty" in err
