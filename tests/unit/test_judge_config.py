from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ragwacht.errors import ConfigError, JudgeError
from ragwacht.metrics.judges.cache import JudgeCache, cache_key
from ragwacht.metrics.judges.config import LLMJudgeConfig, LocalLLMJudgeConfig, NLIJudgeConfig
from ragwacht.metrics.judges.factory import load_judge_file, make_verifier, parse_judge_config
from ragwacht.metrics.judges.llm import LLMVerifier, p_yes, parse_json_reply
from ragwacht.metrics.prompts import LANGUAGES, PROMPT_DIR, load_prompt, pick_language


def test_discriminated_union_picks_each_type(tmp_path: Path) -> None:
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    assert isinstance(
        parse_judge_config({"type": "llm", "base_url": "http://x/v1"}), LLMJudgeConfig
    )
    local = parse_judge_config({"type": "local-llm", "gguf": str(gguf)})
    assert isinstance(local, LocalLLMJudgeConfig) and local.resolved_gguf() == gguf
    nli = parse_judge_config({"type": "nli", "model": "some/model", "window": 3})
    assert isinstance(nli, NLIJudgeConfig) and nli.window == 3
    lex = parse_judge_config({"type": "lexical", "threshold": 0.7})
    assert lex.options == {"threshold": 0.7}  # type: ignore[union-attr]
    assert parse_judge_config("lexical").type == "lexical"


def test_config_errors_name_file_field_and_fix() -> None:
    with pytest.raises(ConfigError) as e:
        parse_judge_config(
            {"type": "llm", "model": "m", "temprature": 0}, file="s.yaml", field="judges.strict"
        )
    fields = [p.location.field for p in e.value.problems]
    assert "judges.strict.temprature" in fields
    assert all(str(p.location.file) == "s.yaml" for p in e.value.problems)
    with pytest.raises(ConfigError, match="base_url"):
        parse_judge_config({"type": "llm", "model": "m"})
    with pytest.raises(ConfigError) as e2:
        parse_judge_config({"type": "gpt"}, field="judges.x")
    assert e2.value.first.location.field == "judges.x.type"
    assert "lexical" in (e2.value.first.hint or "")
    with pytest.raises(ConfigError):
        parse_judge_config({"type": "llm", "base_url": "http://x", "json_mode": "xml"})
    with pytest.raises(ConfigError, match="api_version"):
        parse_judge_config({"type": "llm", "base_url": "http://x", "deployment": "d"})


