"""The gate's sentences, in English and Dutch, made from its structured results.

The gate (:func:`ragwacht.ci.gate.gate`) decides and records *why*: each
:class:`~ragwacht.records.RuleResult` carries a ``reason`` code and the ``facts`` its sentence
states, each note or warning is a :class:`~ragwacht.records.GateFinding`. This module is the
one place that turns those into words. The gate stores the English sentences in the record
(``message``, ``headline``, ``notes``, ``warnings``: what the CLI, JUnit, Markdown and MLflow
show); the HTML report words the same result in its own language.

Values from a run (metric names, judge names, an error text) are inserted as they are and
never read as a template. A record written before reasons were stored keeps its own sentences.
"""

from __future__ import annotations

from collections.abc import Sequence

from ragwacht.records import GateFinding, GateResult, RuleResult

LANGS = ("en", "nl")

# Findings stated next to the verdict (notes) and those that also warn (warnings).
NOTE_KINDS = frozenset(
    {"baseline_used", "baseline_unavailable", "no_baseline", "cached_responses", "conversations"}
)
WARNING_KINDS = frozenset(
    {"dataset_changed", "other_baseline", "judge_differs", "cached_responses"}
)

_REBASELINE = {
    "en": (
        "to start a new baseline on purpose, run once on the base branch with --baseline none "
        "(or save one with `ragwacht baseline save`)"
    ),
    "nl": (
        "wil je bewust een nieuwe basislijn, draai dan één keer op de basisbranch met "
        "--baseline none (of sla er een op met `ragwacht baseline save`)"
    ),
}

