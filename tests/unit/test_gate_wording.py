"""The gate decides and records why; ragwacht.i18n.gate words it, in English and Dutch."""

from __future__ import annotations

import string
import typing

import pytest

from ragwacht.ci import gate, parse_policy
from ragwacht.i18n import gate as words
from ragwacht.records import FindingKind, GateResult, RuleReason, RunRecord
from ragwacht.reports.html import render_run_report
from tests.helpers.gate_fixtures import failing_run
from tests.helpers.records import make_record

METRICS = ["faithfulness", "hallucination_rate", "latency_ms"]


def _policy(**extra: object) -> typing.Any:
    spec = {
        "max_error_rate": 0.2,
        "rules": [
            {"metric": "faithfulness", "min": 0.85, "max_drop": 0.02},
            {"metric": "latency_ms", "stat": "p95", "max": 4000, "use_ci_bound": True},
        ],
        **extra,
    }
    return parse_policy(spec, metrics=METRICS)


def _pair(**now_kw: object) -> tuple[RunRecord, RunRecord]:
    values = {
        "faithfulness": [1, 1, 0.5, 1, 0.9, 1, 1, 0.8],
        "hallucination_rate": [0, 0, 1, 0, 0, 0, 0, 0],
        "latency_ms": [800, 900, 1000, 1200, 700, 4000, 700, 650],
    }
    base = make_record(values, run_id="b" * 32)
    worse = dict(values, faithfulness=[0.1, 0.2, 0.5, 0.1, 0.2, 0.3, 0.1, 0.2])
    now = make_record(worse, run_id="a" * 32, **now_kw)  # type: ignore[arg-type]
    return now, base


def _results() -> list[GateResult]:
    """Real gate results covering pass, fail, no baseline, unavailable and skipped checks."""
    now, base = _pair()
    other_judge, _ = _pair(judges={"faithfulness": "nli"})
    out = [
        gate(now, base, _policy()),
        gate(now, None, _policy()),
        gate(now, None, _policy(), baseline_error="MLflow unreachable {0} {x!r}"),
        gate(other_judge, base, _policy()),
        gate(base, base, _policy()),
        failing_run()[3],
    ]
    return out


def test_every_sentence_exists_in_both_languages() -> None:
    en, nl = words._TEXT["en"], words._TEXT["nl"]
    assert set(en) == set(nl)
    parse = string.Formatter().parse
    for key in en:
        fields_en = {f for _, f, _, _ in parse(en[key]) if f}
        fields_nl = {f for _, f, _, _ in parse(nl[key]) if f}
        assert fields_en == fields_nl, key


def test_every_reason_and_finding_has_a_sentence() -> None:
    keys = set(words._TEXT["en"])
    kinds = ("error_budget", "scored_fraction", "threshold", "regression", "baseline")
    for reason in typing.get_args(RuleReason):
        assert any(f"{k}.{reason}" in keys for k in kinds), reason
    for kind in typing.get_args(FindingKind):
        assert kind in keys, kind


def test_the_gate_stores_reasons_and_its_english_sentences_come_from_them() -> None:
    for result in _results():
        assert result.findings, "the baseline finding is always there"
        for r in result.rules:
            assert r.reason is not None, r.name
            assert r.message == words.rule_text(r, "en", rules=result.rules)
            assert r.message
        assert result.headline == words.headline_text(result, "en")
        assert result.notes == words.notes_text(result, "en")
        assert result.warnings == words.warnings_text(result, "en")


def test_dutch_wording_is_dutch_with_a_decimal_comma() -> None:
    now, base = _pair()
    result = gate(now, base, _policy())
    regression = next(r for r in result.rules if r.kind == "regression")
    assert regression.reason == "regressed"
    en = words.rule_text(regression, "en")
    nl = words.rule_text(regression, "nl")
    assert "shared cases" in en and "regression" in en
    assert "gedeelde cases" in nl and "regressie" in nl and "shared" not in nl
    assert "0,9" in nl and "0.9" not in nl  # the baseline's mean, 0.9125
    assert words.headline_text(result, "nl").startswith("2 van ")
    assert words.notes_text(result, "nl") == ["basislijn: run bbbbbbbbbbbb"]
    from_file = gate(now, base, _policy(), baseline_source="file ci/baselines/x.json")
    assert words.notes_text(from_file, "en") == ["baseline: file ci/baselines/x.json"]
    assert words.notes_text(from_file, "nl") == ["basislijn: bestand ci/baselines/x.json"]


def test_untrusted_values_are_inserted_as_they_are() -> None:
    _, good = _pair()
    result = gate(good, None, _policy(), baseline_error="MLflow unreachable {0} {x!r}")
    assert result.exit_code == 5
    assert "MLflow unreachable {0} {x!r}" in result.headline
    assert any("{0} {x!r}" in n for n in words.notes_text(result, "nl"))


def test_an_older_record_keeps_its_own_sentences() -> None:
    result = gate(*_pair(), _policy())
    data = result.model_dump(mode="json")
    for r in data["rules"]:
        r.pop("reason"), r.pop("facts")
        r["message"] = "stored " + r["message"]
    data.pop("findings")
    data["notes"] = ["stored note"]
    data["headline"] = "stored headline"
    old = GateResult.model_validate(data)
    for lang in ("en", "nl"):
        assert all(words.rule_text(r, lang).startswith("stored ") for r in old.rules)
        assert words.headline_text(old, lang) == "stored headline"
        assert words.notes_text(old, lang) == ["stored note"]


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_the_html_report_words_the_gate_in_its_language(lang: str) -> None:
    now, _ = _pair()
    now.gate = gate(now, None, _policy())
    html = render_run_report(now, lang=lang)
    dutch = "nog geen basislijn: alleen grenswaarden"
    english = "no baseline yet: thresholds only"
    assert (dutch in html) == (lang == "nl")
    assert (english in html) == (lang == "en")
