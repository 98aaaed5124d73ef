"""The HTML reports: content, language, escaping of untrusted text, self-containment."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape
from html.parser import HTMLParser

import pytest
from typer.testing import CliRunner

from ragwacht.cli.app import app
from ragwacht.errors import ConfigError
from ragwacht.evals.compare import compare_records
from ragwacht.reports import svg
from ragwacht.reports.html import (
    ClaimView,
    gate_view,
    mark_claims,
    render_comparison_report,
    render_run_report,
    write_run_report,
)
from ragwacht.reports.html import cases as html_cases
from ragwacht.reports.i18n import (
    STRINGS,
    Translator,
    fmt_cost,
    fmt_date,
    fmt_ms,
    fmt_number,
    fmt_p,
    fmt_signed,
)
from tests.helpers.report_records import (
    build_gate,
    build_record,
    build_trend,
)


@pytest.fixture(scope="module")
def baseline():
    return build_record(30, seed=1, quality=0.92)


@pytest.fixture(scope="module")
def record(baseline):
    rec = build_record(30, seed=2, quality=0.78, malicious_case=5)
    rec.gate = build_gate(rec, baseline, verdict="fail")
    return rec


@pytest.fixture(scope="module")
def html_nl(record, baseline):
    return render_run_report(record, lang="nl", baseline=baseline, trend=build_trend(record))


@pytest.fixture(scope="module")
def html_en(record, baseline):
    return render_run_report(record, lang="en", baseline=baseline, trend=build_trend(record))


def _text(html: str) -> str:
    class P(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.parts: list[str] = []
            self.skip = 0

        def handle_starttag(self, tag, attrs):
            if tag in ("script", "style"):
                self.skip += 1

        def handle_endtag(self, tag):
            if tag in ("script", "style"):
                self.skip -= 1

        def handle_data(self, data):
            if not self.skip:
                self.parts.append(data)

    p = P()
    p.feed(html)
    return " ".join(" ".join(p.parts).split())


# ---------------------------------------------------------------- numbers and language


@pytest.mark.parametrize(
    ("value", "digits", "nl", "en"),
    [
        (0.85, 2, "0,85", "0.85"),
        (1234.5, 2, "1.234,50", "1,234.50"),
        (1234567.0, 0, "1.234.567", "1,234,567"),
        (-0.001, 2, "0,00", "0.00"),
        (None, 2, "–", "–"),
        (float("nan"), 2, "–", "–"),
    ],
)
def test_number_format_per_language(value, digits, nl, en):
    assert fmt_number(value, digits, "nl") == nl
    assert fmt_number(value, digits, "en") == en


def test_signed_p_ms_cost_and_dates():
    assert fmt_signed(0.031, 2, "nl") == "+0,03"
    assert fmt_signed(-0.05, 2, "en") == "\u22120.05"
    assert fmt_signed(0.0, 2, "nl") == "0,00"
    assert fmt_p(0.0004, "nl") == "< 0,001"
    assert fmt_p(0.0123, "en") == "0.012"
    assert fmt_ms(850, "nl") == "850 ms"
    assert fmt_ms(1250, "nl") == "1,2 s"
    assert fmt_ms(1250, "en") == "1.2 s"
    assert fmt_cost(0.0026, "nl") == "€\u00a00,0026"
    when = datetime(2025, 3, 3, 14, 5, tzinfo=UTC)
    assert fmt_date(when, "nl") == "3 maart 2025 14:05 UTC"
    assert fmt_date(when, "en") == "3 March 2025 14:05 UTC"
    assert fmt_date(when.timestamp(), "nl", time=False) == "3 maart 2025"


def test_both_languages_have_every_string():
    assert set(STRINGS["nl"]) == set(STRINGS["en"])
    for lang in ("nl", "en"):
        t = Translator(lang)
        assert t("scored_of", scored=3, total=4).startswith("3")


def test_unsupported_language_is_a_config_error(record):
    with pytest.raises(ConfigError) as err:
        render_run_report(record, lang="de")
    assert err.value.first.location.field == "--lang"


def test_report_speaks_the_chosen_language(html_nl, html_en, record):
    text_nl, text_en = _text(html_nl), _text(html_en)
    assert '<html lang="nl">' in html_nl and '<html lang="en">' in html_en
    assert "Niet geslaagd" in text_nl and "Failed" in text_en
    faith = record.summary["faithfulness"].mean
    assert fmt_number(faith, 2, "nl") in text_nl
    assert fmt_number(faith, 2, "en") in text_en
    assert "Getrouwheid aan de bronnen" in text_nl
    assert "Faithfulness to the sources" in text_en
    assert "3 maart 2025" in text_nl and "3 March 2025" in text_en


# ---------------------------------------------------------------- content


def test_run_report_has_every_section(html_nl, record):
    text = _text(html_nl)
    for heading in (
        "Scores per metriek",
        "Welke daling kan deze set zien?",
        "Verloop over de laatste runs",
        "Resultaten per kenmerk",
        "Omgeslagen cases",
        "Zwakste cases",
        "Beoordelaars en hun kalibratie",
        "Alle cases",
        "Reproduceerbaarheid",
    ):
        assert heading in text, heading
    # one drill-down per case
    assert html_nl.count('<details class="case"') == len(record.cases)
    # scorecards: CI, scored/total, errors, weak judge label, judge calibration
    s = record.summary["faithfulness"]
    ci = f"{fmt_number(s.ci_low, 2, 'nl')} – {fmt_number(s.ci_high, 2, 'nl')}"
    assert ci in text
    assert f"{s.scored} van {s.total}" in text
    assert "zwak" in text
    assert "0,843" in text and "0,686" in text  # balanced accuracy, kappa (stored calibration)
    # gate: failed rule in words, change with p-value and its significance
    assert "Hallucinatiegraad: gemeten" in text
    assert "p = 0,002" in text and "significant" in text
    faith_mdd = record.gate.metric("faithfulness").min_detectable_drop
    assert f"Getrouwheid aan de bronnen: ongeveer {fmt_number(faith_mdd, 2, 'nl')}" in text
    # manifest without secrets: the env-var name stays, no token value appears
    assert record.manifest.dataset_digest in text
    assert "DEMO_TOKEN" in text


def test_flipped_cases_come_from_the_gate(record, baseline, html_nl):
    flips = record.gate["flips"]
    pass_to_fail = {cid for f in flips for cid in f["pass_to_fail"]}
    ids = pass_to_fail | {cid for f in flips for cid in f["fail_to_pass"]}
    assert ids, "fixture should flip some cases"
    section = html_nl[html_nl.index('id="flipped"') : html_nl.index('id="worst"')]
    for cid in ids:
        assert re.sub(r"[<>]", "", cid) in re.sub(r"&lt;|&gt;", "", section)
    assert section.count("Van goed naar fout") == len(pass_to_fail)


def test_worst_cases_are_the_lowest_scoring(html_nl, record):
    section = html_nl[html_nl.index('id="worst"') : html_nl.index('id="judges"')]
    # endpoint errors rank first
    errors = [c.case_id for c in record.cases if c.response.error]
    first_row = section[section.index("<tbody>") :]
    assert errors[0] in first_row[: first_row.index("</tr>")]
    values = [float(v) for v in re.findall(r'data-v="([-0-9.e]+)"', section)]
    assert values == sorted(values)


def test_answer_with_unsupported_claims_is_marked(html_nl, record):
    case = next(
        c
        for c in record.cases
        if c.response.answer
        and any(
            cl["verdict"] == "contradicted" for cl in c.metrics["faithfulness"].details["claims"]
        )
        and "<" not in c.case_id
    )
    block = html_nl[html_nl.index(f"<code>{case.case_id}</code>") :]
    block = block[: block.index("</details>")]
    claim = next(
        cl
        for cl in case.metrics["faithfulness"].details["claims"]
        if cl["verdict"] == "contradicted"
    )
    assert f'<mark class="uns v-contradicted">{claim["claim"].rstrip(".")}<span' in block
    assert "tegengesproken]" in block  # the text label, not only colour
    assert "relevant" in block  # gold sources marked


def test_no_gate_no_baseline_no_trend(record):
    bare = record.model_copy(update={"gate": None})
    html = render_run_report(bare, lang="en")
    text = _text(html)
    assert "No quality gate" in text
    assert "no baseline" in text
    assert "Trend over the last runs" not in text
    assert "No baseline: flipped cases cannot be determined." in text
    # without the gate's figure the set's own detectable drop is shown
    assert "Faithfulness to the sources: about" in text


# ---------------------------------------------------------------- untrusted text


def test_malicious_answer_is_escaped_everywhere(html_nl):
    assert "<script>window.__pwned" not in html_nl
    assert "<img src=x" not in html_nl
    assert 'href="javascript:' not in html_nl
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html_nl
    # the malicious text is itself a marked claim: escaped first, then wrapped
    assert '<mark class="uns v-unverifiable">&lt;script&gt;window.__pwned=1' in html_nl
    # exactly one real script element: the report's own
    assert len(re.findall(r"<script\b", html_nl)) == 1
    assert " onerror=" not in html_nl.replace("onerror=&#34;", "").replace("onerror=&quot;", "")


def test_mark_claims_escapes_then_wraps():
    t = Translator("en")
    answer = 'A & B <i>x</i>. The fee is 12 weeks. Tail "q".'
    claims = [
        ClaimView(1, "the fee is 12  weeks", "contradicted", None, None, None),
        ClaimView(2, "A & B <i>x</i>", "unverifiable", None, None, None),
        ClaimView(3, "Tail", "supported", None, None, None),
        ClaimView(4, "not in the answer at all", "contradicted", None, None, None),
    ]
    out = str(mark_claims(answer, claims, t))
    assert out.startswith('<mark class="uns v-unverifiable">A &amp; B &lt;i&gt;x&lt;/i&gt;')
    assert '<mark class="uns v-contradicted">The fee is 12 weeks<span class="ml"> [1 · ' in out
    assert "Tail &#34;q&#34;." in out  # supported claims stay unmarked
    assert [c.located for c in claims] == [True, True, False, False]


def test_report_makes_no_external_reference(html_nl):
    assert "<link" not in html_nl and "<img" not in html_nl and "<iframe" not in html_nl
    assert "@import" not in html_nl and "url(" not in html_nl
    for attr in re.findall(r'\s(?:src|href|action|xlink:href)="([^"]*)"', html_nl):
        assert attr.startswith("#"), attr
    # the only namespace URI is the SVG one, which is never fetched
    urls = set(re.findall(r"https?://[^\s\"'<)]+", html_nl))
    assert urls <= {"http://www.w3.org/2000/svg", "http://127.0.0.1:8765/chat"}
    assert "default-src 'none'" in unescape(html_nl)


# ---------------------------------------------------------------- gate adapter


def test_gate_view_reads_the_gate_result(record, baseline):
    assert gate_view(None).status == "none" and gate_view(None).present is False
    # an exceeded error budget (exit 4) shows as an error, not as a quality failure
    g = gate_view(build_gate(record, baseline, verdict="error"))
    assert g.status == "error" and g.exit_code == 4
    result = record.gate
    g = gate_view(result)
    assert g.status == "fail"
    assert [r.metric for r in g.rules] == [r.metric for r in result.rules]
    reg = next(r for r in result.rules if r.kind == "regression")
    view = g.rules[result.rules.index(reg)]
    assert (view.ci_low, view.ci_high) == (reg.ci_low, reg.ci_high)
    assert view.p_value == reg.p_adjusted and view.passed is False
    latency = g.rules[next(i for i, r in enumerate(result.rules) if r.metric == "latency")]
    assert latency.p_value is None and latency.passed is True
    assert g.min_detectable == {
        m.metric: m.min_detectable_drop for m in result.metrics if m.min_detectable_drop is not None
    }
    # flips of several metrics: one view per case and direction, naming each metric
    passed = build_gate(record, baseline, verdict="pass")
    expected: dict[tuple[str, str], list[str]] = {}
    for f in passed.flips:
        for cid in f.pass_to_fail:
            expected.setdefault((cid, "pass_to_fail"), []).append(f.metric)
        for cid in f.fail_to_pass:
            expected.setdefault((cid, "fail_to_pass"), []).append(f.metric)
    assert {"pass_to_fail", "fail_to_pass"} <= {d for _, d in expected}
    views = gate_view(passed).flips or []
    assert {(f.case_id, f.direction): f.metrics for f in views} == expected
    assert len(views) == len(expected)


def test_gate_detectable_figures_are_stated(record, baseline):
    rec = record.model_copy(update={"gate": build_gate(record, baseline, verdict="pass")})
    text = _text(render_run_report(rec, lang="nl"))
    assert "Geslaagd" in text
    assert "met 80% zekerheid opmerkt" in text
    figures = [m for m in rec.gate.metrics if m.min_detectable_drop is not None]
    assert figures
    for m in figures:
        line = f"{Translator('nl').metric(m.metric)}: ongeveer"
        assert f"{line} {fmt_number(m.min_detectable_drop, 2, 'nl')}" in text


# ---------------------------------------------------------------- charts


def test_sparkline_breaks_on_missing_values():
    out = str(svg.sparkline([0.5, 0.6, None, 0.7, 0.8], label="x <y>"))
    assert out.count("<polyline") == 2
    assert 'aria-label="x &lt;y&gt;"' in out and "<title>x &lt;y&gt;</title>" in out
    assert 'role="img"' in out


def test_bar_chart_and_scatter_escape_labels_and_skip_missing():
    bars = svg.bar_chart(
        [svg.Bar("<b>", 0.5, 0.4, 0.6), svg.Bar("none", None)],
        label="bars",
        fmt=lambda v: f"{v:.2f}",
        not_scored="n/a",
    )
    assert "&lt;b&gt;" in str(bars) and "<b>" not in str(bars).replace("<title>", "")
    assert str(bars).count('class="bar"') == 1 and "n/a" in str(bars)
    sc = svg.scatter(
        [svg.Point("a&b", 1000, 0.8, True), svg.Point("c", 1500, 0.7), svg.Point("d", None, 0.5)],
        label="s",
        x_label="ms",
        y_label="q",
        fmt_x=str,
        fmt_y=str,
    )
    assert "a&amp;b" in str(sc)
    assert len(re.findall(r'class="pt( ref)?"', str(sc))) == 2


def test_trend_sparklines_read_sanitized_keys(record):
    trend = build_trend(record, n=5)
    html = render_run_report(record, lang="en", trend=trend)
    section = html[html.index('id="trend"') : html.index('id="tags"')]
    # the current run is appended: 6 runs
    assert "Trend of Recall (relevant sources found) @5 over 6 runs" in section
    assert section.count('class="chart sparkline"') == len(record.summary)


# ---------------------------------------------------------------- size, comparison, CLI


def test_report_stays_lean_per_case():
    small = render_run_report(build_record(20, seed=3), lang="nl")
    large = render_run_report(build_record(120, seed=3), lang="nl")
    per_case = (len(large.encode()) - len(small.encode())) / 100
    # 1,000 cases with 5 sources each must stay well under 5 MB
    assert per_case < 4800, per_case


def _unique_sources(record):
    # No source text recurs, so nothing can be shown once and linked (the worst case).
    for c in record.cases:
        for n, ctx in enumerate(c.response.contexts):
            ctx.text = f"[{c.case_id}/{n}] " + ctx.text
            ctx.doc_id = f"{c.case_id}-src-{n}"
    return record


def test_report_stays_lean_with_unique_sources(monkeypatch):
    # As in a 1,000-case run with 5,000 distinct texts: each gets SOURCE_CHARS_MIN characters.
    monkeypatch.setattr(html_cases, "SOURCE_BUDGET", 1)
    small = render_run_report(_unique_sources(build_record(20, seed=3, source_chars=700)))
    large = render_run_report(_unique_sources(build_record(120, seed=3, source_chars=700)))
    per_case = (len(large.encode()) - len(small.encode())) / 100
    # 1,000 such cases stay under 4 MB
    assert per_case < 4000, per_case
    # every source still shows its opening, says it was shortened and from how much
    first = build_record(20, seed=3, source_chars=700).cases[0].response.contexts[0].text
    block = small[small.index('<li id="c1s1">') : small.index("</li>", small.index('id="c1s1"'))]
    shown = unescape(re.sub(r"<[^>]+>", "", block))
    assert first[:150] in shown
    assert f"(ingekort, {len(first) + len('[bag-0000/0] ')} tekens in totaal)" in shown


def _case_block(html: str, anchor: str) -> str:
    start = html.index(f'<details class="case" id="{anchor}"')
    return html[start : html.index("</div></details>", start)]


def test_source_text_is_shown_once_and_linked_after():
    rec = build_record(6, seed=3, source_chars=700)
    # bag-doc-004 is retrieved for the first bag case (c1) and again for the second (c5)
    text = " ".join(
        next(x.text for x in rec.cases[0].response.contexts if x.doc_id == "bag-doc-004").split()
    )
    html = render_run_report(rec, lang="nl")
    first, again = _case_block(html, "c1"), _case_block(html, "c5")
    n1 = 1 + [x.doc_id for x in rec.cases[0].response.contexts].index("bag-doc-004")
    n5 = 1 + [x.doc_id for x in rec.cases[4].response.contexts].index("bag-doc-004")
    # first time: the whole text, its opening inline and the rest in a nested drill-down
    li = first[first.index(f'<li id="c1s{n1}">') :]
    li = li[: li.index("</li>")]
    inline = unescape(re.search(r"<p>(.*?)</p><details", li).group(1))
    more = re.search(
        r'<details class="more"><summary>rest van de tekst \((\d+) tekens\)</summary>'
        r"<p>(.*?)</p></details>",
        li,
    )
    assert f"{inline} {unescape(more.group(2))}" == text
    assert len(inline) <= 400 and int(more.group(1)) == len(unescape(more.group(2)))
    # again: a short preview and a link to where it is shown in full
    li = again[again.index(f'<li id="c5s{n5}">') :]
    li = li[: li.index("</li>")]
    assert f'href="#c1s{n1}">volledige tekst bij bag-0000, bron {n1}</a>' in li
    assert text[-60:] not in unescape(li)
    assert len(unescape(re.sub(r"<[^>]+>", "", li.split("<p>", 1)[1]))) < 260


def test_evidence_is_the_matching_sentence_not_the_passage():
    rec = build_record(12, seed=4, quality=0.5, source_chars=700)
    case = next(
        c
        for c in rec.cases
        if c.response.answer
        and any(
            cl["verdict"] == "contradicted" for cl in c.metrics["faithfulness"].details["claims"]
        )
    )
    contexts = case.response.contexts
    for cl in case.metrics["faithfulness"].details["claims"]:
        if cl["evidence_index"] is not None:  # as the judges store it: the whole passage
            cl["evidence"] = contexts[cl["evidence_index"]].text
    html = render_run_report(rec, lang="en")
    idx = 1 + rec.cases.index(case)
    table = _case_block(html, f"c{idx}")
    table = table[table.index("<table>") : table.index("</table>")]
    quotes = [unescape(q) for q in re.findall(r"<q>(.*?)</q>", table)]
    assert quotes, "the contradicted claim shows its evidence"
    sentences = {s for x in contexts for s in re.split(r"(?<=\.)\s+", x.text)}
    for q in quotes:
        assert len(q) <= 200 and q in sentences, q
    for row in re.findall(r"<tr>.*?</tr>", table):
        if 'class="v-supported"' in row:  # the evidence sentence is the claim: link only
            assert "<q>" not in row and ">source " in row, row
    assert contexts[0].text[:400] not in unescape(table)


def test_comparison_report():
    recs = {
        "baseline": build_record(40, seed=1, quality=0.85, variant="baseline"),
        "no-reranker": build_record(40, seed=2, quality=0.55, variant="no-reranker"),
        "prompt-v2": build_record(40, seed=1, quality=0.85, variant="prompt-v2"),
    }
    cmp = compare_records(recs, reference="baseline", n_resamples=500)
    html = render_comparison_report(cmp, recs, lang="nl")
    text = _text(html)
    assert "Slechter dan baseline" in text  # clear loser
    assert "Geen duidelijk verschil met baseline" in text  # identical twin
    assert "Referentie" in text
    faith = next(
        c for c in cmp.comparisons if c.variant == "no-reranker" and c.metric == "faithfulness"
    )
    assert fmt_signed(faith.mean_diff, 2, "nl") in text
    assert f"{faith.wins}" in text and fmt_p(faith.p_value, "nl") in text
    assert html.count('class="chart scatter"') >= 1
    for v in ("baseline", "no-reranker", "prompt-v2"):
        assert f">{v}</text>" in html  # labelled points
    assert "<script>window" not in html


def test_cli_report(tmp_path, record, baseline):
    rec_path = record.save(tmp_path / "run.json")
    base_path = baseline.save(tmp_path / "base.json")
    out = tmp_path / "out" / "r.html"
    res = CliRunner().invoke(
        app,
        ["report", str(rec_path), "--lang", "en", "--out", str(out), "--baseline", str(base_path)],
    )
    assert res.exit_code == 0, res.output
    assert res.output.strip() == str(out)
    assert '<html lang="en">' in out.read_text(encoding="utf-8")
    res = CliRunner().invoke(app, ["report", str(rec_path)])
    assert res.exit_code == 0 and (tmp_path / "report.html").exists()
    res = CliRunner().invoke(app, ["report", str(rec_path), "--lang", "fr"])
    assert res.exit_code == 2
    res = CliRunner().invoke(app, ["report", str(tmp_path / "missing.json")])
    assert res.exit_code == 2


def test_write_run_report_returns_path(tmp_path, record):
    p = write_run_report(record, tmp_path / "a" / "report.html")
    assert p.exists() and p.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_report_reads_the_real_gate_result(baseline):
    """The adapter against ``ragwacht.ci.gate`` itself, not a hand-made dict."""
    from ragwacht.ci.gate import gate
    from ragwacht.ci.policy import GatePolicy

    rec = build_record(30, seed=2, quality=0.6)
    policy = GatePolicy.model_validate(
        {
            "n_resamples": 500,
            "rules": [
                {"metric": "faithfulness", "min": 0.85},
                {"metric": "hallucination_rate", "max": 0.2},
            ],
        }
    )
    result = gate(rec, baseline, policy)
    rec.gate = result
    view = gate_view(rec.gate)
    assert view.status == ("pass" if result.verdict == "pass" else "fail")
    assert view.exit_code == result.exit_code
    assert {r.metric for r in view.rules} >= {"faithfulness", "hallucination_rate"}
    expected_flips = {(cid, "pass_to_fail") for f in result.flips for cid in f.pass_to_fail} | {
        (cid, "fail_to_pass") for f in result.flips for cid in f.fail_to_pass
    }
    assert {(f.case_id, f.direction) for f in view.flips or []} == expected_flips
    text = _text(render_run_report(rec, lang="nl", baseline=baseline))
    assert "Niet geslaagd" in text if result.verdict == "fail" else "Geslaagd" in text
    # every failed rule is named in the verdict banner, in words
    html = render_run_report(rec, lang="nl", baseline=baseline)
    banner = _text(html[html.index('id="verdict"') : html.index("</section>")])
    for r in result.rules:
        if r.passed is False and r.metric:
            assert Translator("nl").metric(r.metric) in banner, r