# One sentence per "kind.reason" of a check and per finding kind. Placeholders are filled
# with text already formatted for the language.
_TEXT: dict[str, dict[str, str]] = {
    "en": {
        "error_budget.budget_ok": (
            "{failed}/{n} cases ({rate}) had an endpoint or judge failure; budget {budget}"
        ),
        "error_budget.budget_exceeded": (
            "{failed}/{n} cases ({rate}) had an endpoint or judge failure; budget {budget}: "
            "exceeded, the scores cannot be trusted"
        ),
        "error_budget.no_cases": "the run has no cases: nothing can be trusted",
        "scored_fraction.nothing_applicable": (
            "{metric}: no case this metric applies to; nothing to judge"
        ),
        "scored_fraction.enough_scored": (
            "{metric}: scored {scored}/{applicable} applicable cases ({frac})"
        ),
        "scored_fraction.too_few_scored": (
            "{metric}: only {scored}/{applicable} applicable cases scored ({frac}, need {need}): "
            "not enough evidence"
        ),
        "threshold.no_scored_cases": "{metric} {stat}: no scored cases, cannot show {op} {limit}",
        "threshold.group_too_small": (
            "{metric} {stat}: {n} scored cases in this group, fewer than {need}; not evaluated"
        ),
        "threshold.threshold_met": "{metric} {what} {shown} {op} {limit}{ci}",
        "threshold.threshold_crossed": (
            "{metric} {what} {shown} {bad} {limit}{ci}: threshold crossed"
        ),
        "ci": " ({conf} CI {low}–{high})",
        "ci_lower": "CI lower bound",
        "ci_upper": "CI upper bound",
        "regression.no_baseline": "{metric}: no baseline, regression not checked",
        "regression.baseline_unavailable": (
            "{metric}: the baseline could not be obtained; not checked"
        ),
        "regression.baseline_lacks_metric": (
            "{metric}: the baseline has no values for this metric; not compared"
        ),
        "regression.metric_version_changed": (
            "{metric}: metric definition changed (version {v_base} -> {v_now}); "
            "values are not comparable, not compared"
        ),
        "regression.judge_changed": (
            "{metric}: scored by another judge than the baseline ({j_base} -> {j_now}); "
            "values are not comparable, not compared"
        ),
        "regression.no_shared_scored": "{metric}: no case scored in both runs; not compared",
        "change": (
            "{metric} {base} -> {now} on {n} shared cases "
            "(change {delta}, {conf} CI {low} to {high})"
        ),
        "holm": ", Holm {p}",
        "regression.regressed": (
            "{change}: dropped {drop}, more than the {tol} tolerance, and the drop is "
            "significant ({p} <= {alpha}): regression"
        ),
        "regression.drop_not_significant": (
            "{change}: dropped {drop} but not significantly ({p} > {alpha}): may be noise, "
            "not failed"
        ),
        "regression.within_tolerance": "{change}: within the {tol} tolerance ({p})",
        "baseline.baseline_unavailable": ("the configured baseline could not be obtained: {error}"),
        "baseline.no_shared_cases": (
            "the run shares no case id with the baseline {run} (was the dataset re-keyed?): "
            "nothing could be compared; {rebaseline}"
        ),
        "baseline.checks_skipped": (
            "{skipped} of {total} regression checks could not be evaluated ({what}{more}); "
            "{rebaseline}"
        ),
        "more": " and {n} more",
        "points": "{x} points",
        "baseline_used": "baseline: {where}",
        "baseline_run": "run {run}",
        "baseline_unavailable": "baseline UNAVAILABLE, regressions not checked: {error}",
        "no_baseline": "no baseline yet: thresholds only, regressions not checked",
        "cached_responses": (
            "{cached} of {n} answers came from the response cache, not from the endpoint: "
            "this gate did not call the chatbot for them"
        ),
        "conversations": (
            "{turns} of {n} cases are turns of {convs} {word}; {passed} passed every turn"
        ),
        "conversation_1": "conversation",
        "conversation_n": "conversations",
        "dataset_changed": (
            "the dataset changed since the baseline ({was}… -> {now}…): only the {shared} "
            "shared cases are compared ({new} new, {gone} gone)"
        ),
        "other_baseline": "the baseline is {b_suite}/{b_variant}, this run is {suite}/{variant}",
        "judge_differs": (
            "{metric}: judged by {now} now and by {base} in the baseline; differences may be "
            "the judge's"
        ),
        "no_judge": "no judge",
        "headline_budget": "error budget exceeded: {text}",
        "headline_incomplete": "regression checks could not run: {text}",
        "headline_pass": "all {checked} checks passed{extra}",
        "headline_not_evaluated": " ({n} not evaluated)",
        "headline_fail": "{failed} of {checked} checks failed: {parts}{more}",
        "part_regressed": "{metric} regressed ({delta})",
        "part_threshold": "{metric} {stat} {observed} {bad} {limit}",
        "part_evidence": "{metric}: not enough scored cases",
    },
    "nl": {
        "error_budget.budget_ok": (
            "{failed}/{n} cases ({rate}) kregen een fout van het endpoint of de beoordelaar; "
            "budget {budget}"
        ),
        "error_budget.budget_exceeded": (
            "{failed}/{n} cases ({rate}) kregen een fout van het endpoint of de beoordelaar; "
            "budget {budget}: overschreden, de scores zijn niet te vertrouwen"
        ),
        "error_budget.no_cases": "de run heeft geen cases: niets is te vertrouwen",
        "scored_fraction.nothing_applicable": (
            "{metric}: geen case waarop deze metriek van toepassing is; niets te beoordelen"
        ),
        "scored_fraction.enough_scored": (
            "{metric}: {scored}/{applicable} toepasselijke cases gescoord ({frac})"
        ),
        "scored_fraction.too_few_scored": (
            "{metric}: slechts {scored}/{applicable} toepasselijke cases gescoord ({frac}, "
            "nodig {need}): te weinig bewijs"
        ),
        "threshold.no_scored_cases": (
            "{metric} {stat}: geen gescoorde cases, {op} {limit} is niet aan te tonen"
        ),
        "threshold.group_too_small": (
            "{metric} {stat}: {n} gescoorde cases in deze groep, minder dan {need}; niet getoetst"
        ),
        "threshold.threshold_met": "{metric} {what} {shown} {op} {limit}{ci}",
        "threshold.threshold_crossed": (
            "{metric} {what} {shown} {bad} {limit}{ci}: grens overschreden"
        ),
        "ci": " ({conf}-interval {low}–{high})",
        "ci_lower": "ondergrens van het interval",
        "ci_upper": "bovengrens van het interval",
        "regression.no_baseline": "{metric}: geen basislijn, regressie niet getoetst",
        "regression.baseline_unavailable": (
            "{metric}: de basislijn was niet te verkrijgen; niet getoetst"
        ),
        "regression.baseline_lacks_metric": (
            "{metric}: de basislijn heeft geen waarden voor deze metriek; niet vergeleken"
        ),
        "regression.metric_version_changed": (
            "{metric}: de definitie van de metriek is veranderd (versie {v_base} -> {v_now}); "
            "de waarden zijn niet vergelijkbaar, niet vergeleken"
        ),
        "regression.judge_changed": (
            "{metric}: gescoord door een andere beoordelaar dan de basislijn "
            "({j_base} -> {j_now}); de waarden zijn niet vergelijkbaar, niet vergeleken"
        ),
        "regression.no_shared_scored": (
            "{metric}: geen case in beide runs gescoord; niet vergeleken"
        ),
        "change": (
            "{metric} {base} -> {now} op {n} gedeelde cases "
            "(verschil {delta}, {conf}-interval {low} tot {high})"
        ),
        "holm": ", Holm {p}",
        "regression.regressed": (
            "{change}: {drop} slechter, meer dan de tolerantie van {tol}, en het verschil is "
            "significant ({p} <= {alpha}): regressie"
        ),
        "regression.drop_not_significant": (
            "{change}: {drop} slechter, maar niet significant ({p} > {alpha}): mogelijk ruis, "
            "niet afgekeurd"
        ),
        "regression.within_tolerance": "{change}: binnen de tolerantie van {tol} ({p})",
        "baseline.baseline_unavailable": (
            "de ingestelde basislijn was niet te verkrijgen: {error}"
        ),
        "baseline.no_shared_cases": (
            "de run heeft geen case-id gemeen met basislijn {run} (zijn de ids veranderd?): "
            "er viel niets te vergelijken; {rebaseline}"
        ),
        "baseline.checks_skipped": (
            "{skipped} van {total} regressietoetsen konden niet worden uitgevoerd "
            "({what}{more}); {rebaseline}"
        ),
        "more": " en nog {n}",
        "points": "{x} punten",
        "baseline_used": "basislijn: {where}",
        "baseline_run": "run {run}",
        "baseline_unavailable": "basislijn NIET BESCHIKBAAR, regressies niet getoetst: {error}",
        "no_baseline": "nog geen basislijn: alleen grenswaarden, regressies niet getoetst",
        "cached_responses": (
            "{cached} van {n} antwoorden kwamen uit de antwoordcache, niet van het endpoint: "
            "deze poort heeft de chatbot daarvoor niet aangeroepen"
        ),
        "conversations": (
            "{turns} van {n} cases zijn beurten van {convs} {word}; {passed} slaagden in elke beurt"
        ),
        "conversation_1": "gesprek",
        "conversation_n": "gesprekken",
        "dataset_changed": (
            "de dataset is veranderd sinds de basislijn ({was}… -> {now}…): alleen de {shared} "
            "gedeelde cases worden vergeleken ({new} nieuw, {gone} weg)"
        ),
        "other_baseline": ("de basislijn is {b_suite}/{b_variant}, deze run is {suite}/{variant}"),
        "judge_differs": (
            "{metric}: nu beoordeeld door {now} en in de basislijn door {base}; verschillen "
            "kunnen van de beoordelaar komen"
        ),
        "no_judge": "geen beoordelaar",
        "headline_budget": "foutbudget overschreden: {text}",
        "headline_incomplete": "regressietoetsen konden niet worden uitgevoerd: {text}",
        "headline_pass": "alle {checked} controles gehaald{extra}",
        "headline_not_evaluated": " ({n} niet uitgevoerd)",
        "headline_fail": "{failed} van {checked} controles niet gehaald: {parts}{more}",
        "part_regressed": "{metric} is achteruitgegaan ({delta})",
        "part_threshold": "{metric} {stat} {observed} {bad} {limit}",
        "part_evidence": "{metric}: te weinig gescoorde cases",
    },
}


