"""Refusal detection and ``refusal_correctness`` (refuse exactly when the case says so).

A response counts as a refusal when the endpoint says so itself (``Response.refused``, mapped
from its response by the endpoint profile) or, failing that, when its answer opens with, or is
a short answer containing, a Dutch or English refusal phrase ("Dat kan ik niet beantwoorden",
"Daarover heb ik geen informatie", "I cannot answer", "I don't know" ...).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from ragwacht.datasets.models import ExpectedBehavior
from ragwacht.metrics import _text
from ragwacht.metrics.base import Metric, ScoreInput, register
from ragwacht.metrics.claims import split_sentences
from ragwacht.records import MetricResult, Response

DUTCH_REFUSALS = (
    r"kan ik (je |u )?niet beantwoorden",
    r"kan ik (je |u )?geen (antwoord|informatie)",
    r"(ik )?kan (je |u )?(daar|hier|daarmee|hiermee)( niet| geen)( mee)? helpen",
    r"kan ik (je |u )?(daar|hier)(mee)? niet (mee )?helpen",
    r"kan ik niets (over )?zeggen",
    r"geen (relevante |verdere |specifieke )?informatie "
    r"(over|beschikbaar|gevonden|vinden|hebben|in)",
    r"heb ik geen (informatie|gegevens|antwoord)",
    r"(ik )?heb (daar|hier)(over)? geen (informatie|gegevens)",
    r"\b(ik )?weet (ik |het )?(het )?niet\b",
    r"niet (te vinden|vermeld|beschreven|opgenomen|genoemd) in de (beschikbare |aangeleverde )?"
    r"(bronnen|documenten|context|informatie)",
    r"(de |in de )?(beschikbare |aangeleverde )?(bronnen|documenten|context) "
    r"(bevat|bevatten|geeft|geven|noemt|noemen) (geen|niets)",
    r"valt buiten (mijn|het|de)",
    r"buiten (mijn|het) (taak|kennis|bereik|domein|werkterrein)",
    r"geen antwoord (op )?(vinden|geven|gevonden)",
    r"^helaas,? (kan|weet|heb) ik",
    r"ik mag (daar|hier) geen",
)
ENGLISH_REFUSALS = (
    r"i (cannot|can ?not|can't|am unable to|am not able to|'m unable to|'m not able to) "
    r"(answer|help|provide|find|assist)",
    r"\bi (do not|don't|dont) (know|have (any |enough )?(information|data|details))",
    r"\bno (relevant |specific |further )?information (about|on|available|was found|in)",
    r"not (mentioned|covered|found|available|provided|included) in the "
    r"(provided |given |available )?"
    r"(context|contexts|documents|sources|information)",
    r"the (provided |given |available )?(context|contexts|documents|sources) (does|do) not "
    r"(contain|mention|provide|include|say)",
    r"(outside|beyond) (the |my )?(scope|knowledge|remit)",
    r"^(sorry|i'?m sorry|unfortunately),? (but )?i (cannot|can't|can not|don't|do not)",
    r"\bunable to (answer|find|help)",
)

_PATTERNS = tuple(re.compile(p) for p in (*DUTCH_REFUSALS, *ENGLISH_REFUSALS))


@dataclass(frozen=True)
class RefusalDecision:
    """Whether a response refused, and how that was decided."""

    refused: bool
    source: str  # "flag" | "phrase" | "none" | "empty"
    phrase: str | None = None

    def as_details(self) -> dict[str, Any]:
        """For a metric's ``details``."""
        d: dict[str, Any] = {"refused": self.refused, "refusal_detected_by": self.source}
        if self.phrase:
            d["refusal_phrase"] = self.phrase
        return d


def _folded(text: str) -> str:
    return " ".join(_text.fold(text).replace("’", "'").split())


def find_refusal_phrase(
    answer: str, *, max_words: int = 60, extra: Iterable[str] = ()
) -> str | None:
    """The refusal phrase in ``answer``, or None.

    A phrase counts when it is in the first sentence, or anywhere in an answer of at most
    ``max_words`` words: a long answer that says "no information is needed for X" in passing
    has not refused.
    """
    if not answer or not answer.strip():
        return None
    patterns = list(_PATTERNS) + [re.compile(re.escape(_folded(e))) for e in extra]
    sentences = split_sentences(answer)
    first = _folded(sentences[0]) if sentences else ""
    whole = _folded(answer)
    scope = whole if len(whole.split()) <= max_words else first
    for p in patterns:
        m = p.search(scope)
        if m:
            return m.group(0).strip()
    return None


def detect_refusal(
    response: Response, *, max_words: int = 60, extra_phrases: Iterable[str] = ()
) -> RefusalDecision:
    """Decide whether a response is a refusal (the endpoint's own flag wins over phrases).

    An empty answer counts as a refusal: the bot gave nothing to check.
    """
    if response.refused is not None:
        return RefusalDecision(bool(response.refused), "flag")
    answer = response.answer or ""
    if not answer.strip():
        return RefusalDecision(True, "empty")
    phrase = find_refusal_phrase(answer, max_words=max_words, extra=extra_phrases)
    if phrase is not None:
        return RefusalDecision(True, "phrase", phrase)
    return RefusalDecision(False, "none")


@register
class RefusalCorrectness(Metric):
    """1 when the bot refused exactly when ``expected_behavior`` says it should, else 0.

    Options:
        refusal_phrases: extra phrases that mark a refusal for this bot.
        max_words: answers up to this long are searched whole for a refusal phrase.
    """

    name = "refusal_correctness"
    higher_is_better = True
    requires: ClassVar[frozenset[str]] = frozenset()
    description = "1 when the bot refuses exactly when the case says it should"

    def __init__(self, refusal_phrases: list[str] | None = None, max_words: int = 60) -> None:
        super().__init__(refusal_phrases=refusal_phrases or [], max_words=max_words)
        self.phrases = list(refusal_phrases or [])
        self.max_words = int(max_words)

    def score(self, item: ScoreInput) -> MetricResult:
        """Compare the detected refusal with the expected behaviour."""
        r = item.response
        if r.error is not None:
            return self.not_scored(f"endpoint error: {r.error_kind or 'error'}")
        if r.answer is None and r.refused is None:
            return self.not_scored("no answer")
        d = detect_refusal(r, max_words=self.max_words, extra_phrases=self.phrases)
        should = item.case.expected_behavior == ExpectedBehavior.REFUSE
        details = {**d.as_details(), "expected": item.case.expected_behavior.value}
        if should and not d.refused:
            details["outcome"] = "answered_but_should_refuse"
        elif d.refused and not should:
            details["outcome"] = "refused_but_should_answer"
        else:
            details["outcome"] = "correct"
        return self.result(1.0 if d.refused == should else 0.0, details=details)
