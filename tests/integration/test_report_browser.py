"""The HTML reports in real headless Chromium: clean load, no network, no script injection."""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import pytest

from ragwacht.evals.compare import compare_records
from ragwacht.reports.html import write_comparison_report, write_run_report
from tests.helpers.browser import (
    browser_available,
    chromium,
    console_errors,
    load_time_ms,
    requested_urls,
)
from tests.helpers.report_records import MALICIOUS, build_gate, build_record, build_trend

pytestmark = [
    pytest.mark.integration,
    pytest.mark.browser,
    pytest.mark.skipif(browser_available() is not None, reason=str(browser_available())),
]

MALICIOUS_CASE = 5


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("reports")
    base = build_record(40, seed=1, quality=0.9)
    rec = build_record(40, seed=2, quality=0.78, malicious_case=MALICIOUS_CASE)
    rec.gate = build_gate(rec, base)
    recs = {
        "baseline": base.model_copy(update={"variant": "baseline"}),
        "no-reranker": rec.model_copy(update={"variant": "no-reranker"}),
    }
    cmp = compare_records(recs, reference="baseline", n_resamples=300)
    return {
        "nl": write_run_report(rec, out / "report-nl.html", baseline=base, trend=build_trend(rec)),
        "en": write_run_report(rec, out / "report-en.html", lang="en", baseline=base),
        "cmp": write_comparison_report(cmp, recs, out / "compare.html", lang="en"),
    }


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    with chromium(tmp_path_factory.mktemp("chromium-profile")) as d:
        yield d


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


def _load(driver, path: Path) -> tuple[list[str], list[dict]]:
    driver.get("about:blank")
    driver.get_log("performance")
    driver.get_log("browser")
    driver.get(path.as_uri())
    return requested_urls(driver), console_errors(driver)


def _assert_only_self(urls: list[str], path: Path) -> None:
    assert urls, "the performance log saw the page load"
    for url in urls:
        assert url == path.as_uri() or url.startswith(("data:", "about:")), url


@pytest.mark.parametrize("name", ["nl", "en", "cmp"])
def test_loads_clean_with_no_request_but_itself(driver, reports, name):
    urls, errors = _load(driver, reports[name])
    assert errors == []
    _assert_only_self(urls, reports[name])
    assert driver.execute_script("return document.readyState") == "complete"
    assert load_time_ms(driver) < 5000


def test_verdict_scorecards_visible_and_screenshot(driver, reports, tmp_path):
    from selenium.webdriver.common.by import By

    _load(driver, reports["nl"])
    verdict = driver.find_element(By.ID, "verdict")
    assert verdict.is_displayed()
    assert "Niet geslaagd" in verdict.text
    cards = driver.find_elements(By.CSS_SELECTOR, "#scores .card")
    assert len(cards) == 6 and all(c.is_displayed() for c in cards)
    assert "0," in cards[0].text  # Dutch decimal comma
    shot = tmp_path / "report-nl.png"
    assert driver.save_screenshot(str(shot))
    data = shot.read_bytes()
    w, h = _png_size(data)
    assert w >= 800 and h >= 600 and len(data) > 30_000
    shutil.copyfile(shot, "/tmp/report-nl.png")


def test_malicious_answer_is_inert_text(driver, reports):
    from selenium.webdriver.common.by import By

    _load(driver, reports["nl"])
    case = driver.find_element(By.ID, f"c{MALICIOUS_CASE + 1}")
    case.find_element(By.TAG_NAME, "summary").click()
    assert case.get_attribute("open") is not None
    answer = case.find_element(By.CSS_SELECTOR, "p.ans")
    assert answer.is_displayed()
    assert "<script>window.__pwned=1</script>" in answer.text
    assert '<img src=x onerror="window.__pwned=2">' in answer.text
    assert '<a href="javascript:window.__pwned=3">' in answer.text
    # the marked claim is the malicious text, shown as text inside a <mark>
    marks = answer.find_elements(By.CSS_SELECTOR, "mark.uns")
    assert any(MALICIOUS[:20] in m.text for m in marks)
    # nothing ran and nothing was injected: no img, no javascript: link, one script
    assert driver.execute_script("return typeof window.__pwned") == "undefined"
    assert driver.find_elements(By.CSS_SELECTOR, "main img") == []
    assert driver.find_elements(By.CSS_SELECTOR, "a[href^='javascript']") == []
    assert len(driver.find_elements(By.TAG_NAME, "script")) == 1
    # clicking where a link would be does nothing either
    for link in case.find_elements(By.CSS_SELECTOR, "a"):
        assert link.get_attribute("href").startswith(reports["nl"].as_uri() + "#")
    assert console_errors(driver) == []