def format_value(v: float | None, unit: str = "") -> str:
    """A value for people: 3 decimals for scores, thousands-grouped for measures with a unit."""
    if v is None:
        return "–"
    if unit == "ms":
        return f"{v:,.0f} ms"
    if unit:
        return f"{v:,.4g} {unit}"
    return f"{v:.3f}"


class _Words:
    """Sentences and numbers in one language (Dutch swaps the decimal point and comma)."""

    def __init__(self, lang: str) -> None:
        if lang not in LANGS:
            raise ValueError(f"no gate wording in {lang!r}; have {', '.join(LANGS)}")
        self.lang = lang

    def __call__(self, key: str, /, **values: object) -> str:
        return _TEXT[self.lang][key].format_map({k: str(v) for k, v in values.items()})

    def num(self, text: str) -> str:
        if self.lang != "nl":
            return text
        return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")

    def value(self, v: float | None, unit: str = "") -> str:
        return self.num(format_value(v, unit))

    def points(self, x: float) -> str:
        return self("points", x=self.num(f"{100 * x:.1f}"))

    def delta(self, x: float | None, unit: str) -> str:
        if x is None:
            return "–"
        return self.points(x) if not unit else self.value(x, unit)

    def signed(self, x: float | None, unit: str) -> str:
        if x is None:
            return "–"
        if not unit:
            return self.num(f"{100 * x:+.1f} pt")
        return ("+" if x >= 0 else "") + self.value(x, unit)

    def pct(self, x: float | None, digits: int = 0) -> str:
        return "–" if x is None else self.num(f"{x:.{digits}%}")

    def g(self, x: float | None) -> str:
        return "–" if x is None else self.num(f"{x:g}")

    def p(self, x: float | None) -> str:
        return "–" if x is None else self.num(f"{x:.3g}")


