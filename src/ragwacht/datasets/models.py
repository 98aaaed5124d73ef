"""Golden-set data model: what a case is, and what a set on disk carries."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)

from ragwacht.datasets.digest import digest_cases
from ragwacht.records import StrictModel

SCHEMA_VERSION = 1
#: Case fields that exist only for curation and are left out of dumps while unset.
CURATION_FIELDS = ("status", "provenance")
#: Optional case fields added after digest canonical form 1, left out of dumps while unset so
#: that sets written before them keep their digest.
OPTIONAL_FIELDS = (*CURATION_FIELDS, "turns")
#: What joins a conversation's id and a turn number into the turn's case id (``gesprek-1#t2``).
TURN_SEPARATOR = "#t"


class ExpectedBehavior(StrEnum):
    """What the chatbot should do with a question."""

    ANSWER = "answer"
    REFUSE = "refuse"


class GoldContext(StrictModel):
    """A passage that answers the question, by document id, optionally with its text."""

    doc_id: str = Field(min_length=1)
    text: str | None = None
    relevance: int = Field(default=1, ge=0, description="graded relevance; linear gain in nDCG")

    @field_validator("text")
    @classmethod
    def _blank_text_is_none(cls, v: str | None) -> str | None:
        # A blank passage text means "no text": keeps formats that cannot tell an empty cell
        # from a missing one (CSV, XLSX) lossless, and digests equal across formats.
        return None if v is not None and not v.strip() else v


class Turn(StrictModel):
    """One earlier turn of a conversation."""

    role: Literal["user", "assistant", "system"]
    content: str


class ConversationTurn(StrictModel):
    """One scripted user message of a conversation, with what a good answer to it looks like.

    The chatbot's own earlier answers, not scripted ones, are fed back as the history of the
    next turn, so a turn is judged as the conversation really went.
    """

    question: str = Field(min_length=1, description="the user's message in this turn")
    reference_answer: str | None = None
    gold_contexts: list[GoldContext] = Field(default_factory=list)
    expected_behavior: ExpectedBehavior = ExpectedBehavior.ANSWER
    tags: list[str] = Field(default_factory=list, description="added to the conversation's")

    @field_validator("question")
    @classmethod
    def _question_not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("question is empty")
        return v

    @field_validator("reference_answer")
    @classmethod
    def _blank_reference_is_none(cls, v: str | None) -> str | None:
        return None if v is not None and not v.strip() else v


class ConversationRef(StrictModel):
    """Where a turn case sits in its conversation (kept on the case, never in its dump)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    conversation_id: str
    turn: int = Field(ge=1, description="1-based")
    of: int = Field(ge=1, description="number of turns in the conversation")
    opening: list[Turn] = Field(
        default_factory=list, description="the conversation's fixed history before turn 1"
    )


class Provenance(StrictModel):
    """Where a generated case came from: the passages, the quotes, the generator."""

    kind: str = Field(description="factual, synthesis, refuse, followup or rephrase")
    passage_ids: list[str] = Field(default_factory=list)
    quotes: list[str] = Field(default_factory=list, description="answer spans, verbatim")
    generator: str = Field(default="", description="model and prompt version")
    derived_from: str | None = Field(default=None, description="case id a rephrase was made of")
    reviewed_by: str | None = None
    reviewed_at: str | None = None
    review_note: str | None = None


class CaseStatus(StrEnum):
    """Where a case is in curation: generated and waiting for a person, or accepted by one."""

    CANDIDATE = "candidate"
    ACCEPTED = "accepted"


