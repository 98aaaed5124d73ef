"""The per-case part of a run record on disk: one case per line, read on demand.

A schema-3 record (``run.json``) is still one JSON document, laid out so that its cases can be
written one at a time and read one at a time::

    {"schema_version":3,"cases":[
    {...first case...}
    ,{...second case...}
    ],"run_id":"...","manifest":{...},"summary":{...},...}

Line 1 is always the same; every case is one line (compact JSON never holds a raw newline);
the last line holds everything else. ``json.load`` reads the file as before, while
:class:`CaseFile` keeps only each case's byte offset in memory and parses a case when it is
asked for, so a record of 100,000 cases is gated and reported without holding them all.
"""

from __future__ import annotations

import json
from array import array
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any, overload

from pydantic import ValidationError

from ragwacht.errors import ConfigError
from ragwacht.records.case import CaseResult

HEADER = b'{"schema_version":3,"cases":[\n'
SCHEMA_V3 = 3


class CaseFile(Sequence[CaseResult]):
    """The cases of a schema-3 record, parsed from its file when read.

    Iterating reads the file front to back, one case at a time; indexing seeks to the case.
    Nothing is cached, so memory does not grow with the number of cases (each access parses
    again: code that needs a case many times keeps its own reference).
    """

    def __init__(self, path: Path, offsets: array[int], lengths: array[int]) -> None:
        """Cases at ``offsets`` (bytes) with ``lengths`` in ``path``."""
        self.path = path
        self._offsets = offsets
        self._lengths = lengths

    def __len__(self) -> int:
        """How many cases the record holds."""
        return len(self._offsets)

    def _parse(self, raw: bytes, index: int) -> CaseResult:
        try:
            return CaseResult.model_validate_json(raw)
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in err["loc"])
            raise ConfigError(
                f"invalid case in run record: {err['msg']}",
                file=self.path,
                line=index + 2,
                field=f"cases[{index}].{loc}" if loc else f"cases[{index}]",
                hint="the record was changed after it was written; re-run the suite",
            ) from exc

    def _open(self) -> IO[bytes]:
        try:
            return self.path.open("rb")
        except OSError as exc:
            raise ConfigError(
                f"the run record's cases cannot be read: {exc}", file=self.path
            ) from exc

    @overload
    def __getitem__(self, index: int) -> CaseResult: ...

    @overload
    def __getitem__(self, index: slice) -> list[CaseResult]: ...

    def __getitem__(self, index: int | slice) -> CaseResult | list[CaseResult]:
        """One case (parsed now) or a list of them for a slice."""
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        n = len(self)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError("case index out of range")
        with self._open() as fh:
            fh.seek(self._offsets[index])
            return self._parse(fh.read(self._lengths[index]), index)

    def raw(self) -> Iterator[bytes]:
        """Each case's JSON bytes, in order (for copying a record without parsing it)."""
        with self._open() as fh:
            for off, length in zip(self._offsets, self._lengths, strict=True):
                fh.seek(off)
                yield fh.read(length)

    def __iter__(self) -> Iterator[CaseResult]:
        """The cases in order, one parsed at a time."""
        for i, raw in enumerate(self.raw()):
            yield self._parse(raw, i)

    def __eq__(self, other: object) -> bool:
        """Equal to any sequence of the same cases."""
        if not isinstance(other, Sequence) or isinstance(other, str | bytes):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        """Where the cases are, not the cases."""
        return f"CaseFile({str(self.path)!r}, {len(self)} cases)"


def case_lines(cases: Iterable[CaseResult]) -> Iterator[bytes]:
    """The JSON line of each case, as :func:`write_cases` lays them out."""
    if isinstance(cases, CaseFile):
        yield from cases.raw()
        return
    for case in cases:
        yield case.model_dump_json().encode("utf-8")


def write_cases(fh: IO[bytes], lines: Iterable[bytes]) -> tuple[array[int], array[int]]:
    """Header and case lines of a schema-3 record; the caller writes the trailer.

    Returns:
        Each case's byte offset and length in what was written.

    """
    fh.write(HEADER)
    offsets: array[int] = array("q")
    lengths: array[int] = array("q")
    pos = len(HEADER)
    for raw in lines:
        if offsets:
            fh.write(b",")
            pos += 1
        offsets.append(pos)
        lengths.append(len(raw))
        fh.write(raw)
        fh.write(b"\n")
        pos += len(raw) + 1
    return offsets, lengths


def trailer(fields: dict[str, Any] | str) -> bytes:
    """The last line: everything but the cases, closing the document."""
    text = fields if isinstance(fields, str) else json.dumps(fields, ensure_ascii=False)
    if not text.startswith("{"):
        raise ValueError("trailer must be a JSON object")
    body = text[1:].lstrip()
    return (b"]," + body.encode("utf-8")) if body != "}" else b"]}"


def read_v3(path: Path) -> tuple[dict[str, Any], CaseFile] | None:
    """A schema-3 record's fields (cases left out) and its cases; None if not schema 3.

    Raises:
        ConfigError: the file starts as schema 3 but is cut or malformed (naming the line).

    """
    try:
        fh = path.open("rb")
    except FileNotFoundError as exc:
        raise ConfigError("run record not found", file=path, hint="check the path") from exc
    except OSError as exc:
        raise ConfigError(f"run record cannot be read: {exc}", file=path) from exc
    with fh:
        if fh.read(len(HEADER)) != HEADER:
            return None
        offsets: array[int] = array("q")
        lengths: array[int] = array("q")
        pos = len(HEADER)
        lineno = 1
        last = b""
        for line in fh:
            lineno += 1
            if line.startswith(b"]"):
                last = line
                break
            start = 1 if line.startswith(b",") else 0
            if (start == 1) != bool(offsets) or not line.endswith(b"\n"):
                raise ConfigError(
                    "run record is cut or malformed (a case line is broken)",
                    file=path,
                    line=lineno,
                    hint="the run that wrote it was interrupted; re-run the suite",
                )
            offsets.append(pos + start)
            lengths.append(len(line) - start - 1)
            pos += len(line)
        else:
            raise ConfigError(
                "run record is cut: its cases end without the record's summary",
                file=path,
                line=lineno,
                hint="the run that wrote it was interrupted; re-run the suite (--resume keeps "
                "the responses already fetched)",
            )
        try:
            fields = json.loads(b'{"schema_version":3,"cases":[' + last)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ConfigError(
                f"run record's last line is not valid JSON: {exc}", file=path, line=lineno
            ) from exc
    if not isinstance(fields, dict):  # pragma: no cover - the header makes it an object
        raise ConfigError("not a run record", file=path)
    fields.pop("cases", None)
    return fields, CaseFile(path, offsets, lengths)