def _fact(rule: RuleResult | GateFinding, key: str) -> object:
    value = rule.facts.get(key)
    return "–" if value is None else value


def _float_fact(rule: RuleResult, key: str) -> float | None:
    value = rule.facts.get(key)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _metric_label(r: RuleResult) -> str:
    """The metric, with the group a per-tag threshold checks (``recall@5 [topic:woz]``)."""
    group = r.facts.get("group")
    return f"{r.metric} [{group}]" if group else str(r.metric)


def _threshold(r: RuleResult, w: _Words) -> str:
    assert r.reason is not None
    limit = w.value(r.limit, r.unit)
    metric = _metric_label(r)
    if r.reason == "no_scored_cases":
        return w("threshold.no_scored_cases", metric=metric, stat=r.stat, op=r.op, limit=limit)
    if r.reason == "group_too_small":
        return w(
            "threshold.group_too_small", metric=metric, stat=r.stat, n=r.n, need=_fact(r, "need")
        )
    tested = r.facts.get("tested", "stat")
    if tested == "ci_low":
        what, value = w("ci_lower"), r.ci_low
    elif tested == "ci_high":
        what, value = w("ci_upper"), r.ci_high
    else:
        what, value = r.stat or "", r.observed
    conf = _float_fact(r, "confidence")
    ci = w(
        "ci",
        conf=w.pct(conf if conf is not None else 0.95),
        low=w.value(r.ci_low, r.unit),
        high=w.value(r.ci_high, r.unit),
    )
    return w(
        f"threshold.{r.reason}",
        metric=metric,
        what=what,
        shown=w.value(value, r.unit),
        op=r.op,
        bad="<" if r.op == ">=" else ">",
        limit=limit,
        ci=ci,
    )


