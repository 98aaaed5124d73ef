"""Raw readers: a file's bytes to records (plain data) that know where they came from.

Readers never raise for bad content; they return what they could read plus every
:class:`~ragwacht.errors.Problem` they met, so validation can report everything in one pass.
Models are applied later (see ``_check``).
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import yaml

from ragwacht._yaml import ALIAS_HINT, YamlBombError, compose_checked
from ragwacht.datasets._cells import COLUMNS, CellError, decode_cell, unneutralise
from ragwacht.errors import Location, Problem

Path_ = tuple[str | int, ...]

CASE_SUFFIXES = (".jsonl", ".yaml", ".yml", ".csv", ".xlsx")


@dataclass
class Record:
    """One would-be case (or manifest): its data and where each part of it is."""

    data: Any
    line: int | None
    # Lines of nested fields where the format knows them (YAML), keyed by field path.
    field_lines: dict[Path_, int] = field(default_factory=dict)
    # Spreadsheet cell references (``C5``) per column, for messages.
    cells: dict[str, str] = field(default_factory=dict)
    # Columns whose cell could not be decoded (already reported; not "missing").
    bad_fields: set[str] = field(default_factory=set)

    def line_of(self, loc: Path_) -> int | None:
        """Return the most precise known line for field path ``loc``."""
        for n in range(len(loc), 0, -1):
            hit = self.field_lines.get(tuple(loc[:n]))
            if hit is not None:
                return hit
        return self.line


@dataclass
class RawFile:
    """What a reader got out of one file."""

    path: Path
    records: list[Record] = field(default_factory=list)
    # YAML mapping form: keys beside ``cases`` (manifest fields), as a record.
    header: Record | None = None
    problems: list[Problem] = field(default_factory=list)

    def problem(
        self, message: str, line: int | None = None, fld: str | None = None, hint: str | None = None
    ) -> None:
        """Record a problem in this file."""
        self.problems.append(Problem(message, Location(str(self.path), line, fld), hint))


_TOO_DEEP = "data is nested too deeply to read (unclosed brackets?)"

# --------------------------------------------------------------------------------------- text


def _decode_utf8(raw: bytes, out: RawFile) -> str | None:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        out.problem(
            f"file is not valid UTF-8 (byte {exc.start} cannot be decoded)",
            line,
            hint="save the file as UTF-8 (in Excel: 'CSV UTF-8'); ragwacht does not guess "
            "encodings, so text is never silently garbled",
        )
        return None


# --------------------------------------------------------------------------------------- JSONL


def _pairs_hook(out: list[str]) -> Any:
    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        for k, v in pairs:
            if k in seen:
                out.append(k)
            seen[k] = v
        return seen

    return hook


def read_jsonl(path: Path, raw: bytes) -> RawFile:
    """Read a JSON Lines file: one JSON object per line, blank lines ignored."""
    out = RawFile(path)
    text = _decode_utf8(raw, out)
    if text is None:
        return out
    # Split on "\n" only: JSON escapes newlines inside strings, while str.splitlines() would
    # also split on U+2028 and friends, which json.dumps(ensure_ascii=False) leaves raw.
    for lineno, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        dupes: list[str] = []
        try:
            data = json.loads(line, object_pairs_hook=_pairs_hook(dupes))
        except json.JSONDecodeError as exc:
            out.problem(
                f"broken JSON: {exc.msg} (column {exc.colno})",
                lineno,
                hint="each line must be one complete JSON object, e.g. "
                '{"id": "q1", "question": "..."}; check quotes, commas and brackets',
            )
            continue
        except RecursionError:
            out.problem(_TOO_DEEP, lineno, hint="a case needs only a few levels of nesting")
            continue
        except ValueError as exc:
            out.problem(f"broken JSON: {exc}", lineno, hint="each line must be one JSON object")
            continue
        if not isinstance(data, dict):
            out.problem(
                f"line holds a JSON {_json_type(data)}, not an object",
                lineno,
                hint='each line must be one JSON object: {"id": ..., "question": ...}',
            )
            continue
        for key in dict.fromkeys(dupes):
            out.problem(
                f"field '{key}' appears more than once",
                lineno,
                key,
                hint="keep one; JSON readers silently use the last one",
            )
        out.records.append(Record(data, lineno))
    return out


def _json_type(value: Any) -> str:
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    return "number"


# ---------------------------------------------------------------------------------------- YAML


def _yaml_lines(node: yaml.Node, data: Any, prefix: Path_, lines: dict[Path_, int]) -> None:
    """Map field paths to 1-based lines by walking the node tree beside the data."""
    if isinstance(node, yaml.MappingNode) and isinstance(data, dict):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str):
                continue
            path = (*prefix, key)
            lines.setdefault(path, key_node.start_mark.line + 1)
            if key in data:
                _yaml_lines(value_node, data[key], path, lines)
    elif isinstance(node, yaml.SequenceNode) and isinstance(data, list):
        if len(node.value) != len(data):
            return
        for i, (item_node, item) in enumerate(zip(node.value, data, strict=True)):
            path = (*prefix, i)
            lines[path] = item_node.start_mark.line + 1
            _yaml_lines(item_node, item, path, lines)


def load_yaml(path: Path, raw: bytes, out: RawFile) -> tuple[Any, dict[Path_, int]] | None:
    """Parse one YAML document; returns (data, field lines) or ``None`` after a problem."""
    text = _decode_utf8(raw, out)
    if text is None:
        return None
    try:
        node, data, issues = compose_checked(text)
        if node is None:
            return None, {}
    except YamlBombError as exc:
        out.problem(str(exc), exc.line, hint=ALIAS_HINT)
        return None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        what = exc.problem or exc.context or "invalid YAML"
        out.problem(
            f"broken YAML: {what}",
            line,
            hint="check indentation, and quote text that contains ': ' or starts with a "
            "special character",
        )
        return None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        out.problem(
            f"YAML cannot hold character {exc.character!r} (position {exc.position})",
            line,
            hint="remove the control character, or write the text as a double-quoted string "
            "with an escape",
        )
        return None
    except RecursionError:
        out.problem(_TOO_DEEP, hint="a case needs only a few levels of nesting")
        return None
    except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:
        # Constructors raise plain Python errors for odd scalars (e.g. out-of-range dates).
        out.problem(f"broken YAML: {exc}", hint="check the file's YAML syntax")
        return None
    for issue in issues:
        out.problem(issue.message, issue.line, issue.key, hint=issue.hint)
    lines: dict[Path_, int] = {(): node.start_mark.line + 1}
    _yaml_lines(node, data, (), lines)
    return data, lines


def _lines_by_item(lines: dict[Path_, int], prefix: Path_) -> dict[int, dict[Path_, int]]:
    """Split field lines under ``prefix`` per list item, in one pass (sets can be large)."""
    n = len(prefix)
    out: dict[int, dict[Path_, int]] = {}
    for k, v in lines.items():
        if len(k) > n + 1 and k[:n] == prefix:
            index = k[n]
            if isinstance(index, int):
                out.setdefault(index, {})[k[n + 1 :]] = v
    return out


def read_yaml(path: Path, raw: bytes) -> RawFile:
    """Read cases from YAML: a list of cases, or a mapping with ``cases`` (+ manifest keys)."""
    out = RawFile(path)
    parsed = load_yaml(path, raw, out)
    if parsed is None:
        return out
    data, lines = parsed
    if data is None:
        return out
    cases: Any
    prefix: Path_
    if isinstance(data, list):
        cases, prefix = data, ()
    elif isinstance(data, dict) and "cases" in data:
        cases, prefix = data["cases"], ("cases",)
        rest = {k: v for k, v in data.items() if k != "cases"}
        if rest:
            out.header = Record(
                rest,
                lines.get(()),
                field_lines={k: v for k, v in lines.items() if k and k[0] != "cases"},
            )
        if not isinstance(cases, list):
            out.problem(
                "'cases' must be a list of cases",
                lines.get(("cases",)),
                "cases",
                hint="write each case as a list item: '- id: q1'",
            )
            return out
    else:
        out.problem(
            "expected a list of cases, or a mapping with a 'cases' list",
            lines.get(()),
            hint="start the file with '- id: ...' items, or with 'cases:' followed by them",
        )
        return out
    item_lines = _lines_by_item(lines, prefix)
    for i, item in enumerate(cases):
        item_path = (*prefix, i)
        line = lines.get(item_path)
        if not isinstance(item, dict):
            out.problem(
                f"case {i + 1} is a {type(item).__name__}, not a mapping",
                line,
                hint="write each case as a mapping: '- id: q1\\n  question: ...'",
            )
            continue
        out.records.append(Record(item, line, field_lines=item_lines.get(i, {})))
    return out


# ------------------------------------------------------------------------------ spreadsheets


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _header(
    out: RawFile, cells: list[str], line: int, columns: Mapping[str, str] | None = None
) -> list[str | None]:
    """Map header cells to column names (``None`` = ignored empty column).

    ``columns`` renames source columns first (``query`` → ``question``), keys compared
    without case.
    """
    names: list[str | None] = []
    seen: dict[str, int] = {}
    rename = {k.strip().lower(): v for k, v in (columns or {}).items()}
    for i, cell in enumerate(cells):
        name = cell.strip().lower()
        name = rename.get(name, name)
        if not name:
            names.append(None)
            continue
        if name not in COLUMNS:
            close = difflib.get_close_matches(name, COLUMNS, n=1)
            out.problem(
                f"unknown column '{cell.strip()}' (column {_column_letter(i)})",
                line,
                cell.strip(),
                hint=(f"did you mean '{close[0]}'? " if close else "")
                + "columns are: "
                + ", ".join(COLUMNS),
            )
            names.append(None)
            continue
        if name in seen:
            out.problem(
                f"column '{name}' appears twice (columns {_column_letter(seen[name])} and "
                f"{_column_letter(i)})",
                line,
                name,
                hint="keep one of them",
            )
            names.append(None)
            continue
        seen[name] = i
        names.append(name)
    for required in ("id", "question"):
        if required not in seen:
            out.problem(
                f"header has no '{required}' column",
                line,
                required,
                hint="the first row names the columns; 'id' and 'question' are required",
            )
    return names


def _rows_to_records(
    out: RawFile,
    rows: list[tuple[int, list[str]]],
    *,
    cell_refs: bool,
    columns: Mapping[str, str] | None = None,
) -> None:
    """Header row + data rows (line, cells) → records; empty rows are skipped."""
    rows = [(line, cells) for line, cells in rows if any(c != "" for c in cells)]
    if not rows:
        return
    header_line, header_cells = rows[0]
    names = _header(out, header_cells, header_line, columns)
    for line, cells in rows[1:]:
        record = Record({}, line)
        for i, text in enumerate(cells):
            name = names[i] if i < len(names) else None
            if text == "":
                continue
            if name is None:
                if i >= len(names) or header_cells[i].strip() == "":
                    ref = f"{_column_letter(i)}{line}" if cell_refs else f"column {i + 1}"
                    out.problem(
                        f"cell {ref} has a value but its column has no header",
                        line,
                        hint="name the column in the header row, or clear the cell",
                    )
                continue
            if cell_refs:
                record.cells[name] = f"{_column_letter(i)}{line}"
            try:
                # CSV cells carry the neutralising ' in their text; an XLSX cell keeps its
                # exact text (the writer marks formula-like cells with quotePrefix instead).
                value = decode_cell(name, text if cell_refs else unneutralise(text))
                record.data[name] = _gold_ids(value) if name == "gold_contexts" else value
            except CellError as exc:
                where = f" (cell {record.cells[name]})" if name in record.cells else ""
                out.problem(f"{exc}{where}", line, name, hint=exc.hint)
                record.bad_fields.add(name)
        out.records.append(record)


def read_csv(path: Path, raw: bytes, columns: Mapping[str, str] | None = None) -> RawFile:
    """Read cases from CSV (UTF-8, header row; ``,`` ``;`` or tab separated)."""
    out = RawFile(path)
    text = _decode_utf8(raw, out)
    if text is None:
        return out
    first = text.split("\n", 1)[0]
    # The header holds only column names, so its separators tell the dialect reliably
    # (Excel with a Dutch locale writes ';').
    delimiter = max((",", ";", "\t"), key=lambda d: (first.count(d), d == ","))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[tuple[int, list[str]]] = []
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            out.problem(
                f"broken CSV: {exc}",
                reader.line_num or start,
                hint="check the quoting: a cell with a separator, quote or newline must be "
                'wrapped in double quotes, and quotes inside it doubled ("")',
            )
            return out
        rows.append((start, cells))
    _rows_to_records(out, rows, cell_refs=False, columns=columns)
    return out


# OOXML escapes characters XML cannot hold as _xHHHH_ (and a literal "_xHHHH_" as
# "_x005F_xHHHH_"); Excel reads and writes cells this way, openpyxl leaves it to us.
_OOXML_ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")


def ooxml_unescape(text: str) -> str:
    """Decode ``_xHHHH_`` escapes in an XLSX string cell."""
    return _OOXML_ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), text)


def _xlsx_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return ooxml_unescape(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


# The sheet beside the cases that carries the dataset manifest (``field | value`` rows).
MANIFEST_SHEET = "dataset"


def _manifest_sheet(ws: Any) -> Record | None:
    """The manifest fields on the ``dataset`` sheet (a header row, then field/value rows)."""
    data: dict[str, Any] = {}
    lines: dict[Path_, int] = {}
    for rownum, values in enumerate(ws.iter_rows(values_only=True), start=1):
        cells = [_xlsx_text(v) for v in values]
        if rownum == 1 or not cells or not cells[0].strip():
            continue
        key = cells[0].strip()
        data[key] = cells[1] if len(cells) > 1 else ""  # exact text (quotePrefix, no ')
        lines[(key,)] = rownum
    return Record(data, 1, field_lines=lines) if data else None


def read_xlsx(path: Path, raw: bytes, columns: Mapping[str, str] | None = None) -> RawFile:
    """Read cases from the first sheet of an XLSX workbook (header in the first row)."""
    out = RawFile(path)
    try:
        import openpyxl  # lazy: heavy, only for XLSX
    except ImportError:  # pragma: no cover - a core dependency
        out.problem("reading XLSX needs openpyxl", hint="pip install openpyxl")
        return out
    rows: list[tuple[int, list[str]]] = []
    try:
        wb = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
        try:
            if not wb.worksheets:
                out.problem("workbook has no sheets", hint="put the cases on the first sheet")
                return out
            ws = wb.worksheets[0]
            for rownum, values in enumerate(ws.iter_rows(values_only=True), start=1):
                rows.append((rownum, [_xlsx_text(v) for v in values]))
            if MANIFEST_SHEET in wb.sheetnames and wb.sheetnames.index(MANIFEST_SHEET) > 0:
                out.header = _manifest_sheet(wb[MANIFEST_SHEET])
        finally:
            wb.close()
    except Exception as exc:
        # openpyxl raises zipfile, XML, KeyError and ValueError flavours for damaged files.
        out.problem(
            f"cannot read XLSX workbook: {type(exc).__name__}: {exc}",
            hint="open and re-save it in Excel or LibreOffice, or export the sheet as CSV UTF-8",
        )
        return out
    _rows_to_records(out, rows, cell_refs=True, columns=columns)
    return out


READERS = {
    ".jsonl": read_jsonl,
    ".yaml": read_yaml,
    ".yml": read_yaml,
    ".csv": read_csv,
    ".xlsx": read_xlsx,
}


def _gold_ids(value: Any) -> Any:
    """A list of bare doc ids (``["p1", "p2"]``, as other sets store them) as gold contexts."""
    if isinstance(value, list):
        return [{"doc_id": v} if isinstance(v, str | int) and not isinstance(v, bool) else v
                for v in value]  # fmt: skip
    return value


# Names other golden sets use for the case fields (compared without case); ``datasets import``
# maps them when the canonical column is absent, and says so.
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("qid", "question_id", "query_id", "vraag_id", "case_id", "_id"),
    "question": ("query", "vraag", "prompt", "input", "question_text", "user_input"),
    "reference_answer": (
        "answer", "antwoord", "ground_truth", "reference", "expected_answer", "gold_answer",
        "referentieantwoord", "expected_output",
    ),
    "gold_contexts": (
        "gold_passage_ids", "gold_passages", "gold_doc_ids", "gold_ids", "relevant_docs",
        "relevant_doc_ids", "passage_ids", "doc_ids", "context_ids", "bronnen",
    ),
    "expected_behavior": ("expected", "behavior", "behaviour", "verwacht_gedrag"),
    "tags": ("labels", "tag"),
}  # fmt: skip


def source_fields(path: Path) -> list[str]:
    """The column names (CSV, XLSX) or record keys (JSONL, YAML) of a cases file, in order."""
    suffix = path.suffix.lower()
    if suffix in (".csv", ".xlsx"):
        rows = _first_row(path) if suffix == ".csv" else _first_xlsx_row(path)
        return [c.strip() for c in rows if c.strip()]
    raw = read_cases_file(path)
    keys: dict[str, None] = {}
    for r in raw.records:
        if isinstance(r.data, dict):
            keys.update(dict.fromkeys(str(k) for k in r.data))
    return list(keys)


def _first_row(path: Path) -> list[str]:
    text = path.read_bytes().decode("utf-8-sig", errors="replace")
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=lambda d: (first.count(d), d == ","))
    return next(csv.reader(io.StringIO(first), delimiter=delimiter), [])


def _first_xlsx_row(path: Path) -> list[str]:
    import openpyxl  # lazy: heavy, only for XLSX

    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        for values in wb.worksheets[0].iter_rows(values_only=True, max_row=1):
            return [_xlsx_text(v) for v in values]
    finally:
        wb.close()
    return []


def auto_mapping(fields: Sequence[str]) -> dict[str, str]:
    """Source field → case field for the :data:`FIELD_ALIASES` found in ``fields``.

    A field is mapped only when its target is not present itself, and each target once.
    """
    present = {f.strip().lower() for f in fields}
    out: dict[str, str] = {}
    taken: set[str] = set()
    for f in fields:
        low = f.strip().lower()
        if low in COLUMNS:
            continue
        for target, aliases in FIELD_ALIASES.items():
            if low in aliases and target not in present and target not in taken:
                out[f] = target
                taken.add(target)
                break
    return out


def _rename(out: RawFile, columns: Mapping[str, str]) -> None:
    """Apply ``columns`` to JSONL/YAML records (keys compared without case)."""
    rename = {k.strip().lower(): v for k, v in columns.items()}
    for r in out.records:
        if not isinstance(r.data, dict):
            continue
        data: dict[str, Any] = {}
        for k, v in r.data.items():
            target = rename.get(str(k).strip().lower())
            if target is None:
                data[k] = v
                continue
            data[target] = _gold_ids(v) if target == "gold_contexts" else v
            if (k,) in r.field_lines:
                r.field_lines[(target,)] = r.field_lines[(k,)]
        r.data = data


def read_cases_file(path: Path, columns: Mapping[str, str] | None = None) -> RawFile:
    """Read a cases file by its extension; a missing or unknown file is one problem.

    ``columns`` maps source column or key names to case fields (``query`` → ``question``).
    """
    suffix = path.suffix.lower()
    reader = READERS.get(suffix)
    if reader is None:
        out = RawFile(path)
        out.problem(
            f"unsupported file type '{path.suffix or path.name}'",
            hint="use one of: " + ", ".join(CASE_SUFFIXES),
        )
        return out
    try:
        raw = path.read_bytes()
    except OSError as exc:
        out = RawFile(path)
        out.problem(f"cannot read file: {exc.strerror or exc}", hint="check the path")
        return out
    if suffix in (".csv", ".xlsx"):
        return read_csv(path, raw, columns) if suffix == ".csv" else read_xlsx(path, raw, columns)
    out = reader(path, raw)
    if columns:
        _rename(out, columns)
    return out
