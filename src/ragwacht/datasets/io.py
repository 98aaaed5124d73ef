"""Load and save golden sets and case files (JSONL, YAML, CSV, XLSX).

A golden-set folder holds ``dataset.yaml`` (the manifest) and the cases file it names
(``cases.jsonl`` by default). Case files can be read and written on their own in any of the
four formats; every format reads back to the same cases, so the digest survives a round trip
through a spreadsheet. Loading validates everything and raises one
:class:`~ragwacht.errors.ConfigError` listing every problem, each with file, line and field.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

from ragwacht._io import write_atomic
from ragwacht.datasets._cells import COLUMNS
from ragwacht.datasets._check import (
    MANIFEST_NAMES,
    Loaded,
    check_manifest,
    check_records,
    read_golden_set,
)
from ragwacht.datasets._read import CASE_SUFFIXES, auto_mapping, read_cases_file, source_fields
from ragwacht.datasets._write import manifest_bytes, writer_for, xlsx_bytes
from ragwacht.datasets.digest import digest_cases
from ragwacht.datasets.models import DatasetManifest, GoldenCase, GoldenSet
from ragwacht.errors import ConfigError, Problem, RagwachtError

__all__ = [
    "CASE_SUFFIXES",
    "export_golden_set",
    "import_golden_set",
    "import_mapping",
    "load_cases",
    "load_golden_set",
    "save_golden_set",
    "write_cases",
]

log = logging.getLogger(__name__)


def _raise_if_problems(problems: list[Problem]) -> None:
    if problems:
        raise ConfigError(problems=problems)


def _to_set(loaded: Loaded) -> GoldenSet:
    _raise_if_problems(loaded.problems)
    for w in loaded.warnings:
        log.warning("%s", w)
    assert loaded.manifest is not None  # no problems means the manifest validated
    return GoldenSet(manifest=loaded.manifest, cases=loaded.cases, path=str(loaded.path))


def load_golden_set(path: str | Path) -> GoldenSet:
    """Load and validate a golden set.

    Args:
        path: A golden-set folder (``dataset.yaml`` + cases file), its ``dataset.yaml``, or a
            single cases file (``.jsonl``, ``.yaml``/``.yml``, ``.csv``, ``.xlsx``), which
            becomes a set named after the file.

    Returns:
        The set, with cases in file order. Its ``digest`` names the exact data.

    Raises:
        ConfigError: Listing every problem found (file, line, field, how to fix).

    """
    return _to_set(read_golden_set(path))


def load_cases(path: str | Path) -> list[GoldenCase]:
    """Load and validate the cases of one file, by its extension.

    Args:
        path: A ``.jsonl``, ``.yaml``/``.yml`` (a list of cases or ``{cases: [...]}``),
            ``.csv`` or ``.xlsx`` (first sheet, header row) file.

    Returns:
        The cases in file order.

    Raises:
        ConfigError: Listing every problem found.

    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(
            "file does not exist" if not path.exists() else "not a file",
            file=path,
            hint="give a cases file: " + ", ".join(CASE_SUFFIXES),
        )
    raw = read_cases_file(path)
    problems: list[Problem] = []
    if raw.header is not None:
        # The file's own set keys ({name: ..., cases: [...]}) are checked as validation does.
        check_manifest({"name": path.stem, **raw.header.data}, raw.header, str(path), problems)
    checked = check_records(raw)
    _raise_if_problems(problems + checked.problems)
    for w in checked.warnings:
        log.warning("%s", w)
    return checked.cases


def write_cases(
    cases: Sequence[GoldenCase], path: str | Path, *, manifest: DatasetManifest | None = None
) -> Path:
    """Write cases to ``path`` in the format its extension names.

    Args:
        cases: The cases, written in this order.
        path: Target ``.jsonl``, ``.yaml``/``.yml``, ``.csv`` or ``.xlsx`` file (replaced
            atomically; parent folders are created).
        manifest: The set's manifest; an XLSX workbook keeps it on a ``dataset`` sheet (the
            other formats hold cases only).

    Returns:
        The path written.

    Raises:
        ConfigError: Unknown extension, or a value the format cannot hold (an XLSX cell over
            32,767 characters).

    """
    path = Path(path)
    conversation = next((c for c in cases if c.turns is not None), None)
    if conversation is not None and path.suffix.lower() in (".csv", ".xlsx"):
        # A spreadsheet row has no place for turns: writing one would drop the conversation.
        raise ConfigError(
            f"case '{conversation.id}' is a conversation (it has turns), which a "
            f"{path.suffix.lower()[1:].upper()} file cannot hold",
            file=path,
            field="turns",
            hint="write the set as .jsonl or .yaml",
        )
    writer = writer_for(path)
    data = xlsx_bytes(cases, manifest) if writer is xlsx_bytes else writer(cases)
    write_atomic(path, data)
    return path