def _regression(r: RuleResult, w: _Words) -> str:
    assert r.reason is not None
    if r.reason in ("regressed", "drop_not_significant", "within_tolerance"):
        conf = _float_fact(r, "confidence")
        change = w(
            "change",
            metric=r.metric,
            base=w.value(r.baseline, r.unit),
            now=w.value(r.observed, r.unit),
            n=r.n_paired,
            delta=w.signed(r.delta, r.unit),
            conf=w.pct(conf if conf is not None else 0.95),
            low=w.signed(r.ci_low, r.unit),
            high=w.signed(r.ci_high, r.unit),
        )
        p = f"p = {w.p(r.p_value)}"
        if r.facts.get("holm") and r.p_adjusted is not None:
            p += w("holm", p=w.p(r.p_adjusted))
        return w(
            f"regression.{r.reason}",
            change=change,
            drop=w.delta(r.drop, r.unit),
            tol=w.delta(r.limit, r.unit),
            p=p,
            alpha=w.g(_float_fact(r, "alpha")),
        )
    return w(
        f"regression.{r.reason}",
        metric=r.metric,
        v_base=_fact(r, "version_base"),
        v_now=_fact(r, "version_now"),
        j_base=_fact(r, "judge_base"),
        j_now=_fact(r, "judge_now"),
    )


def rule_text(rule: RuleResult, lang: str = "en", *, rules: Sequence[RuleResult] = ()) -> str:
    """The sentence for one check.

    Args:
        rule: the check.
        lang: ``en`` or ``nl``.
        rules: all checks of the gate (the completeness check names the skipped ones).

    """
    if rule.reason is None:  # an older record: its stored sentence is all there is
        return rule.message
    w = _Words(lang)
    if rule.kind == "error_budget":
        return w(
            f"error_budget.{rule.reason}",
            failed=_fact(rule, "failed"),
            n=rule.n,
            rate=w.pct(rule.observed, 1),
            budget=w.pct(rule.limit),
        )
    if rule.kind == "scored_fraction":
        return w(
            f"scored_fraction.{rule.reason}",
            metric=rule.metric,
            scored=_fact(rule, "scored"),
            applicable=rule.n,
            frac=w.pct(rule.observed),
            need=w.pct(rule.limit),
        )
    if rule.kind == "threshold":
        return _threshold(rule, w)
    if rule.kind == "regression":
        return _regression(rule, w)
    # The completeness check.
    skipped = [r for r in rules if r.kind == "regression" and r.passed is None]
    what = "; ".join(rule_text(r, lang) for r in skipped[:3])
    extra = len(skipped) - 3
    return w(
        f"baseline.{rule.reason}",
        error=_fact(rule, "error"),
        run=str(_fact(rule, "baseline_run_id"))[:12],
        skipped=len(skipped),
        total=rule.n,
        what=what,
        more=w("more", n=extra) if extra > 0 else "",
        rebaseline=_REBASELINE[lang],
    )


# How ragwacht.evals.baseline names a baseline's source ("file PATH", "MLflow run ID").
_SOURCE_WORDS = {"nl": {"file ": "bestand ", "MLflow run ": "MLflow-run "}}


def _source(source: str, lang: str) -> str:
    for prefix, word in _SOURCE_WORDS.get(lang, {}).items():
        if source.startswith(prefix):
            return word + source[len(prefix) :]
    return source