def test_filter_sort_and_case_links(driver, reports):
    from selenium.webdriver.common.by import By

    _load(driver, reports["nl"])
    filters = driver.find_element(By.ID, "filters")
    assert filters.is_displayed()
    count = driver.find_element(By.ID, "case-count")
    assert count.text == "40 / 40"
    driver.find_element(By.ID, "case-q").send_keys("woz")
    assert count.text == "10 / 40"
    driver.find_element(By.ID, "case-q").clear()
    driver.find_element(By.ID, "case-only").click()
    shown = int(count.text.split(" / ")[0])
    visible = [d for d in driver.find_elements(By.CSS_SELECTOR, "details.case") if d.is_displayed()]
    assert 0 < shown < 40 and len(visible) == shown
    assert all(d.get_attribute("data-st") != "ok" for d in visible)
    # sorting the worst-cases table by quality, descending on the second click
    th = driver.find_elements(By.CSS_SELECTOR, "#worst thead th")[2]
    th.find_element(By.TAG_NAME, "button").click()
    th.find_element(By.TAG_NAME, "button").click()
    assert th.get_attribute("aria-sort") == "descending"
    vals = [
        float(td.get_attribute("data-v"))
        for td in driver.find_elements(By.CSS_SELECTOR, "#worst tbody td[data-v]")
    ]
    assert vals == sorted(vals, reverse=True)
    # a link to a case opens its drill-down
    link = driver.find_element(By.CSS_SELECTOR, "#worst tbody a")
    target = link.get_attribute("href").split("#")[1]
    link.click()
    assert driver.find_element(By.ID, target).get_attribute("open") is not None
    assert console_errors(driver) == []


def test_rendered_colours_meet_contrast(driver, reports):
    from tests.unit.test_report_a11y import contrast

    _load(driver, reports["nl"])
    pairs = driver.execute_script(
        """
        function hex(c) {
          var m = c.match(/\\d+/g).slice(0, 3).map(Number);
          return '#' + m.map(function (x) { return ('0' + x.toString(16)).slice(-2); }).join('');
        }
        function bg(el) {
          while (el) {
            var c = getComputedStyle(el).backgroundColor;
            if (c && c !== 'rgba(0, 0, 0, 0)' && c !== 'transparent') { return hex(c); }
            el = el.parentElement;
          }
          return '#ffffff';
        }
        var sel = ['#verdict p', '#verdict .word', 'header.top h1', '.card .val', '.card dt',
                   '.b-fail', '.b-pass', '.b-weak', 'mark.uns', 'mark.uns .ml', 'thead th',
                   'caption', '.muted', 'a'];
        return sel.map(function (s) {
          var el = document.querySelector(s);
          return el ? [s, hex(getComputedStyle(el).color), bg(el)] : [s, null, null];
        });
        """
    )
    for sel, fg, bg in pairs:
        assert fg is not None, f"{sel} not found"
        assert contrast(fg, bg) >= 4.5, (sel, fg, bg)


def test_content_is_there_without_javascript(reports, tmp_path):
    from selenium.webdriver.common.by import By

    with chromium(tmp_path / "profile", javascript=False) as d:
        urls, errors = _load(d, reports["nl"])
        assert errors == []
        _assert_only_self(urls, reports["nl"])
        verdict = d.find_element(By.ID, "verdict")
        assert verdict.is_displayed() and "Niet geslaagd" in verdict.text
        assert all(c.is_displayed() for c in d.find_elements(By.CSS_SELECTOR, "#scores .card"))
        # the filter controls need the script, so they stay hidden
        assert not d.find_element(By.ID, "filters").is_displayed()
        # sortable headers keep their plain text (no buttons were added)
        assert d.find_elements(By.CSS_SELECTOR, "button.sort") == []
        # drill-downs open with a click and show the escaped malicious text
        case = d.find_element(By.ID, f"c{MALICIOUS_CASE + 1}")
        case.find_element(By.TAG_NAME, "summary").click()
        answer = case.find_element(By.CSS_SELECTOR, "p.ans")
        assert "<script>window.__pwned=1</script>" in answer.text
        assert len(d.find_elements(By.CSS_SELECTOR, "details.case")) == 40


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory, repo_root) -> Path:
    """The report of a real run of the demo suite against the demo bot over loopback HTTP."""
    from typer.testing import CliRunner

    from ragwacht.cli import app
    from tests.helpers.demo_bot import running_demo_bot

    out = tmp_path_factory.mktemp("demo-run")
    suite = repo_root / "evals" / "registers-demo.yaml"
    with running_demo_bot() as url:
        result = CliRunner().invoke(
            app,
            ["run", str(suite), "--out", str(out), "--base-url", url, "--no-mlflow", "-q"],
            catch_exceptions=False,
        )
    assert result.exit_code == 0, result.output
    return out / "report.html"