def test_base_url_env_and_missing_env(monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = LLMJudgeConfig(base_url_env="RW_TEST_JUDGE_URL")
    monkeypatch.delenv("RW_TEST_JUDGE_URL", raising=False)
    with pytest.raises(ConfigError, match="RW_TEST_JUDGE_URL"):
        cfg.resolved_base_url()
    monkeypatch.setenv("RW_TEST_JUDGE_URL", "http://127.0.0.1:1/v1")
    assert cfg.resolved_base_url() == "http://127.0.0.1:1/v1"
    v = LLMVerifier(LLMJudgeConfig(base_url="http://x/v1", api_key_env="RW_TEST_KEY"))
    monkeypatch.delenv("RW_TEST_KEY", raising=False)
    with pytest.raises(ConfigError, match="RW_TEST_KEY"):
        v.api_key()


def test_local_llm_missing_gguf_is_config_error(tmp_path: Path) -> None:
    cfg = LocalLLMJudgeConfig(gguf=str(tmp_path / "none.gguf"))
    with pytest.raises(ConfigError, match="not found"):
        make_verifier(cfg)


def test_load_judge_file_from_suite(tmp_path: Path) -> None:
    suite = tmp_path / "suite.yaml"
    suite.write_text(
        "name: s\njudges:\n  a: {type: llm, base_url: 'http://x/v1', model: m}\n"
        "  b: {type: nli, model: some/model}\n"
    )
    with pytest.raises(ConfigError, match="say which"):
        load_judge_file(suite)
    assert load_judge_file(suite, name="b").type == "nli"
    one = tmp_path / "judge.yaml"
    one.write_text("type: llm\nbase_url: http://x/v1\nmodel: m\nmethod: claim_logprobs\n")
    cfg = load_judge_file(one)
    assert isinstance(cfg, LLMJudgeConfig) and cfg.method == "claim_logprobs"
    bad = tmp_path / "bad.yaml"
    bad.write_text("type: llm\n  base_url: [\n")
    with pytest.raises(ConfigError) as e:
        load_judge_file(bad)
    assert e.value.first.location.line is not None


def test_prompts_exist_for_every_method_and_language() -> None:
    for name in ("faithfulness_v1", "verdicts_v3", "claim_check_v3"):
        hashes = set()
        for lang in LANGUAGES:
            p = load_prompt(name, lang)
            assert p.path.parent == PROMPT_DIR
            assert p.version == f"{name}.{lang}"
            assert len(p.sha256) == 64
            hashes.add(p.sha256)
        assert len(hashes) == 2  # nl and en differ
    nl = load_prompt("faithfulness_v1", "nl").render(
        question="Wat is de BAG?", passages=["p1", "p2"], answer="Een register.", max_claims=5
    )
    assert "Vraag: Wat is de BAG?" in nl and "[2] p2" in nl and "hoogstens 5" in nl
    assert pick_language("nl-NL") == "nl" and pick_language("de") == "en"
    with pytest.raises(Exception, match="claim"):  # StrictUndefined: a missing variable fails
        load_prompt("claim_check_v3", "en").render(passages=[])


@pytest.mark.parametrize(("lang", "label"), [("en", "Question: "), ("nl", "Vraag: ")])
def test_question_is_shown_only_with_short_claims(lang: str, label: str) -> None:
    check = load_prompt("claim_check_v3", lang)
    q = "Welke nationaliteit heeft zij?"
    assert label + q in check.render(passages=["p"], claim="Amerikaans", question=q)
    long_claim = "De BAG bevat alle adressen en gebouwen in Nederland."
    assert q not in check.render(passages=["p"], claim=long_claim, question=q)
    assert label not in check.render(passages=["p"], claim="Amerikaans", question="")
    verdicts = load_prompt("verdicts_v3", lang)
    assert q in verdicts.render(passages=["p"], claims=[long_claim, "ja"], question=q)
    assert q not in verdicts.render(passages=["p"], claims=[long_claim], question=q)


def test_prompt_override_dir_wins(tmp_path: Path) -> None:
    (tmp_path / "faithfulness_v1.en.j2").write_text("custom {{ answer }}")
    p = load_prompt("faithfulness_v1", "en", override_dir=tmp_path)
    assert p.path.parent == tmp_path and p.render(answer="x").strip() == "custom x"
    assert p.sha256 != load_prompt("faithfulness_v1", "en").sha256


def test_verifier_identity_and_prompt_hash() -> None:
    a = LLMVerifier(LLMJudgeConfig(base_url="http://x/v1", model="m"))
    b = LLMVerifier(LLMJudgeConfig(base_url="http://x/v1", model="m", method="claim_logprobs"))
    assert a.id == "llm:m" and b.id == "llm:m:claim_logprobs"
    assert a.prompt_version == "faithfulness_v1" and b.prompt_version == "claim_check_v3"
    assert a.prompt_hash and b.prompt_hash and a.prompt_hash != b.prompt_hash


def test_cache_roundtrip_and_corruption(tmp_path: Path) -> None:
    c = JudgeCache(tmp_path)
    k = cache_key(model="m", inputs=["a", "b"])
    assert k == cache_key(inputs=["a", "b"], model="m")  # order-independent
    assert k != cache_key(model="m", inputs=["b", "a"])
    assert c.get(k) is None
    c.put(k, {"x": 1})
    assert c.get(k) == {"x": 1} and c.hits == 1 and c.misses == 1
    (tmp_path / k[:2] / f"{k}.json").write_text("{broken")
    assert c.get(k) is None


def test_parse_json_reply() -> None:
    assert parse_json_reply('{"a": 1}') == {"a": 1}
    assert parse_json_reply('```json\n{"a": 1}\n```') == {"a": 1}
    assert parse_json_reply('Sure! {"a": [1]} hope this helps') == {"a": [1]}
    with pytest.raises(ValueError):
        parse_json_reply("no json here")
    with pytest.raises(ValueError):
        parse_json_reply('{"a": ')


class _T:
    def __init__(self, token: str, logprob: float) -> None:
        self.token, self.logprob = token, logprob


class _Resp:
    def __init__(self, tops: list[tuple[str, float]] | None) -> None:
        class C:
            pass

        choice = C()
        if tops is None:
            choice.logprobs = None  # type: ignore[attr-defined]
        else:
            first = C()
            first.token = tops[0][0]  # type: ignore[attr-defined]
            first.logprob = tops[0][1]  # type: ignore[attr-defined]
            first.top_logprobs = [_T(t, v) for t, v in tops]  # type: ignore[attr-defined]
            lp = C()
            lp.content = [first]  # type: ignore[attr-defined]
            choice.logprobs = lp  # type: ignore[attr-defined]
        self.choices = [choice]


def test_p_yes_normalises_yes_and_no_mass() -> None:
    import math

    r = _Resp(
        [
            ("Yes", math.log(0.6)),
            (" yes", math.log(0.1)),
            ("No", math.log(0.2)),
            ("Maybe", math.log(0.1)),
        ]
    )
    assert p_yes(r) == pytest.approx(0.7 / 0.9)
    assert p_yes(_Resp([("nee", math.log(0.9)), ("ja", math.log(0.1))])) == pytest.approx(0.1)
    with pytest.raises(JudgeError) as e:
        p_yes(_Resp(None))
    assert e.value.reason == "no_logprobs"
    with pytest.raises(JudgeError) as e2:
        p_yes(_Resp([("Maybe", -0.1)]))
    assert e2.value.reason == "malformed_output"


def test_blank_answer_needs_no_call() -> None:
    v = LLMVerifier(LLMJudgeConfig(base_url="http://127.0.0.1:9/v1", model="m"))
    out = asyncio.run(v.verify("   ", ["ctx"], language="en"))
    assert out.claims == [] and out.calls == 0 and v.stats.requests == 0


def test_local_llm_defaults_to_logprobs_and_gives_the_server_a_slot_per_request(
    tmp_path: Path,
) -> None:
    from ragwacht.metrics.judges.local_llm import LocalLLMVerifier

    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    cfg = LocalLLMJudgeConfig(gguf=str(gguf), concurrency=3, n_ctx=2048)
    assert cfg.method == "claim_logprobs"
    assert LLMJudgeConfig(base_url="http://x/v1").method == "claims_verdicts"  # any API works
    v = LocalLLMVerifier(cfg)
    assert v.server.parallel == 3 and v.server.n_ctx == 3 * 2048
    assert v.id == "local-llm:m:claim_logprobs" and v.prompt_version == "claim_check_v3"


def test_stop_with_a_deadline() -> None:
    import threading

    from ragwacht.cli.judges import finishes_within

    done = threading.Event()
    assert finishes_within(done.set, 5.0) and done.is_set()
    release = threading.Event()
    assert not finishes_within(lambda: release.wait(10), 0.2)  # a hanging stop is given up on
    release.set()
