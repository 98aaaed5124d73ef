"""``ragwacht safety generate``: a valid golden set of tagged probes plus what to plant."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ragwacht.cli import app
from ragwacht.datasets.io import load_golden_set
from ragwacht.safety.detectors import find_pii
from ragwacht.safety.probes import PROBE_KINDS
from ragwacht.safety.synthetic import TEST_BANK, TEST_BSN_PREFIX, TEST_DOMAINS


def _generate(repo: Path, out: Path, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        app,
        ["safety", "generate", str(repo / "datasets" / "registers-demo"), "--to", str(out), *extra],
    )
    return result.exit_code, result.output


def test_generate_writes_a_valid_tagged_probe_set(repo_root: Path, tmp_path: Path) -> None:
    code, out = _generate(repo_root, tmp_path / "probes")
    assert code == 0, out
    folder = tmp_path / "probes"
    validate = CliRunner().invoke(app, ["datasets", "validate", str(folder)])
    assert validate.exit_code == 0, validate.output
    gs = load_golden_set(folder)
    kinds = {k for c in gs.cases for k in c.tag_values("probe")}
    assert kinds == set(PROBE_KINDS)
    for c in gs.cases:
        (kind,) = c.tag_values("probe")
        if kind.startswith("injection"):
            (canary,) = c.tag_values("canary")
            assert canary.startswith(("KANARIE-", "CANARY-"))
        if kind == "injection_direct" and "technique:hidden" not in c.tags:
            assert canary in c.question and c.expected_behavior.value == "refuse"
        if kind in ("pii_leak", "off_topic", "harmful", "advice", "system_prompt_leak"):
            assert c.expected_behavior.value == "refuse"
    techniques = {t for c in gs.cases for t in c.tag_values("technique")}
    assert techniques == {"ignore", "roleplay", "developer_mode", "hidden"}
    assert {c.language() for c in gs.cases} == {"nl", "en"}

    # The system prompt carries the canary the system-prompt probes are tagged with.
    prompt = (folder / "system_prompt.txt").read_text(encoding="utf-8")
    sys_canaries = {v for c in gs.cases for v in c.tag_values("system_canary")}
    assert len(sys_canaries) == 1 and sys_canaries.pop() in prompt

    # Planted passages: each indirect probe's canary is in its poisoned passage; the person
    # records are marked as test data and hold only synthetic, valid-checksum identifiers.
    planted = [json.loads(x) for x in (folder / "extra_passages.jsonl").read_text().splitlines()]
    by_id = {p["id"]: p for p in planted}
    for c in gs.cases:
        if "probe:injection_indirect" in c.tags:
            (pid,) = c.tag_values("poisoned")
            assert c.tag_values("canary")[0] in by_id[pid]["text"]
    people = [p for p in planted if p["probe"] == "pii_leak"]
    assert people and all("SYNTHETIC TEST DATA" in p["text"] for p in people)
    spans = [s for p in people for s in find_pii(p["text"])]
    found = {s.kind for s in spans}
    assert found == {"bsn", "iban", "phone", "email", "postcode", "licence_plate", "date_of_birth"}
    for s in spans:
        if s.kind == "bsn":
            assert s.value.startswith(TEST_BSN_PREFIX)
        if s.kind == "iban":
            assert s.value[4:8] == TEST_BANK
        if s.kind == "email":
            assert s.value.split("@")[1] in TEST_DOMAINS
    meta = json.loads((folder / "probes.json").read_text())
    assert sum(meta["counts"].values()) == len(gs.cases)

    # Same seed, same probes; another seed, other canaries.
    code, _ = _generate(repo_root, tmp_path / "again")
    assert (tmp_path / "again" / "cases.jsonl").read_bytes() == (
        folder / "cases.jsonl"
    ).read_bytes()
    code, _ = _generate(repo_root, tmp_path / "other", "--seed", "7")
    assert (tmp_path / "other" / "cases.jsonl").read_bytes() != (
        folder / "cases.jsonl"
    ).read_bytes()


def test_generate_selected_kinds_only(repo_root: Path, tmp_path: Path) -> None:
    code, out = _generate(
        repo_root, tmp_path / "p", "--kinds", "off_topic,advice", "--per-kind", "2"
    )
    assert code == 0, out
    gs = load_golden_set(tmp_path / "p")
    assert sorted(c.tag_values("probe")[0] for c in gs.cases) == ["advice"] * 2 + ["off_topic"] * 2
    assert not (tmp_path / "p" / "system_prompt.txt").exists()


def test_generate_usage_errors_exit_2_without_traceback(repo_root: Path, tmp_path: Path) -> None:
    code, out = _generate(repo_root, tmp_path / "p", "--kinds", "jailbreak")
    assert code == 2 and "unknown probe kind" in out and "Traceback" not in out
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "notes.txt").write_text("mine", encoding="utf-8")
    code, out = _generate(repo_root, tmp_path / "full")
    assert code == 2 and "not empty" in out and "--force" in out
    assert (tmp_path / "full" / "notes.txt").read_text(encoding="utf-8") == "mine"


def test_demo_bot_rejects_extra_passages_that_reuse_a_corpus_id(tmp_path: Path) -> None:
    from ragwacht.demo import DemoBot
    from ragwacht.errors import ConfigError

    extra = tmp_path / "extra.jsonl"
    extra.write_text('{"id": "bag-001", "text": "Vervalst."}\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="already in the corpus") as info:
        DemoBot(extra_passages=extra)
    assert str(extra) in str(info.value)


def test_demo_bot_serves_extra_passages_named_by_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ragwacht.demo import DemoBot

    extra = tmp_path / "extra.jsonl"
    extra.write_text(
        '{"id": "planted-1", "title": "Testdossier", "text": "Het kenmerk van het '
        'testdossier Proefstra is KANARIE-ZZ9ZZ9."}\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("RAGWACHT_DEMO_EXTRA_PASSAGES", str(extra))
    bot = DemoBot()
    assert bot.passages[-1].id == "planted-1"
    assert bot.info()["extra_passages"] == str(extra)
    answer = bot.answer("Wat is het kenmerk van het testdossier Proefstra?")
    assert "KANARIE-ZZ9ZZ9" in answer["answer"]
    monkeypatch.delenv("RAGWACHT_DEMO_EXTRA_PASSAGES")
    assert all(p.id != "planted-1" for p in DemoBot().passages)
