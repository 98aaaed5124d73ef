"""What corpus ingestion produces: passages with stable ids, and an account of every file."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ragwacht.records import StrictModel


class ChunkOptions(StrictModel):
    """How documents are cut into passages.

    Attributes:
        split: ``heading`` keeps the paragraphs under one heading together up to
            ``max_words``; ``paragraph`` makes every paragraph (or list block) its own passage.
        max_words: Upper bound on a passage's length in words; a longer paragraph is cut at
            sentence ends.
        min_words: Shorter paragraphs are merged with the next one under the same heading, so
            a passage carries enough context to be retrieved and cited on its own.
        overlap_words: Words of the previous passage's end (whole sentences, at most this
            many) repeated at the start of the next passage of the same section.

    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    split: Literal["heading", "paragraph"] = "heading"
    max_words: int = Field(default=180, ge=20, le=5000)
    min_words: int = Field(default=25, ge=0)
    overlap_words: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _bounds(self) -> ChunkOptions:
        if self.overlap_words >= self.max_words // 2:
            raise ValueError("overlap_words must be less than half of max_words")
        if self.min_words > self.max_words:
            raise ValueError("min_words must not exceed max_words")
        return self


class CorpusPassage(StrictModel):
    """One retrievable, citable passage cut from a document.

    The id is ``<doc_id>#<chunk>-<hash>``: the document id (the file's path inside the corpus
    folder, or the id a JSONL line gave), the 1-based chunk index, and the first 8 hex digits
    of the sha256 of the text. A passage whose text changes gets a new id, so gold contexts
    in a golden set never silently point at changed text.
    """

    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1)
    text: str = Field(min_length=1)
    title: str = ""
    doc_id: str = Field(min_length=1)
    chunk: int = Field(ge=1)
    source: str = Field(description="The file the passage came from, relative to the corpus.")
    url: str | None = None
    page: int | None = Field(default=None, description="1-based PDF page the passage starts on.")
    content_hash: str = Field(description="sha256 of the text.")

    def to_jsonl_dict(self) -> dict[str, object]:
        """The JSONL line the demo bot's corpus loader and ``datasets generate`` read."""
        out: dict[str, object] = {"id": self.id, "text": self.text}
        if self.title:
            out["title"] = self.title
        out.update(doc_id=self.doc_id, chunk=self.chunk, source=self.source)
        if self.url:
            out["url"] = self.url
        if self.page is not None:
            out["page"] = self.page
        out["sha256"] = self.content_hash
        return out


class FileNote(StrictModel):
    """A file that was skipped, or read with a caveat, and why."""

    model_config = ConfigDict(frozen=True)

    path: str
    reason: str
    line: int | None = None


class IngestResult(BaseModel):
    """Everything one ingestion produced and an account of every file it saw."""

    passages: list[CorpusPassage]
    files_seen: int
    files_read: int
    skipped: list[FileNote] = Field(default_factory=list)
    warnings: list[FileNote] = Field(default_factory=list)
    by_format: dict[str, int] = Field(default_factory=dict)

    @property
    def documents(self) -> int:
        """How many distinct documents the passages come from."""
        return len({p.doc_id for p in self.passages})

    @property
    def words(self) -> int:
        """Total words over all passages (overlap counted again)."""
        return sum(len(p.text.split()) for p in self.passages)
