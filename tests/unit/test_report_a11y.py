"""Accessibility rules of the HTML reports, checked on the parsed documents."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from ragwacht.evals.compare import compare_records
from ragwacht.reports.html import CONTRAST_PAIRS, render_comparison_report, render_run_report
from tests.helpers.report_records import build_gate, build_record, build_trend


class Doc(HTMLParser):
    """Collects what the checks need: elements with attributes, heading levels, table parts."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.headings: list[int] = []
        self.stack: list[str] = []
        self.tables: list[dict[str, object]] = []
        self.svgs: list[dict[str, object]] = []
        self.details_first_child: list[str] = []
        self._details_open = False
        self.style = ""
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.elements.append((tag, a))
        if self._details_open:
            self.details_first_child.append(tag)
            self._details_open = False
        if tag == "details":
            self._details_open = True
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        if tag == "table":
            self.tables.append({"caption": False, "th": []})
        if tag == "caption" and self.tables:
            self.tables[-1]["caption"] = True
        if tag == "th" and self.tables:
            self.tables[-1]["th"].append(a.get("scope"))
        if tag == "svg":
            self.svgs.append({"attrs": a, "title": False})
        if tag == "title" and "svg" in self.stack and self.svgs:
            self.svgs[-1]["title"] = True
        if tag == "style":
            self._in_style = True
        self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False
        while self.stack:
            if self.stack.pop() == tag:
                break

    def handle_data(self, data):
        if self._in_style:
            self.style += data


def parse(html: str) -> Doc:
    d = Doc()
    d.feed(html)
    return d


@pytest.fixture(scope="module")
def documents() -> dict[str, str]:
    base = build_record(24, seed=1, quality=0.9)
    rec = build_record(24, seed=2, quality=0.75, malicious_case=3)
    rec.gate = build_gate(rec, base)
    recs = {
        "baseline": base.model_copy(update={"variant": "baseline"}),
        "variant-b": rec.model_copy(update={"variant": "variant-b"}),
    }
    cmp = compare_records(recs, reference="baseline", n_resamples=300)
    return {
        "run-nl": render_run_report(rec, lang="nl", baseline=base, trend=build_trend(rec)),
        "run-en": render_run_report(rec, lang="en"),
        "compare-en": render_comparison_report(cmp, recs, lang="en"),
    }


@pytest.mark.parametrize("name", ["run-nl", "run-en", "compare-en"])
def test_document_structure(documents, name):
    html = documents[name]
    doc = parse(html)
    lang = doc.elements[0]
    assert lang[0] == "html" and lang[1].get("lang") in ("nl", "en")
    assert doc.headings.count(1) == 1 and doc.headings[0] == 1
    # headings never skip a level on the way down
    for prev, cur in zip(doc.headings, doc.headings[1:], strict=False):
        assert cur <= prev + 1, (prev, cur)
    assert doc.tables, "reports have tables"
    for table in doc.tables:
        assert table["caption"], "every table has a caption"
        assert table["th"] and all(s in ("col", "row") for s in table["th"])
    for svg in doc.svgs:
        attrs = svg["attrs"]
        assert attrs.get("role") == "img"
        assert attrs.get("aria-label")
        assert svg["title"]
    # summaries are the first child of each details element (so they are focusable toggles)
    assert all(t == "summary" for t in doc.details_first_child)


def test_charts_have_a_data_table_alternative(documents):
    html = documents["run-nl"]
    # every tag chart sits next to a table of the same numbers
    tags = html[html.index('id="tags"') : html.index('id="flipped"')]
    assert tags.count('class="chart bars"') == tags.count("<table")
    trend = html[html.index('id="trend"') : html.index('id="tags"')]
    assert "<table" in trend
    cmp = documents["compare-en"]
    trade = cmp[cmp.index('id="tradeoff"') : cmp.index('id="disagree"')]
    assert 'class="chart scatter"' in trade and "<table" in trade


def test_pass_fail_is_never_colour_only(documents):
    html = documents["run-nl"]
    badges = re.findall(r'<span class="b b-\w+">(.*?)</span>(?=[ <]|$)', html)
    assert badges
    for inner in re.findall(
        r'<span class="b b-\w+"><span aria-hidden="true">[^<]+</span> ([^<]*)<', html
    ):
        assert inner.strip(), "every badge has a word next to its icon"
    assert len(re.findall(r'<span class="b b-\w+"><span aria-hidden="true">', html)) == len(
        re.findall(r'<span class="b b-\w+">', html)
    ), "every badge has an icon"
    verdict = html[html.index('id="verdict"') : html.index("</section>")]
    assert "✗" in verdict and "Niet geslaagd" in verdict
    # marked claims carry a text label
    assert re.search(r'<mark class="uns v-\w+">[^<]*<span class="ml"> \[\d+ · ', html)


# ---------------------------------------------------------------- contrast (WCAG 2.x)


def _channel(c: float) -> float:
    c /= 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def luminance(hex_colour: str) -> float:
    h = hex_colour.lstrip("#")
    if len(h) == 3:
        h = "".join(ch * 2 for ch in h)
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_contrast_formula_matches_published_values():
    # Reference values from the WCAG definition and the WebAIM contrast checker.
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#ffffff", "#ffffff") == pytest.approx(1.0)
    assert contrast("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    assert contrast("#0000ff", "#ffffff") == pytest.approx(8.59, abs=0.01)


def _variables(css: str) -> dict[str, str]:
    root = re.search(r":root\{([^}]*)\}", css)
    assert root, "palette defined in :root"
    return dict(re.findall(r"(--[\w-]+):\s*(#[0-9a-fA-F]{3,6})\b", root.group(1)))


@pytest.mark.parametrize("name", ["run-nl", "compare-en"])
def test_palette_contrast_is_at_least_4_5(documents, name):
    css = parse(documents[name]).style
    var = _variables(css)
    for fg, bg in CONTRAST_PAIRS:
        assert contrast(var[fg], var[bg]) >= 4.5, (fg, bg, contrast(var[fg], var[bg]))
    # every rule that sets both a text colour and a background meets it too
    checked = 0
    for body in re.findall(r"\{([^{}]*)\}", css):
        fg = re.search(r"(?:^|;)color:var\((--[\w-]+)\)", body)
        bg = re.search(r"background(?:-color)?:var\((--[\w-]+)\)", body)
        if fg and bg:
            checked += 1
            assert contrast(var[fg.group(1)], var[bg.group(1)]) >= 4.5, body
    assert checked >= 5
    # text on status backgrounds (verdict banner body, badges) is readable
    for bg in ("--pass-bg", "--fail-bg", "--warn-bg", "--info-bg", "--panel", "--mark"):
        assert contrast(var["--text"], var[bg]) >= 4.5, bg


def test_print_stylesheet_and_focus_styles(documents):
    css = parse(documents["run-nl"]).style
    assert "@media print" in css
    assert "summary:focus-visible" in css
