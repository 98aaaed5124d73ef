"""The "Safety" section of the run report: safety rates and the offending answers, marked.

Built from the safety metrics' results (:mod:`ragwacht.metrics.safety`): each offending case is
listed with its answer, the spans that leaked (an identifier, a canary, system-prompt text)
wrapped in ``<mark>`` and labelled in words, so the marking does not rely on colour. The answer
is untrusted text: every piece is escaped, only the marks are markup.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape

from ragwacht.records import RunRecord

SAFETY_METRICS = (
    "pii_leak_rate",
    "injection_success_rate",
    "system_prompt_leak_rate",
    "unsafe_answer_rate",
)

_WHOLE_ANSWER = frozenset({"unsafe_answer"})
# Kept here rather than in i18n.py: the section's wording travels with the section.
_TEXT: dict[str, dict[str, str]] = {
    "nl": {
        "title": "Veiligheid",
        "intro": "Antwoorden die persoonsgegevens prijsgaven, een geïnjecteerde instructie "
        "volgden, de systeemprompt lieten zien of een verzoek beantwoordden dat geweigerd "
        "moest worden. Lager is beter; zonder eigen regel is de drempel 0.",
        "caption": "Veiligheidsmetingen (lager is beter)",
        "metric": "Meting",
        "rate": "Aandeel",
        "cases": "Gevallen",
        "case": "Geval",
        "probe": "Soort probe",
        "answer": "Antwoord, met het gelekte gemarkeerd",
        "found": "Gevonden",
        "none": "Geen onveilige antwoorden gevonden.",
        "offending_caption": "Onveilige antwoorden",
        "pii_leak_rate": "Gelekte persoonsgegevens",
        "injection_success_rate": "Geslaagde promptinjectie",
        "system_prompt_leak_rate": "Gelekte systeemprompt",
        "unsafe_answer_rate": "Beantwoord terwijl weigeren moest",
        "bsn": "BSN",
        "iban": "IBAN",
        "phone": "telefoonnummer",
        "email": "e-mailadres",
        "postcode": "postcode en huisnummer",
        "licence_plate": "kenteken",
        "date_of_birth": "geboortedatum",
        "canary": "canary-token",
        "system_canary": "canary uit de systeemprompt",
        "system_prompt": "tekst uit de systeemprompt",
        "unsafe_answer": "antwoord op een te weigeren verzoek",
        "normal": "gewone vraag",
    },
    "en": {
        "title": "Safety",
        "intro": "Answers that revealed personal data, followed an injected instruction, showed "
        "the system prompt or answered a request that had to be refused. Lower is better; "
        "without a rule of its own the ceiling is 0.",
        "caption": "Safety measures (lower is better)",
        "metric": "Measure",
        "rate": "Rate",
        "cases": "Cases",
        "case": "Case",
        "probe": "Probe kind",
        "answer": "Answer, with what leaked marked",
        "found": "Found",
        "none": "No unsafe answers found.",
        "offending_caption": "Unsafe answers",
        "pii_leak_rate": "Leaked personal data",
        "injection_success_rate": "Successful prompt injection",
        "system_prompt_leak_rate": "Leaked system prompt",
        "unsafe_answer_rate": "Answered where it had to refuse",
        "bsn": "BSN",
        "iban": "IBAN",
        "phone": "phone number",
        "email": "e-mail address",
        "postcode": "postcode and house number",
        "licence_plate": "licence plate",
        "date_of_birth": "date of birth",
        "canary": "canary token",
        "system_canary": "system-prompt canary",
        "system_prompt": "system-prompt text",
        "unsafe_answer": "answer to a must-refuse request",
        "normal": "normal question",
    },
}


@dataclass
class SafetyRow:
    """One safety metric's aggregate."""

    metric: str
    label: str
    rate: str
    bad: int
    scored: int


@dataclass
class OffendingCase:
    """One case where a safety metric found something."""

    case_id: str
    anchor: str | None
    probe: str
    metrics: list[str]
    found: list[str]
    answer_html: Markup
    spans: list[Mapping[str, Any]] = field(default_factory=list)


@dataclass
class SafetyView:
    """The whole section."""

    text: Mapping[str, str]
    rows: list[SafetyRow] = field(default_factory=list)
    cases: list[OffendingCase] = field(default_factory=list)


def mark_spans(
    answer: str, spans: Sequence[Mapping[str, Any]], labels: Mapping[str, str]
) -> Markup:
    """``answer`` escaped, each span wrapped in ``<mark>`` with its kind in words.

    Overlapping spans (one identifier found by two metrics) are merged into one mark.
    """
    cuts: list[tuple[int, int, set[str]]] = []
    for s in sorted(spans, key=lambda s: (int(s["start"]), -int(s["end"]))):
        start, end = max(0, int(s["start"])), min(len(answer), int(s["end"]))
        if end <= start:
            continue
        kind = str(s.get("kind", ""))
        if cuts and start < cuts[-1][1]:
            a, b, kinds = cuts[-1]
            cuts[-1] = (a, max(b, end), kinds | {kind})
        else:
            cuts.append((start, end, {kind}))
    out = Markup("")
    pos = 0
    for start, end, kinds in cuts:
        names = ", ".join(labels.get(k, k) for k in sorted(kinds))
        out += escape(answer[pos:start])
        out += Markup('<mark class="leak">{}<span class="ml"> [{}]</span></mark>').format(
            answer[start:end], names
        )
        pos = end
    return out + escape(answer[pos:])


def safety_view(
    record: RunRecord, lang: str, anchors: Mapping[str, str] | None = None
) -> SafetyView | None:
    """The section for ``record``, or None when the run computed no safety metric.

    Args:
        record: the run.
        lang: ``nl`` or ``en``.
        anchors: case id -> the anchor of the case in the report's case list.

    """
    present = [m for m in SAFETY_METRICS if m in record.summary]
    if not present:
        return None
    text = _TEXT.get(lang, _TEXT["en"])
    view = SafetyView(text=text)
    offending: dict[str, OffendingCase] = {}
    for m in present:
        s = record.summary[m]
        bad = 0
        for c in record.cases:
            r = c.metrics.get(m)
            if r is None or not r.value:
                continue
            bad += 1
            spans = list(r.details.get("spans") or [])
            oc = offending.get(c.case_id)
            if oc is None:
                probe = next((t.split(":", 1)[1] for t in c.tags if t.startswith("probe:")), "")
                oc = OffendingCase(
                    case_id=c.case_id,
                    anchor=(anchors or {}).get(c.case_id),
                    probe=probe or text["normal"],
                    metrics=[],
                    found=[],
                    answer_html=Markup(""),
                )
                offending[c.case_id] = oc
            oc.metrics.append(text.get(m, m))
            oc.spans += spans
            for sp in spans:
                if sp.get("kind") in _WHOLE_ANSWER:
                    continue  # the metric's own name already says it
                label = text.get(str(sp.get("kind")), str(sp.get("kind")))
                if label not in oc.found:
                    oc.found.append(label)
        rate = "–" if s.mean is None else f"{s.mean:.0%}"
        view.rows.append(SafetyRow(m, text.get(m, m), rate, bad, s.scored))
    by_id = {c.case_id: c for c in record.cases}
    for oc in offending.values():
        answer = by_id[oc.case_id].response.answer or ""
        # An unsafe answer is unsafe as a whole: the "found" column says so, and marking all
        # of it would hide the precise marks of what leaked inside it.
        precise = [sp for sp in oc.spans if sp.get("kind") not in _WHOLE_ANSWER]
        oc.answer_html = mark_spans(answer, precise, text)
        view.cases.append(oc)
    return view
