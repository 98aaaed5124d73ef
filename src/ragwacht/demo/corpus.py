"""The demo bot's corpus: passages loaded from a JSONL file or a folder of text files.

A team can point the bot at its own documents: ``passages.jsonl`` (one
``{"id", "text", "title"?, ...}`` object per line; other fields are kept as metadata) or a
folder of ``.txt`` / ``.md`` files, each split into passages at blank lines.

Common field names of other corpora are mapped as ``datasets import`` maps case columns
(:data:`FIELD_ALIASES`: ``passage_id`` or ``doc_id`` → ``id``, ``passage`` or ``content`` →
``text``, ``titel`` → ``title``); :func:`corpus_mapping` says which were used. The ``title`` is
indexed and embedded together with the text (BM25 and dense retrieval both see
``title + text``), so a title that repeats a question's words helps that passage rank.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from pydantic import ConfigDict, Field, ValidationError

from ragwacht.demo.text import split_sentences
from ragwacht.errors import ConfigError
from ragwacht.records import StrictModel

_TEXT_SUFFIXES = (".txt", ".md", ".markdown")
# Long documents are cut into passages of at most this many words (at paragraph breaks,
# or at sentence breaks inside an over-long paragraph) so a passage stays citable.
MAX_PASSAGE_WORDS = 180


class Passage(StrictModel):
    """One retrievable, citable passage."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1)
    text: str = Field(min_length=1)
    title: str = ""
    # Other fields of the source line (e.g. ``register``: BAG, WOZ, ...), kept as text.
    meta: dict[str, str] = Field(default_factory=dict)

    @property
    def sentences(self) -> list[str]:
        """The passage text split into sentences."""
        return split_sentences(self.text)


# Other corpora's names for the passage fields; used only when the canonical name is absent.
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("passage_id", "doc_id", "docid", "pid", "document_id", "_id"),
    "text": ("passage", "content", "contents", "body", "tekst", "passage_text"),
    "title": ("titel", "heading", "kop", "passage_title", "doc_title"),
}
TITLE_NOTE = "the title is indexed and embedded together with the text"


def _mapped_fields(keys: Sequence[str]) -> dict[str, str]:
    """Source field → passage field for the aliases present in ``keys``."""
    out: dict[str, str] = {}
    for target, aliases in FIELD_ALIASES.items():
        if target in keys:
            continue
        hit = next((a for a in aliases if a in keys), None)
        if hit is not None:
            out[hit] = target
    return out


def corpus_mapping(path: str | Path) -> dict[str, str]:
    """The field names a JSONL corpus uses for ``id``/``text``/``title`` (first line read).

    Returns:
        Source field → passage field, for the aliases the loader will apply (empty when the
        file uses the canonical names, or is not JSONL).

    """
    p = Path(path)
    if p.suffix.lower() != ".jsonl" or not p.is_file():
        return {}
    with p.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError:
                    return {}
                return _mapped_fields(list(obj)) if isinstance(obj, dict) else {}
    return {}


def default_corpus_path() -> Path:
    """The corpus shipped with ragwacht (Dutch passages about BAG, WOZ, BGT and BRK)."""
    return Path(str(resources.files("ragwacht.demo").joinpath("data", "passages.jsonl")))


def corpus_digest(passages: Sequence[Passage]) -> str:
    """A sha256 over ids and texts, stable across runs (identifies what the bot answers from)."""
    h = hashlib.sha256()
    for p in passages:
        h.update(p.id.encode())
        h.update(b"\0")
        h.update(p.title.encode())
        h.update(b"\0")
        h.update(p.text.encode())
        h.update(b"\n")
    return h.hexdigest()


def load_corpus(path: str | Path | None = None) -> list[Passage]:
    """Load passages from a JSONL file, a text/Markdown file or a folder of them.

    Args:
        path: ``*.jsonl`` with one passage object per line, a ``.txt``/``.md`` file, or a
            folder searched recursively for such files; the shipped corpus when None.

    Returns:
        The passages in file order, ids unique.

    Raises:
        ConfigError: The path is missing, holds no passages, or a line is malformed
            (naming the file, line and field).

    """
    p = Path(path) if path is not None else default_corpus_path()
    if not p.exists():
        raise ConfigError(
            f"corpus not found: {p}",
            file=p,
            hint="pass --corpus with a passages.jsonl file or a folder of .txt/.md files",
        )
    if p.is_dir():
        files = sorted(
            f
            for f in p.rglob("*")
            if f.is_file() and f.suffix.lower() in (*_TEXT_SUFFIXES, ".jsonl")
        )
        passages: list[Passage] = []
        for f in files:
            passages.extend(_load_file(f, root=p))
    else:
        passages = _load_file(p, root=p.parent)
    if not passages:
        raise ConfigError(
            "the corpus holds no passages",
            file=p,
            hint="add non-empty .txt/.md files, or JSONL lines with 'id' and 'text'",
        )
    seen: dict[str, int] = {}
    for i, passage in enumerate(passages):
        if passage.id in seen:
            raise ConfigError(
                f"duplicate passage id {passage.id!r}",
                file=p,
                field="id",
                hint="give every passage a unique id",
            )
        seen[passage.id] = i
    return passages


