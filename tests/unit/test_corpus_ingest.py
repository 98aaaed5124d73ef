"""Corpus ingestion: every format read, every file accounted for, stable ids, bounded chunks."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ragwacht.corpus import ChunkOptions, ingest, write_passages
from ragwacht.corpus.ingest import chunk_blocks
from ragwacht.corpus.readers import Block
from ragwacht.demo.corpus import load_corpus
from ragwacht.errors import ConfigError

WOZ_MD = """# WOZ-waarde

De WOZ-waarde is de geschatte waarde van een woning.
De gemeente stelt die elk jaar vast.

- bezwaar binnen zes weken
- geen bezwaar na zes weken

## Bezwaar maken

U kunt bezwaar maken bij de gemeente.
"""


def _pdf(path: Path, pages: list[str]) -> None:
    """A minimal valid PDF with one text line per page (Helvetica), offsets computed."""
    objs: list[bytes] = []
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(len(pages)))
    objs.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objs.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    font_id = 3 + 2 * len(pages)
    for i, text in enumerate(pages):
        content_id = 4 + 2 * i
        objs.append(
            (
                f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
                f"/Resources << /Font << /F1 {font_id} 0 R >> >> /Contents {content_id} 0 R >>"
            ).encode()
        )
        stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("latin-1")
        objs.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    objs.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    path.write_bytes(bytes(out))


def _docx(path: Path, paras: list[tuple[str, str]]) -> None:
    """A minimal .docx: (style, text) paragraphs; style 'Heading1', 'ListParagraph' or ''."""
    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    body = ""
    for style, text in paras:
        ppr = f'<w:pPr><w:pStyle w:val="{style}"/></w:pPr>' if style else ""
        body += f"<w:p>{ppr}<w:r><w:t>{text}</w:t></w:r></w:p>"
    xml = f'<?xml version="1.0"?><w:document xmlns:w="{w}"><w:body>{body}</w:body></w:document>'
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("word/document.xml", xml)


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    root = tmp_path / "docs"
    (root / "sub").mkdir(parents=True)
    (root / "woz.md").write_text(WOZ_MD, encoding="utf-8")
    (root / "sub" / "bag.html").write_text(
        "<html><head><title>BAG</title><style>p{}</style><script>alert(1)</script></head>"
        "<body><nav>menu</nav><h1>Adressen</h1><p>De BAG bevat alle adressen &amp; gebouwen.</p>"
        "<ul><li>verblijfsobject</li><li>pand</li></ul></body></html>",
        encoding="utf-8",
    )
    _pdf(root / "brk.pdf", ["Het Kadaster houdt de BRK bij.", "Een perceel heeft een nummer."])
    _docx(
        root / "bgt.docx",
        [
            ("Heading1", "BGT"),
            ("", "De BGT is de kaart van Nederland."),
            ("ListParagraph", "wegen"),
        ],
    )
    (root / "extra.jsonl").write_text(
        json.dumps(
            {"id": "faq-1", "text": "Een WOZ-beschikking komt per post.", "url": "https://x"}
        )
        + "\n",
        encoding="utf-8",
    )
    return root


def test_every_format_is_read_with_titles_and_provenance(docs: Path) -> None:
    result = ingest(docs)
    assert result.files_seen == 5 and result.files_read == 5 and not result.skipped
    by_source = {p.source: p for p in result.passages}
    assert set(result.by_format) == {".md", ".html", ".pdf", ".docx", ".jsonl"}
    html = by_source["sub/bag.html"]
    assert html.title == "Adressen" and "alert" not in html.text and "menu" not in html.text
    assert "adressen & gebouwen" in html.text and "- verblijfsobject\n- pand" in html.text
    pdf = [p for p in result.passages if p.source == "brk.pdf"]
    assert [p.page for p in pdf] == [1] and "Kadaster" in pdf[0].text
    assert "perceel" in pdf[0].text  # short pages are packed under one title
    docx = by_source["bgt.docx"]
    assert docx.title == "BGT" and "- wegen" in docx.text
    faq = by_source["extra.jsonl"]
    assert faq.id == "faq-1" and faq.url == "https://x"
    woz = [p for p in result.passages if p.source == "woz.md"]
    assert [p.title for p in woz] == ["WOZ-waarde", "Bezwaar maken"]
    # List items keep their own lines, as answers quoting them do.
    assert "- bezwaar binnen zes weken\n- geen bezwaar na zes weken" in woz[0].text


def test_ids_are_stable_and_change_with_the_text(docs: Path) -> None:
    first = [p.id for p in ingest(docs).passages]
    assert first == [p.id for p in ingest(docs).passages]
    assert all("#" in i for i in first if i != "faq-1")
    text = (docs / "woz.md").read_text(encoding="utf-8")
    (docs / "woz.md").write_text(text.replace("zes weken\n", "acht weken\n", 1), encoding="utf-8")
    second = [p.id for p in ingest(docs).passages]
    changed = set(first) ^ set(second)
    assert changed and all(i.startswith("woz#1-") for i in changed)


def test_output_is_served_by_the_demo_bot_loader(docs: Path, tmp_path: Path) -> None:
    result = ingest(docs)
    out = tmp_path / "passages.jsonl"
    write_passages(result, out)
    served = load_corpus(out)
    assert [p.id for p in served] == [p.id for p in result.passages]
    assert served[0].meta["source"] == result.passages[0].source


def test_bad_files_are_counted_never_silent(tmp_path: Path) -> None:
    root = tmp_path / "bad"
    root.mkdir()
    (root / "ok.txt").write_text("Een gewone tekst over de BAG.", encoding="utf-8")
    (root / "bin.txt").write_bytes(b"\x00\x01\x02binary")
    (root / "latin.txt").write_bytes("Het caf\xe9 is open.".encode("cp1252"))
    (root / "noise.txt").write_bytes(bytes([0x81, 0x8D, 0x8F, 0x90]) * 10)
    (root / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    (root / "broken.docx").write_bytes(b"PK not a zip")
    (root / "image.png").write_bytes(b"\x89PNG")
    (root / ".hidden.md").write_text("geheim", encoding="utf-8")
    (root / "lines.jsonl").write_text('{"id": "a", "text": "ja"}\nnot json\n{"id": 3}\n')
    big = root / "huge.md"
    with big.open("wb") as fh:  # sparse: 50 MB on the size check, nothing read
        fh.truncate(50 * 1024 * 1024)
    result = ingest(root)
    skipped = {n.path: n.reason for n in result.skipped}
    assert result.files_seen == 10 == result.files_read + len(result.skipped)
    assert "binary" in skipped["bin.txt"]
    assert "UTF-8" in skipped["noise.txt"]
    assert "PDF" in skipped["broken.pdf"] and "docx" in skipped["broken.docx"]
    assert "unsupported" in skipped["image.png"] and "hidden" in skipped[".hidden.md"]
    assert "50.0 MB" in skipped["huge.md"] and "--max-file-mb" in skipped["huge.md"]
    warnings = {(n.path, n.line): n.reason for n in result.warnings}
    assert "Windows-1252" in warnings[("latin.txt", None)]
    assert "JSON" in warnings[("lines.jsonl", 2)] and "'id'" in warnings[("lines.jsonl", 3)]
    texts = {p.text for p in result.passages}
    assert "Het café is open." in texts and "ja" in texts


def test_empty_or_unreadable_corpus_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="empty"):
        ingest(tmp_path / "empty")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "a.bin").write_bytes(b"\x00")
    with pytest.raises(ConfigError, match="no passage"):
        ingest(tmp_path / "junk")
    with pytest.raises(ConfigError, match="not found"):
        ingest(tmp_path / "missing")


def test_cli_prints_the_account_and_exits_2_on_bad_input(docs: Path, tmp_path: Path) -> None:
    out = tmp_path / "p.jsonl"
    ok = subprocess.run(
        [sys.executable, "-m", "ragwacht", "corpus", "ingest", str(docs), "--to", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ok.returncode == 0, ok.stderr
    assert "files read" in ok.stdout and str(out.resolve()) in ok.stdout
    assert len(out.read_text(encoding="utf-8").splitlines()) == len(ingest(docs).passages)
    (tmp_path / "none").mkdir()
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "ragwacht",
            "corpus",
            "ingest",
            str(tmp_path / "none"),
            "--to",
            str(out),
            "--overlap",
            "5",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and "empty" in bad.stderr and "Traceback" not in bad.stderr


_word = st.text(alphabet="abcdefghij", min_size=1, max_size=6)
_sentence = st.lists(_word, min_size=1, max_size=40).map(lambda ws: " ".join(ws).capitalize() + ".")
_block = st.lists(_sentence, min_size=1, max_size=12).map(" ".join)


@settings(max_examples=60, deadline=None)
@given(
    blocks=st.lists(st.tuples(st.sampled_from(["A", "B"]), _block), min_size=1, max_size=15),
    max_words=st.integers(20, 120),
    overlap=st.integers(0, 9),
    split=st.sampled_from(["heading", "paragraph"]),
)
def test_chunks_are_bounded_and_lose_no_word(
    blocks: list[tuple[str, str]], max_words: int, overlap: int, split: str
) -> None:
    opts = ChunkOptions(split=split, max_words=max_words, overlap_words=overlap, min_words=5)
    chunks = chunk_blocks([Block(t, x) for t, x in blocks], opts)
    assert all(len(text.split()) <= max_words for _, text, _ in chunks)
    words_in = [w for _, x in blocks for w in x.split()]
    words_out = [w for _, x, _ in chunks for w in x.split()]
    assert len(words_out) >= len(words_in)
    if overlap == 0:
        assert words_out == words_in