def save_golden_set(golden_set: GoldenSet, directory: str | Path) -> Path:
    """Write a golden-set folder: ``dataset.yaml`` and the cases file it names.

    Args:
        golden_set: The set to write.
        directory: Target folder (created if missing; the two files are replaced).

    Returns:
        The folder.

    """
    directory = Path(directory)
    manifest = golden_set.manifest
    cases_path = directory / manifest.cases_file
    if cases_path.suffix.lower() not in CASE_SUFFIXES:
        raise ConfigError(
            f"cases_file '{manifest.cases_file}' has no known extension",
            field="cases_file",
            hint="use cases.jsonl",
        )
    write_cases(golden_set.cases, cases_path)
    write_atomic(directory / "dataset.yaml", manifest_bytes(manifest))
    return directory


def import_golden_set(
    src: str | Path,
    to: str | Path,
    *,
    name: str | None = None,
    overwrite: bool = False,
    columns: Mapping[str, str] | None = None,
    manifest: Mapping[str, str | None] | None = None,
) -> GoldenSet:
    """Turn a cases file (or another golden set) into a golden-set folder.

    Args:
        src: A cases file (csv, xlsx, jsonl, yaml) or a golden-set folder.
        to: The new folder; it gets ``dataset.yaml`` and ``cases.jsonl``.
        name: The set's name; default: the name in ``src``'s YAML header, else the folder name.
        overwrite: Replace a golden set already in ``to``.
        columns: Source column (or key) → case field, e.g. ``{"query": "question"}``; see
            :func:`import_mapping` for the mapping of common names.
        manifest: Manifest fields (description, owner, language, licence, version) that
            replace those of ``src``.

    Returns:
        The imported set (validated; same digest as ``src``).

    Raises:
        ConfigError: ``src`` is invalid (every problem listed), or ``to`` already holds a
            golden set and ``overwrite`` is false.

    """
    to = Path(to)
    existing = next((to / n for n in MANIFEST_NAMES if (to / n).exists()), None)
    if existing is not None and not overwrite:
        raise ConfigError(
            "target folder already holds a golden set",
            file=existing,
            hint="choose a new folder, or pass --force to replace it",
        )
    if to.exists() and not to.is_dir():
        raise ConfigError("target exists and is not a folder", file=to, hint="choose a folder")
    loaded = _to_set(read_golden_set(src, columns))
    src_path = Path(src)
    from_file = src_path.is_file() and src_path.name not in MANIFEST_NAMES
    fields = loaded.manifest.model_dump()
    if from_file and fields["name"] == src_path.stem:
        fields["name"] = to.name or fields["name"]
    if name is not None:
        fields["name"] = name
    for key, value in (manifest or {}).items():
        if value is not None:
            fields[key] = value
    fields["cases_file"] = "cases.jsonl"
    try:
        new_manifest = DatasetManifest.model_validate(fields)
    except ValueError as exc:
        raise ConfigError(
            f"invalid manifest field: {exc}", field="name", hint="check --name and the flags"
        ) from None
    golden = GoldenSet(manifest=new_manifest, cases=loaded.cases, path=str(to))
    save_golden_set(golden, to)
    return golden


def import_mapping(src: str | Path, explicit: Mapping[str, str] | None = None) -> dict[str, str]:
    """The column mapping an import of ``src`` uses: common names detected, ``explicit`` wins.

    Common names of other golden sets (``query``/``vraag`` → ``question``, ``answer``/
    ``antwoord`` → ``reference_answer``, ``gold_passage_ids`` → ``gold_contexts``, ...) are
    mapped when the canonical column is absent.

    Args:
        src: The cases file (a folder's cases file is read through its ``dataset.yaml``).
        explicit: Source name → case field given by the user (``--map query=question``).

    Returns:
        Source name → case field, only the names that change.

    Raises:
        ConfigError: ``explicit`` maps to something that is not a case field.

    """
    for source, target in (explicit or {}).items():
        if target not in COLUMNS:
            raise ConfigError(
                f"cannot map '{source}' to '{target}': not a case field",
                field="--map",
                hint="map to one of: " + ", ".join(COLUMNS),
            )
    path = Path(src)
    if path.is_dir() or path.name in MANIFEST_NAMES:
        return dict(explicit or {})
    fields = source_fields(path) if path.is_file() else []
    detected = auto_mapping([f for f in fields if f not in (explicit or {})])
    taken = set((explicit or {}).values())
    out = {k: v for k, v in detected.items() if v not in taken}
    out.update(explicit or {})
    return out


def export_golden_set(src: str | Path, to: str | Path) -> GoldenSet:
    """Write a golden set's cases to one file (csv, xlsx, jsonl, yaml) and check it reads back.

    Args:
        src: A golden-set folder or cases file.
        to: Target file; its extension picks the format.

    Returns:
        The exported set (as read from ``src``); the file holds the same digest.

    Raises:
        ConfigError: ``src`` is invalid or the format cannot hold a value.
        RagwachtError: The written file does not read back to the same cases (a bug).

    """
    to = Path(to)
    writer_for(to)  # fail on a bad extension before reading anything
    golden = load_golden_set(src)
    write_cases(golden.cases, to, manifest=golden.manifest)
    back = check_records(read_cases_file(to))
    if back.problems or digest_cases(back.cases) != golden.digest:
        raise RagwachtError(
            f"{to} does not read back to the same cases; please report this with the source set"
        )
    return golden