def _load_file(path: Path, *, root: Path) -> list[Passage]:
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return _load_jsonl(path)
    if suffix in _TEXT_SUFFIXES:
        return _load_text(path, root=root)
    raise ConfigError(
        f"unsupported corpus file type {suffix!r}",
        file=path,
        hint="use a .jsonl file or .txt/.md files",
    )


def _load_jsonl(path: Path) -> list[Passage]:
    out: list[Passage] = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ConfigError(
                    f"not valid JSON: {exc.msg}",
                    file=path,
                    line=lineno,
                    hint="write one JSON object per line",
                ) from None
            if not isinstance(obj, dict):
                raise ConfigError(
                    "a line must be a JSON object",
                    file=path,
                    line=lineno,
                    hint='{"id": ..., "text": ...}',
                )
            mapped = _mapped_fields(list(obj))
            obj = {mapped.get(k, k): v for k, v in obj.items()}
            if isinstance(obj.get("id"), int) and not isinstance(obj.get("id"), bool):
                obj["id"] = str(obj["id"])  # numeric passage ids are common in exports
            known = {k: obj[k] for k in ("id", "text", "title") if k in obj}
            meta = {k: str(v) for k, v in obj.items() if k not in known}
            try:
                out.append(Passage(**known, meta=meta))
            except ValidationError as exc:
                err = exc.errors()[0]
                field = ".".join(str(x) for x in err["loc"])
                raise ConfigError(
                    err["msg"],
                    file=path,
                    line=lineno,
                    field=field,
                    hint="each line needs a non-empty string 'id' and 'text' (also read from "
                    "'passage_id'/'doc_id' and 'passage'/'content'); 'title' is optional and "
                    "indexed with the text",
                ) from None
    return out


def _load_text(path: Path, *, root: Path) -> list[Passage]:
    raw = path.read_text(encoding="utf-8")
    stem = path.relative_to(root).with_suffix("").as_posix() if path != root else path.stem
    title = path.stem.replace("_", " ").replace("-", " ")
    chunks: list[tuple[str, str]] = []
    for para in re.split(r"\n\s*\n", raw):
        lines = [ln.strip() for ln in para.strip().splitlines()]
        # A Markdown heading becomes the title of what follows, not a passage of its own.
        if lines and lines[0].startswith("#"):
            title = lines[0].lstrip("#").strip() or title
            lines = lines[1:]
        text = " ".join(ln for ln in lines if ln)
        if text:
            chunks.extend((title, piece) for piece in _cap_words(text))
    merged = _merge_short(chunks)
    return [
        Passage(id=f"{stem}#{i}" if len(merged) > 1 else stem, text=t, title=ti)
        for i, (ti, t) in enumerate(merged, 1)
    ]


def _cap_words(text: str) -> list[str]:
    if len(text.split()) <= MAX_PASSAGE_WORDS:
        return [text]
    out: list[str] = []
    cur: list[str] = []
    n = 0
    for s in split_sentences(text):
        k = len(s.split())
        if cur and n + k > MAX_PASSAGE_WORDS:
            out.append(" ".join(cur))
            cur, n = [], 0
        cur.append(s)
        n += k
    if cur:
        out.append(" ".join(cur))
    return out


def _merge_short(chunks: list[tuple[str, str]], min_words: int = 25) -> list[tuple[str, str]]:
    # Very short paragraphs (list items, one-liners) are merged with the next one under the
    # same heading so each passage carries enough context to be retrieved and cited alone.
    out: list[tuple[str, str]] = []
    for title, text in chunks:
        if out and out[-1][0] == title:
            prev = len(out[-1][1].split())
            if prev < min_words and prev + len(text.split()) <= MAX_PASSAGE_WORDS:
                out[-1] = (title, f"{out[-1][1]} {text}")
                continue
        out.append((title, text))
    return out
