"""``ragwacht corpus ...``: read a team's documents into passages."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ragwacht.corpus import ChunkOptions, ingest, write_passages
from ragwacht.corpus.ingest import DEFAULT_MAX_FILE_MB
from ragwacht.errors import ConfigError

app = typer.Typer(
    help="Read documents into passages: the corpus a golden set is built on.", no_args_is_help=True
)

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


@app.command("ingest")
def ingest_command(
    path: Path = typer.Argument(..., help="A folder of documents, or one document file."),
    to: Path = typer.Option(..., "--to", help="Where to write the passages (JSONL)."),
    split: str = typer.Option(
        "heading", "--split", help="heading: pack paragraphs under a heading; paragraph: one each."
    ),
    max_words: int = typer.Option(180, "--max-words", help="Longest passage, in words."),
    min_words: int = typer.Option(25, "--min-words", help="Shorter paragraphs are merged."),
    overlap: int = typer.Option(0, "--overlap", help="Words repeated from the previous passage."),
    max_file_mb: float = typer.Option(
        DEFAULT_MAX_FILE_MB, "--max-file-mb", help="Larger files are skipped (and counted)."
    ),
) -> None:
    """Read .txt, .md, .html, .pdf, .docx and .jsonl files into passages with stable ids.

    Every file is accounted for: read, or skipped with the reason. The output is the format
    `ragwacht demo-bot serve --corpus` and `ragwacht datasets validate --corpus` read.
    """
    if split not in ("heading", "paragraph"):
        raise ConfigError(
            f"--split must be 'heading' or 'paragraph', not {split!r}", field="--split"
        )
    try:
        opts = ChunkOptions(
            split=split,
            max_words=max_words,
            min_words=min_words,
            overlap_words=overlap,
        )
    except ValueError as exc:
        raise ConfigError(
            str(exc).splitlines()[-1].strip(), hint="check --max-words, --min-words, --overlap"
        ) from None
    if to.exists() and to.is_dir():
        raise ConfigError(f"--to is a folder: {to}", field="--to", hint="name a .jsonl file")
    result = ingest(path, chunking=opts, max_file_mb=max_file_mb)
    try:
        write_passages(result, to)
    except OSError as exc:
        raise ConfigError(
            f"cannot write {to}: {exc.strerror}", file=to, hint="choose a writable --to path"
        ) from None

    table = Table(title="corpus", title_justify="left", show_header=False)
    table.add_column("what")
    table.add_column("n", justify="right")
    table.add_row("files seen", str(result.files_seen))
    table.add_row("files read", str(result.files_read))
    for suffix, n in sorted(result.by_format.items()):
        table.add_row(f"  {suffix}", str(n))
    table.add_row("files skipped", str(len(result.skipped)))
    table.add_row("documents", str(result.documents))
    table.add_row("passages", str(len(result.passages)))
    table.add_row("words", f"{result.words:,}")
    console.print(table)
    for note in result.skipped:
        err_console.print(f"[yellow]skipped[/]: {escape(note.path)}: {escape(note.reason)}")
    for note in result.warnings:
        where = f"{note.path}, line {note.line}" if note.line else note.path
        err_console.print(f"[yellow]warning[/]: {escape(where)}: {escape(note.reason)}")
    console.print(f"wrote {len(result.passages)} passages to {to.resolve()}")
