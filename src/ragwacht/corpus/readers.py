"""Readers that turn one document file into blocks: (section title, paragraph text, page).

Each reader raises :class:`Unreadable` with a sentence a person can act on when a file cannot
be read; the ingester records it and goes on with the next file.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree


class Unreadable(Exception):
    """A file that cannot be read as a document; the message says why."""


@dataclass(frozen=True)
class Block:
    """One paragraph (or list block) of a document, with the heading it falls under."""

    title: str
    text: str
    page: int | None = None


# Bytes that never occur in text: a NUL in the first 8 KiB marks a binary file.
_SNIFF = 8192


def decode_text(data: bytes) -> tuple[str, str | None]:
    """Decode a text file: UTF-8 (with or without BOM), else Windows-1252, else refuse.

    Returns:
        The text and a warning when it was not UTF-8.

    Raises:
        Unreadable: The bytes are binary or neither encoding fits.

    """
    if b"\0" in data[:_SNIFF]:
        raise Unreadable("binary content (NUL bytes), not a text document")
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        pass
    try:
        # Dutch office exports are often Windows-1252; strict decoding still refuses the five
        # byte values that encoding leaves undefined, so random binary data is not accepted.
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        raise Unreadable("not UTF-8 or Windows-1252 text; save the file as UTF-8") from None
    if _control_share(text) > 0.01:
        raise Unreadable("not readable as text (control characters); save the file as UTF-8")
    return text, "not UTF-8: read as Windows-1252"


def _control_share(text: str) -> float:
    if not text:
        return 0.0
    bad = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\n\r\f")
    return bad / len(text)


_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^\s*(?:[-*+•]|\d{1,3}[.)])\s+")


def read_markdown(text: str, default_title: str) -> list[Block]:
    """Paragraphs split at blank lines; a Markdown heading titles what follows it.

    List items stay on their own lines inside a paragraph, so a list can be cut between items
    and a claim checker sees the same line structure an answer quoting the list has.
    """
    blocks: list[Block] = []
    title = default_title
    para: list[str] = []

    def flush() -> None:
        if para:
            text = "\n".join(para).strip()
            if text:
                blocks.append(Block(title, text))
            para.clear()

    for raw in text.splitlines():
        line = raw.rstrip()
        m = _HEADING.match(line.strip())
        if m:
            flush()
            title = m.group(2).strip() or title
            continue
        if not line.strip():
            flush()
            continue
        if para and not _BULLET.match(line) and not _BULLET.match(para[-1]):
            # A wrapped line of running text joins its paragraph's previous line.
            para[-1] = f"{para[-1]} {line.strip()}"
        else:
            para.append(line.strip())
    flush()
    return blocks


_BLOCK_TAGS = {
    "p",
    "div",
    "li",
    "tr",
    "td",
    "th",
    "dd",
    "dt",
    "blockquote",
    "pre",
    "section",
    "article",
    "br",
    "table",
    "ul",
    "ol",
    "dl",
    "main",
    "header",
    "footer",
    "figcaption",
}
_SKIP_TAGS = {"script", "style", "noscript", "template", "svg", "nav", "head"}
_HEADINGS = {f"h{i}" for i in range(1, 7)}


class _HtmlBlocks(HTMLParser):
    def __init__(self, default_title: str) -> None:
        super().__init__(convert_charrefs=True)
        self.title = default_title
        self.doc_title: str | None = None
        self.blocks: list[Block] = []
        self._buf: list[str] = []
        self._skip = 0
        self._in_heading = False
        self._in_title = False
        self._heading: list[str] = []
        self._li = False

    def _flush(self) -> None:
        text = re.sub(r"[ \t\r\f\v]+", " ", "".join(self._buf)).strip()
        self._buf.clear()
        if text:
            if self._li:
                text = f"- {text}"
            # Consecutive list items form one block, one item per line.
            if self._li and self.blocks and self.blocks[-1].text.startswith("- "):
                last = self.blocks[-1]
                if last.title == self.title:
                    self.blocks[-1] = Block(last.title, f"{last.text}\n{text}")
                    return
            self.blocks.append(Block(self.title, text))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            if tag == "head":
                return
            self._skip += 1
            return
        if tag == "title":
            self._in_title = True
            return
        if tag in _HEADINGS:
            self._flush()
            self._in_heading = True
            self._heading = []
        elif tag in _BLOCK_TAGS:
            self._flush()
            self._li = tag == "li"

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            if tag != "head":
                self._skip = max(0, self._skip - 1)
            return
        if tag == "title":
            self._in_title = False
            return
        if tag in _HEADINGS and self._in_heading:
            self._in_heading = False
            heading = " ".join("".join(self._heading).split())
            if heading:
                self.title = heading
        elif tag in _BLOCK_TAGS:
            self._flush()
            if tag == "li":
                self._li = False

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._in_title:
            self.doc_title = (self.doc_title or "") + data
        elif self._in_heading:
            self._heading.append(data)
        else:
            self._buf.append(data)

    def close(self) -> None:
        super().close()
        self._flush()


def read_html(text: str, default_title: str) -> list[Block]:
    """Visible text of block elements; headings title what follows; scripts, styles, nav dropped."""
    parser = _HtmlBlocks(default_title)
    parser.feed(text)
    parser.close()
    if parser.doc_title and parser.blocks and parser.blocks[0].title == default_title:
        doc_title = " ".join(parser.doc_title.split())
        parser.blocks = [
            Block(doc_title, b.text) if b.title == default_title else b for b in parser.blocks
        ]
    return parser.blocks


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def read_docx(path: Path, default_title: str) -> list[Block]:
    """Paragraphs of a Word document; paragraphs styled as headings title what follows.

    Reads ``word/document.xml`` with the standard library (a .docx is a zip of XML), so no
    extra dependency is needed for the common case of headings, paragraphs and lists.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            xml = zf.read("word/document.xml")
    except (zipfile.BadZipFile, KeyError, OSError) as exc:
        raise Unreadable(f"not a readable .docx file ({exc.__class__.__name__})") from None
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError as exc:
        raise Unreadable(f"broken document XML ({exc})") from None
    blocks: list[Block] = []
    title = default_title
    for p in root.iter(f"{_W}p"):
        style_el = p.find(f"{_W}pPr/{_W}pStyle")
        style = (style_el.get(f"{_W}val") or "") if style_el is not None else ""
        text = "".join(t.text or "" for t in p.iter(f"{_W}t")).strip()
        if not text:
            continue
        if style.lower().startswith(("heading", "kop", "title", "titel")):
            title = text
            continue
        is_item = p.find(f"{_W}pPr/{_W}numPr") is not None or "list" in style.lower()
        if is_item:
            item = f"- {text}"
            if blocks and blocks[-1].title == title and blocks[-1].text.startswith("- "):
                blocks[-1] = Block(title, f"{blocks[-1].text}\n{item}")
                continue
            blocks.append(Block(title, item))
        else:
            blocks.append(Block(title, text))
    return blocks


