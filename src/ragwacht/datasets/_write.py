"""Writers: cases to JSONL, YAML, CSV and XLSX, each readable back to the same digest."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

from ragwacht.datasets._cells import COLUMNS, encode_cell, looks_like_formula, neutralise
from ragwacht.datasets._read import CASE_SUFFIXES, MANIFEST_SHEET
from ragwacht.datasets.models import DatasetManifest, GoldenCase
from ragwacht.errors import ConfigError

# Excel's cell limit; longer text is cut when a person opens the file there.
XLSX_MAX_CELL = 32_767


def case_to_json(case: GoldenCase) -> dict[str, Any]:
    """Return a case as a compact mapping: defaults left out, ``expected_behavior`` kept."""
    data = case.model_dump(mode="json", exclude_defaults=True)
    out: dict[str, Any] = {"id": data.pop("id"), "question": data.pop("question")}
    if "reference_answer" in data:
        out["reference_answer"] = data.pop("reference_answer")
    out["expected_behavior"] = case.expected_behavior.value
    data.pop("expected_behavior", None)
    out.update(data)
    return out


def jsonl_bytes(cases: Sequence[GoldenCase]) -> bytes:
    """Cases as JSON Lines (UTF-8, one compact object per line)."""
    return "".join(json.dumps(case_to_json(c), ensure_ascii=False) + "\n" for c in cases).encode(
        "utf-8"
    )


_BaseDumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Dumper(_BaseDumper):
    """SafeDumper that keeps Unicode line separators from being folded into spaces."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # With allow_unicode, PyYAML writes NEL, LS and PS raw in plain, single-quoted and block
    # scalars, and reads them back as line breaks; double quotes escape them (\N, \L, \P).
    style = '"' if any(c in value for c in "\x85\u2028\u2029") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def dump_yaml(data: Any) -> bytes:
    """YAML text for plain data, Unicode kept readable, every string read back exactly."""
    text = yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100)
    return text.encode("utf-8")


def yaml_bytes(cases: Sequence[GoldenCase]) -> bytes:
    """Cases as a YAML list."""
    return dump_yaml([case_to_json(c) for c in cases])


def _rows(cases: Sequence[GoldenCase]) -> list[list[str]]:
    rows = []
    for case in cases:
        data = case.model_dump(mode="json")
        rows.append([encode_cell(col, data[col]) for col in COLUMNS])
    return rows


def csv_bytes(cases: Sequence[GoldenCase]) -> bytes:
    """Cases as CSV: UTF-8 with a byte-order mark (so Excel reads the accents), header row.

    A cell a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``, tab, CR first) is
    written with a ``'`` in front (:func:`~ragwacht.datasets._cells.neutralise`); the CSV
    reader takes it off again, so the file reads back to the same cases and digest.
    """
    buf = io.StringIO(newline="")
    writer = csv.writer(buf)
    writer.writerow(COLUMNS)
    writer.writerows([neutralise(cell) for cell in row] for row in _rows(cases))
    return buf.getvalue().encode("utf-8-sig")


# Characters an XML 1.0 document cannot carry, plus "\r" (XML readers turn it into "\n") and
# a literal "_xHHHH_" (which would read back as an escape).
_XLSX_ESCAPE = re.compile(r"[\x00-\x08\x0b-\x0d\x0e-\x1f\ufffe\uffff]|_(?=x[0-9A-Fa-f]{4}_)")


def ooxml_escape(text: str) -> str:
    """Escape text for an XLSX string cell the way Excel does (``_xHHHH_``)."""
    return _XLSX_ESCAPE.sub(lambda m: f"_x{ord(m.group(0)):04X}_", text)


# Manifest fields written to the XLSX ``dataset`` sheet (schema_version and cases_file belong
# to the folder form, not to a workbook).
XLSX_MANIFEST_FIELDS = ("name", "version", "description", "owner", "language", "licence")


def _text_cell(cell: Any, text: str) -> None:
    """Keep a cell text: no formulas from a leading ``=``, no numbers from ``0012``."""
    cell.data_type = "s"
    if looks_like_formula(text):
        # Excel's own marker for "typed with a leading apostrophe": shown and edited as text,
        # and the stored value stays exactly the text.
        cell.quotePrefix = True


def xlsx_bytes(cases: Sequence[GoldenCase], manifest: DatasetManifest | None = None) -> bytes:
    """Cases on the first sheet of an XLSX workbook, every cell stored as text.

    With ``manifest``, a second sheet ``dataset`` holds its fields (name, version,
    description, owner, language, licence) as ``field | value`` rows, which the XLSX reader
    takes as the set's manifest.
    """
    from openpyxl import Workbook  # lazy: heavy, only for XLSX
    from openpyxl.styles import Font  # lazy: heavy, only for XLSX

    wb = Workbook()
    ws = wb.active
    assert ws is not None  # a new workbook always has a sheet
    ws.title = "cases"
    ws.append(list(COLUMNS))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for rownum, (case, row) in enumerate(zip(cases, _rows(cases), strict=True), start=2):
        for colnum, (name, text) in enumerate(zip(COLUMNS, row, strict=True), start=1):
            if text == "":
                continue
            escaped = ooxml_escape(text)
            if len(escaped) > XLSX_MAX_CELL:
                raise ConfigError(
                    f"case '{case.id}': '{name}' has {len(escaped)} characters, more than an "
                    f"XLSX cell holds ({XLSX_MAX_CELL})",
                    field=name,
                    hint="export to JSONL or CSV instead",
                )
            _text_cell(ws.cell(row=rownum, column=colnum, value=escaped), text)
    ws.freeze_panes = "A2"
    widths = {"id": 14, "question": 60, "reference_answer": 60, "expected_behavior": 12}
    for i, name in enumerate(COLUMNS):
        ws.column_dimensions[chr(65 + i)].width = widths.get(name, 30)
    if manifest is not None:
        ms = wb.create_sheet(MANIFEST_SHEET)
        ms.append(["field", "value"])
        for cell in ms[1]:
            cell.font = Font(bold=True)
        data = manifest.model_dump(mode="json")
        for rownum, key in enumerate(XLSX_MANIFEST_FIELDS, start=2):
            ms.cell(row=rownum, column=1, value=key)
            value = str(data[key])
            _text_cell(ms.cell(row=rownum, column=2, value=ooxml_escape(value)), value)
        ms.column_dimensions["A"].width = 14
        ms.column_dimensions["B"].width = 80
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


WRITERS: dict[str, Callable[[Sequence[GoldenCase]], bytes]] = {
    ".jsonl": jsonl_bytes,
    ".yaml": yaml_bytes,
    ".yml": yaml_bytes,
    ".csv": csv_bytes,
    ".xlsx": xlsx_bytes,
}


def writer_for(path: Path) -> Callable[[Sequence[GoldenCase]], bytes]:
    """Return the writer for ``path``'s extension; ConfigError naming the known ones if none."""
    writer = WRITERS.get(path.suffix.lower())
    if writer is None:
        raise ConfigError(
            f"cannot write cases to '{path.suffix or path.name}' files",
            file=path,
            hint="use one of: " + ", ".join(CASE_SUFFIXES),
        )
    return writer


def manifest_bytes(manifest: DatasetManifest) -> bytes:
    """``dataset.yaml`` text: every field, in model order."""
    return dump_yaml(manifest.model_dump(mode="json"))
