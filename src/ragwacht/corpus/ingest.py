"""Read a folder or file of documents into passages with stable ids.

Nothing is skipped silently: every file the walk sees is either read or listed in
:attr:`IngestResult.skipped` with the reason, and caveats (a JSONL line that was not a passage,
a file read as Windows-1252) are listed in :attr:`IngestResult.warnings`.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from ragwacht._io import write_atomic
from ragwacht.corpus.models import ChunkOptions, CorpusPassage, FileNote, IngestResult
from ragwacht.corpus.readers import (
    FILE_READERS,
    TEXT_READERS,
    Block,
    Unreadable,
    decode_text,
)
from ragwacht.errors import ConfigError

SUPPORTED = (*TEXT_READERS, *FILE_READERS, ".jsonl")
DEFAULT_MAX_FILE_MB = 20.0

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-ZÀ-ÖØ-Þ0-9\"'(])")
_DOC_ID_BAD = re.compile(r"[^\w./-]+")


def ingest(
    path: str | Path,
    *,
    chunking: ChunkOptions | None = None,
    max_file_mb: float = DEFAULT_MAX_FILE_MB,
) -> IngestResult:
    """Read documents into passages.

    Args:
        path: A folder (searched recursively; hidden files and folders are left out and
            counted) or one file: ``.txt``, ``.md``, ``.html``, ``.pdf``, ``.docx``, or a
            ``.jsonl`` of passages (``id``, ``text``, optional ``title``, ``url``).
        chunking: How documents are cut into passages.
        max_file_mb: Files larger than this are skipped with a reason (not read into memory).

    Returns:
        The passages in file order and an account of every file.

    Raises:
        ConfigError: The path is missing, holds no files, or no passage could be read from
            any of them (each file's reason is listed).

    """
    opts = chunking or ChunkOptions()
    root = Path(path)
    if not root.exists():
        raise ConfigError(
            f"corpus not found: {root}", file=root, hint="pass a folder or a document file"
        )
    if root.is_dir():
        files = sorted(f for f in root.rglob("*") if f.is_file() or f.is_symlink())
        base = root
    else:
        files = [root]
        base = root.parent
    if not files:
        raise ConfigError(
            "the corpus folder is empty",
            file=root,
            hint=f"add documents ({', '.join(SUPPORTED)})",
        )
    result = IngestResult(passages=[], files_seen=len(files), files_read=0)
    seen_ids: set[str] = set()
    for f in files:
        rel = f.relative_to(base).as_posix()
        note = _skip_reason(f, rel, max_file_mb)
        if note is not None:
            result.skipped.append(FileNote(path=rel, reason=note))
            continue
        suffix = f.suffix.lower()
        try:
            if suffix == ".jsonl":
                passages = _read_jsonl(f, rel, result)
            else:
                passages = _read_document(f, rel, opts, result)
        except Unreadable as exc:
            result.skipped.append(FileNote(path=rel, reason=str(exc)))
            continue
        except OSError as exc:
            result.skipped.append(FileNote(path=rel, reason=f"cannot read: {exc.strerror}"))
            continue
        if not passages:
            result.skipped.append(FileNote(path=rel, reason="no text found"))
            continue
        kept = 0
        for p in passages:
            if p.id in seen_ids:
                result.warnings.append(
                    FileNote(path=rel, reason=f"duplicate passage id {p.id!r} left out")
                )
                continue
            seen_ids.add(p.id)
            result.passages.append(p)
            kept += 1
        if kept:
            result.files_read += 1
            result.by_format[suffix] = result.by_format.get(suffix, 0) + 1
    if not result.passages:
        reasons = "; ".join(f"{n.path}: {n.reason}" for n in result.skipped[:5])
        raise ConfigError(
            "no passage could be read from the corpus" + (f" ({reasons})" if reasons else ""),
            file=root,
            hint=f"supported documents: {', '.join(SUPPORTED)}, in UTF-8",
        )
    return result


def _skip_reason(f: Path, rel: str, max_file_mb: float) -> str | None:
    if any(part.startswith(".") for part in Path(rel).parts):
        return "hidden file or folder"
    if f.is_symlink():
        # A link can point outside the corpus folder; a document set is copied, not linked.
        return "symbolic link (not followed)"
    suffix = f.suffix.lower()
    if suffix not in SUPPORTED:
        return f"unsupported file type {suffix or '(none)'!r}; supported: {', '.join(SUPPORTED)}"
    size = f.stat().st_size
    if size > max_file_mb * 1024 * 1024:
        return f"{size / 1024 / 1024:.1f} MB is over the {max_file_mb:g} MB limit (--max-file-mb)"
    return None


def _doc_id(rel: str) -> str:
    stem = rel.rsplit(".", 1)[0] if "." in Path(rel).name else rel
    return _DOC_ID_BAD.sub("_", stem).strip("_") or "doc"


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _read_document(
    f: Path, rel: str, opts: ChunkOptions, result: IngestResult
) -> list[CorpusPassage]:
    suffix = f.suffix.lower()
    default_title = f.stem.replace("_", " ").replace("-", " ").strip()
    if suffix in FILE_READERS:
        blocks = FILE_READERS[suffix](f, default_title)
    else:
        text, warning = decode_text(f.read_bytes())
        if warning:
            result.warnings.append(FileNote(path=rel, reason=warning))
        blocks = TEXT_READERS[suffix](text, default_title)
    doc_id = _doc_id(rel)
    out: list[CorpusPassage] = []
    for i, (title, text, page) in enumerate(chunk_blocks(blocks, opts), 1):
        digest = _sha(text)
        out.append(
            CorpusPassage(
                id=f"{doc_id}#{i}-{digest[:8]}",
                text=text,
                title=title,
                doc_id=doc_id,
                chunk=i,
                source=rel,
                page=page,
                content_hash=digest,
            )
        )
    return out


def _read_jsonl(f: Path, rel: str, result: IngestResult) -> list[CorpusPassage]:
    text, warning = decode_text(f.read_bytes())
    if warning:
        result.warnings.append(FileNote(path=rel, reason=warning))
    out: list[CorpusPassage] = []
    chunks: dict[str, int] = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            result.warnings.append(
                FileNote(path=rel, line=lineno, reason=f"not valid JSON ({exc.msg}); line left out")
            )
            continue
        pid = obj.get("id") if isinstance(obj, dict) else None
        body = obj.get("text") if isinstance(obj, dict) else None
        if not isinstance(pid, str | int) or not isinstance(body, str) or not body.strip():
            result.warnings.append(
                FileNote(
                    path=rel,
                    line=lineno,
                    reason="needs a string 'id' and a non-empty string 'text'; line left out",
                )
            )
            continue
        # JSONL passages keep the ids their owner gave them: gold contexts already use them.
        pid = str(pid)
        doc = str(obj.get("doc_id") or pid.split("#", 1)[0])
        chunks[doc] = chunks.get(doc, 0) + 1
        title = obj.get("title")
        url = obj.get("url")
        out.append(
            CorpusPassage(
                id=pid,
                text=body.strip(),
                title=title if isinstance(title, str) else "",
                doc_id=doc,
                chunk=chunks[doc],
                source=rel,
                url=url if isinstance(url, str) else None,
                content_hash=_sha(body.strip()),
            )
        )
    return out


def _words(text: str) -> int:
    return len(text.split())


def _sentences(text: str) -> list[str]:
    out: list[str] = []
    for line in text.split("\n"):
        out.extend(s for s in _SENTENCE_END.split(line.strip()) if s)
    return out


def _cut(text: str, max_words: int) -> list[str]:
    """Cut an over-long paragraph at sentence ends (or, for one huge sentence, at words)."""
    if _words(text) <= max_words:
        return [text]
    pieces: list[str] = []
    cur: list[str] = []
    n = 0
    for s in _sentences(text):
        words = s.split()
        while len(words) > max_words:
            if cur:
                pieces.append(" ".join(cur))
                cur, n = [], 0
            pieces.append(" ".join(words[:max_words]))
            words = words[max_words:]
        if not words:
            continue
        if cur and n + len(words) > max_words:
            pieces.append(" ".join(cur))
            cur, n = [], 0
        cur.append(" ".join(words))
        n += len(words)
    if cur:
        pieces.append(" ".join(cur))
    return pieces


def _tail(text: str, overlap_words: int) -> str:
    """Whole sentences from the end of ``text``, at most ``overlap_words`` words."""
    if overlap_words <= 0:
        return ""
    kept: list[str] = []
    n = 0
    for s in reversed(_sentences(text)):
        k = _words(s)
        if n + k > overlap_words:
            break
        kept.insert(0, s)
        n += k
    return " ".join(kept)


def chunk_blocks(blocks: list[Block], opts: ChunkOptions) -> list[tuple[str, str, int | None]]:
    """Group blocks into passages: (title, text, first page).

    Blocks stay whole where they fit; a block over ``max_words`` is cut at sentence ends.
    With ``split="heading"``, blocks under one heading are packed together up to
    ``max_words``; with ``split="paragraph"``, each block is a passage, short ones merged with
    the next under the same heading.
    """
    pieces: list[Block] = []
    for b in blocks:
        pieces.extend(Block(b.title, t, b.page) for t in _cut(b.text, opts.max_words))
    out: list[tuple[str, str, int | None]] = []
    for b in pieces:
        if out and out[-1][0] == b.title:
            title, prev, page = out[-1]
            n_prev = _words(prev)
            fits = n_prev + _words(b.text) <= opts.max_words
            pack = opts.split == "heading" or n_prev < opts.min_words
            if fits and pack:
                out[-1] = (title, f"{prev}\n\n{b.text}", page)
                continue
            overlap = _tail(prev, opts.overlap_words)
            if overlap and _words(overlap) + _words(b.text) <= opts.max_words:
                out.append((b.title, f"{overlap}\n\n{b.text}", b.page))
                continue
        out.append((b.title, b.text, b.page))
    return out


def write_passages(result: IngestResult, to: Path) -> None:
    """Write the passages as JSONL (the demo bot's ``--corpus`` format), atomically."""
    lines = [
        json.dumps(p.to_jsonl_dict(), ensure_ascii=False, sort_keys=False) for p in result.passages
    ]
    write_atomic(to, ("\n".join(lines) + "\n").encode("utf-8"))
