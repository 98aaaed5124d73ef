"""CaseResult: one golden case in one run, the unit a run record is made of."""

from __future__ import annotations

from pydantic import Field

from ragwacht.records._base import StrictModel
from ragwacht.records.metric import MetricResult
from ragwacht.records.response import Response


class CaseResult(StrictModel):
    """One golden case in one run: the response and every metric's result."""

    case_id: str
    tags: list[str] = Field(default_factory=list)
    question: str = ""
    reference_answer: str | None = None
    expected_behavior: str = "answer"
    gold_doc_ids: list[str] = Field(default_factory=list)
    response: Response
    repeats: list[Response] = Field(default_factory=list)
    metrics: dict[str, MetricResult] = Field(default_factory=dict)
    # For a turn of a scripted conversation: the conversation's case id and the turn (1-based).
    conversation_id: str | None = None
    turn: int | None = None
