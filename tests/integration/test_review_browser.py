"""Review by people in real headless Chromium, end to end.

Candidates from ``datasets generate`` (a loopback writer LLM) → the review page from file://
→ clicks and keys (accept, edit, reject with a reason) → the decisions JSON the page
downloads → ``review import`` → a golden set with a new version and digest whose cases run
through the demo bot; and the label loop: a demo run → the label page → labels from two
people → ``judges calibrate`` on them and Cohen's kappa between the people.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from ragwacht.cli import app
from ragwacht.datasets.io import load_golden_set, save_golden_set
from ragwacht.datasets.models import CaseStatus, GoldenCase, Provenance
from ragwacht.demo.corpus import default_corpus_path
from ragwacht.records import RunRecord
from tests.helpers.browser import browser_available, chromium, console_errors, requested_urls
from tests.helpers.demo_bot import running_demo_bot
from tests.helpers.writer_llm import WriterLLMServer

pytestmark = [
    pytest.mark.integration,
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(browser_available() is not None, reason=str(browser_available())),
]

EVIL = '</script><img src=x onerror="window.pwned=1"><b>{{7*7}}</b>'


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ragwacht", *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,
    )


def _wait_for(path: Path, timeout_s: float = 20.0) -> Any:
    # Chromium writes a .crdownload first and renames it when done.
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.is_file() and path.stat().st_size:
            try:
                return json.loads(path.read_text("utf-8"))
            except ValueError:
                pass
        time.sleep(0.1)
    raise AssertionError(f"{path} was not downloaded")


def _open(driver: Any, page: Path, downloads: Path) -> None:
    downloads.mkdir(parents=True, exist_ok=True)
    driver.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    driver.get(page.resolve().as_uri())


def _card(driver: Any, case_id: str) -> Any:
    from selenium.webdriver.common.by import By

    for card in driver.find_elements(By.CSS_SELECTOR, "section.item"):
        if card.get_attribute("data-id") == case_id:
            return card
    raise AssertionError(f"no card for {case_id}")


def _offline(driver: Any) -> None:
    urls = [u for u in requested_urls(driver) if not u.startswith(("file:", "blob:", "data:"))]
    assert urls == [], urls
    assert console_errors(driver) == []


def _candidates(tmp: Path) -> Path:
    cand = tmp / "candidates"
    with WriterLLMServer() as srv:
        r = _cli(
            "datasets",
            "generate",
            str(default_corpus_path()),
            "--to",
            str(cand),
            "--n",
            "6",
            "--mix",
            "factual=1",
            "--no-embed",
            "--cache-dir",
            str(tmp / "cache"),
            env={"RAGWACHT_JUDGE_BASE_URL": srv.base_url},
        )
        assert r.returncode == 0, r.stderr
    # A candidate whose text tries to break out of the page: it must show as plain text.
    gset = load_golden_set(cand)
    gset.cases.append(
        GoldenCase(
            id="gen-evil",
            question=EVIL,
            reference_answer=EVIL,
            status=CaseStatus.CANDIDATE,
            provenance=Provenance(kind="factual", passage_ids=["bag-001"], quotes=["BAG"]),
        )
    )
    save_golden_set(gset, cand)
    return cand


def _suite(repo: Path, tmp: Path, dataset: Path, name: str) -> Path:
    data = yaml.safe_load((repo / "evals" / "registers-demo.yaml").read_text("utf-8"))
    data["dataset"] = str(dataset)
    data["endpoint"] = str(repo / "runners" / "demo-bot.yaml")
    data.pop("baseline", None)
    data["gate"] = {"rules": []}
    out = tmp / f"{name}.yaml"
    out.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    return out


def _run(suite: Path, out: Path, url: str) -> RunRecord:
    result = CliRunner().invoke(
        app,
        ["run", str(suite), "--out", str(out), "--base-url", url, "--no-mlflow", "-q"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return RunRecord.load(out / "run.json")


def test_review_page_to_golden_set(repo_root: Path, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    cand = _candidates(tmp_path)
    cases = load_golden_set(cand).cases
    assert len(cases) >= 4
    page = tmp_path / "review.html"
    r = _cli("review", "export", str(cand), "--to", str(page), "--lang", "en")
    assert r.returncode == 0, r.stderr

    # The set people merge into: two curated cases, version 1.
    demo = load_golden_set(repo_root / "datasets" / "registers-demo")
    golden = tmp_path / "golden"
    small = demo.model_copy(
        update={
            "cases": demo.cases[:2],
            "manifest": demo.manifest.model_copy(update={"version": "1"}),
        }
    )
    save_golden_set(small, golden)
    before = load_golden_set(golden)

    accept_id, edit_id, reject_id = cases[0].id, cases[1].id, cases[2].id
    new_question = "Wie houdt de BAG bij, en sinds wanneer?"
    downloads = tmp_path / "downloads"
    with chromium(tmp_path / "profile") as driver:
        _open(driver, page, downloads)
        # Untrusted text stayed text: no element from it, no script ran, shown verbatim.
        assert driver.execute_script("return window.pwned === undefined")
        assert driver.find_elements(By.CSS_SELECTOR, "main img") == []
        assert EVIL in _card(driver, "gen-evil").text
        assert driver.find_element(By.ID, "title").text == "Review candidates"
        # The quote is marked in its source passage.
        assert _card(driver, accept_id).find_elements(By.CSS_SELECTOR, ".passage mark")

        driver.find_element(By.ID, "reviewer").send_keys("Anne de Vries")
        _card(driver, accept_id).find_element(By.CSS_SELECTOR, "[data-action=accept]").click()
        # Keyboard: move to the next card and edit it.
        body = driver.find_element(By.TAG_NAME, "body")
        driver.execute_script("document.activeElement.blur()")
        body.send_keys("j")
        body.send_keys("e")
        q = _card(driver, edit_id).find_element(By.CSS_SELECTOR, "textarea[name=question]")
        assert driver.switch_to.active_element == q
        q.send_keys(Keys.CONTROL, "a")
        q.send_keys(new_question)
        # A rejection without a reason is refused by the page.
        rej = _card(driver, reject_id)
        rej.find_element(By.CSS_SELECTOR, "[data-action=reject]").click()
        driver.find_element(By.ID, "save").click()
        assert reject_id in driver.find_element(By.ID, "message").text
        assert not (downloads / "review-decisions.json").exists()
        rej.find_element(By.CSS_SELECTOR, "input[name=reason]").send_keys("vraag is te vaag")
        driver.find_element(By.ID, "save").click()
        saved = _wait_for(downloads / "review-decisions.json")
        shown = json.loads(driver.find_element(By.ID, "saved-json").get_attribute("value"))
        _offline(driver)
    assert saved == shown
    assert saved["reviewer"] == "Anne de Vries"
    assert [d["decision"] for d in saved["decisions"]] == ["accept", "edit", "reject"]

    r = _cli("review", "import", str(downloads / "review-decisions.json"), "--into", str(golden))
    assert r.returncode == 0, r.stderr
    after = load_golden_set(golden)
    assert after.manifest.version == "2"
    assert after.digest != before.digest and after.digest in r.stdout
    assert f"+ {accept_id}" in r.stdout and f"+ {edit_id}" in r.stdout
    by_id = after.by_id()
    assert set(by_id) == {c.id for c in before.cases} | {accept_id, edit_id}
    assert by_id[edit_id].question == new_question
    for cid in (accept_id, edit_id):
        prov = by_id[cid].provenance
        assert by_id[cid].status == "accepted" and prov is not None
        assert prov.reviewed_by == "Anne de Vries" and prov.reviewed_at
    log = [json.loads(x) for x in (golden / "reviews.jsonl").read_text("utf-8").splitlines()]
    assert log[-1]["reviewed_by"] == "Anne de Vries" and log[-1]["new_version"] == "2"
    rejected = [json.loads(x) for x in (cand / "review-rejected.jsonl").read_text().splitlines()]
    assert [(x["case_id"], x["note"]) for x in rejected] == [(reject_id, "vraag is te vaag")]

    # The merged set runs through the demo bot.
    with running_demo_bot() as url:
        rec = _run(_suite(repo_root, tmp_path, golden, "merged"), tmp_path / "run", url)
    assert {c.case_id for c in rec.cases} == set(by_id)
    assert rec.manifest.dataset_digest == after.digest
    assert all(c.response.error is None and c.response.answer for c in rec.cases)

    # Generating again into the candidate folder does not propose the rejected question.
    rejected_q = next(c.question for c in cases if c.id == reject_id)
    with WriterLLMServer() as srv:
        r = _cli(
            "datasets",
            "generate",
            str(default_corpus_path()),
            "--to",
            str(cand),
            "--n",
            "6",
            "--mix",
            "factual=1",
            "--no-embed",
            "--cache-dir",
            str(tmp_path / "cache"),
            env={"RAGWACHT_JUDGE_BASE_URL": srv.base_url},
        )
        assert r.returncode == 0, r.stderr
    again = load_golden_set(cand).cases
    assert rejected_q not in {c.question for c in again}
    assert (cand / "review-rejected.jsonl").is_file()


def _label(driver: Any, page: Path, downloads: Path, name: str, verdicts: list[str]) -> Any:
    from selenium.webdriver.common.by import By

    _open(driver, page, downloads)
    driver.find_element(By.ID, "reviewer").send_keys(name)
    driver.execute_script("document.activeElement.blur()")
    body = driver.find_element(By.TAG_NAME, "body")
    for key in verdicts:
        body.send_keys(key)
        body.send_keys("j")
    driver.find_element(By.ID, "save").click()
    data = _wait_for(downloads / "labels.json")
    _offline(driver)
    return data


def test_label_loop(repo_root: Path, tmp_path: Path) -> None:
    demo = load_golden_set(repo_root / "datasets" / "registers-demo")
    answerable = [c for c in demo.cases if c.expected_behavior == "answer"][:8]
    small = tmp_path / "small"
    save_golden_set(demo.model_copy(update={"cases": answerable}), small)
    with running_demo_bot() as url:
        rec = _run(_suite(repo_root, tmp_path, small, "small"), tmp_path / "run", url)
    answered = [c for c in rec.cases if c.response.answer and not c.response.error]
    assert len(answered) >= 6

    page = tmp_path / "labels.html"
    r = _cli("review", "export", str(tmp_path / "run"), "--mode", "label", "--to", str(page))
    assert r.returncode == 0, r.stderr
    n = len(answered)
    a_keys = ["s", "n"] * (n // 2) + ["s"] * (n % 2)
    b_keys = list(a_keys)
    b_keys[0] = "n"  # the second person disagrees once
    with chromium(tmp_path / "profile") as driver:
        a = _label(driver, page, tmp_path / "dl-a", "Anne", a_keys)
        b = _label(driver, page, tmp_path / "dl-b", "Bram", b_keys)
    assert [x["supported"] for x in a["labels"]] == [k == "s" for k in a_keys]
    assert a["run"]["run_id"] == rec.run_id

    out = tmp_path / "labels.jsonl"
    r = _cli("review", "import", str(tmp_path / "dl-a" / "labels.json"), "--labels-out", str(out))
    assert r.returncode == 0, r.stderr
    rows = [json.loads(x) for x in out.read_text("utf-8").splitlines()]
    assert len(rows) == n
    assert [x["hallucinated"] for x in rows] == [k == "n" for k in a_keys]
    assert all(x["contexts"] and x["answer"] for x in rows)

    cal = _cli(
        "judges",
        "calibrate",
        "--data",
        str(out),
        "--judge",
        "lexical",
        "--out",
        str(tmp_path / "cal.json"),
        "--cache-dir",
        str(tmp_path / "jcache"),
    )
    assert cal.returncode == 0, cal.stdout + cal.stderr

    agree = _cli(
        "review",
        "agreement",
        str(tmp_path / "dl-a" / "labels.json"),
        str(tmp_path / "dl-b" / "labels.json"),
    )
    assert agree.returncode == 0, agree.stderr
    assert f"{n} answers in common" in agree.stdout and "Cohen's kappa" in agree.stdout
    from ragwacht.metrics.calibration import binary_scores

    kappa = binary_scores([k == "n" for k in a_keys], [k == "n" for k in b_keys]).cohen_kappa
    assert kappa is not None and f"Cohen's kappa {kappa:.3f}" in agree.stdout
    assert [x["supported"] for x in b["labels"]] == [k == "s" for k in b_keys]
    # The judge's agreement with each person is shown next to theirs.
    assert agree.stdout.count("judge ") == 2, agree.stdout