def test_demo_report_shows_the_judge_table_with_numbers(driver, demo_report, repo_root):
    from selenium.webdriver.common.by import By

    from ragwacht.metrics.calibration import find_calibration

    urls, errors = _load(driver, demo_report)
    _assert_only_self(urls, demo_report)
    assert errors == []
    section = driver.find_element(By.ID, "judges")
    assert section.is_displayed()
    rows = section.find_elements(By.CSS_SELECTOR, "tbody tr")
    cal = find_calibration("lexical", project_dir=repo_root)
    assert cal is not None and rows and len(rows) == len(cal.runs)
    text = section.text
    for run in cal.runs:
        assert run.balanced_accuracy is not None and run.cohen_kappa is not None
        assert run.dataset in text
        assert f"{run.balanced_accuracy:.3f}".replace(".", ",") in text
        assert f"{run.cohen_kappa:.3f}".replace(".", ",") in text
    cells = [td.text for r in rows for td in r.find_elements(By.CSS_SELECTOR, "td.n")]
    assert cells and all(c and c != "–" for c in cells), cells
    # the demo set is Dutch; the packaged calibration sets are English
    assert "lexical is niet gekalibreerd in de taal van deze run (nl" in text


def test_bidi_override_in_a_doc_id_does_not_mirror_the_page(driver, tmp_path):
    """A doc id ending in U+202E must not reverse "Score 0,…" after it (issue 15, defect 15)."""
    from tests.unit.test_report_untrusted_text import hostile_record

    path = write_run_report(hostile_record(), tmp_path / "bidi.html", lang="nl")
    _load(driver, path)
    lefts = driver.execute_script(
        """
        var li = document.getElementById('c1s1');
        var small = li.querySelector('small');
        var node = small.firstChild;
        function left(i) {
          var r = document.createRange(); r.setStart(node, i); r.setEnd(node, i + 1);
          return r.getBoundingClientRect().left;
        }
        return [li.querySelector('code').textContent, node.textContent, left(0), left(1), left(4)];
        """
    )
    code, text, s, c, e = lefts
    assert code.endswith("\u202e") and text.startswith("Score")
    assert s < c < e, lefts  # "S", "c", "e" left to right: not mirrored


def test_real_gate_wording_is_visible(driver, tmp_path):
    from selenium.webdriver.common.by import By

    from ragwacht.ci.gate import gate
    from ragwacht.ci.policy import parse_policy
    from tests.unit.test_report_wording import POLICY

    base = build_record(40, seed=1, quality=0.92, run_id="base-run-0001")
    rec = build_record(40, seed=2, quality=0.70)
    rec.gate = gate(rec, base, parse_policy(POLICY, metrics=list(rec.summary)))
    path = write_run_report(rec, tmp_path / "gate.html", lang="en", baseline=base)
    _load(driver, path)
    verdict = driver.find_element(By.ID, "verdict").text
    assert "Compared with baseline run base-run-0001 (variant default" in verdict
    assert "allowed rise 0.05" in verdict and "Holm-adjusted p" in verdict
    flipped = driver.find_element(By.ID, "flipped").text
    assert "Baseline → now" in flipped and " → " in flipped.split("Baseline → now", 1)[1]
    scores = driver.find_element(By.ID, "scores").text
    assert "(not tested)" in scores and "no clear change" not in scores
    assert "paired test" in driver.find_element(By.ID, "detect").text
