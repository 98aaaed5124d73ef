"""What the monitor reads and keeps: scrubbed interactions and the problems found in logs."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from ragwacht.records import StrictModel


class LoggedContext(StrictModel):
    """One retrieved passage as the chatbot logged it (text already scrubbed)."""

    text: str = ""
    doc_id: str | None = None
    score: float | None = None


class Interaction(StrictModel):
    """One logged question and answer, scrubbed of personal data.

    ``user`` is a salted hash, never the logged id; ``source`` says where in which file it was.
    """

    source: str
    timestamp: datetime
    question: str
    answer: str
    contexts: list[LoggedContext] = Field(default_factory=list)
    latency_ms: float | None = None
    cost: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    feedback: int | None = Field(default=None, description="+1 helpful, -1 not, None none")
    user: str | None = None
    topic: str | None = None
    language: str | None = None
    refused: bool | None = None


class BadLine(StrictModel):
    """A log line (or span) that could not be read: where, which field, and what was wrong."""

    file: str
    line: int
    field: str | None = None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}, line {self.line}"
        if self.field:
            where += f", field '{self.field}'"
        return f"{where}: {self.message}"


class IngestResult(StrictModel):
    """Everything read from the logs: the interactions, the bad lines, what was scrubbed."""

    interactions: list[Interaction] = Field(default_factory=list)
    bad_lines: list[BadLine] = Field(default_factory=list)
    lines_read: int = 0
    scrubbed: dict[str, int] = Field(default_factory=dict)
    skipped_spans: int = Field(default=0, description="spans without GenAI content")
