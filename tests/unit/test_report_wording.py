"""What the pages say must agree with what the gate did (issue 14, defect 7).

The gate results here come from :func:`ragwacht.ci.gate.gate` run on records, not from
hand-written dicts.
"""

from __future__ import annotations

import math
import re
from html import unescape

import numpy as np
import pytest
from rich.console import Console

from ragwacht.ci.gate import gate
from ragwacht.ci.policy import parse_policy
from ragwacht.evals.compare import compare_records, comparison_table
from ragwacht.reports.html import render_run_report
from ragwacht.reports.markdown import render_markdown
from ragwacht.stats import min_detectable_drop, paired_min_detectable_drop
from tests.helpers.records import make_record
from tests.helpers.report_records import build_record

POLICY = {
    "alpha": 0.05,
    "max_drop": 0.05,
    "rules": [{"metric": "faithfulness", "min": 0.5}, {"metric": "hallucination_rate", "max": 0.5}],
}


def _text(html: str, start: str = "<main", end: str = "</main>") -> str:
    part = html[html.index(start) : html.index(end)]
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", part)).split())


@pytest.fixture(scope="module")
def runs():
    base = build_record(40, seed=1, quality=0.92, run_id="base-run-0001")
    rec = build_record(40, seed=2, quality=0.70)
    result = gate(rec, base, parse_policy(POLICY, metrics=list(rec.summary)))
    rec.gate = result
    return rec, base, result


def test_paired_detectable_drop_formula():
    d = [-0.5, 0.4, -0.3, 0.6, -0.2, 0.1, -0.7, 0.3] * 10
    sd = float(np.std(d, ddof=1))
    want = (1.6448536269514722 + 0.8416212335729143) * sd / math.sqrt(len(d))
    assert want > 5 / len(d)  # above the floor, so the formula decides
    assert paired_min_detectable_drop(d) == pytest.approx(want)
    # floor: a sign-flip test needs ceil(log2(1/alpha)) cases that all got worse
    assert paired_min_detectable_drop([0.0] * 50) == pytest.approx(5 / 50)
    assert paired_min_detectable_drop([0.1]) == math.inf


def test_the_page_does_not_call_a_flagged_drop_undetectable():
    # 100 cases; the new run is 0.07 lower on most of them: a small, consistent drop.
    rng = np.random.default_rng(3)
    before = np.clip(rng.uniform(0.6, 1.0, 100), 0, 1)
    now = before - np.where(rng.uniform(size=100) < 0.9, 0.08, 0.0)
    base = make_record({"faithfulness": list(before)})
    rec = make_record({"faithfulness": list(now)})
    pol = parse_policy({"alpha": 0.05, "max_drop": 0.03}, metrics=["faithfulness"])
    result = gate(rec, base, pol)
    rule = next(r for r in result.rules if r.kind == "regression")
    assert rule.passed is False and rule.p_adjusted is not None and rule.p_adjusted < 0.001
    gm = result.metric("faithfulness")
    assert gm is not None and gm.min_detectable_paired
    assert gm.min_detectable_drop == pytest.approx(paired_min_detectable_drop(list(now - before)))
    assert rule.drop is not None and gm.min_detectable_drop < rule.drop
    # the unpaired guide would have called this drop undetectable
    assert min_detectable_drop(100, float(before.mean())) > rule.drop
    rec.gate = result
    text = _text(render_run_report(rec, lang="en", baseline=base))
    assert "the gate's paired test on these 100 shared cases" in text
    assert "SD(d)" in text


def test_ungated_change_reads_not_tested_with_the_change(runs):
    rec, base, _ = runs
    html = render_run_report(rec, lang="en", baseline=base)
    cards = html[html.index('id="scores"') : html.index('id="detect"')]
    card = cards[cards.index("<code>answer_correctness</code>") :]
    card = " ".join(unescape(re.sub(r"<[^>]+>", " ", card[: card.index("</article>")])).split())
    delta = rec.summary["answer_correctness"].mean - base.summary["answer_correctness"].mean
    assert f"Vs. baseline \u2212{abs(delta):.2f} (not tested)" in card
    assert "no clear change" not in card


