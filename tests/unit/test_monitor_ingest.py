"""Reading production logs: bad lines are counted with line numbers, PII is scrubbed on ingest."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from ragwacht.monitor.ingest import read_logs
from ragwacht.monitor.scrub import SALT_ENV, hash_user, install_salt, scrub_text
from ragwacht.monitor.synthetic import PLANTED_PII, PoolEntry, _entry, generate_week, to_otlp


@pytest.fixture(scope="module")
def records() -> list[dict]:
    # A tiny pool of real demo-bot answers, so the records have the generator's real shape.
    from ragwacht.demo.bot import DemoBot

    bot = DemoBot()
    qs = ["Wie zijn de bronhouders van de BAG?", "Wat is de WOZ-waarde?"]
    normal: list[PoolEntry] = [_entry(bot, q, "normal") for q in qs]
    pool = {"normal": normal, "degraded": normal, "new_topic": normal}
    return generate_week(pool, 1, drift_day=None, per_day=4, days=2, pii_share=0.0)


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_bad_lines_are_counted_with_line_and_field(tmp_path, records):
    good = json.dumps(records[0])
    missing = {k: v for k, v in records[1].items() if k != "answer"}
    wrong_latency = dict(records[2], latency_ms="fast")
    wrong_ctx = dict(records[3], contexts=[{"text": 5}])
    bad_time = dict(records[4], timestamp="gisteren")
    path = _write(
        tmp_path / "log.jsonl",
        [
            good,
            '{"question": "half',
            json.dumps(missing),
            "",
            json.dumps(wrong_latency),
            json.dumps(wrong_ctx),
            "[1, 2]",
            json.dumps(bad_time),
            json.dumps(records[5]),
        ],
    )
    res = read_logs([path], b"salt")
    assert len(res.interactions) == 2
    assert res.lines_read == 8  # the blank line is not a line of data
    found = [(b.line, b.field) for b in res.bad_lines]
    assert found == [
        (2, None),
        (3, "answer"),
        (5, "latency_ms"),
        (6, "contexts[0].text"),
        (7, None),
        (8, "timestamp"),
    ]
    assert "not valid JSON" in res.bad_lines[0].message
    assert str(res.bad_lines[1]).startswith(f"{path}, line 3, field 'answer'")


def test_otlp_spans_read_like_jsonl(tmp_path, records):
    otlp = to_otlp(records)
    # A non-GenAI span in the same export is skipped and counted, not an error.
    otlp["resourceSpans"][0]["scopeSpans"][0]["spans"].append(
        {"name": "GET /health", "startTimeUnixNano": "1", "attributes": []}
    )
    # A GenAI span without its answer is a bad line, named by its field.
    broken = json.loads(json.dumps(otlp["resourceSpans"][0]["scopeSpans"][0]["spans"][0]))
    broken["attributes"] = [a for a in broken["attributes"] if a["key"] != "gen_ai.output.messages"]
    otlp["resourceSpans"][0]["scopeSpans"][0]["spans"].append(broken)
    path = tmp_path / "spans.json"
    path.write_text(json.dumps(otlp), encoding="utf-8")
    res = read_logs([path], b"salt")
    assert res.skipped_spans == 1
    assert [b.field for b in res.bad_lines] == ["gen_ai.output.messages"]
    plain = read_logs([_write(tmp_path / "a.jsonl", [json.dumps(r) for r in records])], b"salt")
    assert len(res.interactions) == len(plain.interactions) == len(records)
    for a, b in zip(res.interactions, plain.interactions, strict=True):
        assert (a.question, a.answer, a.refused, a.user) == (
            b.question,
            b.answer,
            b.refused,
            b.user,
        )
        assert a.input_tokens == b.input_tokens and a.contexts == b.contexts
        assert a.timestamp == b.timestamp
        assert a.latency_ms == pytest.approx(b.latency_ms, abs=0.01)


def test_legacy_prompt_attributes_and_events(tmp_path):
    span = {
        "name": "chat",
        "startTimeUnixNano": "1772442000000000000",
        "endTimeUnixNano": "1772442000500000000",
        "attributes": [
            {"key": "gen_ai.prompt.0.role", "value": {"stringValue": "system"}},
            {"key": "gen_ai.prompt.0.content", "value": {"stringValue": "Je bent een bot."}},
            {"key": "gen_ai.prompt.1.role", "value": {"stringValue": "user"}},
            {"key": "gen_ai.prompt.1.content", "value": {"stringValue": "Wat is de BAG?"}},
            {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "12"}},
        ],
        "events": [
            {
                "name": "gen_ai.choice",
                "attributes": [
                    {"key": "content", "value": {"stringValue": "De BAG bevat adressen."}}
                ],
            }
        ],
    }
    path = tmp_path / "spans.json"
    path.write_text(json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}))
    (it,) = read_logs([path], b"s").interactions
    assert (it.question, it.answer, it.input_tokens) == (
        "Wat is de BAG?",
        "De BAG bevat adressen.",
        12,
    )
    assert it.latency_ms == pytest.approx(500.0)


def test_pii_scrubbed_in_every_text_field_and_user_hashed(tmp_path, records):
    r = dict(records[0])
    r["question"] = f"Mijn BSN is {PLANTED_PII['bsn']}, mail {PLANTED_PII['email']}"
    r["answer"] = f"Uw rekening {PLANTED_PII['iban']} is bekend."
    r["contexts"] = [{"text": f"Bel {PLANTED_PII['phone']}", "doc_id": "d1", "score": 1.0}]
    r["topic"] = PLANTED_PII["email"]
    r["user_id"] = PLANTED_PII["email"]
    res = read_logs([_write(tmp_path / "p.jsonl", [json.dumps(r)])], b"salt")
    dumped = res.model_dump_json()
    for value in PLANTED_PII.values():
        assert value not in dumped
    (it,) = res.interactions
    assert it.question == "Mijn BSN is [BSN], mail [EMAIL]"
    assert (
        it.user == hash_user(PLANTED_PII["email"], b"salt") != hash_user(PLANTED_PII["email"], b"x")
    )
    assert res.scrubbed == {"bsn": 1, "email": 2, "iban": 1, "phone": 1}
    assert scrub_text("geen persoonsgegevens") == "geen persoonsgegevens"


def test_salt_from_env_or_private_per_install_file(tmp_path, monkeypatch):
    monkeypatch.setenv(SALT_ENV, "from-env")
    assert install_salt(tmp_path) == b"from-env"
    assert not (tmp_path / ".ragwacht" / "monitor_salt").exists()
    monkeypatch.delenv(SALT_ENV)
    first = install_salt(tmp_path)
    path = tmp_path / ".ragwacht" / "monitor_salt"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert install_salt(tmp_path) == first and len(first) == 64
    assert install_salt(tmp_path / "other") != first