def read_pdf(path: Path, default_title: str) -> list[Block]:
    """Text of each page of a PDF (via pypdf), paragraphs split at blank lines."""
    try:
        from pypdf import PdfReader  # lazy: only for PDFs
        from pypdf.errors import PdfReadError  # lazy: only for PDFs
    except ImportError:  # pragma: no cover - pypdf is a dependency
        raise Unreadable("PDF support needs the 'pypdf' package: pip install pypdf") from None
    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted:
            raise Unreadable("the PDF is encrypted; export an unencrypted copy")
        title = default_title
        meta = reader.metadata
        if meta is not None and meta.title:
            title = str(meta.title).strip() or default_title
        blocks: list[Block] = []
        for number, page in enumerate(reader.pages, 1):
            text = page.extract_text() or ""
            for b in read_markdown(text, title):
                blocks.append(Block(b.title, b.text, page=number))
    except Unreadable:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise Unreadable(f"not a readable PDF ({exc.__class__.__name__}: {exc})") from None
    if not blocks:
        raise Unreadable("the PDF has no extractable text (scanned? run OCR first)")
    return blocks


TextReader = Callable[[str, str], list[Block]]
FileReader = Callable[[Path, str], list[Block]]

TEXT_READERS: dict[str, TextReader] = {
    ".txt": read_markdown,
    ".md": read_markdown,
    ".markdown": read_markdown,
    ".html": read_html,
    ".htm": read_html,
}
FILE_READERS: dict[str, FileReader] = {".pdf": read_pdf, ".docx": read_docx}