class GoldenCase(StrictModel):
    """One curated question with what a good answer looks like.

    ``tags`` are free strings; ``key:value`` tags (``topic:woz``, ``lang:nl``,
    ``difficulty:hard``) are broken down by key in reports.
    """

    id: str = Field(min_length=1, max_length=200)
    question: str = Field(min_length=1)
    reference_answer: str | None = None
    gold_contexts: list[GoldContext] = Field(default_factory=list)
    expected_behavior: ExpectedBehavior = ExpectedBehavior.ANSWER
    tags: list[str] = Field(default_factory=list)
    history: list[Turn] = Field(default_factory=list)
    # Curation fields, added after digest canonical form 1: left out of every dump while
    # unset, so sets written before them keep their digest (see _drop_unset_curation).
    status: CaseStatus | None = None
    provenance: Provenance | None = None
    # A scripted conversation: each turn is asked and scored like a case of its own (see
    # ragwacht.datasets.conversations). Left out of dumps while unset, like the curation fields.
    turns: list[ConversationTurn] | None = None
    # Set on the per-turn cases a conversation is expanded into; never dumped or digested.
    _conversation: ConversationRef | None = PrivateAttr(default=None)

    @model_serializer(mode="wrap")
    def _drop_unset_curation(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        for key in OPTIONAL_FIELDS:
            if key in data and data[key] is None:
                del data[key]
        return data

    @model_validator(mode="before")
    @classmethod
    def _conversation_question(cls, data: Any) -> Any:
        # A conversation's question is its opening message unless the set says otherwise: it
        # is what lists and reports show for the conversation as a whole.
        if isinstance(data, dict) and data.get("turns") == []:
            raise ValueError("turns is empty: give at least one turn, or leave turns out")
        if isinstance(data, dict) and not data.get("question") and data.get("turns"):
            first = data["turns"][0]
            opening = first.get("question") if isinstance(first, dict) else None
            if isinstance(opening, str) and opening.strip():
                data = {**data, "question": opening}
        return data

    @model_validator(mode="after")
    def _conversation_consistent(self) -> GoldenCase:
        if self.turns is None:
            return self
        if not self.turns:
            raise ValueError("turns is empty: give at least one turn, or leave turns out")
        if self.reference_answer is not None or self.gold_contexts:
            raise ValueError(
                "a conversation keeps its reference_answer and gold_contexts per turn: move them "
                "into the turns"
            )
        if self.expected_behavior is not ExpectedBehavior.ANSWER:
            raise ValueError("a conversation sets expected_behavior per turn, not on the case")
        if TURN_SEPARATOR in self.id:
            raise ValueError(f"a conversation's id must not contain {TURN_SEPARATOR!r}")
        return self

    @property
    def conversation(self) -> ConversationRef | None:
        """For a turn case: its conversation and turn number; None for any other case."""
        return self._conversation

    @property
    def is_conversation(self) -> bool:
        """Whether this case is a scripted conversation (it has ``turns``)."""
        return self.turns is not None

    @field_validator("id")
    @classmethod
    def _id_plain(cls, v: str) -> str:
        if v != v.strip() or any(c in v for c in "\n\r\t"):
            raise ValueError("id must not contain surrounding spaces, tabs or newlines")
        return v

    @field_validator("reference_answer")
    @classmethod
    def _blank_reference_is_none(cls, v: str | None) -> str | None:
        # A blank reference answer is no reference: correctness must say "not scorable",
        # never compare against an empty string.
        return None if v is not None and not v.strip() else v

    @field_validator("question")
    @classmethod
    def _question_not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("question is empty")
        return v

    def tag_values(self, key: str) -> list[str]:
        """Values of ``key:value`` tags for ``key``."""
        prefix = key + ":"
        return [t[len(prefix) :] for t in self.tags if t.startswith(prefix)]

    def language(self, default: str = "nl") -> str:
        """Return the case's language from its ``lang:`` tag, else ``default``."""
        vals = self.tag_values("lang")
        return vals[0] if vals else default


class DatasetManifest(StrictModel):
    """``dataset.yaml``: who owns the set and what it is."""

    schema_version: int = SCHEMA_VERSION
    name: str = Field(min_length=1)
    version: str = "1"
    description: str = ""
    owner: str = ""
    language: str = "nl"
    licence: str = ""
    cases_file: str = "cases.jsonl"


class GoldenSet(BaseModel):
    """A loaded golden set: manifest + cases (+ where it came from and its digest)."""

    manifest: DatasetManifest
    cases: list[GoldenCase]
    path: str | None = None

    @property
    def digest(self) -> str:
        """sha256 over the canonical form of the cases."""
        return digest_cases(self.cases)

    def by_id(self) -> dict[str, GoldenCase]:
        """Cases keyed by id."""
        return {c.id: c for c in self.cases}
