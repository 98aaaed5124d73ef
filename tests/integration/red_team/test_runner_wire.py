"""Red team, the wire: what a hostile chatbot sends must not leak secrets or crash the run.

Issue 15, defects 1 (redirects to another host), 3 (unbounded bodies), 4 (cache key on
``${env:...}`` names), 7 (reflected secrets), 12 (``NaN`` cost) and 17 (declared charset, deep
JSON). Every test runs the real executor against :class:`~tests.helpers.hostile_bot.HostileBot`
on loopback, over both HTTP paths: the aiohttp fast path and the httpx path (which streamed
answers and custom transports take).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ragwacht.datasets.models import GoldenCase
from ragwacht.runners import (
    ExecOptions,
    Response,
    ResponseCache,
    ResponseStore,
    profile_from_dict,
    run_cases_sync,
)
from tests.helpers.hostile_bot import HostileBot

pytestmark = pytest.mark.integration

SECRET = "Zq8vK3-hostile-4f1d9c2e7b6a"
PATHS = ["fast", "httpx"]


@pytest.fixture
def bot() -> Iterator[HostileBot]:
    with HostileBot() as b:
        yield b


@pytest.fixture
def other_host() -> Iterator[HostileBot]:
    """A second bot on another loopback address: "another host" for redirects."""
    try:
        b = HostileBot("127.0.0.2")
    except OSError as exc:  # pragma: no cover - Linux binds all of 127/8
        pytest.skip(f"127.0.0.2 is not bindable here: {exc}")
    with b:
        yield b


def _run(
    profile: dict[str, Any],
    path: str,
    tmp_path: Path,
    *,
    questions: int = 1,
    cache: ResponseCache | None = None,
) -> list[Response]:
    prof = profile_from_dict(
        {
            "type": "http",
            "headers": {"X-Api-Key": "${env:HOSTILE_BOT_KEY}"},
            "response": {
                "answer": "$.answer",
                "contexts": "$.sources[*]",
                "cited_ids": "$.cited[*]",
                "cost": "$.cost",
                "usage": {"total_tokens": "$.usage.total_tokens"},
            },
            **profile,
        }
    )
    cases = [GoldenCase(id=f"c{i}", question=f"vraag {i}") for i in range(questions)]
    return run_cases_sync(
        prof,
        cases,
        options=ExecOptions(concurrency=2, attempt_timeout_s=20, max_retries=0),
        store=ResponseStore(tmp_path / "run", fresh=True),
        cache=cache,
        progress=False,
        transport=None if path == "fast" else httpx.AsyncHTTPTransport(),
    )


def _written(folder: Path) -> str:
    """Every file the run wrote under ``folder``, as one text."""
    return "\n".join(
        p.read_text(encoding="utf-8", errors="replace") for p in folder.rglob("*") if p.is_file()
    )


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOSTILE_BOT_KEY", SECRET)


# -- defect 1: redirects ---------------------------------------------------------------------


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("hop", ["/away", "/away307"])
def test_a_redirect_to_another_host_is_not_followed(
    bot: HostileBot, other_host: HostileBot, tmp_path: Path, path: str, hop: str
) -> None:
    bot.redirect_to = f"{other_host.url}/steal?sig={SECRET}"
    [r] = _run({"url": f"{bot.url}{hop}"}, path, tmp_path)
    assert other_host.seen == []  # nothing, with or without the key, reached the other host
    assert not r.ok and r.error_kind == "http_status"
    assert r.error is not None and "another origin" in r.error
    assert f"127.0.0.2:{other_host.port}/steal" in r.error  # where it pointed...
    assert SECRET not in _written(tmp_path)  # ...without the secret in its query


def test_a_streamed_answer_is_not_redirected_to_another_host(
    bot: HostileBot, other_host: HostileBot, tmp_path: Path
) -> None:
    bot.redirect_to = f"{other_host.url}/chat"
    [r] = _run({"url": f"{bot.url}/away307", "stream": {"delta": "$.delta"}}, "httpx", tmp_path)
    assert other_host.seen == []
    assert r.error_kind == "http_status" and "another origin" in (r.error or "")


def test_an_openai_client_is_not_redirected_to_another_host(
    bot: HostileBot, other_host: HostileBot, tmp_path: Path
) -> None:
    # A probe that held before issue 15 (the openai client is given a client that does not
    # follow redirects); kept so that it keeps holding.
    bot.redirect_to = f"{other_host.url}/v1/chat/completions"
    prof = profile_from_dict(
        {
            "type": "openai-chat",
            "base_url": f"{bot.url}/away/v1",
            "model": "m",
            "api_key_env": "HOSTILE_BOT_KEY",
            "headers": {"X-Api-Key": "${env:HOSTILE_BOT_KEY}"},
        }
    )
    [r] = run_cases_sync(
        prof,
        [GoldenCase(id="c", question="q")],
        options=ExecOptions(max_retries=0),
        progress=False,
    )
    assert other_host.seen == []
    assert r.error_kind == "http_status" and r.status_code == 302


@pytest.mark.parametrize("path", PATHS)
def test_same_origin_redirects_follow_the_profile(
    bot: HostileBot, tmp_path: Path, path: str
) -> None:
    [followed] = _run({"url": f"{bot.url}/home"}, path, tmp_path)
    assert followed.answer == f"answer from 127.0.0.1:{bot.port}"
    assert bot.seen[-1]["headers"]["x-api-key"] == SECRET  # same origin: the key goes along
    [refused] = _run({"url": f"{bot.url}/home", "follow_redirects": "never"}, path, tmp_path)
    assert refused.error_kind == "http_status" and refused.status_code == 307
    assert "follow_redirects: never" in (refused.error or "")


# -- defect 3: body size ---------------------------------------------------------------------


@pytest.mark.parametrize("path", PATHS)
def test_a_gzip_bomb_is_an_error_not_an_answer(bot: HostileBot, tmp_path: Path, path: str) -> None:
    [r] = _run({"url": f"{bot.url}/bomb"}, path, tmp_path)
    assert not r.ok and r.error_kind == "malformed"
    assert "decompressed" in (r.error or "") and "max_response_bytes" in (r.error or "")
    assert (tmp_path / "run" / "responses.jsonl").stat().st_size < 10_000


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("where", ["/big", "/big-stream"])
def test_a_body_over_the_cap_is_an_error(
    bot: HostileBot, tmp_path: Path, path: str, where: str
) -> None:
    prof = {"url": f"{bot.url}{where}", "max_response_bytes": 1_000_000}
    [r] = _run(prof, path, tmp_path)
    assert not r.ok and r.error_kind == "malformed" and "1,000,000 bytes" in (r.error or "")
    [fits] = _run({**prof, "max_response_bytes": 4_000_000}, path, tmp_path)
    assert fits.ok and fits.answer == "b" * 3_000_000


# -- defect 4: the cache key -----------------------------------------------------------------


@pytest.mark.parametrize("path", PATHS)
def test_the_cache_key_follows_where_env_urls_point(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    cache = ResponseCache(tmp_path / "cache")
    prof = {"url": "${env:HOSTILE_BOT_URL}/chat"}
    with HostileBot() as first, HostileBot() as second:
        monkeypatch.setenv("HOSTILE_BOT_URL", first.url)
        [a] = _run(prof, path, tmp_path, cache=cache)
        monkeypatch.setenv("HOSTILE_BOT_URL", second.url)
        [b] = _run(prof, path, tmp_path, cache=cache)
        # Another key alone asks the same endpoint the same thing: still a cache hit.
        monkeypatch.setenv("HOSTILE_BOT_KEY", SECRET + "-rotated")
        [c] = _run(prof, path, tmp_path, cache=cache)
    assert a.answer == f"answer from 127.0.0.1:{first.port}" and not a.cached
    assert b.answer == f"answer from 127.0.0.1:{second.port}" and not b.cached
    assert c.cached and c.answer == b.answer
    assert len(second.seen) == 1 and a.request_key != b.request_key
    assert SECRET not in _written(tmp_path / "cache")


# -- defect 7: secrets the endpoint reflects -------------------------------------------------


@pytest.mark.parametrize("path", PATHS)
def test_a_reflected_secret_is_scrubbed_from_everything_written(
    bot: HostileBot, tmp_path: Path, path: str
) -> None:
    cache = ResponseCache(tmp_path / "cache")
    results = {
        where: _run({"url": f"{bot.url}{where}"}, path, tmp_path / where.strip("/"), cache=cache)[0]
        for where in ("/echo", "/echo-keys", "/echo-cost", "/echo-cut", "/echo-500")
    }
    assert all(s["headers"]["x-api-key"] == SECRET for s in bot.seen)  # the bot did get it
    echo = results["/echo"]
    assert echo.answer == "uw sleutel is ***."
    assert [(c.text, c.doc_id, c.title) for c in echo.contexts] == [
        ("bron ***", "***", "titel ***")
    ]
    assert echo.cited_ids == ["***"]
    assert results["/echo-keys"].error_kind == "mapping"
    assert "top-level keys: ***, other" in (results["/echo-keys"].error or "")
    assert results["/echo-cost"].error_kind == "mapping"
    assert results["/echo-cut"].error_kind == "malformed"
    assert results["/echo-500"].error_kind == "http_status"
    written = _written(tmp_path)
    # Not the secret, and not the prefix a cut snippet would leave of it.
    assert SECRET[:6] not in written and SECRET[-6:] not in written


def test_a_cache_entry_from_before_the_scrubbing_is_served_scrubbed(
    bot: HostileBot, tmp_path: Path
) -> None:
    cache = ResponseCache(tmp_path / "cache")
    [first] = _run({"url": f"{bot.url}/echo"}, "fast", tmp_path, cache=cache)
    assert first.request_key is not None and not first.cached
    # The entry as a version without scrubbing wrote it: the echoed key in the answer.
    old = cache.get(first.request_key)
    assert old is not None and old.answer == "uw sleutel is ***."
    cache.put(first.request_key, old.model_copy(update={"answer": f"uw sleutel is {SECRET}."}))
    [again] = _run({"url": f"{bot.url}/echo"}, "fast", tmp_path, cache=cache)
    assert again.cached and again.answer == "uw sleutel is ***."
    assert SECRET not in _written(tmp_path / "run")


# -- defect 12 and 17: numbers, charset, depth -----------------------------------------------


@pytest.mark.parametrize("path", PATHS)
def test_non_finite_numbers_are_mapping_errors(bot: HostileBot, tmp_path: Path, path: str) -> None:
    [nan] = _run({"url": f"{bot.url}/nan"}, path, tmp_path)
    assert nan.error_kind == "mapping" and "cost is nan, expected a finite number" in (
        nan.error or ""
    )
    [inf] = _run({"url": f"{bot.url}/inf"}, path, tmp_path)
    assert inf.error_kind == "mapping" and "usage.total_tokens" in (inf.error or "")


@pytest.mark.parametrize("path", PATHS)
def test_a_declared_charset_is_honoured(bot: HostileBot, tmp_path: Path, path: str) -> None:
    [r] = _run({"url": f"{bot.url}/latin"}, path, tmp_path)
    assert r.ok and r.answer == "café"


@pytest.mark.parametrize("path", PATHS)
def test_deeply_nested_json_is_malformed_not_internal(
    bot: HostileBot, tmp_path: Path, path: str
) -> None:
    [r] = _run({"url": f"{bot.url}/deep"}, path, tmp_path)
    assert r.error_kind == "malformed" and "nested too deeply" in (r.error or "")


# -- defect 7, end to end: `ragwacht run` writes the reflected secret nowhere ----------------


def test_ragwacht_run_writes_a_reflected_secret_nowhere(bot: HostileBot, tmp_path: Path) -> None:
    import json

    import yaml
    from typer.testing import CliRunner

    from ragwacht.cli import app

    project = tmp_path / "project"
    (project / "data").mkdir(parents=True)
    (project / "data" / "dataset.yaml").write_text(
        "schema_version: 1\nname: echo\nversion: '1'\nlanguage: nl\ncases_file: cases.jsonl\n",
        encoding="utf-8",
    )
    cases = [
        {"id": f"c{i}", "question": f"Wat is de sleutel {i}?", "reference_answer": "geheim"}
        for i in range(3)
    ]
    (project / "data" / "cases.jsonl").write_text(
        "".join(json.dumps(c) + "\n" for c in cases), encoding="utf-8"
    )
    profile = {
        "type": "http",
        "url": f"{bot.url}/echo",
        "headers": {"X-Api-Key": "${env:HOSTILE_BOT_KEY}"},
        "response": {"answer": "$.answer", "contexts": "$.sources[*]", "cited_ids": "$.cited"},
    }
    (project / "echo.yaml").write_text(yaml.safe_dump(profile), encoding="utf-8")
    suite = {
        "schema_version": 1,
        "name": "echo",
        "dataset": "data",
        "endpoint": "echo.yaml",
        "judges": {"primary": {"type": "lexical"}},
        "metrics": [{"name": "faithfulness", "judge": "primary"}, "latency_ms"],
    }
    (project / "suite.yaml").write_text(yaml.safe_dump(suite), encoding="utf-8")
    result = CliRunner().invoke(
        app,
        ["run", str(project / "suite.yaml"), "--out", str(project / "out"), "--no-mlflow", "-q"],
        env={"HOSTILE_BOT_KEY": SECRET},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in project.rglob("*") if p.is_file())
    assert "run.json" in written and any(n.endswith(".html") for n in written), written
    assert len(bot.seen) == 3 and all(s["headers"]["x-api-key"] == SECRET for s in bot.seen)
    everything = _written(project) + result.output
    assert "uw sleutel is ***." in everything
    assert SECRET[:6] not in everything and SECRET[-6:] not in everything