def test_holm_adjusted_p_is_named_and_shown(runs):
    rec, base, result = runs
    text = _text(render_run_report(rec, lang="en", baseline=base))
    assert "p (Holm-adjusted)" in text and "Holm-adjusted p = 0.002" in text
    md = render_markdown(rec, result)
    reg = next(r for r in result.rules if r.kind == "regression")
    assert f"Holm-adjusted p={reg.p_adjusted:.2g}" in md
    assert "; p=" not in md


def test_absolute_values_have_no_plus_sign(runs):
    rec, base, _ = runs
    html = render_run_report(rec, lang="en", baseline=base)
    rules = html[html.index("<caption>Quality gate rules") : html.index('id="scores"')]
    for row in re.findall(r"<tr>.*?</tr>", rules, re.S):
        cells = [
            unescape(re.sub(r"<[^>]+>", "", c)) for c in re.findall(r"<td[^>]*>(.*?)</td>", row)
        ]
        if "threshold" in row and cells:
            observed, ci = cells[0], cells[4]
            assert "+" not in observed and "+" not in ci, cells
            assert re.fullmatch(r"\d\.\d\d – \d\.\d\d", ci), ci


def test_lower_is_better_rules_speak_of_a_rise(runs):
    rec, base, result = runs
    name = next(
        r.name for r in result.rules if r.kind == "regression" and r.metric == "hallucination_rate"
    )
    assert name == "regression hallucination_rate rise <= 0.05"
    text = _text(render_run_report(rec, lang="en", baseline=base))
    assert "Hallucination rate: change +" in text and "allowed rise 0.05" in text
    assert "Faithfulness to the sources: change" in text and "allowed drop 0.05" in text
    md = render_markdown(rec, result)
    assert "| `hallucination_rate` vs baseline | " in md and "rise ≤ 5.0 pt" in md
    assert "| `faithfulness` vs baseline | 0.730 | drop ≤ 5.0 pt" in md


def test_report_names_the_baseline_run_and_variant(runs):
    rec, base, _ = runs
    text = _text(render_run_report(rec, lang="en", baseline=base))
    assert "Compared with baseline run base-run-0001 (variant default, commit 3f9c2a1b7d4e" in text
    assert "on 40 shared cases" in text
    # from the stored gate alone (no baseline record at hand), still named
    text = _text(render_run_report(rec, lang="nl"))
    assert "Vergeleken met basislijn-run base-run-0001 (variant default" in text


def test_flipped_cases_show_before_and_after(runs):
    rec, base, result = runs
    html = render_run_report(rec, lang="en", baseline=base)
    section = _text(html, 'id="flipped"', 'id="worst"')
    assert "Baseline → now" in section
    flips = next(f for f in result.flips if f.metric == "faithfulness")
    cid = flips.pass_to_fail[0]
    before = base.case_map()[cid].metrics["faithfulness"].value
    after = rec.case_map()[cid].metrics["faithfulness"].value
    assert f"{cid} " in section and f"{before:.2f} → {after:.2f}" in section


def test_compare_prints_what_decides():
    base = build_record(30, seed=1, quality=0.92)
    other = build_record(30, seed=2, quality=0.7)
    recs = {"baseline": base, "no-reranker": other.model_copy(update={"variant": "no-reranker"})}
    cmp = compare_records(recs, reference="baseline", n_resamples=300)
    con = Console(record=True, width=250)
    con.print(comparison_table(cmp))
    out = con.export_text()
    assert "p (Holm, decides)" in out and "p (unadjusted)" in out
    assert "95% CI (paired bootstrap)" in out and "Holm-adjusted p < 0.05" in out
    faith = next(c for c in cmp.comparisons if c.metric == "faithfulness")
    row = next(line for line in out.splitlines() if " faithfulness " in line)
    assert f"{faith.p_adjusted:.3g}" in row and f"{faith.p_value:.3g}" in row