def finding_text(finding: GateFinding, lang: str = "en") -> str:
    """The sentence for one note or warning."""
    w = _Words(lang)
    f = finding.facts
    if finding.kind == "baseline_used":
        source = f.get("source")
        if source:
            where = _source(str(source), lang)
        else:
            where = w("baseline_run", run=str(f.get("run_id") or "")[:12])
        return w("baseline_used", where=where)
    if finding.kind == "conversations":
        convs = f.get("conversations", 0)
        word = w("conversation_1") if convs == 1 else w("conversation_n")
        return w(
            "conversations",
            turns=f.get("turns"),
            n=f.get("cases"),
            convs=convs,
            word=word,
            passed=f.get("passed"),
        )
    if finding.kind == "dataset_changed":
        return w(
            "dataset_changed",
            was=str(f.get("baseline_digest") or "")[:19],
            now=str(f.get("digest") or "")[:19],
            shared=f.get("shared"),
            new=f.get("new"),
            gone=f.get("gone"),
        )
    if finding.kind == "judge_differs":
        return w(
            "judge_differs",
            metric=f.get("metric"),
            now=f.get("judge_now") or w("no_judge"),
            base=f.get("judge_base") or w("no_judge"),
        )
    return w(finding.kind, **{k: "–" if v is None else v for k, v in f.items()})


def notes_text(result: GateResult, lang: str = "en") -> list[str]:
    """What every output states next to the verdict (the baseline used, cached answers)."""
    if not result.findings:
        return list(result.notes)
    return [finding_text(f, lang) for f in result.findings if f.kind in NOTE_KINDS]


def warnings_text(result: GateResult, lang: str = "en") -> list[str]:
    """The gate's warnings (a changed dataset, another judge, cached answers)."""
    if not result.findings:
        return list(result.warnings)
    return [finding_text(f, lang) for f in result.findings if f.kind in WARNING_KINDS]


def headline_text(result: GateResult, lang: str = "en") -> str:
    """The one-line verdict: what failed, or that every check passed."""
    rules = result.rules
    if any(r.reason is None for r in rules):
        return result.headline
    w = _Words(lang)
    budget = next((r for r in rules if r.kind == "error_budget"), None)
    if budget is not None and budget.passed is False:
        return w("headline_budget", text=rule_text(budget, lang, rules=rules))
    completeness = next((r for r in rules if r.kind == "baseline"), None)
    if result.exit_code == 5 and completeness is not None:
        return w("headline_incomplete", text=rule_text(completeness, lang, rules=rules))
    checked = [r for r in rules if r.passed is not None and r.kind != "baseline"]
    failed = [r for r in rules if r.passed is False and r.kind != "baseline"]
    if not failed:
        skipped = len(rules) - len(checked)
        extra = w("headline_not_evaluated", n=skipped) if skipped else ""
        return w("headline_pass", checked=len(checked), extra=extra)
    parts = []
    for r in failed[:3]:
        if r.kind == "regression":
            parts.append(w("part_regressed", metric=r.metric, delta=w.signed(r.delta, r.unit)))
        elif r.kind == "threshold":
            parts.append(
                w(
                    "part_threshold",
                    metric=_metric_label(r),
                    stat=r.stat,
                    observed=w.value(r.observed, r.unit),
                    bad="<" if r.op == ">=" else ">",
                    limit=w.value(r.limit, r.unit),
                )
            )
        else:
            parts.append(w("part_evidence", metric=r.metric))
    more = w("more", n=len(failed) - 3) if len(failed) > 3 else ""
    return w(
        "headline_fail",
        failed=len(failed),
        checked=len(checked),
        parts="; ".join(parts),
        more=more,
    )


def word(result: GateResult, lang: str = "en") -> GateResult:
    """Fill in the result's sentences (messages, headline, notes, warnings) in ``lang``."""
    for r in result.rules:
        r.message = rule_text(r, lang, rules=result.rules)
    result.headline = headline_text(result, lang)
    if result.findings:
        result.notes = notes_text(result, lang)
        result.warnings = warnings_text(result, lang)
    return result


__all__ = [
    "LANGS",
    "finding_text",
    "format_value",
    "headline_text",
    "notes_text",
    "rule_text",
    "warnings_text",
    "word",
]
