"""Corpus ingestion: a team's documents read into passages with stable, content-addressed ids.

``ragwacht corpus ingest DOCS --to passages.jsonl`` reads plain text, Markdown, HTML, PDF,
DOCX and JSONL passages; the output is what the demo bot serves (``--corpus``) and what
golden-set generation draws from.
"""

from ragwacht.corpus.ingest import SUPPORTED, chunk_blocks, ingest, write_passages
from ragwacht.corpus.models import ChunkOptions, CorpusPassage, FileNote, IngestResult

__all__ = [
    "SUPPORTED",
    "ChunkOptions",
    "CorpusPassage",
    "FileNote",
    "IngestResult",
    "chunk_blocks",
    "ingest",
    "write_passages",
]
