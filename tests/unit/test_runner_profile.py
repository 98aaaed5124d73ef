"""Endpoint profiles: loading, validation errors with file/line/field, variants, secrets."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from ragwacht.datasets.models import GoldenCase
from ragwacht.errors import ConfigError
from ragwacht.runners import (
    ExecOptions,
    HttpProfile,
    Variant,
    apply_variant,
    build_runner,
    load_profile,
    profile_from_dict,
    run_cases_sync,
    variant_from_spec,
)

REPO = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str, name: str = "bot.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def only_problem(exc: pytest.ExceptionInfo[ConfigError]):
    assert len(exc.value.problems) == 1, exc.value
    return exc.value.first


def test_shipped_demo_profiles_load_and_point_at_a_base_url() -> None:
    http = load_profile(REPO / "runners" / "demo-bot.yaml")
    oa = load_profile(REPO / "runners" / "demo-bot-openai.yaml")
    assert http.type == "http" and http.name == "demo-bot"
    assert oa.type == "openai-chat"
    assert http.with_base_url("http://127.0.0.1:4321").url == "http://127.0.0.1:4321/chat"
    assert oa.with_base_url("http://127.0.0.1:4321/").base_url == "http://127.0.0.1:4321/v1"
    # The fields the demo bot understands are sent by default and overridable by variants.
    assert http.fields == {"top_k": 5, "retrieval": "hybrid", "reranker": True}


def test_unknown_field_names_file_line_and_field(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "type: http\nurl: http://x/chat\nresponse:\n  answer: $.answer\n  contxts: $.sources\n",
    )
    with pytest.raises(ConfigError) as exc:
        load_profile(path)
    p = only_problem(exc)
    assert p.message == "unknown field"
    assert p.location.field == "response.contxts"
    assert p.location.line == 5
    assert Path(str(p.location.file)) == path


def test_invalid_jsonpath_is_rejected_at_load(tmp_path: Path) -> None:
    path = write(tmp_path, "type: http\nurl: http://x/chat\nresponse:\n  answer: $.answer[[\n")
    with pytest.raises(ConfigError) as exc:
        load_profile(path)
    p = only_problem(exc)
    assert p.location.field == "response.answer"
    assert p.location.line == 4
    assert "invalid JSONPath" in p.message


def test_invalid_jmespath_is_rejected_at_load(tmp_path: Path) -> None:
    path = write(
        tmp_path, "type: http\nurl: http://x/chat\nresponse:\n  contexts: 'jmes: sources[?'\n"
    )
    with pytest.raises(ConfigError) as exc:
        load_profile(path)
    p = only_problem(exc)
    assert p.location.field == "response.contexts"
    assert "invalid JMESPath" in p.message


def test_jinja_syntax_error_points_at_the_template_line(tmp_path: Path) -> None:
    text = (
        "type: http\n"  # 1
        "url: http://x/chat\n"  # 2
        "body: |\n"  # 3
        "  {\n"  # 4
        '    "q": {{ question | tojson }},\n'  # 5
        '    "k": {% if x %}1\n'  # 6  (unclosed if)
        "  }\n"  # 7
    )
    with pytest.raises(ConfigError) as exc:
        load_profile(write(tmp_path, text))
    p = only_problem(exc)
    assert p.location.field == "body"
    assert "template syntax error" in p.message
    assert p.location.line is not None and 6 <= p.location.line <= 8


def test_body_that_does_not_render_json_is_rejected(tmp_path: Path) -> None:
    text = "type: http\nurl: http://x/chat\nbody: '{\"q\": {{ question }}}'\n"
    with pytest.raises(ConfigError) as exc:
        load_profile(write(tmp_path, text))
    p = only_problem(exc)
    assert p.location.field == "body"
    assert "valid JSON" in p.message and "tojson" in p.message


def test_literal_credential_header_is_rejected(tmp_path: Path) -> None:
    text = "type: http\nurl: http://x/chat\nheaders:\n  Authorization: Bearer abc123\n"
    with pytest.raises(ConfigError) as exc:
        load_profile(write(tmp_path, text))
    p = only_problem(exc)
    assert p.location.field == "headers"
    assert "${env:" in p.message


@pytest.mark.parametrize(
    ("text", "field", "needle"),
    [
        ("url: http://x\n", "type", "missing"),
        ("type: grpc\nurl: http://x\n", "type", "unknown profile type"),
        ("type: http\n", "url", "required"),
        ("type: openai-chat\nmodel: m\n", "", "exactly one of base_url or azure"),
        (
            "type: openai-chat\nmodel: m\nbase_url: http://x\napi_key_env: sk-abc-123\n",
            "api_key_env",
            "NAME",
        ),
        ("type: mcp\ntool: search\n", "", "exactly one of command"),
        ("type: python\ncallable: not a callable\n", "callable", "pattern"),
    ],
)
def test_bad_profiles_are_config_errors(tmp_path: Path, text: str, field: str, needle: str) -> None:
    with pytest.raises(ConfigError) as exc:
        load_profile(write(tmp_path, text))
    p = exc.value.first
    assert (p.location.field or "") == field
    assert needle in p.message
    assert Path(str(p.location.file)).name == "bot.yaml"


def test_yaml_syntax_error_has_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        load_profile(write(tmp_path, "type: http\nurl: [unclosed\n"))
    assert exc.value.first.location.line is not None


def test_missing_env_var_at_build_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAGWACHT_TEST_TOKEN", raising=False)
    prof = profile_from_dict(
        {
            "type": "http",
            "url": "http://x/chat",
            "headers": {"Authorization": "Bearer ${env:RAGWACHT_TEST_TOKEN}"},
        }
    )
    with pytest.raises(ConfigError) as exc:
        build_runner(prof, ExecOptions())
    assert "RAGWACHT_TEST_TOKEN" in exc.value.first.message
    assert exc.value.first.location.field == "headers.Authorization"


def test_missing_env_var_names_the_profile_file(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("RAGWACHT_TEST_TOKEN", raising=False)
    path = write(
        tmp_path,
        'type: http\nurl: http://x/chat\nheaders:\n  X-Api-Key: "${env:RAGWACHT_TEST_TOKEN}"\n',
    )
    prof = apply_variant(load_profile(path).with_base_url("http://y:1"), Variant(name="v"))
    with pytest.raises(ConfigError) as exc:
        build_runner(prof, ExecOptions())
    assert Path(str(exc.value.first.location.file)) == path
    assert "RAGWACHT_TEST_TOKEN" in exc.value.first.message


def test_env_default_and_plain_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    from ragwacht.runners.templating import resolve_env

    monkeypatch.delenv("RW_PORT", raising=False)
    assert resolve_env("http://h:${env:RW_PORT:-8765}/x") == "http://h:8765/x"
    monkeypatch.setenv("RW_PORT", "9999")
    assert resolve_env("http://h:${env:RW_PORT:-8765}/x") == "http://h:9999/x"
    assert resolve_env("http://h:${RW_PORT}/x") == "http://h:9999/x"


def test_secrets_never_reach_records_or_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "s3cr3t-token-value"
    monkeypatch.setenv("RW_BOT_TOKEN", secret)
    prof = profile_from_dict(
        {
            "type": "http",
            "url": "http://x/chat",
            "headers": {"Authorization": "Bearer ${env:RW_BOT_TOKEN}"},
        }
    )
    assert secret not in json.dumps(prof.public_dict())
    assert "RW_BOT_TOKEN" in json.dumps(prof.public_dict())

    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"])
        # A careless server that echoes the credential back in its error body.
        return httpx.Response(401, text=f"bad credentials: {request.headers['authorization']}")

    [r] = run_cases_sync(
        prof,
        [GoldenCase(id="c", question="q")],
        transport=httpx.MockTransport(handler),
        progress=False,
    )
    assert seen == [f"Bearer {secret}"]
    assert r.error_kind == "http_status" and r.attempts == 1
    assert r.error is not None and secret not in r.error and "***" in r.error


def test_apply_variant_merges_fields_headers_and_url() -> None:
    prof = profile_from_dict(
        {"type": "http", "url": "http://a/chat", "fields": {"top_k": 5, "retrieval": "bm25"}}
    )
    v = Variant(
        name="dense",
        fields={"retrieval": "dense"},
        headers={"X-Variant": "dense"},
        url="http://b:1/chat2",
        settings={"style": "kort"},
    )
    out = apply_variant(prof, v)
    assert isinstance(out, HttpProfile)
    assert out.fields == {"top_k": 5, "retrieval": "dense"}
    assert out.headers == {"X-Variant": "dense"}
    assert out.url == "http://b:1/chat2"
    assert out.settings == {"style": "kort"}
    assert prof.fields == {"top_k": 5, "retrieval": "bm25"}  # the original is untouched


def test_variant_cannot_add_literal_secret_or_url_to_python() -> None:
    prof = profile_from_dict({"type": "http", "url": "http://a/chat"})
    with pytest.raises(ConfigError):
        apply_variant(
            prof,
            Variant.model_construct(
                name="v", headers={"X-Api-Key": "k"}, fields={}, settings={}, url=None
            ),
        )
    py = profile_from_dict({"type": "python", "callable": "os:getcwd"})
    with pytest.raises(ConfigError):
        apply_variant(py, Variant(name="v", url="http://x"))


def test_variant_from_spec_names_unknown_keys() -> None:
    v = variant_from_spec("dense", {"fields": {"retrieval": "dense"}})
    assert v.name == "dense" and v.fields == {"retrieval": "dense"}
    with pytest.raises(ConfigError) as exc:
        variant_from_spec("dense", {"feilds": {}}, file="evals/s.yaml")
    assert exc.value.first.location.field == "variants.dense.feilds"
    assert exc.value.first.message == "unknown field"


def test_with_base_url_replaces_only_the_origin() -> None:
    prof = profile_from_dict({"type": "http", "url": "http://127.0.0.1:${env:P:-1}/api/chat?x=1"})
    assert prof.with_base_url("http://10.0.0.1:80").url == "http://10.0.0.1:80/api/chat?x=1"
    assert prof.with_base_url("http://h:1/prefix/").url == "http://h:1/prefix/api/chat?x=1"
    mcp_stdio = profile_from_dict({"type": "mcp", "command": "python -m srv", "tool": "search"})
    assert mcp_stdio.command == ["python", "-m", "srv"]
    with pytest.raises(ConfigError):
        mcp_stdio.with_base_url("http://h:1")
