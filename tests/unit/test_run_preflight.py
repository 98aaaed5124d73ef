"""Configuration mistakes in a run surface before any endpoint call, as ConfigErrors (exit 2);
secrets written literally in a profile never reach the record.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ragwacht.errors import ConfigError
from ragwacht.evals.run import RunOptions, run_suite
from tests.helpers import counting_bot
from tests.helpers.mini_project import mini_project


def _project(tmp_path: Path, **suite_over: object) -> Path:
    return mini_project(tmp_path, **suite_over)


def _run(path: Path, tmp_path: Path, **kw: object) -> object:
    return run_suite(
        path,
        RunOptions(out_dir=tmp_path / "out", mlflow=False, progress=False, **kw),  # type: ignore[arg-type]
    )


@pytest.fixture(autouse=True)
def _reset_calls() -> None:
    counting_bot.CALLS.clear()


def test_a_good_run_calls_every_case(tmp_path: Path) -> None:
    out = _run(_project(tmp_path), tmp_path)
    assert len(counting_bot.CALLS) == 2
    assert out.record.summary["faithfulness"].scored == 2  # type: ignore[attr-defined]
    judges = out.record.manifest.judges  # type: ignore[attr-defined]
    assert [j.id for j in judges] == ["lexical"] and judges[0].weak


def test_missing_judge_env_var_fails_before_any_call(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("RW_NO_SUCH_JUDGE_URL", raising=False)
    path = _project(
        tmp_path,
        judges={"j": {"type": "llm", "base_url_env": "RW_NO_SUCH_JUDGE_URL", "model": "m"}},
    )
    with pytest.raises(ConfigError) as ei:
        _run(path, tmp_path)
    assert "RW_NO_SUCH_JUDGE_URL" in str(ei.value)
    assert ei.value.first.location.field == "judges.j"
    assert counting_bot.CALLS == []


def test_gate_flag_without_policy_fails_before_any_call(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no gate policy"):
        _run(_project(tmp_path), tmp_path, gate=True)
    assert counting_bot.CALLS == []


def test_bad_gate_rule_fails_before_any_call(tmp_path: Path) -> None:
    path = _project(tmp_path, gate={"rules": [{"metric": "recall@5", "min": 0.8}]})
    with pytest.raises(ConfigError):
        _run(path, tmp_path, gate=True)
    assert counting_bot.CALLS == []


def test_missing_explicit_baseline_fails_before_any_call(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        _run(_project(tmp_path), tmp_path, baseline=str(tmp_path / "nope.json"))
    assert counting_bot.CALLS == []


def test_unknown_variant_is_rejected_even_without_declared_variants(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown variant"):
        _run(_project(tmp_path), tmp_path, variant="typo")
    assert counting_bot.CALLS == []


def test_metric_options_null_is_not_a_traceback(tmp_path: Path) -> None:
    path = _project(tmp_path, metrics=[{"name": "recall", "options": None, "k": 5}])
    _run(path, tmp_path)
    assert len(counting_bot.CALLS) == 2


def test_literal_secrets_in_a_profile_are_redacted_in_the_record(tmp_path: Path) -> None:
    from ragwacht._env import redact_public

    public = {
        "type": "http",
        "url": "https://user:pw@bot.example/chat?api_key=sk-literal-123&lang=nl",
        "query": {"api_key": "sk-literal-456", "lang": "nl"},
        "headers": {"Authorization": "Bearer ${env:BOT_TOKEN}"},
        "env": {"API_KEY": "sk-live-xyz"},
    }
    safe = json.dumps(redact_public(public))
    for secret in ("sk-literal-123", "sk-literal-456", "sk-live-xyz", "user:pw"):
        assert secret not in safe
    assert "${env:BOT_TOKEN}" in safe  # the env var NAME stays: it says where the secret lives
    assert "lang=nl" in safe
