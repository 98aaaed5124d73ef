"""Records to validated models, collecting every problem (and warning) in one pass."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from ragwacht.datasets._read import (
    CASE_SUFFIXES,
    Path_,
    RawFile,
    Record,
    load_yaml,
    read_cases_file,
)
from ragwacht.datasets.digest import canonical_case
from ragwacht.datasets.models import (
    SCHEMA_VERSION,
    ConversationTurn,
    DatasetManifest,
    ExpectedBehavior,
    GoldContext,
    GoldenCase,
    Turn,
)
from ragwacht.errors import Location, Problem

MANIFEST_NAMES = ("dataset.yaml", "dataset.yml")

# What to tell a person per field when it is missing or empty.
_FIELD_HINTS: dict[str, str] = {
    "id": "give every case a short, stable, unique id such as 'woz-001'",
    "question": "write the question exactly as a user would ask it",
    "doc_id": "name the document or passage id as the chatbot's retriever returns it",
    "relevance": "graded relevance is a whole number >= 0 (0 not relevant, 1 relevant, "
    "2+ more relevant); leave it out for 1",
    "expected_behavior": "use 'answer', or 'refuse' for questions the chatbot must decline",
    "role": "use 'user', 'assistant' or 'system'",
    "content": "write the text of the turn",
    "name": "give the set a short name, e.g. 'registers-demo'",
    "tags": 'write tags as a list of text, e.g. ["topic:woz", "lang:nl"]',
    "gold_contexts": 'write a list of passages, e.g. [{"doc_id": "woz-02", "relevance": 2}]',
    "history": 'write a list of turns, e.g. [{"role": "user", "content": "..."}]',
    "turns": 'write a list of user turns, e.g. [{"question": "...", "reference_answer": "..."}]',
    "reference_answer": "write the answer as text, or leave the field out",
    "text": "write the passage as text, or leave the field out",
}
_TYPE_HINT = "write the value as {expected}"

_TYPE_WORDS: dict[str, str] = {
    "string_type": "text",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "list_type": "a list",
    "dict_type": "an object (mapping)",
    "model_type": "an object (mapping)",
    "model_attributes_type": "an object (mapping)",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
}


def _model_at(root: type[BaseModel], loc: Path_) -> type[BaseModel]:
    """Return the model owning the last part of ``loc`` (for the list of allowed fields)."""
    if root is GoldenCase and len(loc) >= 3 and isinstance(loc[1], int):
        if loc[0] == "gold_contexts":
            return GoldContext
        if loc[0] == "history":
            return Turn
        if loc[0] == "turns":
            return ConversationTurn
    return root


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _translate(
    err: Any, root: type[BaseModel], record: Record, file: str, prefix: str = ""
) -> Problem:
    """One pydantic error → a Problem that says what, where and how to fix."""
    loc: Path_ = tuple(err["loc"])
    dotted = ".".join(str(p) for p in loc)
    fld = prefix + dotted
    leaf = str(loc[-1]) if loc else ""
    typ: str = err["type"]
    inp = err.get("input")
    ctx = err.get("ctx") or {}
    hint: str | None = _FIELD_HINTS.get(leaf)
    if record.cells.get(str(loc[0]) if loc else ""):
        cell = f" (cell {record.cells[str(loc[0])]})"
    else:
        cell = ""
    if typ == "missing":
        msg = f"missing required field '{fld}'"
    elif typ == "extra_forbidden":
        model = _model_at(root, loc)
        allowed = list(model.model_fields)
        close = difflib.get_close_matches(leaf, allowed, n=1)
        msg = f"unknown field '{fld}'"
        hint = (
            (f"did you mean '{close[0]}'? " if close else "")
            + "allowed fields: "
            + ", ".join(allowed)
        )
    elif typ in ("enum", "literal_error"):
        expected = ctx.get("expected", "")
        msg = f"{inp!r} is not a valid value for '{fld}'"
        hint = f"use one of: {expected}" if expected else hint
    elif typ == "string_too_short" or (typ == "value_error" and loc and "empty" in str(err["msg"])):
        msg = f"'{fld}' is empty"
    elif typ == "string_too_long":
        msg = f"'{fld}' is longer than {ctx.get('max_length')} characters"
        hint = "shorten it" if leaf != "id" else "use a short id; put descriptions in tags"
    elif typ in ("greater_than_equal", "greater_than"):
        bound = ctx.get("ge", ctx.get("gt"))
        op = ">=" if typ == "greater_than_equal" else ">"
        msg = f"'{fld}' must be {op} {bound}, got {inp!r}"
    elif typ in _TYPE_WORDS:
        msg = f"'{fld}' has the wrong type: expected {_TYPE_WORDS[typ]}, got {_type_name(inp)}"
        if leaf == "id" and isinstance(inp, int | float):
            hint = f'quote it: "{inp}"'
        hint = hint or _TYPE_HINT.format(expected=_TYPE_WORDS[typ])
    elif typ == "string_unicode":
        # JSON and YAML can spell a lone surrogate ("\\ud800"), which is no character.
        msg = f"'{fld}' holds an unpaired surrogate escape (like \\ud800), which is not text"
        hint = "remove the escape, or write the whole character"
    elif typ == "value_error" and not loc:
        # A rule across fields (a conversation's turns): the message names the fields.
        msg = str(err["msg"]).removeprefix("Value error, ")
        fld = prefix + "turns" if "turns" in msg or "conversation" in msg else prefix.rstrip(".")
        hint = hint or "see 'Conversations' in datasets/README.md"
    elif typ == "value_error":
        msg = f"'{fld}': {str(err['msg']).removeprefix('Value error, ')}"
    else:
        msg = f"'{fld}': {err['msg']}"
    line = record.line_of(loc)
    if hint is None:
        hint = "allowed fields: " + ", ".join(_model_at(root, loc).model_fields)
    return Problem(msg + cell, Location(file, line, fld), hint)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _surrogate_path(value: Any, path: Path_ = ()) -> Path_ | None:
    """Return the field path of the first string holding a lone surrogate, if any."""
    if isinstance(value, str):
        return path if _SURROGATE.search(value) else None
    items = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for k, v in items:
        hit = _surrogate_path(v, (*path, k))
        if hit is not None:
            return hit
    return None


@dataclass
class CheckedCases:
    """Cases that validated, and what was wrong or suspicious with the rest."""

    cases: list[GoldenCase] = field(default_factory=list)
    lines: dict[str, int | None] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


def check_records(raw: RawFile) -> CheckedCases:
    """Validate every record of ``raw``; duplicates and suspicious cases are found too."""
    file = str(raw.path)
    out = CheckedCases(problems=list(raw.problems))
    first_line: dict[str, int | None] = {}
    first_question: dict[str, tuple[str, int | None]] = {}
    for record in raw.records:
        data = record.data
        raw_id = data.get("id") if isinstance(data, dict) else None
        if isinstance(raw_id, str) and raw_id:
            if raw_id in first_line:
                prev = first_line[raw_id]
                where = f"line {prev}" if prev is not None else "an earlier case"
                out.problems.append(
                    Problem(
                        f"duplicate id '{raw_id}' (first used on {where}, again on line "
                        f"{record.line})",
                        Location(file, record.line, "id"),
                        "ids must be unique in a set; rename one of the two cases",
                    )
                )
            else:
                first_line[raw_id] = record.line
        try:
            case = GoldenCase.model_validate(data)
        except ValidationError as exc:
            for err in exc.errors():
                loc = err["loc"]
                if loc and str(loc[0]) in record.bad_fields:
                    continue  # the cell itself was reported already
                out.problems.append(_translate(err, GoldenCase, record, file))
            continue
        # pydantic rejects a lone surrogate only in constrained strings; one regex over the
        # canonical text catches the rest (a digest or a UTF-8 write would fail on it later).
        if _SURROGATE.search(canonical_case(case)):
            bad = _surrogate_path(data) or ()
            out.problems.append(
                Problem(
                    f"'{'.'.join(map(str, bad))}' holds an unpaired surrogate escape "
                    "(like \\ud800), which is not text",
                    Location(file, record.line_of(bad), ".".join(map(str, bad)) or None),
                    "remove the escape, or write the whole character",
                )
            )
            continue
        if case.id in out.lines:
            continue  # duplicate, reported above
        out.cases.append(case)
        out.lines[case.id] = record.line
        _warn(case, record, file, out, first_question)
    if not raw.records and not out.problems:
        out.problems.append(
            Problem(
                "no cases found",
                Location(file),
                "add at least one case with an 'id' and a 'question'",
            )
        )
    out.problems.sort(key=lambda p: p.location.line or 0)
    return out


def _warn(
    case: GoldenCase,
    record: Record,
    file: str,
    out: CheckedCases,
    first_question: dict[str, tuple[str, int | None]],
) -> None:
    if case.expected_behavior is ExpectedBehavior.REFUSE and case.gold_contexts:
        # A warning, not an error: a team may keep the passages that make a question
        # tempting to answer, but retrieval metrics will then score a refusal case.
        out.warnings.append(
            Problem(
                f"case '{case.id}' must be refused but lists gold contexts; retrieval metrics "
                "will score it as if it had an answer",
                Location(file, record.line_of(("gold_contexts",)), "gold_contexts"),
                "remove gold_contexts, or set expected_behavior to 'answer'",
            )
        )
    key = " ".join(case.question.split()).casefold()
    if key in first_question:
        other, line = first_question[key]
        out.warnings.append(
            Problem(
                f"case '{case.id}' asks the same question as case '{other}'"
                + (f" (line {line})" if line is not None else ""),
                Location(file, record.line_of(("question",)), "question"),
                "merge the two, or tag them if the repeat is on purpose (consistency)",
            )
        )
    else:
        first_question[key] = (case.id, record.line)


# ------------------------------------------------------------------------------------ manifest


def check_manifest(
    data: Any, record: Record, file: str, problems: list[Problem]
) -> DatasetManifest | None:
    """Validate a ``dataset.yaml`` mapping; problems are appended."""
    if not isinstance(data, dict):
        problems.append(
            Problem(
                "dataset.yaml must be a mapping of fields (name, version, description, ...)",
                Location(file, record.line),
                "write 'name: my-set' and the other fields, one per line",
            )
        )
        return None
    version = data.get("schema_version")
    if isinstance(version, int) and not isinstance(version, bool) and version > SCHEMA_VERSION:
        problems.append(
            Problem(
                f"schema_version {version} is newer than this ragwacht reads ({SCHEMA_VERSION})",
                Location(file, record.line_of(("schema_version",)), "schema_version"),
                "upgrade ragwacht",
            )
        )
        return None
    try:
        return DatasetManifest.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            problems.append(_translate(err, DatasetManifest, record, file))
        return None


def read_manifest(path: Path, problems: list[Problem]) -> DatasetManifest | None:
    """Read and validate a ``dataset.yaml`` file."""
    raw = RawFile(path)
    try:
        data_bytes = path.read_bytes()
    except OSError as exc:
        problems.append(Problem(f"cannot read file: {exc.strerror or exc}", Location(str(path))))
        return None
    parsed = load_yaml(path, data_bytes, raw)
    problems.extend(raw.problems)
    if parsed is None:
        return None
    data, lines = parsed
    if data is None:
        problems.append(
            Problem(
                "dataset.yaml is empty",
                Location(str(path), 1, "name"),
                "write at least 'name: my-set'",
            )
        )
        return None
    record = Record(data, lines.get(()), field_lines=lines)
    return check_manifest(data, record, str(path), problems)


# ---------------------------------------------------------------------------------- golden set


@dataclass
class Loaded:
    """A golden set read from disk, with every problem and warning found on the way."""

    path: Path
    manifest: DatasetManifest | None
    cases: list[GoldenCase]
    problems: list[Problem]
    warnings: list[Problem]
    lines: dict[str, int | None] = field(default_factory=dict)
    cases_file: Path | None = None


def _missing(path: Path) -> Loaded:
    problem = Problem(
        "path does not exist",
        Location(str(path)),
        "give a golden-set folder (with dataset.yaml) or a cases file ("
        + ", ".join(CASE_SUFFIXES)
        + ")",
    )
    return Loaded(path, None, [], [problem], [])


def read_golden_set(path: str | Path, columns: Mapping[str, str] | None = None) -> Loaded:
    """Read a golden set from a folder, its ``dataset.yaml``, or a single cases file.

    A folder needs ``dataset.yaml`` (whose ``cases_file`` names the cases, default
    ``cases.jsonl``). A single file becomes a set named after the file; a YAML file in the
    ``{cases: [...]}`` form may carry manifest fields beside ``cases``.
    """
    path = Path(path)
    if not path.exists():
        return _missing(path)
    problems: list[Problem] = []
    manifest: DatasetManifest | None
    if path.is_file() and path.name in MANIFEST_NAMES:
        path = path.parent
    if path.is_dir():
        manifest_path = next((path / n for n in MANIFEST_NAMES if (path / n).is_file()), None)
        if manifest_path is None:
            return Loaded(
                path,
                None,
                [],
                [
                    Problem(
                        "folder has no dataset.yaml",
                        Location(str(path / "dataset.yaml")),
                        "create dataset.yaml with at least 'name: ...', or use "
                        "'ragwacht datasets import' to make a golden-set folder",
                    )
                ],
                [],
            )
        manifest = read_manifest(manifest_path, problems)
        cases_name = manifest.cases_file if manifest is not None else "cases.jsonl"
        cases_path = path / cases_name
        if manifest is not None and not cases_path.is_file():
            problems.append(
                Problem(
                    f"cases file '{cases_name}' not found next to dataset.yaml",
                    Location(str(manifest_path), None, "cases_file"),
                    "create it, or point 'cases_file' at the file that holds the cases",
                )
            )
            return Loaded(path, manifest, [], problems, [])
        if manifest is None and not cases_path.is_file():
            return Loaded(path, None, [], problems, [])
    else:
        manifest = None
        cases_path = path
    raw = read_cases_file(cases_path, columns)
    if manifest is None and not path.is_dir():
        header = raw.header
        if header is not None:
            data = {"name": cases_path.stem, **header.data}
            manifest = check_manifest(data, header, str(cases_path), problems)
        else:
            manifest = DatasetManifest(name=cases_path.stem or "golden-set")
    checked = check_records(raw)
    problems.extend(checked.problems)
    return Loaded(
        path, manifest, checked.cases, problems, checked.warnings, checked.lines, cases_path
    )


def read_corpus_ids(path: Path, problems: list[Problem]) -> set[str]:
    """Document ids of a JSONL corpus (each line an object with ``doc_id`` or ``id``)."""
    ids: set[str] = set()
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(
            Problem(f"cannot read corpus: {exc}", Location(str(path)), "give a UTF-8 JSONL file")
        )
        return ids
    for lineno, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except (ValueError, RecursionError) as exc:
            problems.append(
                Problem(f"broken JSON in corpus: {exc}", Location(str(path), lineno), None)
            )
            continue
        doc = obj.get("doc_id", obj.get("id")) if isinstance(obj, dict) else None
        if not isinstance(doc, str | int) or isinstance(doc, bool):
            problems.append(
                Problem(
                    "corpus line has no 'doc_id' (or 'id')",
                    Location(str(path), lineno, "doc_id"),
                    "each corpus line must be an object with a 'doc_id'",
                )
            )
            continue
        ids.add(str(doc))
    return ids
