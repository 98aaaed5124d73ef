"""What a chatbot returned for one case and variant (the runner's output, the metrics' input)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from ragwacht.records._base import StrictModel

RESPONSE_SCHEMA_VERSION = 1


class RetrievedContext(StrictModel):
    """One retrieved source as the chatbot reported it."""

    text: str = ""
    doc_id: str | None = None
    score: float | None = None
    rank: int | None = Field(default=None, description="1-based rank as returned")
    title: str | None = None


class Usage(StrictModel):
    """Token usage as reported by the endpoint (None when unknown)."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None


class Response(StrictModel):
    """The outcome of calling the chatbot for one case and variant.

    A failed call keeps ``error`` and ``attempts``; it is never scored as an answer.
    """

    schema_version: int = RESPONSE_SCHEMA_VERSION
    case_id: str
    variant: str = "default"
    repeat: int = 0
    answer: str | None = None
    contexts: list[RetrievedContext] = Field(default_factory=list)
    cited_ids: list[str] | None = None
    refused: bool | None = Field(
        default=None, description="the endpoint's own refusal flag, where it reports one"
    )
    latency_ms: float | None = None
    usage: Usage = Field(default_factory=Usage)
    cost: float | None = None
    error: str | None = None
    error_kind: str | None = None
    attempts: int = 0
    status_code: int | None = None
    cached: bool = False
    request_key: str | None = Field(
        default=None, description="sha256 of what was asked (profile, variant, case, repeat)"
    )
    started_at: datetime | None = None

    @property
    def ok(self) -> bool:
        """True when the endpoint produced an answer."""
        return self.error is None and self.answer is not None
