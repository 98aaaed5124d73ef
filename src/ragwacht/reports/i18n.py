"""Report text in Dutch and English, and number/date formatting per language.

Dutch comes first: every key exists in ``nl`` and ``en`` (a unit test checks this). Numbers use
a decimal comma and a dot for thousands in Dutch (``0,85``, ``1.234``), the reverse in English.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime

from ragwacht.errors import ConfigError
from ragwacht.reports._bidi import strip_bidi

LANGS = ("nl", "en")

STRINGS: dict[str, dict[str, str]] = {
    "nl": {
        "run_title": "Evaluatierapport",
        "comparison_title": "Vergelijking van varianten",
        "suite": "Suite",
        "variant": "Variant",
        "dataset": "Dataset",
        "generated": "Gemaakt op",
        "run_id": "Run-id",
        "skip_to_content": "Naar de inhoud",
        "contents": "Inhoud",
        "verdict": "Oordeel",
        "verdict_pass": "Geslaagd",
        "verdict_fail": "Niet geslaagd",
        "verdict_error": "Te veel fouten",
        "verdict_none": "Geen kwaliteitspoort",
        "verdict_none_why": (
            "Deze run is niet getoetst aan een kwaliteitspoort; hieronder staan de scores."
        ),
        "verdict_pass_why": "Alle regels van de kwaliteitspoort zijn gehaald.",
        "verdict_fail_why": "Een of meer regels van de kwaliteitspoort zijn niet gehaald.",
        "exit_code": "Exitcode",
        "rule": "Regel",
        "rules": "Regels van de kwaliteitspoort",
        "observed": "Gemeten",
        "limit": "Grens",
        "allowed_drop": "toegestane daling",
        "allowed_rise": "toegestane stijging",
        "p_holm": "p (Holm-gecorrigeerd)",
        "p_holm_short": "Holm-gecorrigeerde p",
        "baseline_named": (
            "Vergeleken met basislijn-run {run} (variant {variant}{extra}), op {n} gedeelde cases."
        ),
        "baseline_named_short": "Vergeleken met basislijn-run {run}{extra}.",
        "commit_of": ", commit {sha}",
        "started_on": ", gestart {date}",
        "before_after": "Basislijn → nu",
        "detectable_paired_intro": (
            "Kleinste daling (of, bij metrieken waar lager beter is, stijging) die de gepaarde "
            "toets van de kwaliteitspoort op deze {n} gedeelde cases met 80% zekerheid opmerkt, "
            "berekend uit de spreiding van de verschillen per case: (z[1−α] + z[0,8]) · SD(d) / "
            "√n. Kleinere veranderingen zijn niet van ruis te onderscheiden; voeg cases toe om "
            "fijnere verschillen te zien."
        ),
        "baseline": "Basislijn",
        "change": "Verschil",
        "p_value": "p-waarde",
        "result": "Uitkomst",
        "passed": "Gehaald",
        "failed": "Niet gehaald",
        "scorecards": "Scores per metriek",
        "scorecards_caption": "Gemiddelde per metriek met 95%-betrouwbaarheidsinterval",
        "metric": "Metriek",
        "value": "Waarde",
        "ci95": "95%-interval",
        "scored_of": "{scored} van {total}",
        "scored": "Gescoord",
        "errors": "Fouten",
        "errors_n": "{n} fouten",
        "errors_1": "1 fout",
        "no_errors": "geen fouten",
        "judge": "Beoordelaar",
        "weak": "zwak",
        "weak_title": "Heuristische beoordelaar: alleen indicatief",
        "higher_better": "hoger is beter",
        "lower_better": "lager is beter",
        "vs_baseline": "t.o.v. basislijn",
        "better": "beter",
        "worse": "slechter",
        "no_clear_change": "geen duidelijk verschil",
        "significant": "significant",
        "not_significant": "niet significant",
        "not_tested": "niet getoetst",
        "no_baseline": "geen basislijn",
        "not_scored": "niet gescoord",
        "p50": "mediaan",
        "p95": "95e percentiel",
        "per_case": "per case",
        "detectable": "Welke daling kan deze set zien?",
        "detectable_intro": (
            "Kleinste daling die deze set ({n} cases) met 80% zekerheid opmerkt, op een schaal "
            "van 0 tot 1. Kleinere dalingen zijn niet van ruis te onderscheiden; voeg cases toe "
            "om fijnere verschillen te zien."
        ),
        "detectable_metric": "{metric}: ongeveer {drop}",
        "detectable_ci": (
            "De 95%-intervallen hierboven zijn gemiddeld {width} breed: verschillen kleiner dan "
            "dat zijn met deze {n} cases niet van ruis te onderscheiden."
        ),
        "digest_changed": (
            "Let op: de dataset is veranderd ten opzichte van de basislijn; alleen gedeelde "
            "cases zijn vergeleken."
        ),
        "trend": "Verloop over de laatste runs",
        "trend_caption": "Gemiddelde per run, oudste eerst",
        "trend_metric_caption": "Verloop per metriek over {n} runs",
        "first_run": "eerste run",
        "last_run": "laatste run",
        "trend_chart": "Verloop van {metric} over {n} runs: van {first} naar {last}",
        "run": "Run",
        "date": "Datum",
        "commit": "Commit",
        "this_run": "deze run",
        "by_tag": "Resultaten per kenmerk",
        "by_tag_caption": "{metric} per {key}",
        "by_tag_chart": "{metric} per {key}",
        "tag_value": "Waarde van kenmerk",
        "cases": "Cases",
        "tag_key_topic": "onderwerp",
        "tag_key_lang": "taal",
        "tag_key_language": "taal",
        "tag_key_difficulty": "moeilijkheid",
        "tag_key_source": "bron",
        "flipped": "Omgeslagen cases",
        "flipped_none": "Geen cases omgeslagen ten opzichte van de basislijn.",
        "flipped_no_baseline": "Geen basislijn: omgeslagen cases zijn niet te bepalen.",
        "pass_to_fail": "Van goed naar fout",
        "fail_to_pass": "Van fout naar goed",
        "flipped_caption": "Cases die ten opzichte van de basislijn zijn omgeslagen",
        "direction": "Richting",
        "worst": "Zwakste cases",
        "worst_caption": "De {n} cases met de laagste scores",
        "worst_none": "Geen cases om te tonen.",
        "quality": "Kwaliteit",
        "problem": "Probleem",
        "all_cases": "Alle cases",
        "cases_sampled": (
            "Dit rapport toont {shown} van de {total} cases: die met een probleem of fout (de "
            "slechtste eerst), de omgeslagen cases en {sample}. Alle scores, "
            "tabellen en de kwaliteitspoort gaan over alle cases; elke case staat in cases.csv "
            "naast dit rapport."
        ),
        "sample_by": "een steekproef per {key}",
        "sample_plain": "een steekproef",
        "all_cases_intro": (
            "Klik op een case om de vraag, het antwoord, de gevonden bronnen en de scores te zien."
        ),
        "filter_label": "Filter cases",
        "filter_placeholder": "zoek op id, vraag of kenmerk",
        "only_problems": "Alleen cases met problemen",
        "case": "Case",
        "question": "Vraag",
        "reference_answer": "Referentieantwoord",
        "answer": "Antwoord van de chatbot",
        "no_answer": "Geen antwoord ontvangen.",
        "expected_behavior": "Verwacht gedrag",
        "behavior_answer": "beantwoorden",
        "behavior_refuse": "weigeren",
        "tags": "Kenmerken",
        "sources": "Gevonden bronnen",
        "no_sources": "Geen bronnen teruggegeven.",
        "gold": "relevant",
        "gold_title": "een bron die bij de gouden bronnen van de case hoort",
        "gold_missing": "Niet gevonden gouden bronnen",
        "rank": "Rang",
        "score": "Score",
        "truncated": "ingekort, {n} tekens in totaal",
        "same_as": "volledige tekst bij {case}, bron {n}",
        "more_text": "rest van de tekst ({n} tekens)",
        "claims": "Beweringen",
        "claims_caption": "Beweringen in het antwoord en hun onderbouwing",
        "claim": "Bewering",
        "evidence": "Bewijs",
        "source_n": "bron {n}",
        "verdict_supported": "onderbouwd",
        "verdict_contradicted": "tegengesproken",
        "verdict_unverifiable": "niet te controleren",
        "unsupported": "niet onderbouwd",
        "marked_legend": (
            "een bewering die de bronnen niet onderbouwen (tegengesproken of niet te controleren);"
        ),
        "claims_not_located": (
            "Niet-onderbouwde beweringen die niet letterlijk in het antwoord staan:"
        ),
        "legend": "Legenda",
        "status_ok_means": "alle scores in orde;",
        "status_problem_means": (
            "minstens één score aan de verkeerde kant van zijn grens per case (de grens van de "
            "kwaliteitspoort, anders 0,5; precision@k gemeten tegen het haalbare maximum);"
        ),
        "no_relevant_source": "geen relevante bron gevonden",
        "cut_note": "ingekort voor weergave; {n} tekens in totaal, volledig in run.json",
        "claims_cut": "Nog {n} beweringen niet getoond; alle beweringen staan in run.json.",
        "status_error_means": "geen antwoord;",
        "marked_example": "gemarkeerde tekst",
        "latency": "Responstijd",
        "cost": "Kosten",
        "tokens": "Tokens",
        "attempts": "Pogingen",
        "error": "Fout",
        "endpoint_error": "Fout van het eindpunt",
        "reason": "Reden",
        "metrics": "Scores",
        "status_ok": "in orde",
        "status_problem": "aandachtspunt",
        "status_error": "fout",
        "judges": "Beoordelaars en hun kalibratie",
        "judges_caption": "Beoordelaars in deze run en hun overeenstemming met mensen",
        "judge_kind": "Soort",
        "model": "Model",
        "prompt": "Prompt",
        "balanced_accuracy": "Gebal. nauwkeurigheid",
        "kappa": "Cohens kappa",
        "n_labels": "n labels",
        "calibration_data": "Kalibratieset",
        "not_calibrated": "niet gekalibreerd",
        "language": "Taal",
        "language_unknown": "onbekend",
        "attention": "Let op",
        "judge_lang_missing": (
            "{judge} is niet gekalibreerd in de taal van deze run ({langs}); de kalibratie "
            "hierboven is gemeten op teksten in: {have}. Hoe goed deze beoordelaar {langs} "
            "beoordeelt, is niet gemeten."
        ),
        "judge_lang_uncalibrated": (
            "{judge} is helemaal niet gekalibreerd, ook niet in de taal van deze run ({langs}): "
            "hoe vaak zijn oordeel klopt, is niet gemeten."
        ),
        "judges_none": "Deze run gebruikte geen beoordelaars.",
        "judges_note": (
            "Een beoordelaar is zo betrouwbaar als zijn overeenstemming met mensen: 1 is perfect, "
            "0,5 is gokken (gebalanceerde nauwkeurigheid)."
        ),
        "manifest": "Reproduceerbaarheid",
        "manifest_caption": "Alles wat nodig is om deze run te herhalen",
        "harness_version": "Versie ragwacht",
        "git": "Git",
        "dataset_digest": "Dataset-digest",
        "suite_hash": "Suite-hash",
        "endpoint_profile": "Eindpuntprofiel",
        "variant_settings": "Instellingen variant",
        "started": "Start",
        "finished": "Einde",
        "python": "Python",
        "platform": "Platform",
        "ci": "CI",
        "warnings": "Waarschuwingen",
        "endpoint_errors": "Fouten van het eindpunt",
        "judge_errors": "Fouten van beoordelaars",
        "footer": "Gemaakt met ragwacht {version}. Dit bestand heeft geen internet nodig.",
        "yes": "ja",
        "no": "nee",
        "none": "geen",
        "unknown": "onbekend",
        # comparison
        "reference_variant": "Referentievariant",
        "variants": "Varianten",
        "per_variant_verdict": "Oordeel per variant",
        "cmp_better": "Beter dan {ref}",
        "cmp_worse": "Slechter dan {ref}",
        "cmp_mixed": "Gemengd: beter en slechter",
        "cmp_same": "Geen duidelijk verschil met {ref}",
        "cmp_reference": "Referentie",
        "paired": "Gepaarde verschillen per metriek",
        "paired_caption": (
            "Verschil met {ref} op dezelfde cases, met 95%-interval en p-waarde (alfa {alpha})"
        ),
        "mean_variant": "Gem. variant",
        "mean_reference": "Gem. referentie",
        "diff": "Verschil",
        "wins": "Winst",
        "ties": "Gelijk",
        "losses": "Verlies",
        "n_pairs": "n",
        "tradeoff": "Kwaliteit tegenover responstijd en kosten",
        "tradeoff_caption": "Kwaliteit, responstijd en kosten per variant",
        "tradeoff_chart": "{quality} tegenover responstijd (p95) per variant",
        "latency_p50": "Responstijd p50",
        "latency_p95": "Responstijd p95",
        "cost_per_case": "Kosten per case",
        "disagreements": "Cases waarover varianten het oneens zijn",
        "disagreements_caption": "Cases waarop de scores van varianten sterk verschillen",
        "disagreements_none": "De varianten scoren op geen enkele case sterk verschillend.",
        "disagreements_more": "en nog {n} cases",
    },
    "en": {
        "run_title": "Evaluation report",
        "comparison_title": "Variant comparison",
        "suite": "Suite",
        "variant": "Variant",
        "dataset": "Dataset",
        "generated": "Generated",
        "run_id": "Run id",
        "skip_to_content": "Skip to content",
        "contents": "Contents",
        "verdict": "Verdict",
        "verdict_pass": "Passed",
        "verdict_fail": "Failed",
        "verdict_error": "Too many errors",
        "verdict_none": "No quality gate",
        "verdict_none_why": "This run was not checked against a quality gate; the scores follow.",
        "verdict_pass_why": "Every rule of the quality gate was met.",
        "verdict_fail_why": "One or more rules of the quality gate were not met.",
        "exit_code": "Exit code",
        "rule": "Rule",
        "rules": "Quality gate rules",
        "observed": "Observed",
        "limit": "Limit",
        "allowed_drop": "allowed drop",
        "allowed_rise": "allowed rise",
        "p_holm": "p (Holm-adjusted)",
        "p_holm_short": "Holm-adjusted p",
        "baseline_named": (
            "Compared with baseline run {run} (variant {variant}{extra}) on {n} shared cases."
        ),
        "baseline_named_short": "Compared with baseline run {run}{extra}.",
        "commit_of": ", commit {sha}",
        "started_on": ", started {date}",
        "before_after": "Baseline → now",
        "detectable_paired_intro": (
            "Smallest drop (or, for metrics where lower is better, rise) that the gate's paired "
            "test on these {n} shared cases detects with 80% power, computed from the spread of "
            "the per-case differences: (z[1−α] + z[0.8]) · SD(d) / √n. Smaller changes cannot be "
            "told apart from noise; add cases to see finer differences."
        ),
        "baseline": "Baseline",
        "change": "Change",
        "p_value": "p-value",
        "result": "Result",
        "passed": "Met",
        "failed": "Not met",
        "scorecards": "Scores per metric",
        "scorecards_caption": "Mean per metric with its 95% confidence interval",
        "metric": "Metric",
        "value": "Value",
        "ci95": "95% interval",
        "scored_of": "{scored} of {total}",
        "scored": "Scored",
        "errors": "Errors",
        "errors_n": "{n} errors",
        "errors_1": "1 error",
        "no_errors": "no errors",
        "judge": "Judge",
        "weak": "weak",
        "weak_title": "Heuristic judge: indicative only",
        "higher_better": "higher is better",
        "lower_better": "lower is better",
        "vs_baseline": "vs. baseline",
        "better": "better",
        "worse": "worse",
        "no_clear_change": "no clear change",
        "significant": "significant",
        "not_significant": "not significant",
        "not_tested": "not tested",
        "no_baseline": "no baseline",
        "not_scored": "not scored",
        "p50": "median",
        "p95": "95th percentile",
        "per_case": "per case",
        "detectable": "What drop can this set detect?",
        "detectable_intro": (
            "Smallest drop this set ({n} cases) detects with 80% power, on a scale of 0 to 1. "
            "Smaller drops cannot be told apart from noise; add cases to see finer differences."
        ),
        "detectable_metric": "{metric}: about {drop}",
        "detectable_ci": (
            "The 95% intervals above are {width} wide on average: differences smaller than that "
            "cannot be told apart from noise with these {n} cases."
        ),
        "digest_changed": (
            "Note: the dataset changed since the baseline; only shared cases were compared."
        ),
        "trend": "Trend over the last runs",
        "trend_caption": "Mean per run, oldest first",
        "trend_metric_caption": "Trend per metric over {n} runs",
        "first_run": "first run",
        "last_run": "last run",
        "trend_chart": "Trend of {metric} over {n} runs: from {first} to {last}",
        "run": "Run",
        "date": "Date",
        "commit": "Commit",
        "this_run": "this run",
        "by_tag": "Results per tag",
        "by_tag_caption": "{metric} per {key}",
        "by_tag_chart": "{metric} per {key}",
        "tag_value": "Tag value",
        "cases": "Cases",
        "tag_key_topic": "topic",
        "tag_key_lang": "language",
        "tag_key_language": "language",
        "tag_key_difficulty": "difficulty",
        "tag_key_source": "source",
        "flipped": "Flipped cases",
        "flipped_none": "No cases flipped against the baseline.",
        "flipped_no_baseline": "No baseline: flipped cases cannot be determined.",
        "pass_to_fail": "Pass to fail",
        "fail_to_pass": "Fail to pass",
        "flipped_caption": "Cases that flipped against the baseline",
        "direction": "Direction",
        "worst": "Weakest cases",
        "worst_caption": "The {n} cases with the lowest scores",
        "worst_none": "No cases to show.",
        "quality": "Quality",
        "problem": "Problem",
        "all_cases": "All cases",
        "cases_sampled": (
            "This report shows {shown} of the {total} cases: those with a problem or an error "
            "(worst first), the flipped cases and {sample}. Every score, table and the "
            "gate cover all cases; every case is in cases.csv beside this report."
        ),
        "sample_by": "a sample per {key}",
        "sample_plain": "a sample",
        "all_cases_intro": (
            "Open a case to see the question, the answer, the retrieved sources and the scores."
        ),
        "filter_label": "Filter cases",
        "filter_placeholder": "search id, question or tag",
        "only_problems": "Only cases with problems",
        "case": "Case",
        "question": "Question",
        "reference_answer": "Reference answer",
        "answer": "Chatbot answer",
        "no_answer": "No answer received.",
        "expected_behavior": "Expected behaviour",
        "behavior_answer": "answer",
        "behavior_refuse": "refuse",
        "tags": "Tags",
        "sources": "Retrieved sources",
        "no_sources": "No sources returned.",
        "gold": "relevant",
        "gold_title": "a source among the case's gold sources",
        "gold_missing": "Gold sources not retrieved",
        "rank": "Rank",
        "score": "Score",
        "truncated": "shortened, {n} characters in total",
        "same_as": "full text at {case}, source {n}",
        "more_text": "rest of the text ({n} characters)",
        "claims": "Claims",
        "claims_caption": "Claims in the answer and their support",
        "claim": "Claim",
        "evidence": "Evidence",
        "source_n": "source {n}",
        "verdict_supported": "supported",
        "verdict_contradicted": "contradicted",
        "verdict_unverifiable": "unverifiable",
        "unsupported": "unsupported",
        "marked_legend": ("a claim the sources do not support (contradicted or unverifiable);"),
        "claims_not_located": "Unsupported claims not found verbatim in the answer:",
        "legend": "Legend",
        "status_ok_means": "every score fine;",
        "status_problem_means": (
            "at least one score on the wrong side of its per-case pass mark (the gate's, else "
            "0.5; precision@k against its achievable maximum);"
        ),
        "no_relevant_source": "no relevant source retrieved",
        "cut_note": "cut for display; {n} characters in all, in full in run.json",
        "claims_cut": "{n} more claims not shown; every claim is in run.json.",
        "status_error_means": "no answer;",
        "marked_example": "marked text",
        "latency": "Latency",
        "cost": "Cost",
        "tokens": "Tokens",
        "attempts": "Attempts",
        "error": "Error",
        "endpoint_error": "Endpoint error",
        "reason": "Reason",
        "metrics": "Scores",
        "status_ok": "fine",
        "status_problem": "needs attention",
        "status_error": "error",
        "judges": "Judges and their calibration",
        "judges_caption": "Judges used in this run and their agreement with people",
        "judge_kind": "Kind",
        "model": "Model",
        "prompt": "Prompt",
        "balanced_accuracy": "Balanced accuracy",
        "kappa": "Cohen's kappa",
        "n_labels": "n labels",
        "calibration_data": "Calibration set",
        "not_calibrated": "not calibrated",
        "language": "Language",
        "language_unknown": "unknown",
        "attention": "Note",
        "judge_lang_missing": (
            "{judge} has no calibration in this run's language ({langs}); the calibration "
            "above was measured on texts in: {have}. How well this judge judges {langs} has "
            "not been measured."
        ),
        "judge_lang_uncalibrated": (
            "{judge} has no calibration at all, so none in this run's language ({langs}) "
            "either: how often its verdicts are right has not been measured."
        ),
        "judges_none": "This run used no judges.",
        "judges_note": (
            "A judge is as trustworthy as its agreement with people: 1 is perfect, 0.5 is "
            "guessing (balanced accuracy)."
        ),
        "manifest": "Reproducibility",
        "manifest_caption": "Everything needed to repeat this run",
        "harness_version": "ragwacht version",
        "git": "Git",
        "dataset_digest": "Dataset digest",
        "suite_hash": "Suite hash",
        "endpoint_profile": "Endpoint profile",
        "variant_settings": "Variant settings",
        "started": "Started",
        "finished": "Finished",
        "python": "Python",
        "platform": "Platform",
        "ci": "CI",
        "warnings": "Warnings",
        "endpoint_errors": "Endpoint errors",
        "judge_errors": "Judge errors",
        "footer": "Made with ragwacht {version}. This file needs no internet connection.",
        "yes": "yes",
        "no": "no",
        "none": "none",
        "unknown": "unknown",
        "reference_variant": "Reference variant",
        "variants": "Variants",
        "per_variant_verdict": "Verdict per variant",
        "cmp_better": "Better than {ref}",
        "cmp_worse": "Worse than {ref}",
        "cmp_mixed": "Mixed: better and worse",
        "cmp_same": "No clear difference from {ref}",
        "cmp_reference": "Reference",
        "paired": "Paired differences per metric",
        "paired_caption": (
            "Difference from {ref} on the same cases, with 95% interval and p-value (alpha {alpha})"
        ),
        "mean_variant": "Variant mean",
        "mean_reference": "Reference mean",
        "diff": "Difference",
        "wins": "Wins",
        "ties": "Ties",
        "losses": "Losses",
        "n_pairs": "n",
        "tradeoff": "Quality against latency and cost",
        "tradeoff_caption": "Quality, latency and cost per variant",
        "tradeoff_chart": "{quality} against latency (p95) per variant",
        "latency_p50": "Latency p50",
        "latency_p95": "Latency p95",
        "cost_per_case": "Cost per case",
        "disagreements": "Cases the variants disagree on",
        "disagreements_caption": "Cases on which the variants' scores differ strongly",
        "disagreements_none": "The variants do not score any case strongly differently.",
        "disagreements_more": "and {n} more cases",
    },
}

METRIC_LABELS: dict[str, dict[str, str]] = {
    "nl": {
        "recall": "Recall (gevonden relevante bronnen)",
        "precision": "Precisie van de bronnen",
        "hit": "Treffer (minstens één relevante bron)",
        "mrr": "MRR (rang eerste relevante bron)",
        "ndcg": "nDCG (rangorde van de bronnen)",
        "map": "MAP (gemiddelde precisie)",
        "faithfulness": "Getrouwheid aan de bronnen",
        "hallucination_rate": "Hallucinatiegraad",
        "answer_correctness": "Juistheid van het antwoord",
        "refusal_correctness": "Terecht (niet) weigeren",
        "consistency": "Consistentie",
        "citation_correctness": "Juiste bronvermelding",
        "latency": "Responstijd",
        "cost": "Kosten",
    },
    "en": {
        "recall": "Recall (relevant sources found)",
        "precision": "Precision of the sources",
        "hit": "Hit (at least one relevant source)",
        "mrr": "MRR (rank of first relevant source)",
        "ndcg": "nDCG (ranking of the sources)",
        "map": "MAP (mean average precision)",
        "faithfulness": "Faithfulness to the sources",
        "hallucination_rate": "Hallucination rate",
        "answer_correctness": "Answer correctness",
        "refusal_correctness": "Refusal correctness",
        "consistency": "Consistency",
        "citation_correctness": "Citation correctness",
        "latency": "Latency",
        "cost": "Cost",
    },
}

_MONTHS = {
    "nl": [
        "januari", "februari", "maart", "april", "mei", "juni",
        "juli", "augustus", "september", "oktober", "november", "december",
    ],
    "en": [
        "January", "February", "March", "April", "May", "June",
        "July", "August", "September", "October", "November", "December",
    ],
}  # fmt: skip
_MONTHS_SHORT = {
    "nl": ["jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec"],
    "en": ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
}

_SEPARATORS = {"nl": (",", "."), "en": (".", ",")}  # (decimal, thousands)


def check_lang(lang: str) -> str:
    """Return ``lang`` if supported, else raise a ConfigError that says which are."""
    if lang not in LANGS:
        raise ConfigError(
            f"unsupported report language '{lang}'", field="--lang", hint="use nl or en"
        )
    return lang


def fmt_number(value: float | None, digits: int = 2, lang: str = "nl") -> str:
    """Format a number with ``digits`` decimals and the language's separators.

    ``None`` and non-finite values become an en dash, so a missing value is never shown as 0.
    """
    if value is None or not math.isfinite(value):
        return "–"
    decimal, thousands = _SEPARATORS[lang]
    text = f"{value:,.{digits}f}"
    if text in ("-0", "-0." + "0" * digits):
        text = text[1:]
    # Swap through a placeholder so '.' and ',' can trade places.
    return text.replace(",", "\x00").replace(".", decimal).replace("\x00", thousands)


def fmt_signed(value: float | None, digits: int = 2, lang: str = "nl") -> str:
    """Format with an explicit sign (``+0,03``, ``−0,05``; a real minus sign, not a hyphen)."""
    if value is None or not math.isfinite(value):
        return "–"
    text = fmt_number(abs(value), digits, lang)
    if text.strip("0,.") == "":
        return text
    return ("+" if value > 0 else "\u2212") + text


def fmt_p(value: float | None, lang: str = "nl") -> str:
    """Format a p-value: three decimals, ``< 0,001`` below that."""
    if value is None or not math.isfinite(value):
        return "–"
    if value < 0.001:
        return "< " + fmt_number(0.001, 3, lang)
    return fmt_number(value, 3, lang)


def fmt_ms(value: float | None, lang: str = "nl") -> str:
    """Format milliseconds: ``850 ms`` or ``1,2 s`` (``1.2 s``) from one second up."""
    if value is None or not math.isfinite(value):
        return "–"
    if abs(value) >= 1000:
        return fmt_number(value / 1000, 1, lang) + " s"
    return fmt_number(value, 0, lang) + " ms"


def fmt_cost(value: float | None, lang: str = "nl", unit: str = "EUR") -> str:
    """Format a cost; small amounts keep four decimals so cents per case stay visible."""
    if value is None or not math.isfinite(value):
        return "–"
    digits = 4 if abs(value) < 1 else 2
    symbol = "€" if unit.upper() in ("EUR", "€", "") else unit
    sep = "\u00a0"
    return f"{symbol}{sep}{fmt_number(value, digits, lang)}"


def fmt_date(value: datetime | float | None, lang: str = "nl", *, time: bool = True) -> str:
    """Format a date (``3 maart 2025 14:05 UTC`` / ``3 March 2025 14:05 UTC``).

    Floats are Unix timestamps. Aware datetimes are shown in UTC so that every reader of a
    CI artifact sees the same clock time.
    """
    if value is None:
        return "–"
    if isinstance(value, int | float):
        value = datetime.fromtimestamp(float(value), tz=UTC)
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    text = f"{value.day} {_MONTHS[lang][value.month - 1]} {value.year}"
    if time:
        text += f" {value.hour:02d}:{value.minute:02d}"
        if value.tzinfo is not None:
            text += " UTC"
    return text


def fmt_date_short(value: datetime | float | None, lang: str = "nl") -> str:
    """Short date for chart axes and tables (``3 mrt`` / ``3 Mar``)."""
    if value is None:
        return "–"
    if isinstance(value, int | float):
        value = datetime.fromtimestamp(float(value), tz=UTC)
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return f"{value.day} {_MONTHS_SHORT[lang][value.month - 1]}"


def metric_label(metric_id: str, lang: str = "nl") -> str:
    """A readable name for a metric id (``recall@5`` -> ``Recall (...) @5``); id if unknown."""
    base, _, k = metric_id.partition("@")
    label = METRIC_LABELS[lang].get(base)
    if label is None:
        return metric_id
    return f"{label} @{k}" if k else label


class Translator:
    """Looks up report strings for one language; missing keys fall back to English, then key."""

    def __init__(self, lang: str) -> None:
        self.lang = check_lang(lang)
        self._table: Mapping[str, str] = STRINGS[lang]

    def __call__(self, msgid: str, /, **kw: object) -> str:
        """The text for ``msgid``, formatted with ``kw``.

        Values put into a sentence (case ids, variant and judge names) lose bidi controls, so
        an override in one cannot reorder the rest of the sentence.
        """
        text = self._table.get(msgid) or STRINGS["en"].get(msgid) or msgid
        if not kw:
            return text
        return text.format(**{k: strip_bidi(v) if isinstance(v, str) else v for k, v in kw.items()})

    def num(self, value: float | None, digits: int = 2) -> str:
        """:func:`fmt_number` in this language."""
        return fmt_number(value, digits, self.lang)

    def signed(self, value: float | None, digits: int = 2) -> str:
        """:func:`fmt_signed` in this language."""
        return fmt_signed(value, digits, self.lang)

    def p(self, value: float | None) -> str:
        """:func:`fmt_p` in this language."""
        return fmt_p(value, self.lang)

    def ms(self, value: float | None) -> str:
        """:func:`fmt_ms` in this language."""
        return fmt_ms(value, self.lang)

    def cost(self, value: float | None, unit: str = "EUR") -> str:
        """:func:`fmt_cost` in this language."""
        return fmt_cost(value, self.lang, unit)

    def date(self, value: datetime | float | None, *, time: bool = True) -> str:
        """:func:`fmt_date` in this language."""
        return fmt_date(value, self.lang, time=time)

    def date_short(self, value: datetime | float | None) -> str:
        """:func:`fmt_date_short` in this language."""
        return fmt_date_short(value, self.lang)

    def metric(self, metric_id: str) -> str:
        """:func:`metric_label` in this language."""
        return metric_label(metric_id, self.lang)

    def tag_key(self, key: str) -> str:
        """Readable name of a tag key (``difficulty`` -> ``moeilijkheid``)."""
        return self._table.get(f"tag_key_{key}", key)
